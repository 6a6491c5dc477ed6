"""The `lua-syscall` command line."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import (
    accel,
    arm64,
    b4prep,
    bench,
    build,
    machine_setup,
    patches,
    profile,
    series_check,
    series_refresh,
    suite,
    tree,
    vm,
)
from .layout import ARCHES, DEFAULT_ARCH, LUA_IMPORT_TAG, build_root
from .proc import HarnessError, say


def _setup(args: argparse.Namespace) -> int:
    machine_setup.setup()
    if args.arch == arm64.ARCH:
        arm64.setup()
    return 0


def _need_arch_tools(arch: str) -> None:
    if arch == arm64.ARCH and not arm64.tools_installed():
        raise HarnessError("the arm64 cross compiler or QEMU is missing: run "
                           "`lua-syscall setup --arch arm64`")


def _tree(args: argparse.Namespace) -> int:
    print(tree.prepare())
    return 0


def _build(args: argparse.Namespace) -> int:
    _need_arch_tools(args.arch)
    tree.prepare()
    build.build(args.variant, arch=args.arch)
    return 0


def _vm(args: argparse.Namespace) -> int:
    command = " ".join(args.command) or "uname -a"
    _need_arch_tools(args.arch)
    res = vm.run(command, variant=args.variant, timeout=args.timeout, stream=True,
                 memory_mb=args.memory, cpus=args.cpus, arch=args.arch)
    say(f"{res.failure_reason() if res.returncode != 0 else 'guest command exited 0'} "
        f"({res.accel}, {res.seconds:.1f}s); serial log: {res.serial_log}")
    return 125 if res.returncode is None else res.returncode


def _accel(args: argparse.Namespace) -> int:
    kernel = vm.kernel_image(args.variant)
    print(accel.choose(kernel, None if args.fresh else build_root() / "accel-probe.json"))
    return 0


def _patches(args: argparse.Namespace) -> int:
    if args.check:
        stale = patches.stale_files()
        if stale:
            say(f"patches/ is stale: {', '.join(stale)}; run `lua-syscall patches`")
            return 1
        patches.check_applies()
        say("patches/ is fresh and applies with git am onto a clean base")
        return 0
    patches.write()
    return 0


def _series(args: argparse.Namespace) -> int:
    if args.action == "refresh":
        series_refresh.refresh(args.ref)
    else:
        series_check.check(first=args.after or LUA_IMPORT_TAG, arches=args.arches or ARCHES)
    return 0


def _b4(args: argparse.Namespace) -> int:
    if args.action == "prep":
        b4prep.prepare()
    elif args.action == "check":
        print(b4prep.check(), end="")
    else:
        b4prep.send_dry_run()
    return 0


def _fuzz(args: argparse.Namespace) -> int:
    from .fuzz import runner

    seed = args.seed if args.seed is not None else int(time.time())
    if args.program is not None:
        say(f"program {args.program} of seed {seed}: {runner.extract(seed, args.program)}")
        return 0
    tree.prepare()
    build.build(args.variant)
    if args.minimise:
        runner.minimise_kept(Path(args.minimise), args.variant, args.symptom)
        return 0
    per_boot = (runner.PROGRAMS_PER_BOOT if args.programs_per_boot is None
                else args.programs_per_boot)
    if (args.programs is not None and args.programs < 1) or per_boot < 1:
        raise HarnessError("--programs and --programs-per-boot must be at least 1")
    report = runner.run(seed=seed, programs=args.programs, seconds=args.seconds,
                        stress_seconds=args.stress_seconds, variant=args.variant,
                        programs_per_boot=per_boot)
    report.print()
    return 1 if report.problems() else 0


def _test(args: argparse.Namespace) -> int:
    if args.arch != DEFAULT_ARCH:
        return suite.test_arch(args.arch, skip_setup=args.skip_setup)
    return suite.test(skip_setup=args.skip_setup, pytest_args=args.pytest_args)


def _demo(args: argparse.Namespace) -> int:
    return suite.demo(skip_setup=args.skip_setup)


def _bench(args: argparse.Namespace) -> int:
    return bench.run(args.guest_args, timeout=args.timeout, skip_build=args.skip_build,
                     wall_clock=args.wall_clock)


def _profile(args: argparse.Namespace) -> int:
    return profile.profile(skip_build=args.skip_build, top=args.top, timeout=args.timeout,
                           memcached=args.memcached)


def _native_clock(args: argparse.Namespace) -> int:
    from . import native_clock

    return native_clock.native_clock(variants=args.flags, runs=args.runs, rounds=args.rounds,
                                     sample_us=args.sample_us, cpu=args.cpu)


def _check(args: argparse.Namespace) -> int:
    from . import check

    return check.check(args.files, name=args.name, errors_only=args.errors_only,
                       as_json=args.json, build=args.kernel_build, corpus=args.corpus)


def _arch_option(s: argparse.ArgumentParser, more: str = "") -> None:
    s.add_argument("--arch", choices=ARCHES, default=DEFAULT_ARCH,
                   help=f"kernel architecture (default {DEFAULT_ARCH}){more}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lua-syscall", description=__doc__)
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    s = sub.add_parser("setup", help="install Debian and PyPI dependencies (idempotent)")
    _arch_option(s, " (arm64: also the cross compiler, qemu-system-aarch64, busybox)")
    s.set_defaults(func=_setup)

    s = sub.add_parser("tree", help="prepare build/linux: Debian base, Lua import, series")
    s.set_defaults(func=_tree)

    s = sub.add_parser("build", help="build a kernel variant (incremental, ccache)")
    s.add_argument("--variant", choices=build.VARIANTS, default="debug")
    _arch_option(s)
    s.set_defaults(func=_build)

    s = sub.add_parser("vm", help="boot the built kernel and run a command in it",
                       description="Boot the built kernel with the host's / read-only and "
                       "run COMMAND (a shell command line); exit with its status.")
    s.add_argument("--variant", choices=build.VARIANTS, default="debug")
    s.add_argument("--timeout", type=float, default=vm.DEFAULT_TIMEOUT, help="seconds")
    s.add_argument("--memory", type=int, default=3072, help="MiB")
    s.add_argument("--cpus", type=int, default=2)
    _arch_option(s, " (arm64: busybox and the kselftests in an initramfs, no host root)")
    s.add_argument("command", nargs=argparse.REMAINDER)
    s.set_defaults(func=_vm)

    s = sub.add_parser("accel", help="print the QEMU accelerator the runner would use")
    s.add_argument("--variant", choices=build.VARIANTS, default="debug")
    s.add_argument("--fresh", action="store_true", help="probe again, ignoring the cache")
    s.set_defaults(func=_accel)

    s = sub.add_parser("patches", help="export the series to patches/ (or --check it)")
    s.add_argument("--check", action="store_true",
                   help="fail unless patches/ is fresh and applies onto a clean base")
    s.set_defaults(func=_patches)

    s = sub.add_parser("series", help="refresh the series from the kernel tree, or build "
                       "each commit", description="refresh: record the kernel tree's commits "
                       "on the Lua import (edited with git) as series.toml + diffs. check: "
                       "build and boot every commit on its own with the test config, for "
                       "x86-64 and arm64 (0 warnings, clean boot).")
    s.add_argument("action", choices=("refresh", "check"))
    s.add_argument("--from", dest="ref", default=None, metavar="REF",
                   help="refresh: the kernel tree commit to record (default HEAD)")
    s.add_argument("--after", default=None, metavar="COMMIT",
                   help="check: only the commits after COMMIT (default: all, from the Lua "
                   "import on)")
    s.add_argument("--arch", dest="arches", action="append", choices=ARCHES, default=None,
                   help="check: only this architecture (repeatable; default: all of "
                   f"{', '.join(ARCHES)})")
    s.set_defaults(func=_series)

    s = sub.add_parser("b4", help="the series as a b4 prep branch: prep, check, send",
                       description="prep: branch b4/lua-syscall with the cover letter from "
                       "series.toml (worktree build/b4/linux, where `b4 send` works). check: "
                       "`b4 prep --check` (checkpatch --strict, documented exemptions only). "
                       "send: write the mails b4 would send to build/b4/outbox.")
    s.add_argument("action", choices=("prep", "check", "send"))
    s.set_defaults(func=_b4)


    s = sub.add_parser("bench", help="memcached UDP benchmark (stock / mmsg / uring / lua) in the "
                       "bench kernel", description="Build the bench kernel, memcached and the "
                       "load generator, boot once and run the benchmark; extra arguments go to "
                       "the guest runner (e.g. --reps 10 --duration 5; see "
                       "python -m lua_syscall_harness.bench_guest --help).")
    s.add_argument("--timeout", type=float, default=2400, help="guest seconds")
    s.add_argument("--skip-build", action="store_true", help="use the existing builds")
    s.add_argument("--wall-clock", action="store_true",
                   help="time with the host clock (multi-threaded TCG) instead of icount")
    s.add_argument("guest_args", nargs=argparse.REMAINDER)
    s.set_defaults(func=_bench)

    s = sub.add_parser("profile", help="instructions per kernel function of the hot paths "
                       "(bench kernel, icount, a QEMU plugin)",
                       description="Boot the bench kernel under icount with the insn_profile "
                       "QEMU plugin and count, per kernel function, the instructions of a "
                       "direct getppid(), an empty lua_syscall() and one nested "
                       "sys.getppid().")
    s.add_argument("--timeout", type=float, default=1200, help="guest seconds")
    s.add_argument("--skip-build", action="store_true", help="use the existing bench kernel")
    s.add_argument("--top", type=int, default=25, help="functions shown per workload")
    s.add_argument("--no-memcached", dest="memcached", action="store_false",
                   help="only the system call workloads, not memcached's instructions per GET")
    s.set_defaults(func=_profile)

    s = sub.add_parser("native-clock", help="the in-kernel path timed on the host CPU (a "
                       "user-space replica built with the bench kernel's flags)",
                       description="Build the Lua runtime and the nested-call path of "
                       "build/linux (its HEAD) with the bench kernel's gcc flags into a "
                       "user-space replica and time, interleaved, the host's getppid() "
                       "crossing, 64 of them, an empty lua_syscall(), one and 64 nested "
                       "sys.getppid(); results in build/native-clock-results/.")
    s.add_argument("--flags", action="append", default=None, metavar="VARIANT",
                   help="code generation variant, repeatable: kernel (the bench kernel's "
                   "flags) or [no]retpoline-{rethunk,noret}-[no]jumptables, either with "
                   "-goto for the VM's computed-goto dispatch (default: kernel "
                   "and noretpoline-rethunk-nojumptables)")
    s.add_argument("--runs", type=int, default=5, help="driver runs per variant")
    s.add_argument("--rounds", type=int, default=101, help="interleaved rounds per run")
    s.add_argument("--sample-us", type=int, default=200, help="us per timed sample")
    s.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the last)")
    s.set_defaults(func=_native_clock)

    s = sub.add_parser("check", help="the kernel's registration log of Lua scripts, on the "
                       "host (no boot)",
                       description="Register each FILE with the kernel's own registration "
                       "code (build/linux HEAD, compiled into a user-space replica with a "
                       "kernel build's gcc flags and generated headers: the first of "
                       "build/debug, build/bench, build/stack16 built with this series; run "
                       "`lua-syscall tree` and `lua-syscall build` first) and print the log "
                       "the kernel would write at the warnings level: compile errors, "
                       "top-level runtime errors, unknown sys/sys.const names (x86-64's), "
                       "with line numbers. Exit 0 if the kernel would accept every FILE, 1 "
                       "if not (\"FILE: refused: ERRNO\" on stderr). Nothing runs on the "
                       "script's behalf: nested system calls at the top level return -ENOSYS "
                       "and mem.* faults (EFAULT); budgets and limits are the sysctls' "
                       "defaults.")
    s.add_argument("files", nargs="*", metavar="FILE", help="Lua script ('-': stdin)")
    s.add_argument("--name", default=None,
                   help="the state's name, the chunk name in messages (default: script)")
    s.add_argument("--errors-only", action="store_true",
                   help="log level LUA_SYSCALL_LOG_ERRORS: no warnings")
    s.add_argument("--json", action="store_true",
                   help="print a JSON list of {file, log, accepted, errno}")
    s.add_argument("--kernel-build", choices=build.VARIANTS, default=None,
                   help="the kernel build whose flags and generated headers to use")
    s.add_argument("--corpus", action="store_true",
                   help="also check py-harness/tests/check_corpus/ and write "
                   "build/check/expected.json for the guest test")
    s.set_defaults(func=_check)

    s = sub.add_parser("fuzz", help="fuzz and stress both system calls in the debug kernel",
                       description="Generate random Lua programs from a seed, run them through "
                       "both system calls in the debug kernel within a time budget (a long run "
                       "over several boots), then the stress program, with a kmemleak scan "
                       "in every boot; exit 1 on any kernel splat, dead executor or leak.")
    s.add_argument("--seconds", type=int, default=150, help="fuzzing budget in the guest")
    s.add_argument("--seed", help="reproduce a run (default: the current time)")
    s.add_argument("--programs", type=int, help="programs to generate (default: enough for "
                   "the budget)")
    s.add_argument("--programs-per-boot", type=int,
                   help="split longer runs over several boots (default 3000: the debug "
                   "kernel's stack depot fills up after ~10,000 programs)")
    s.add_argument("--stress-seconds", type=int, default=60,
                   help="stress budget after the fuzzing (0: no stress)")
    s.add_argument("--minimise", metavar="FAILING_LUA",
                   help="shrink a failing program the run kept (failing-N.lua) instead")
    s.add_argument("--symptom", default="failure",
                   help="with --minimise: what the program must still show, 'failure' (a "
                   "splat, dead worker, broken fd) or an errno outcome such as call:EIO")
    s.add_argument("--program", type=int, metavar="N",
                   help="write program N of --seed to a file (to rerun or --minimise) instead")
    s.add_argument("--variant", choices=build.VARIANTS, default="debug")
    s.set_defaults(func=_fuzz)

    for name, func, text in (
        ("demo", _demo, "set up, build, boot the kernel and run the demo in it"),
        ("test", _test, "set up, build, run every test (host, guest, kselftest)"),
    ):
        s = sub.add_parser(name, help=text)
        s.add_argument("--skip-setup", action="store_true", help="do not run set-up first")
        if name == "test":
            _arch_option(s, f" ({DEFAULT_ARCH}: every test, plus the arches in "
                         f"${suite.ARCHES_ENV}; other arches: their own stage only, "
                         "KUnit + kselftests + log scan)")
            s.add_argument("pytest_args", nargs="*", help="extra arguments for host pytest")
        s.set_defaults(func=func)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "command", None) and args.command[0] == "--":
        args.command = args.command[1:]
    if getattr(args, "guest_args", None) and args.guest_args[0] == "--":
        args.guest_args = args.guest_args[1:]
    try:
        return args.func(args)
    except HarnessError as e:
        say(f"error: {e}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
