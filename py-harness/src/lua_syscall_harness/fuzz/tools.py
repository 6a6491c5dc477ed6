"""The C programs the fuzz and stress runs use in the guest, built on the host.

They are compiled against the variant's uapi headers (like the man page example) into
build/fuzz-tools/; the guest sees the host's / read-only, so it runs them where they are.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ..build import make_args
from ..layout import HARNESS_DIR, build_lock, build_root, variant_dir
from ..proc import HarnessError, run

SOURCES_DIR = HARNESS_DIR / "stress"
FUZZ_EXEC = "lua_fuzz_exec"
STRESS = "lua_stress"
_DEFINE = re.compile(r"^#define\s+FUZZ_(\w+)\s+(0x[0-9A-Fa-f]+|\d+)(?:UL?)?\b", re.MULTILINE)


def tools_dir() -> Path:
    return build_root() / "fuzz-tools"


def headers(variant: str) -> Path:
    """The variant's installed uapi headers (`make headers`), built when missing."""
    path = variant_dir(variant) / "usr" / "include"
    if not (path / "linux" / "lua_syscall.h").exists():
        with build_lock():
            run([*make_args(variant), "headers"], capture=True)
    return path


def source(name: str) -> Path:
    return SOURCES_DIR / f"{name}.c"


def c_defines(name: str = FUZZ_EXEC) -> dict[str, int]:
    """The FUZZ_<NAME> integer defines of a tool's source."""
    return {m.group(1): int(m.group(2), 0) for m in _DEFINE.finditer(source(name).read_text())}


def build(name: str, variant: str = "debug") -> Path:
    """Compile tool `name` if its source is newer than the binary; return the binary."""
    src = source(name)
    out = tools_dir() / name
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", "-O2", "-g", "-pthread",
                          "-isystem", str(headers(variant)), "-o", str(out), str(src)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise HarnessError(f"compiling {src} failed:\n{res.stderr}")
    return out
