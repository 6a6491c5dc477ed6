"""`lua-syscall check` says what the kernel says: the host checker's logs of the corpus
(py-harness/tests/check_corpus/*.lua, written before the boot to build/check/expected.json
by `lua-syscall check --corpus`, which `lua-syscall test` runs) against the running kernel's
registration log of the same scripts, byte for byte, with the same verdict and errno."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from lua_syscall_harness import binding
from lua_syscall_harness.layout import HARNESS_DIR, build_root

pytestmark = pytest.mark.usefixtures("lua_available")

CORPUS = HARNESS_DIR / "tests" / "check_corpus"
EXPECTED = build_root() / "check" / "expected.json"
LOG_SIZE = 8192  # LUA_SYSCALL_LOG_MAX, the checker's buffer


def load_expected() -> dict[str, Any]:
    if not EXPECTED.exists():
        pytest.fail(f"{EXPECTED} is missing: run `./lua-syscall check --corpus` on the host "
                    "before booting (`./lua-syscall test` does)")
    return json.loads(EXPECTED.read_text())


def corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.lua"))


def kernel_register(script: bytes, name: str | None, level: int) -> dict[str, Any]:
    """What the running kernel does with the script: its log, verdict and errno name."""
    res = binding.Registration()
    try:
        fd = binding.register(script, log_level=level, log_size=LOG_SIZE, name=name,
                              result=res)
    except binding.RegistrationError as e:
        return {"log": e.log, "accepted": False, "errno": errno.errorcode.get(e.errno)}
    os.close(fd)
    return {"log": res.log, "accepted": True, "errno": None}


def test_corpus_is_complete() -> None:
    doc = load_expected()
    files = corpus()
    assert len(files) >= 15
    assert sorted(doc["scripts"]) == [f.name for f in files], (
        "build/check/expected.json is of another corpus: run `./lua-syscall check --corpus`")
    refused = [n for n, e in doc["scripts"].items() if not e["accepted"]]
    warned = [n for n, e in doc["scripts"].items() if "warning:" in e["log"]]
    assert len(refused) >= 10 and len(warned) >= 3


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_kernel_log_matches_checker(path: Path) -> None:
    doc = load_expected()
    want = doc["scripts"].get(path.name)
    assert want is not None, f"{path.name} was not checked on the host"
    script = path.read_bytes()
    assert hashlib.sha256(script).hexdigest() == want["sha256"], (
        f"{path.name} changed since the host checked it: run `./lua-syscall check --corpus`")
    got = kernel_register(script, want["name"], binding.LUA_SYSCALL_LOG_WARNINGS)
    context = (f"checker built from kernel commit {doc['kernel_commit'][:12]} with "
               f"{doc['kernel_build']}'s flags")
    assert got["log"] == want["log"], f"log differs ({context})"
    assert (got["accepted"], got["errno"]) == (want["accepted"], want["errno"]), context
    errors = kernel_register(script, want["name"], binding.LUA_SYSCALL_LOG_ERRORS)
    assert errors["log"] == want["log_errors_only"], f"errors-only log differs ({context})"
