"""`lua-syscall fuzz`: generate programs on the host, run them and the stress suite in the guest.

The corpus is written to build/fuzz/; each guest boot (kmemleak=on) enables
allocation-failure injection quietly, runs lua_fuzz_exec on its part of the corpus within
its share of the time budget, then (last boot only) lua_stress, then scans for leaks. A long
run is split over several boots because the stack depot where KASAN and kmemleak keep their
stack traces never frees a record and fills up after ~10,000 programs (WARNING in
lib/stackdepot.c); every boot reports how full its depot got. The report counts the programs
run, the errnos the two calls returned, the programs that broke something (kernel splat, dead
or hung executor, fd that stopped working) and the leaks; a failing program is written out as
a file to rerun and minimise.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import logscan, vm
from ..layout import build_root
from ..proc import HarnessError, Stopwatch, say
from . import corpus, grammar, leaks, minimise, tools

BOOT_MARGIN = 240.0
"""Seconds the VM gets beyond the budgets: boot, leak scans, slow TCG."""
PROGRAMS_PER_SECOND = 40
"""Generated for a time budget without --programs: more than the guest can run."""
PROGRAMS_PER_BOOT = 3000
"""At most this many programs per boot: one boot's stack depot filled its 8,192 pools after
~10,000 programs (seed long-2); the stackdepot line of each boot shows the margin."""
FASTEST_RATE = 30
"""Programs/s no guest has exceeded (28/s seen on two vCPUs): sizes the boots of a time-only
run. A faster guest runs out of programs early in a boot, never past PROGRAMS_PER_BOOT."""
GUEST_RESULTS = "/run/lsout/fuzz-results"
_EXEC_PROGRESS = re.compile(r"lua_fuzz_exec: \d+/\d+ programs run in (\d+)s")
GUEST_STRESS = "/run/lsout/stress-results"
GUEST_LEAKS = "/run/lsout/kmemleak"
GUEST_STACKDEPOT = "/run/lsout/stackdepot"
_DEPOT_POOLS = re.compile(r"^pools:?\s+(\d+)", re.MULTILINE)
DEPOT_MAX_POOLS = 8192
"""lib/stackdepot.c DEPOT_POOLS_CAP in 6.12 (4-page pools)."""


@dataclass
class FuzzReport:
    seed: int | str
    generated: int
    """Programs given to the boots (a time-only run generates more than it can run)."""
    outcomes: dict[int, corpus.Outcome] = field(default_factory=dict)
    errnos: Counter[str] = field(default_factory=Counter)
    failing: list[Path] = field(default_factory=list)
    kernel_splats: list[str] = field(default_factory=list)
    stress_lines: list[str] = field(default_factory=list)
    stress_failures: list[str] = field(default_factory=list)
    leaks: list[leaks.Leak] = field(default_factory=list)
    leak_scans: int = 0
    guest_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    fuzz_seconds: int = 0
    run_dirs: list[Path] = field(default_factory=list)
    depot_pools: list[tuple[int | None, int | None]] = field(default_factory=list)
    """Stack depot pools in use after each boot's start and at its end (None: unreadable)."""

    @property
    def boots(self) -> int:
        return len(self.run_dirs)

    @property
    def lua_leaks(self) -> list[leaks.Leak]:
        return [leak for leak in self.leaks if leak.ours]

    def problems(self) -> list[str]:
        out = [f"guest: {failure}" for failure in self.guest_failures]
        for out_ in self.outcomes.values():
            if out_.failed:
                what = (out_.crash or "; ".join(out_.splats) or out_.slow
                        or "fd read/fdinfo failed")
                out.append(f"program {out_.id}: {what}")
        out += [f"kernel log: {line}" for line in self.kernel_splats]
        if any("Stack depot reached limit capacity" in line for line in self.kernel_splats):
            out.append("the stack depot filled up: run fewer programs per boot "
                       "(--programs-per-boot)")
        out += [f"stress: {line}" for line in self.stress_failures]
        out += [f"leak: {leak.summary()}" for leak in self.lua_leaks]
        if self.leak_scans < self.boots:
            out.append(f"kmemleak scan ran in {self.leak_scans} of {self.boots} boots")
        return out

    def print(self) -> None:
        ran = len(self.outcomes)
        rate = ran / self.fuzz_seconds if self.fuzz_seconds else 0.0
        say(f"fuzz: seed {self.seed}: {ran} of {self.generated} programs run in "
            f"{self.fuzz_seconds}s ({rate:.1f}/s; {self.seconds:.0f}s with {self.boots} "
            f"boot(s), stress and leak scans), {len(self.errnos)} distinct errnos")
        for name, count in sorted(self.errnos.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {count:7d}  {name}", flush=True)
        excused = [o for o in self.outcomes.values() if o.crash_excused]
        if excused:
            say(f"{len(excused)} executor workers got a SIGSEGV from the kernel with "
                f"fail-nth armed (programs {', '.join(str(o.id) for o in excused[:10])}): "
                "expected, the injected fault hit the delivery of the SIGALRM that ends a call")
        for line in self.stress_lines:
            print(f"  stress: {line}", flush=True)
        say(f"kmemleak: {len(self.leaks)} unreferenced objects, "
            f"{len(self.lua_leaks)} from lua_syscall ({self.leak_scans} of {self.boots} "
            "boots scanned)")
        say(f"stack depot pools in use (of {DEPOT_MAX_POOLS}), boot -> end: " + ", ".join(
            f"{'?' if a is None else a} -> {'?' if b is None else b}"
            for a, b in self.depot_pools))
        for leak in self.leaks:
            print(f"  {'OURS ' if leak.ours else 'other'} {leak.summary()}", flush=True)
        for path in self.failing:
            say(f"failing program kept: {path}")
        problems = self.problems()
        say("fuzz: FAILED:" if problems else "fuzz: no problems found")
        for p in problems[:50]:
            print(f"  - {p}", flush=True)
        for run_dir in self.run_dirs:
            say(f"logs in {run_dir}")


def fuzz_dir() -> Path:
    path = build_root() / "fuzz"
    path.mkdir(parents=True, exist_ok=True)
    return path


def guest_command(exec_bin: Path, corpus_file: Path, seconds: int, stress_bin: Path | None,
                  stress_seconds: int, shards: int = 2, leak_scan: bool = True) -> str:
    dbg = "/sys/kernel/debug"
    lines = [
        "set -u",
        f"cat {dbg}/stackdepot/stats > {GUEST_STACKDEPOT}.boot 2>/dev/null",
        # Allocation-failure injection for fail-nth, quiet: an injected failure is no splat.
        f"for a in failslab fail_page_alloc fail_usercopy; do "
        f"echo 0 > {dbg}/$a/verbose 2>/dev/null; done",
        f"echo N > {dbg}/failslab/ignore-gfp-wait 2>/dev/null",
        # Forget what boot left unreferenced: only what the run leaks counts.
        f"echo scan > {dbg}/kmemleak && echo clear > {dbg}/kmemleak || "
        "echo 'kmemleak unavailable' >&2",
        "status=0",
        # One executor per vCPU, each on its share of the corpus.
        *(f"{shlex.quote(str(exec_bin))} {shlex.quote(str(corpus_file))} {GUEST_RESULTS}.{k} "
          f"{seconds} {k}/{shards} & pid{k}=$!" for k in range(shards)),
        *(f"wait $pid{k} || status=1" for k in range(shards)),
        # The executors leave random budgets behind: back to the defaults.
        "echo 1048576 > /proc/sys/kernel/lua_syscall/mem_limit",
        "echo 10000000 > /proc/sys/kernel/lua_syscall/insn_limit",
    ]
    if stress_bin:
        lines.append(f"{shlex.quote(str(stress_bin))} {stress_seconds} > {GUEST_STRESS} 2>&1 "
                     "|| status=1")
    if leak_scan:
        lines += [
            # kmemleak reports objects older than 5 s, unreferenced at two scans.
            "sleep 6",
            f"echo scan > {dbg}/kmemleak; echo scan > {dbg}/kmemleak",
            f"cat {dbg}/kmemleak > {GUEST_LEAKS} && echo 'kmemleak scan done'",
        ]
    lines.append(f"cat {dbg}/stackdepot/stats > {GUEST_STACKDEPOT} 2>/dev/null")
    lines.append("exit $status")
    return "\n".join(lines)


def read_results(run_dir: Path) -> dict[int, corpus.Outcome]:
    """The outcomes every executor of the run wrote (fuzz-results.<shard>)."""
    text = "".join(p.read_text(errors="replace") for p in sorted(run_dir.glob("fuzz-results*")))
    return corpus.parse_results(text)


def keep_program(prog: corpus.Program, path: Path, what: str) -> Path:
    """Write prog as a file that read_kept() reads back: a header, its parameters, its text."""
    header = (f"-- fuzz program {prog.id}: {what}\n"
              f"-- executor parameters: {prog.params_line()}\n")
    path.write_bytes(header.encode() + prog.script)
    return path


def keep_failing(prog: corpus.Program, outcome: corpus.Outcome, dest: Path) -> Path:
    return keep_program(prog, dest / f"failing-{prog.id}.lua",
                        outcome.crash or "; ".join(outcome.splats) or outcome.slow)


def extract(seed: int | str, index: int) -> Path:
    """Program `index` of `seed` as a file to rerun or minimise on its own."""
    return keep_program(grammar.program(seed, index),
                        fuzz_dir() / f"program-{seed}-{index}.lua", f"seed {seed}")


FAILURE = "failure"
"""The symptom of a kept failing program: a splat, a dead or hung worker, a broken fd."""
_ERRNO_SYMPTOM = re.compile(r"^(register|call):E\w+$")


def symptom_check(symptom: str) -> Callable[[corpus.Outcome], bool]:
    """What a minimised program must still show: FAILURE, or an errno outcome named as in
    the run's histogram (register:ETIME, call:EIO)."""
    if symptom == FAILURE:
        return lambda o: o.failed
    if not _ERRNO_SYMPTOM.match(symptom):
        raise HarnessError(f"symptom {symptom!r}: expected {FAILURE!r}, register:EXXX or "
                           "call:EXXX")
    return lambda o: symptom in o.errnos()


def split_into_boots(progs: Sequence[corpus.Program], seconds: int, programs_given: bool,
                     per_boot: int = PROGRAMS_PER_BOOT
                     ) -> list[tuple[Sequence[corpus.Program], int]]:
    """The corpus cut into boots of at most per_boot programs, each with its share of the
    fuzzing budget. A time-only run (more programs than the guest can run) gets as many
    boots as its budget could fill at the fastest rate seen; programs past them never run."""
    runnable = len(progs) if programs_given else min(len(progs), seconds * FASTEST_RATE)
    boots = max(1, math.ceil(runnable / per_boot))
    size = max(1, min(per_boot, math.ceil(len(progs) / boots)))
    chunks = [progs[k * size:(k + 1) * size] for k in range(boots)]
    total = sum(len(chunk) for chunk in chunks)
    return [(chunk, max(1, round(seconds * len(chunk) / total))) for chunk in chunks if chunk]


def depot_pools(stats: Path) -> int | None:
    """Pools in use from a copy of /sys/kernel/debug/stackdepot/stats ("pools: N")."""
    m = _DEPOT_POOLS.search(stats.read_text(errors="replace")) if stats.exists() else None
    return int(m.group(1)) if m else None


def run(*, seed: int | str, programs: int | None, seconds: int, stress_seconds: int = 0,
        variant: str = "debug", memory_mb: int = 3072,
        programs_per_boot: int = PROGRAMS_PER_BOOT) -> FuzzReport:
    clock = Stopwatch()
    exec_bin = tools.build(tools.FUZZ_EXEC, variant)
    stress_bin = tools.build(tools.STRESS, variant) if stress_seconds else None
    count = programs if programs is not None else max(seconds * PROGRAMS_PER_SECOND, 100)
    say(f"generating {count} programs from seed {seed}")
    progs = grammar.programs(seed, count)
    boots = split_into_boots(progs, seconds, programs is not None, programs_per_boot)
    say(f"corpus generated in {clock}: {len(boots)} boot(s) of at most "
        f"{max(len(chunk) for chunk, _ in boots)} programs")
    report = FuzzReport(seed=seed, generated=sum(len(chunk) for chunk, _ in boots))
    by_id = {p.id: p for p in progs}
    for k, (chunk, boot_seconds) in enumerate(boots, 1):
        last = k == len(boots)
        corpus_file = fuzz_dir() / f"corpus-{seed}-{count}-boot{k}.txt"
        corpus.write_corpus(corpus_file, chunk)
        run_boot(report, by_id, exec_bin, corpus_file, boot_seconds,
                 stress_bin if last else None, stress_seconds if last else 0,
                 label=f"boot {k} of {len(boots)} (programs {chunk[0].id}-{chunk[-1].id})",
                 variant=variant, memory_mb=memory_mb)
    report.errnos = corpus.errno_histogram(report.outcomes.values())
    return report


def run_boot(report: FuzzReport, by_id: dict[int, corpus.Program], exec_bin: Path,
             corpus_file: Path, seconds: int, stress_bin: Path | None, stress_seconds: int,
             *, label: str, variant: str, memory_mb: int) -> None:
    """One boot: run the corpus file (and the stress program), add what it found to report."""
    command = guest_command(exec_bin, corpus_file, seconds, stress_bin, stress_seconds)
    timeout = seconds + stress_seconds + BOOT_MARGIN
    say(f"{label}: booting the {variant} kernel: fuzz {seconds}s, stress {stress_seconds}s")
    start = time.monotonic()
    # Two real vCPUs: the executors, threads and forked children of the stress run race
    # on one state for real, not only by preemption.
    res = vm.run(command, variant=variant, stream=True, timeout=timeout, memory_mb=memory_mb,
                 append="kmemleak=on", smp_sockets=True)
    report.seconds += time.monotonic() - start
    report.run_dirs.append(res.run_dir)
    if res.returncode != 0:
        report.guest_failures.append(f"{label}: {res.failure_reason()}")
    outcomes = read_results(res.run_dir)
    report.outcomes.update(outcomes)
    report.fuzz_seconds += max((int(m) for m in _EXEC_PROGRESS.findall(res.output)),
                               default=0)
    for outcome in outcomes.values():
        if outcome.id in by_id:
            outcome.excuse_injected_fault(by_id[outcome.id])
        if outcome.failed and outcome.id in by_id:
            report.failing.append(keep_failing(by_id[outcome.id], outcome, res.run_dir))
    report.kernel_splats += [f"{label}: {line}" for line in
                             logscan.splats(leaks.without_oom_reports(res.serial))]
    stress_out = res.run_dir / "stress-results"
    if stress_out.exists():
        text = stress_out.read_text(errors="replace")
        report.stress_lines = [ln for ln in text.splitlines() if ln.startswith(("ok", "not ok"))]
        report.stress_failures = [ln for ln in text.splitlines() if ln.startswith("not ok")]
    if stress_seconds and not report.stress_lines:
        report.stress_failures.append("the stress program reported nothing")
    if "kmemleak scan done" in res.output:
        report.leak_scans += 1
    leak_file = res.run_dir / "kmemleak"
    if leak_file.exists():
        report.leaks += leaks.parse(leak_file.read_text(errors="replace"))
    report.depot_pools.append((depot_pools(res.run_dir / "stackdepot.boot"),
                               depot_pools(res.run_dir / "stackdepot")))


def read_kept(path: Path) -> corpus.Program:
    """A program kept by keep_failing(): its parameters line and its script."""
    data = path.read_bytes()
    head, _, rest = data.partition(b"\n")
    params_line, _, script = rest.partition(b"\n")
    if not (head.startswith(b"-- fuzz program") and params_line.startswith(b"-- executor")):
        return corpus.Program(0, data)
    params, args = corpus.parse_params_line(params_line.decode().partition(":")[2])
    return corpus.Program(0, script, params, args)


def guest_oracle(template: corpus.Program, symptom: Callable[[corpus.Outcome], bool],
                 variant: str = "debug") -> Callable[[Sequence[str]], list[bool]]:
    """An oracle for minimise(): one boot runs every candidate with template's parameters."""
    exec_bin = tools.build(tools.FUZZ_EXEC, variant)

    def oracle(texts: Sequence[str]) -> list[bool]:
        progs = [corpus.Program(i, t.encode("utf-8", errors="surrogateescape"),
                                dict(template.params), list(template.args))
                 for i, t in enumerate(texts)]
        corpus_file = fuzz_dir() / f"minimise-{os.getpid()}.txt"
        corpus.write_corpus(corpus_file, progs)
        say(f"minimise: testing {len(progs)} candidates")
        command = guest_command(exec_bin, corpus_file, 600, None, 0, shards=1, leak_scan=False)
        res = vm.run(command, variant=variant, timeout=900)
        outcomes = read_results(res.run_dir)
        return [symptom(outcomes.get(i, corpus.Outcome(i))) for i in range(len(progs))]

    return oracle


def minimise_kept(path: Path, variant: str = "debug", symptom: str = FAILURE) -> Path:
    """Shrink a kept program while it still shows symptom; write <path>.min.lua."""
    prog = read_kept(path)
    text = prog.script.decode("utf-8", errors="surrogateescape")
    probe = guest_oracle(prog, symptom_check(symptom), variant)
    if not probe([text])[0]:
        raise HarnessError(f"{path} does not show {symptom} when run alone: nothing to "
                           "minimise")
    small = minimise.minimise(text, probe)
    out = path.with_suffix(".min.lua")
    out.write_text(f"-- minimised from {path.name}\n-- executor parameters: "
                   f"{prog.params_line()}\n{small}", errors="surrogateescape")
    say(f"minimised {len(text)} -> {len(small)} bytes: {out}")
    return out
