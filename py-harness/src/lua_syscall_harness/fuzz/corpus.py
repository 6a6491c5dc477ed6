"""Fuzz programs on disk: the corpus lua_fuzz_exec reads and the results it writes.

Corpus, per program:   P <id> <script bytes>\\n <key=value ...>\\n <script>\\n
Results, per program:  R <id> reg=<ret> calls=<ret>,... nth=<-1|0|1> info=<0|1>
                       C <id> <how the worker died>      (a crash or a hang)
                       K <id> <kernel log line>          (a splat, right after the program)
A ret is a return value or a negative errno.
"""

from __future__ import annotations

import errno
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PARAM_KEYS = ("reg_flags", "reg_len", "reg_ptr", "mem_limit", "insn_limit", "nth_reg",
              "nth_call", "calls", "nargs", "call_flags", "args_ptr", "alarm_ms",
              "seccomp_nr", "seccomp_act")
"""seccomp_nr and seccomp_act: run the program in a child under a seccomp filter that
applies action seccomp_act to system call seccomp_nr (grammar.seccomp_params())."""


@dataclass
class Program:
    """One generated program: the script and how the executor registers and calls it."""

    id: int
    script: bytes
    params: dict[str, int] = field(default_factory=dict)
    args: list[int | str] = field(default_factory=list)

    def params_line(self) -> str:
        parts = [f"{k}={self.params[k]}" for k in PARAM_KEYS if k in self.params]
        if self.args:
            parts.append("args=" + ",".join(str(a) for a in self.args))
        return " ".join(parts)

    def encode(self) -> bytes:
        return (f"P {self.id} {len(self.script)}\n{self.params_line()}\n".encode()
                + self.script + b"\n")


def write_corpus(path: Path, programs: Iterable[Program]) -> int:
    count = 0
    with path.open("wb") as f:
        for prog in programs:
            f.write(prog.encode())
            count += 1
    return count


def parse_params_line(line: str) -> tuple[dict[str, int], list[int | str]]:
    """The parameters and arguments of Program.params_line()."""
    params: dict[str, int] = {}
    args: list[int | str] = []
    for item in line.split():
        key, _, value = item.partition("=")
        if key == "args":
            args = [a if a == "F" else int(a, 0) for a in value.split(",") if a]
        else:
            params[key] = int(value, 0)
    return params, args


_HEADER = re.compile(rb"P (\d+) (\d+)\n")


def read_corpus(path: Path) -> list[Program]:
    return read_corpus_bytes(path.read_bytes())


def read_corpus_bytes(data: bytes) -> list[Program]:
    out = []
    pos = 0
    while pos < len(data):
        m = _HEADER.match(data, pos)
        if not m:
            raise ValueError(f"bad program header at byte {pos}")
        ident, length = int(m.group(1)), int(m.group(2))
        nl = data.index(b"\n", m.end())
        params, args = parse_params_line(data[m.end():nl].decode())
        script = data[nl + 1:nl + 1 + length]
        out.append(Program(ident, script, params, args))
        pos = nl + 1 + length + 1
    return out


KERNEL_SIGSEGV = "SIGSEGV from the kernel"
"""How lua_fuzz_exec describes a worker killed by a SIGSEGV with si_code SI_KERNEL."""


@dataclass
class Outcome:
    """What happened to one program in the guest."""

    id: int
    reg: int | None = None
    calls: list[int] = field(default_factory=list)
    nth_fired: int = -1
    info_ok: bool = True
    crash: str | None = None
    crash_excused: str | None = None
    splats: list[str] = field(default_factory=list)
    slow: str | None = None

    @property
    def failed(self) -> bool:
        """A kernel splat, a dead or hung worker, fd read/fdinfo that stopped working, or a
        call of library work slower than its instruction budget allows (the time oracle)."""
        return bool(self.splats or (self.crash and not self.crash_excused) or not self.info_ok
                    or self.slow)

    def excuse_injected_fault(self, prog: Program) -> None:
        """A SIGSEGV from the kernel (si_code SI_KERNEL) is expected when fail-nth was
        armed: the injected failure may hit the copy that sets up the frame of the SIGALRM
        that ends the call, and the kernel then sends SIGSEGV (as for any signal it cannot
        deliver). A SIGSEGV of the worker's own (a page fault) is never excused."""
        if (self.crash and KERNEL_SIGSEGV in self.crash
                and (prog.params.get("nth_reg") or prog.params.get("nth_call"))):
            self.crash_excused = "fault injected into signal delivery"

    def errnos(self) -> list[str]:
        """Names of the errnos the two system calls returned, with their call."""
        out = []
        if self.reg is not None and self.reg < 0:
            out.append(f"register:{errno_name(-self.reg)}")
        out += [f"call:{errno_name(-r)}" for r in self.calls if -4095 <= r < 0]
        return out


def errno_name(num: int) -> str:
    return errno.errorcode.get(num, f"E{num}")


_R_FIELDS = re.compile(r"(\w+)=(\S*)")


def parse_results(text: str) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}

    def get(ident: int) -> Outcome:
        return outcomes.setdefault(ident, Outcome(ident))

    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        ident_text, _, tail = rest.partition(" ")
        if not ident_text.lstrip("-").isdigit():
            continue
        out = get(int(ident_text))
        if kind == "R":
            fields = dict(_R_FIELDS.findall(tail))
            out.reg = int(fields.get("reg", "0"))
            out.calls = [int(c) for c in fields.get("calls", "").split(",") if c]
            out.nth_fired = int(fields.get("nth", "-1"))
            out.info_ok = fields.get("info", "1") == "1"
        elif kind == "C":
            out.crash = tail
        elif kind == "K":
            out.splats.append(tail)
        elif kind == "T":
            out.slow = tail
    return outcomes


def errno_histogram(outcomes: Iterable[Outcome]) -> Counter[str]:
    hist: Counter[str] = Counter()
    for out in outcomes:
        hist.update(out.errnos())
    return hist
