"""Build and boot every commit of the series on its own, as `git rebase -x` would, incrementally.

Each commit is checked out in a worktree of its own (the main kernel tree stays at the series
head for the other jobs) and built with the test configuration: the debug variant's final
.config, re-applied at every commit and reduced by olddefconfig to what that commit offers.
Warnings count as failures. Each kernel is then booted (QEMU, the harness's runner) and must
reach user space with a clean log, its KUnit cases (from the KUnit patch on) passing; once the
system calls are wired up, the boot also runs a one-line script through them.
The report lists, per commit, which feature options were on.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import build, logscan, tree, vm
from .layout import LUA_IMPORT_TAG, build_lock, build_root, kernel_tree
from .proc import HarnessError, Stopwatch, git, run, say

FEATURES = ("CONFIG_LUA", "CONFIG_LUA_SYSCALL", "CONFIG_LUA_KUNIT_TEST")
_WARNING = re.compile(r"\b(warning|error):", re.IGNORECASE)


@dataclass
class CommitBuild:
    commit: str
    subject: str
    seconds: float
    features: list[str]
    problems: list[str]


def work_dir() -> Path:
    return build_root() / "series-check"


def _worktree() -> Path:
    wt = work_dir() / "linux"
    if not (wt / ".git").exists():
        work_dir().mkdir(parents=True, exist_ok=True)
        git(kernel_tree(), "worktree", "prune")
        git(kernel_tree(), "worktree", "add", "-f", "--detach", str(wt), LUA_IMPORT_TAG)
    return wt


def build_commit(wt: Path, out: Path, config: Path, commit: str) -> CommitBuild:
    subject = git(wt, "log", "-1", "--format=%s", commit)
    clock = Stopwatch()
    git(wt, "checkout", "-q", "-f", "--detach", commit)
    shutil.copyfile(config, out / ".config")
    env = build.ccache_env()
    run([*build.make_args_for(wt, out), "olddefconfig"], env=env, capture=True)
    log = out / "build.log"
    with log.open("w") as logf:
        rc = subprocess.run([*build.make_args_for(wt, out), "bzImage"], env={**os.environ, **env},
                            stdout=logf, stderr=subprocess.STDOUT).returncode
    text = log.read_text()
    problems = [ln for ln in text.splitlines() if _WARNING.search(ln)]
    if rc:
        problems.append(f"make exited {rc}")
    values = build.config_values(out / ".config")
    features = [f.removeprefix("CONFIG_") for f in FEATURES if values.get(f) == "y"]
    if not problems:
        table = (wt / "arch/x86/entry/syscalls/syscall_64.tbl").read_text()
        wired = "LUA_SYSCALL" in features and "lua_syscall" in table
        problems = boot_problems(out / "arch/x86/boot/bzImage", wired)
    return CommitBuild(commit, subject, clock.elapsed(), features, problems)


# Through the raw syscall, as a program built against the commit's own headers would.
_SMOKE = ("python3 -c 'import ctypes; s=b\"return function(a) return a + 1 end\"; "
          "l=ctypes.CDLL(None, use_errno=True); fd=l.syscall(463, s, len(s), 0); "
          "a=(ctypes.c_uint64*1)(41); print(\"lua_syscall:\", l.syscall(464, fd, a, 1, 0))'")


def boot_problems(image: Path, syscalls: bool) -> list[str]:
    command = "uname -r" + (f"; {_SMOKE}" if syscalls else "")
    res = vm.run(command, kernel=image, timeout=240)
    serial = res.serial
    problems = [f"kernel log: {line}" for line in logscan.splats(serial)]
    if res.returncode != 0:
        problems.append(f"boot: {res.failure_reason()} (serial log {res.serial_log})")
    if syscalls and "lua_syscall: 42" not in res.output:
        problems.append(f"boot: the smoke script did not return 42: {res.output[-300:]!r}")
    problems += [f"KUnit: not ok {name}" for name in logscan.kunit_results(serial).failed]
    return problems


def check(first: str = LUA_IMPORT_TAG) -> list[CommitBuild]:
    """Build first..series head one commit at a time; raise if any commit fails."""
    with build_lock():
        head = tree.prepare()
        config = build.configure("debug")
        commits = git(kernel_tree(), "rev-list", "--reverse", f"{first}..{head}").split()
        wt = _worktree()
    out = work_dir() / "out"
    out.mkdir(parents=True, exist_ok=True)
    # One check at a time: two would build in the same worktree and output directory.
    lock = (work_dir() / ".lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        raise HarnessError(f"another `series check` is running in {work_dir()}") from e
    results = []
    for n, commit in enumerate(commits, 1):
        say(f"[{n}/{len(commits)}] building {commit[:12]} "
            f"{git(kernel_tree(), 'log', '-1', '--format=%s', commit)}")
        res = build_commit(wt, out, config, commit)
        results.append(res)
        state = "ok" if not res.problems else f"{len(res.problems)} problem(s)"
        say(f"    {state} in {res.seconds:.0f}s; on: {', '.join(res.features) or '-'}")
        for line in res.problems[:10]:
            print(f"      {line}", flush=True)
    failed = [r for r in results if r.problems]
    print(table(results), flush=True)
    if failed:
        raise HarnessError(f"{len(failed)} of {len(results)} commits do not build cleanly")
    return results


def table(results: list[CommitBuild]) -> str:
    rows = ["| # | commit | subject | build + boot | options on |", "|---|---|---|---|---|"]
    for n, r in enumerate(results, 1):
        verdict = "ok, 0 warnings, clean boot" if not r.problems else f"{len(r.problems)} problems"
        rows.append(f"| {n} | {r.commit[:12]} | {r.subject} | {verdict} ({r.seconds:.0f} s) | "
                    f"{', '.join(r.features) or '-'} |")
    return "\n".join(rows)
