"""Build every commit of the series on its own, as `git rebase -x make` would, incrementally.

Each commit is checked out in a worktree of its own (the main kernel tree stays at the series
head for the other jobs) and built with the test configuration: the debug variant's final
.config, re-applied at every commit and reduced by olddefconfig to what that commit offers.
Warnings count as failures. The report lists, per commit, which feature options were on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import build, tree
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


def _make(wt: Path, out: Path) -> list[str]:
    jobs = (os.cpu_count() or 2) + 1
    return ["make", "-C", str(wt), f"O={out}", "ARCH=x86_64", f"-j{jobs}",
            "CC=ccache gcc", "HOSTCC=ccache gcc"]


def build_commit(wt: Path, out: Path, config: Path, commit: str) -> CommitBuild:
    subject = git(wt, "log", "-1", "--format=%s", commit)
    clock = Stopwatch()
    git(wt, "checkout", "-q", "-f", "--detach", commit)
    shutil.copyfile(config, out / ".config")
    env = build.ccache_env()
    run([*_make(wt, out), "olddefconfig"], env=env, capture=True)
    log = out / "build.log"
    with log.open("w") as logf:
        rc = subprocess.run([*_make(wt, out), "bzImage"], env={**os.environ, **env},
                            stdout=logf, stderr=subprocess.STDOUT).returncode
    text = log.read_text()
    problems = [ln for ln in text.splitlines() if _WARNING.search(ln)]
    if rc:
        problems.append(f"make exited {rc}")
    values = build.config_values(out / ".config")
    features = [f.removeprefix("CONFIG_") for f in FEATURES if values.get(f) == "y"]
    return CommitBuild(commit, subject, clock.elapsed(), features, problems)


def check(first: str = LUA_IMPORT_TAG) -> list[CommitBuild]:
    """Build first..series head one commit at a time; raise if any commit fails."""
    with build_lock():
        head = tree.prepare()
        config = build.configure("debug")
        commits = git(kernel_tree(), "rev-list", "--reverse", f"{first}..{head}").split()
        wt = _worktree()
    out = work_dir() / "out"
    out.mkdir(parents=True, exist_ok=True)
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
    rows = ["| # | commit | subject | build | options on |", "|---|---|---|---|---|"]
    for n, r in enumerate(results, 1):
        verdict = "ok, 0 warnings" if not r.problems else f"{len(r.problems)} problems"
        rows.append(f"| {n} | {r.commit[:12]} | {r.subject} | {verdict} ({r.seconds:.0f} s) | "
                    f"{', '.join(r.features) or '-'} |")
    return "\n".join(rows)
