"""Observed programs behave as unobserved ones (issue 19, item 6).

A program whose script opens, fstat()s, reads and closes a list of files in one lua_syscall()
prints the same under `strace -f` as without it.  (Before nested calls were reported to
ptrace, every one of them failed with EPERM under strace: the program found "0 files".)

How strace 6.1 renders them: it counts syscall stops to tell entries from exits, and a nested
call's entry stop comes while it believes the outer call in progress.  So it warns ("exiting,
ptrace_syscall_info.op == 1"), prints the first nested entry as the outer call's exit and the
following stops shifted by one, until the outer call's exit puts it back in step.  Tools that
read PTRACE_GET_SYSCALL_INFO's op (the kselftest ptrace_syscall_stops_at_nested_calls) see the
nesting exactly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("lua_available")

SRC = Path(__file__).resolve().parents[2] / "src"

# Reads each file of a NUL-separated list in one call: openat, fstat, read, close per file.
PROGRAM = r'''
import ctypes, sys
sys.path.insert(0, {src!r})
from lua_syscall_harness.binding import LuaState

SCRIPT = """
local AT_FDCWD = -100
return function(names, n, buf, size, stat)
  local found, total, at = 0, 0, names
  for i = 1, n do
    local fd = sys.openat(AT_FDCWD, at, 0, 0)
    if fd >= 0 then
      if sys.fstat(fd, stat) == 0 then
        local got = sys.read(fd, buf, size)
        if got >= 0 then found = found + 1 total = total + got end
      end
      sys.close(fd)
    end
    while mem.get8(at) ~= 0 do at = at + 1 end
    at = at + 1
  end
  return found * 1000000 + total
end
"""

paths = sys.argv[1:]
names = ctypes.create_string_buffer(b"".join(p.encode() + b"\0" for p in paths))
buf = ctypes.create_string_buffer(65536)
stat = ctypes.create_string_buffer(256)
with LuaState(SCRIPT) as st:
    r = st.call(ctypes.addressof(names), len(paths), ctypes.addressof(buf), len(buf),
                ctypes.addressof(stat))
print(f"{{r // 1000000}} files, {{r % 1000000}} bytes")
'''


@pytest.fixture
def files() -> list[str]:
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i in range(5):
            p = Path(d) / f"f{i}"
            p.write_bytes(b"x" * (100 * (i + 1)))
            paths.append(str(p))
        yield paths


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_strace_sees_nested_calls_and_changes_nothing(files: list[str], tmp_path: Path):
    prog = tmp_path / "batch_read.py"
    prog.write_text(PROGRAM.format(src=str(SRC)))
    plain = run([sys.executable, str(prog), *files])
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "5 files, 1500 bytes"

    trace = tmp_path / "trace"
    traced = run(["strace", "-f", "-o", str(trace), sys.executable, str(prog), *files])
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout == plain.stdout
    text = trace.read_text()
    # the outer call, by number: strace 6.1 does not know its name
    assert "syscall_0x1d0(" in text, os.linesep.join(text.splitlines()[-20:])
    # strace saw the nested stops (see the module's docstring for how it renders them)
    assert "ptrace_syscall_info.op" in traced.stderr
