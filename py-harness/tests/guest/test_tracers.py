"""Return-hijacking tracers and Lua errors (issue 19, item 1).

A Lua error longjmp()s over the frames between where it is raised and its protected call.
function_graph, fprobes and kretprobes keep a shadow stack of the return addresses they
replaced: a skipped frame with a hijacked return address sent a later return to the wrong place
(a kretprobe on luaD_precall plus pcall(error) in a loop: a WARN in rethook, then an Oops).

The interpreter's frames are therefore out of reach of these tracers: placing a kretprobe or an
fprobe on them is refused, and function_graph does not list them.  The nested call's own path
stays traceable, and tracing it while scripts raise errors of every kind leaves the tracers
consistent: the kretprobe on lua_nested_syscall() counts every nested call, and the kernel log
stays clean (test_lua_zz_kernel_log.py scans it at the end of the suite).
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lua_syscall_harness.binding import LuaState

pytestmark = pytest.mark.usefixtures("lua_available")

TRACING = Path("/sys/kernel/tracing")

# Functions of the interpreter and its glue whose frames a Lua error jumps over.
INTERPRETER = ["luaD_precall", "luaD_throw", "luaG_errormsg", "lua_pcallk", "luaV_execute",
               "luak_count_hook", "lua_syscall_abort"]


@pytest.fixture(scope="module")
def tracefs() -> Path:
    if not (TRACING / "kprobe_events").exists():
        subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACING)], check=False)
    if not (TRACING / "kprobe_events").exists():
        pytest.skip("no tracefs with kprobe events in this kernel")
    return TRACING


def write(path: Path, text: str, append: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC))
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def refused(path: Path, text: str) -> bool:
    try:
        write(path, text, append=True)
    except OSError as e:
        return e.errno in (errno.EINVAL, errno.ENOENT, errno.EBUSY)
    return False


@pytest.mark.parametrize("function", INTERPRETER)
def test_kretprobes_are_refused_on_the_interpreter(tracefs: Path, function: str):
    events = tracefs / "kprobe_events"
    ok = refused(events, f"r:lua_edge_{function} {function}\n")
    if not ok:
        write(events, f"-:lua_edge_{function}\n", append=True)
    assert ok, f"a kretprobe on {function} was accepted"


@pytest.mark.parametrize("function", INTERPRETER)
def test_function_graph_cannot_trace_the_interpreter(tracefs: Path, function: str):
    available = (tracefs / "available_filter_functions").read_text().split("\n")
    names = {line.split()[0] for line in available if line}
    assert function not in names
    graph = tracefs / "set_graph_function"
    with contextlib.suppress(OSError):
        write(graph, function)
    try:
        assert function not in graph.read_text()
    finally:
        write(graph, "")


def test_fprobes_are_refused_on_the_interpreter(tracefs: Path):
    events = tracefs / "dynamic_events"
    if not events.exists() or "f[:[<group>/][<event>]]" not in (tracefs / "README").read_text():
        pytest.skip("no fprobe events in this kernel (function_graph's test covers the hooks)")
    ok = refused(events, "f:lua_edge_fprobe luaD_precall%return\n")
    if not ok:
        write(events, "-:lua_edge_fprobe\n", append=True)
    assert ok, "an fprobe on luaD_precall was accepted"


ERRORS = """
local n = 0
local function deep(k) if k == 0 then error('deep') end return deep(k - 1) + 1 end
local function cdeep(k) if k == 0 then error('cdeep') end return select(2, pcall(cdeep, k - 1)) end
return function(kind, rounds)
  for i = 1, rounds do
    sys.getppid()
    n = n + 1
    if kind == 1 then pcall(error, 1)
    elseif kind == 2 then pcall(deep, 50)
    elseif kind == 3 then cdeep(20)
    elseif kind == 4 then pcall(string.rep)
    elseif kind == 5 then pcall(function() local t <close> = setmetatable({}, {__close =
      function() error('in close') end}) error('body') end)
    elseif kind == 6 then pcall(function() return ('x'):rep(1 << 30) end)
    end
  end
  if kind == 7 then while true do end end
  if kind == 8 then local t = {} while true do t[#t + 1] = {} end end
  return n
end
"""


@contextlib.contextmanager
def traced(tracefs: Path) -> Iterator[Path]:
    """function_graph on lua_nested_syscall and its callees, a kretprobe on it."""
    events = tracefs / "kprobe_events"
    write(events, "r:lua_edge_nested lua_nested_syscall\n", append=True)
    write(tracefs / "events/kprobes/lua_edge_nested/enable", "1")
    write(tracefs / "set_graph_function", "lua_nested_syscall")
    write(tracefs / "current_tracer", "function_graph")
    write(tracefs / "options/funcgraph-tail", "1")
    write(tracefs / "trace", "")
    write(tracefs / "tracing_on", "1")
    try:
        yield tracefs / "kprobe_profile"
    finally:
        write(tracefs / "tracing_on", "0")
        write(tracefs / "current_tracer", "nop")
        write(tracefs / "set_graph_function", "")
        write(tracefs / "events/kprobes/lua_edge_nested/enable", "0")
        write(events, "-:lua_edge_nested\n", append=True)


def nested_hits(profile: Path) -> int:
    for line in profile.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "lua_edge_nested":
            return int(fields[1])
    raise AssertionError("lua_edge_nested not in kprobe_profile")


def test_errors_of_every_kind_under_tracers(tracefs: Path, lua_sysctl):
    lua_sysctl("insn_limit", 2_000_000)
    with traced(tracefs) as profile, LuaState(ERRORS) as st:
        expected = 0
        for kind in range(1, 7):
            expected = st.call(kind, 20)
        for kind, err in ((7, errno.ETIME), (8, errno.ENOMEM)):
            with pytest.raises(OSError) as e:
                st.call(kind, 1)
            assert e.value.errno == err
            expected += 1
        write(tracefs / "tracing_on", "0")
        hits = nested_hits(profile)
        graph = (tracefs / "trace").read_text()
    # every nested call returned through the kretprobe, none was lost or doubled
    assert hits == expected
    opened = graph.count("lua_nested_syscall() {")
    leaves = graph.count("lua_nested_syscall();")
    assert opened + leaves == expected, graph[-2000:]
    assert graph.count("} /* lua_nested_syscall */") == opened
