"""`lua-syscall check`: the kernel's registration code run on the host (check.py).

The checker is built once (cached in build/check/) from build/linux and a kernel build's
flags; without a kernel build of the series the tests that run it are skipped.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from lua_syscall_harness import check, cli
from lua_syscall_harness.proc import HarnessError


@pytest.fixture(scope="module")
def checker() -> Path:
    try:
        check.kernel_build()
    except HarnessError as e:
        pytest.skip(str(e))
    return check.ensure_built()


def lua(tmp_path: Path, text: str | bytes, name: str = "t.lua") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def run(path: Path, checker: Path, **kw: object) -> check.CheckResult:
    return check.check_file(path, binary=checker, **kw)  # type: ignore[arg-type]


# --- without a build ---------------------------------------------------------------------


def test_strip_instrumentation() -> None:
    argv = ["gcc", "-O2", "-pg", "-mrecord-mcount", "-mfentry", "-DCC_USING_FENTRY",
            "-fsanitize=kernel-address", "-fasan-shadow-offset=0xdffffc0000000000",
            "--param", "asan-stack=1", "--param", "max-inline-insns=5",
            "-fsanitize=bounds-strict", "-I", "x", "-c", "a.c"]
    assert check.strip_instrumentation(argv) == [
        "gcc", "-O2", "-DCC_USING_FENTRY", "--param", "max-inline-insns=5", "-I", "x", "-c",
        "a.c"]


def test_no_kernel_build_is_a_clear_error(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUA_SYSCALL_BUILD_DIR", str(tmp_path))
    with pytest.raises(HarnessError, match="lua-syscall build"):
        check.kernel_build()
    (tmp_path / "debug/kernel/lua").mkdir(parents=True)
    with pytest.raises(HarnessError, match="debug"):
        check.kernel_build("debug")


def test_corpus_name(tmp_path: Path) -> None:
    assert check.corpus_name(lua(tmp_path, "-- name: cfg.loader\nreturn 1\n")) == "cfg.loader"
    assert check.corpus_name(lua(tmp_path, "-- a comment\nreturn 1\n")) is None


def test_corpus_has_broken_and_warning_scripts() -> None:
    names = {p.name for p in check.corpus_files()}
    assert len(names) >= 15
    assert {"syntax_error.lua", "float_literal.lua", "binary_chunk.lua",
            "returns_number.lua", "top_level_error.lua", "alias_upvalue.lua",
            "oversized_int.lua"} <= names
    assert (check.CORPUS_DIR / "binary_chunk.lua").read_bytes().startswith(b"\x1bLua")


# --- the checker -----------------------------------------------------------------------


def test_float_literal_refused(tmp_path: Path, checker: Path) -> None:
    res = run(lua(tmp_path, "local n = 1\nlocal x = 1.5\nreturn function() end\n"), checker)
    assert res.log == "script:2: error: malformed number near '1.5'\n"
    assert (res.accepted, res.errno) == (False, "EINVAL")


def test_warnings_with_name_accepted(tmp_path: Path, checker: Path) -> None:
    src = ("local s = sys\n"
           "return function(fd)\n"
           "  if fd == 1 then return s.opne(fd) end\n"
           "  return sys.close(fd) + sys.const.O_CRAET\n"
           "end\n")
    res = run(lua(tmp_path, src), checker, name="my.state")
    assert res.log == ("my.state:3: warning: sys.opne: no such system call\n"
                       "my.state:4: warning: sys.const.O_CRAET: no such constant\n")
    assert (res.accepted, res.errno) == (True, None)
    quiet = run(lua(tmp_path, src), checker, name="my.state", errors_only=True)
    assert (quiet.log, quiet.accepted) == ("", True)


def test_not_a_function(tmp_path: Path, checker: Path) -> None:
    res = run(lua(tmp_path, "return {}\n"), checker)
    assert res.log == "script: error: the chunk returned table, not a function (the entry)\n"
    assert res.errno == "EINVAL"


def test_top_level_runtime_error(tmp_path: Path, checker: Path) -> None:
    res = run(lua(tmp_path, "local t = {}\nerror('no ' .. 'way')\n"), checker, name="cfg")
    assert res.log == "cfg:2: error: no way\n"
    assert res.accepted is False and res.errno is not None and res.errno != "EINVAL"


def test_no_load_in_the_base_library(tmp_path: Path, checker: Path) -> None:
    res = run(lua(tmp_path, "local f = load('return 1')\nreturn f\n"), checker)
    assert res.log == "script:1: error: attempt to call a nil value (global 'load')\n"


def test_nested_calls_answer_enosys(tmp_path: Path, checker: Path) -> None:
    """No system call runs for the script: each answers -ENOSYS (38), getppid included."""
    src = ("local a, b = sys.getpid(), sys.getppid()\n"
           "local c = sys.openat(sys.const.AT_FDCWD, 0, 0, 0)\n"
           "if a ~= -38 or b ~= -38 or c ~= -38 then error(a .. ' ' .. b .. ' ' .. c) end\n"
           "return function() return a end\n")
    res = run(lua(tmp_path, src), checker)
    assert (res.log, res.accepted) == ("", True)


def test_mem_at_top_level_faults(tmp_path: Path, checker: Path) -> None:
    res = run(lua(tmp_path, "local v = mem.get64(65536)\nreturn function() end\n"), checker)
    assert res.log == "script: error: mem.get64: bad address 0x10000\n"
    assert res.errno == "EFAULT"


def test_registration_arguments(tmp_path: Path, checker: Path) -> None:
    empty = run(lua(tmp_path, b""), checker)
    assert (empty.log, empty.errno) == ("error: script_len is 0\n", "EINVAL")
    bad = run(lua(tmp_path, "return function() end\n"), checker, name="no spaces")
    assert bad.log == "error: name: at most 31 letters, digits, '_', '.' or '-'\n"
    long = "--" + "x" * 70000 + "\nreturn function() end\n"
    big = run(lua(tmp_path, long), checker)
    assert big.errno == "E2BIG"
    assert big.log == (f"error: script_len {len(long)}: above 65536 "
                       "(kernel.lua_syscall.max_script_len)\n")


def test_cached_build_is_reused(checker: Path) -> None:
    before = checker.stat().st_mtime_ns
    t0 = time.monotonic()
    assert check.ensure_built() == checker
    assert time.monotonic() - t0 < 10
    assert checker.stat().st_mtime_ns == before


def test_cli(tmp_path: Path, checker: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = lua(tmp_path, "return function() return sys.nope() end\n", "good.lua")
    bad = lua(tmp_path, "return function(\n", "bad.lua")
    assert cli.main(["check", str(good)]) == 0
    out = capsys.readouterr()
    assert out.out == "script:1: warning: sys.nope: no such system call\n"
    assert cli.main(["check", "--errors-only", "--name", "x", str(bad)]) == 1
    out = capsys.readouterr()
    assert out.out == "x:2: error: <name> or '...' expected near <eof>\n"
    assert f"{bad}: refused: EINVAL" in out.err
    assert cli.main(["check", "--json", str(good), str(bad)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [(d["accepted"], d["errno"]) for d in doc] == [(True, None), (False, "EINVAL")]


def test_corpus_expectations(tmp_path: Path, checker: Path) -> None:
    out = check.write_expected(tmp_path / "expected.json")
    doc = json.loads(out.read_text())
    scripts = doc["scripts"]
    assert sorted(scripts) == [p.name for p in check.corpus_files()]
    for name, e in scripts.items():
        assert e["log"], f"{name}: the corpus is of scripts the log has something to say about"
        assert e["accepted"] == (e["errno"] is None)
        assert "warning:" not in e["log_errors_only"]
    assert scripts["top_level_error.lua"]["log"] == (
        "cfg.loader:4: error: limits.files is not set\n")
    assert scripts["binary_chunk.lua"]["log"] == (
        "script: error: attempt to load a binary chunk (mode is 't')\n")
    assert "script: warning: 4 more unknown names\n" in scripts["many_unknown.lua"]["log"]
    assert scripts["endless_loop.lua"]["errno"] == "ETIME"
    assert os.path.exists(checker)


def test_the_projects_own_scripts_pass_without_a_warning(checker: Path) -> None:
    """The scripts the project ships (memcached's batch script) are accepted, log empty."""
    from lua_syscall_harness.layout import HARNESS_DIR

    scripts = sorted((HARNESS_DIR / "memcached").glob("*.lua"))
    assert scripts
    for script in scripts:
        res = run(script, checker, name="udp_batch")
        assert res.accepted and res.log == "", (script, res)
