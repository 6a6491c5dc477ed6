"""Reading a kmemleak report, and telling memory-cgroup OOM reports from splats.

kmemleak (/sys/kernel/debug/kmemleak) lists each unreferenced object with the task that
allocated it and a backtrace. An object is ours when the backtrace passes through the Lua
runtime or the two system calls, or the allocating task is one of our guest programs.

The memory-cgroup stress drives a cgroup into its limit on purpose: the kernel's OOM-killer
report prints a "Call Trace:" that is no bug. without_oom_reports() drops the Call Trace
header line of such a report only, so that a WARNING, BUG or KASAN line inside one still
counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

OUR_TASKS = ("lua_fuzz_exec", "lua_stress")
_OUR_FRAME = re.compile(r"\blua|\bluak_|\blua[A-Z]_|luastate|register_lua_syscall")
_OBJECT = re.compile(r"^unreferenced object (0x[0-9a-f]+) \(size (\d+)\):", re.MULTILINE)
_COMM = re.compile(r'comm "([^"]*)", pid (\d+)')
_FRAME = re.compile(r"\[<[0-9a-f]+>\] (\S+)")


@dataclass
class Leak:
    address: str
    size: int
    comm: str = ""
    frames: list[str] = field(default_factory=list)

    @property
    def ours(self) -> bool:
        return self.comm in OUR_TASKS or any(_OUR_FRAME.search(f) for f in self.frames)

    def summary(self) -> str:
        where = " <- ".join(f for f in self.frames[:6]) or "no backtrace"
        return f"{self.size} bytes at {self.address} by {self.comm or '?'}: {where}"


def parse(text: str) -> list[Leak]:
    """The objects of a kmemleak report."""
    leaks = []
    starts = list(_OBJECT.finditer(text))
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        body = text[m.end():end]
        comm = _COMM.search(body)
        leaks.append(Leak(address=m.group(1), size=int(m.group(2)),
                          comm=comm.group(1) if comm else "",
                          frames=_FRAME.findall(body)))
    return leaks


_OOM_START = "invoked oom-killer:"
_OOM_END = re.compile(r"Killed process|oom-kill:|no killable processes|oom_reaper:")
_OOM_MAX_LINES = 400


def without_oom_reports(log: str) -> str:
    """The log with the "Call Trace:" line of each OOM-killer report removed."""
    out = []
    left = 0
    for line in log.splitlines():
        if _OOM_START in line:
            left = _OOM_MAX_LINES
        elif left:
            left -= 1
            if _OOM_END.search(line):
                left = 0
            elif "Call Trace:" in line:
                continue
        out.append(line)
    return "\n".join(out)
