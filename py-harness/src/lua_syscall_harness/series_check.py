"""Build and boot every commit of the series on its own, as `git rebase -x` would, incrementally,
for each architecture the series wires up.

Each commit is checked out in a worktree of its own (the main kernel tree stays at the series
head for the other jobs) and built, per architecture, with the test configuration: that arch's
debug variant's final .config, re-applied at every commit and reduced by olddefconfig to what
that commit offers. Warnings count as failures. Each kernel is then booted (QEMU, the harness's
runner; arm64 under TCG with a busybox initramfs) and must reach user space with a clean log,
its KUnit cases (from the KUnit patch on) passing; once the system calls are wired up for the
arch, the boot also runs a one-line script through them (Python's ctypes on x86-64, whose guest
has the host's root; a static C program, guest/lua_smoke.c, on arm64).
The report lists, per commit and arch, which feature options were on.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import arm64, build, logscan, tree, vm
from .layout import (
    ARCHES,
    DEFAULT_ARCH,
    GUEST_DIR,
    LUA_IMPORT_TAG,
    build_lock,
    build_root,
    kernel_tree,
)
from .proc import HarnessError, Stopwatch, git, run, say

FEATURES = ("CONFIG_LUA", "CONFIG_LUA_SYSCALL", "CONFIG_LUA_KUNIT_TEST")
_WARNING = re.compile(r"\b(warning|error):", re.IGNORECASE)
# Where each arch's system call numbers come from: the smoke test runs once the table has them.
SYSCALL_TABLE = {"x86_64": "arch/x86/entry/syscalls/syscall_64.tbl",
                 "arm64": "scripts/syscall.tbl"}
BOOT_TIMEOUT = {"x86_64": 240.0, "arm64": 420.0}
SMOKE_SOURCE = GUEST_DIR / "lua_smoke.c"
SMOKE_OUTPUT = "lua_syscall: 42"


@dataclass
class ArchBuild:
    arch: str
    seconds: float
    features: list[str]
    problems: list[str]


@dataclass
class CommitBuild:
    commit: str
    subject: str
    arches: list[ArchBuild] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f"{a.arch}: {p}" for a in self.arches for p in a.problems]


def work_dir() -> Path:
    return build_root() / "series-check"


def out_dir(arch: str) -> Path:
    """The O= directory of one arch (x86-64 keeps the name it always had). Its path relative
    to the worktree is that of build/<variant> to build/linux, so ccache hits across them."""
    return work_dir() / ("out" if arch == DEFAULT_ARCH else f"out-{arch}")


def _worktree() -> Path:
    wt = work_dir() / "linux"
    if not (wt / ".git").exists():
        work_dir().mkdir(parents=True, exist_ok=True)
        git(kernel_tree(), "worktree", "prune")
        git(kernel_tree(), "worktree", "add", "-f", "--detach", str(wt), LUA_IMPORT_TAG)
    return wt


def build_arch(wt: Path, arch: str, config: Path, initrd: Path | None) -> ArchBuild:
    """Build the checked-out commit for arch with config; boot it if it built cleanly."""
    clock = Stopwatch()
    out = out_dir(arch)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config, out / ".config")
    env = build.ccache_env()
    run([*build.make_args_for(wt, out, arch), "olddefconfig"], env=env, capture=True)
    log = out / "build.log"
    with log.open("w") as logf:
        rc = subprocess.run([*build.make_args_for(wt, out, arch), Path(build.IMAGE[arch]).name],
                            env={**os.environ, **env}, stdout=logf,
                            stderr=subprocess.STDOUT).returncode
    problems = [ln for ln in log.read_text().splitlines() if _WARNING.search(ln)]
    if rc:
        problems.append(f"make exited {rc}")
    values = build.config_values(out / ".config")
    features = [f.removeprefix("CONFIG_") for f in FEATURES if values.get(f) == "y"]
    if not problems:
        wired = ("LUA_SYSCALL" in features
                 and "lua_syscall" in (wt / SYSCALL_TABLE[arch]).read_text())
        problems = boot_problems(out / build.IMAGE[arch], wired, arch, initrd)
    return ArchBuild(arch, clock.elapsed(), features, problems)


def build_commit(wt: Path, commit: str, configs: dict[str, Path],
                 initrds: dict[str, Path | None]) -> CommitBuild:
    git(wt, "checkout", "-q", "-f", "--detach", commit)
    result = CommitBuild(commit, git(wt, "log", "-1", "--format=%s", commit))
    for arch, config in configs.items():
        result.arches.append(build_arch(wt, arch, config, initrds.get(arch)))
    return result


# Through the raw syscall, as a program built against the commit's own headers would.
# register_lua_syscall(&reg, 72) since its argument became a struct, (script, len, flags)
# before: each refuses the other's arguments, so the smoke test tries both.
_SMOKE_PY = ("python3 -c 'import ctypes; s=ctypes.create_string_buffer("
             "b\"return function(a) return a + 1 end\"); n=len(s.value); "
             "l=ctypes.CDLL(None, use_errno=True); "
             "r=(ctypes.c_uint64*9)(ctypes.addressof(s), n); fd=l.syscall(463, r, 72); "
             "fd=fd if fd >= 0 else l.syscall(463, s, n, 0); "
             "a=(ctypes.c_uint64*1)(41); print(\"lua_syscall:\", l.syscall(464, fd, a, 1, 0))'")
_SMOKE_COMMAND = {"x86_64": _SMOKE_PY, "arm64": f"{arm64.GUEST_MOUNT}/lua_smoke"}


def boot_problems(image: Path, syscalls: bool, arch: str = DEFAULT_ARCH,
                  initrd: Path | None = None) -> list[str]:
    command = "uname -r" + (f"; {_SMOKE_COMMAND[arch]}" if syscalls else "")
    res = vm.run(command, kernel=image, arch=arch, initrd=initrd, timeout=BOOT_TIMEOUT[arch],
                 memory_mb=2048 if arch == arm64.ARCH else 3072)
    serial = res.serial
    problems = [f"kernel log: {line}" for line in logscan.splats(serial)]
    if res.returncode != 0:
        problems.append(f"boot: {res.failure_reason()} (serial log {res.serial_log})")
    if syscalls and SMOKE_OUTPUT not in res.output:
        problems.append(f"boot: the smoke script did not return 42: {res.output[-300:]!r}")
    problems += [f"KUnit: not ok {name}" for name in logscan.kunit_results(serial).failed]
    return problems


def arm64_initramfs() -> Path:
    """busybox and the smoke program (static, cross-built once) as the arm64 guest's user
    space: the kselftests of the series head would not match the earlier commits."""
    smoke_dir = work_dir() / "arm64-smoke"
    smoke_dir.mkdir(parents=True, exist_ok=True)
    binary = smoke_dir / "lua_smoke"
    run([f"{build.CROSS_COMPILE[arm64.ARCH]}gcc", "-static", "-O2", "-Wall", "-Werror",
         "-o", str(binary), str(SMOKE_SOURCE)], capture=True)
    path = work_dir() / "arm64-initramfs.cpio.gz"
    path.write_bytes(arm64.initramfs_bytes(GUEST_DIR / "init-arm64.sh", arm64.busybox(),
                                           smoke_dir))
    return path


def check(first: str = LUA_IMPORT_TAG, arches: Sequence[str] = ARCHES) -> list[CommitBuild]:
    """Build first..series head one commit at a time for each of arches; raise if any fails."""
    unknown = [a for a in arches if a not in ARCHES]
    if unknown or not arches:
        raise HarnessError(f"series check: unknown arch {', '.join(unknown) or '(none)'}; "
                           f"known: {', '.join(ARCHES)}")
    if arm64.ARCH in arches and not arm64.tools_installed():
        raise HarnessError("series check: the arm64 cross compiler or QEMU is missing: run "
                           "`lua-syscall setup --arch arm64`")
    with build_lock():
        head = tree.prepare()
        configs = {arch: build.configure("debug", arch) for arch in ARCHES if arch in arches}
        commits = git(kernel_tree(), "rev-list", "--reverse", f"{first}..{head}").split()
        wt = _worktree()
    # One check at a time: two would build in the same worktree and output directories.
    work_dir().mkdir(parents=True, exist_ok=True)
    lock = (work_dir() / ".lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        raise HarnessError(f"another `series check` is running in {work_dir()}") from e
    initrds: dict[str, Path | None] = {arch: None for arch in configs}
    if arm64.ARCH in configs:
        initrds[arm64.ARCH] = arm64_initramfs()
    results = []
    for n, commit in enumerate(commits, 1):
        say(f"[{n}/{len(commits)}] building {commit[:12]} "
            f"{git(kernel_tree(), 'log', '-1', '--format=%s', commit)} "
            f"({', '.join(configs)})")
        res = build_commit(wt, commit, configs, initrds)
        results.append(res)
        for a in res.arches:
            state = "ok" if not a.problems else f"{len(a.problems)} problem(s)"
            say(f"    {a.arch}: {state} in {a.seconds:.0f}s; on: {', '.join(a.features) or '-'}")
            for line in a.problems[:10]:
                print(f"      {line}", flush=True)
    failed = [r for r in results if r.problems]
    print(table(results), flush=True)
    if failed:
        raise HarnessError(f"{len(failed)} of {len(results)} commits do not build cleanly")
    return results


def table(results: list[CommitBuild]) -> str:
    arches = list(dict.fromkeys(a.arch for r in results for a in r.arches))
    rows = ["| # | commit | subject | " + " | ".join(f"{a}: build + boot, options on"
                                                      for a in arches) + " |",
            "|---|---|---|" + "---|" * len(arches)]
    for n, r in enumerate(results, 1):
        cells = []
        for a in r.arches:
            verdict = ("ok, 0 warnings, clean boot" if not a.problems
                       else f"{len(a.problems)} problems")
            cells.append(f"{verdict} ({a.seconds:.0f} s); {', '.join(a.features) or '-'}")
        rows.append(f"| {n} | {r.commit[:12]} | {r.subject} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
