"""The two top-level jobs: `demo` (build, boot, show) and `test` (everything, pass/fail)."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field

from . import arm64, build, kselftest, logscan, machine_setup, memcached_build, tree, vm
from .layout import ARCHES, DEFAULT_ARCH, HARNESS_DIR, REPO_ROOT, kernel_tree, variant_dir
from .proc import HarnessError, Stopwatch, run, say

GUEST_TESTS = HARNESS_DIR / "tests" / "guest"
GUEST_LAST_TESTS = HARNESS_DIR / "tests" / "guest_last"
HOST_TESTS = HARNESS_DIR / "tests" / "host"
# the unit tests of the applications' package (python/), in the same host run
PACKAGE_TESTS = REPO_ROOT / "python" / "tests"
VARIANT = "debug"


@dataclass
class Report:
    timings: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def timed(self, name: str, clock: Stopwatch) -> None:
        self.timings[name] = clock.elapsed()

    def print(self) -> None:
        say("timings: " + ", ".join(f"{k} {v:.0f}s" for k, v in self.timings.items()))
        if self.failures:
            say("FAILED:")
            for f in self.failures:
                print(f"  - {f}", flush=True)
        else:
            say("all checks passed")


def prepare_kernel(report: Report, *, skip_setup: bool = False) -> None:
    if not skip_setup:
        clock = Stopwatch()
        machine_setup.setup()
        report.timed("setup", clock)
    clock = Stopwatch()
    head = tree.prepare()
    say(f"series head {head[:12]}")
    report.timed("tree", clock)
    clock = Stopwatch()
    build.build(VARIANT)
    kselftest.build(VARIANT)
    report.timed("build", clock)
    clock = Stopwatch()
    # the host and guest memcached tests run this binary (the guest sees the host's /)
    memcached_build.build_all()
    report.timed("memcached", clock)


def guest_expectations() -> dict[str, str]:
    """What the guest must find in its running kernel to prove it is this build."""
    return {
        "LUA_SYSCALL_GUEST": "1",
        "LUA_SYSCALL_EXPECT_RELEASE": build.kernel_release(VARIANT),
        "LUA_SYSCALL_EXPECT_VERSION": build.kernel_version_string(VARIANT),
        "LUA_SYSCALL_SERIES_HEAD": tree.git(kernel_tree(), "rev-parse", "HEAD"),
    }


def guest_command(*parts: str) -> str:
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in guest_expectations().items())
    return f"export {exports}\n" + "\n".join(parts)


def run_guest_suite(report: Report) -> None:
    write_check_expectations(report)
    python = shlex.quote(sys.executable)
    runner = shlex.quote(str(kselftest.install_dir(VARIANT) / "run_kselftest.sh"))
    command = guest_command(
        "status=0",
        f"{python} -m pytest -p no:cacheprovider -o addopts= -v -rs "
        f"{shlex.quote(str(GUEST_TESTS))} || status=1",
        "echo '== kselftest =='",
        f"{runner} || status=1",
        "echo '== last =='",
        # locks a sysctl until reboot: after everything else of this boot
        f"{python} -m pytest -p no:cacheprovider -o addopts= -v -rs "
        f"{shlex.quote(str(GUEST_LAST_TESTS))} || status=1",
        "exit $status",
    )
    clock = Stopwatch()
    say("booting the debug kernel for the guest suite (pytest + kselftests)")
    res = vm.run(command, variant=VARIANT, stream=True)
    report.timed("guest suite", clock)
    say(f"guest run: {res.accel}, {res.seconds:.0f}s, logs in {res.run_dir}")
    if res.returncode != 0:
        report.failures.append(f"guest suite: {res.failure_reason()}")
    failed_tap = kselftest.tap_failures(
        res.output.partition("== kselftest ==")[2].partition("== last ==")[0])
    report.failures += [f"kselftest: {line}" for line in failed_tap]
    check_kunit(report, res.serial)
    report.failures += [f"kernel log: {line}" for line in logscan.splats(res.serial)]


def write_check_expectations(report: Report) -> None:
    """The host checker's logs of its corpus, for the guest's test_check_matches_kernel."""
    from . import check

    check.expected_path().unlink(missing_ok=True)
    clock = Stopwatch()
    try:
        check.write_expected(build=VARIANT)
    except HarnessError as e:
        report.failures.append(f"lua-syscall check --corpus: {e}")
    report.timed("check corpus", clock)


# The short fuzz + stress runs of the test job (`lua-syscall fuzz` runs longer ones): in
# the KASAN kernel, then in the same debug kernel without KASAN, whose 16 KiB stacks are
# those the stack guards must protect (KASAN doubles them).
FUZZ_SECONDS = 100
STRESS_SECONDS = 45
STACK16_VARIANT = "stack16"
STACK16_FUZZ_SECONDS = 60
STACK16_STRESS_SECONDS = 30
FUZZ_SEED_ENV = "LUA_SYSCALL_FUZZ_SEED"


def run_fuzz(report: Report) -> None:
    from .fuzz import runner

    # A fixed seed keeps CI reproducible; set the variable to explore others.
    seed = os.environ.get(FUZZ_SEED_ENV, "ci")
    runs = ((VARIANT, seed, FUZZ_SECONDS, STRESS_SECONDS),
            (STACK16_VARIANT, f"{seed}-stack16", STACK16_FUZZ_SECONDS, STACK16_STRESS_SECONDS))
    for variant, variant_seed, seconds, stress_seconds in runs:
        clock = Stopwatch()
        if variant != VARIANT:
            build.build(variant)
        fuzz = runner.run(seed=variant_seed, programs=None, seconds=seconds,
                          stress_seconds=stress_seconds, variant=variant)
        fuzz.print()
        report.timed(f"fuzz+stress ({variant})", clock)
        report.failures += [f"fuzz ({variant}): {p}" for p in fuzz.problems()]


def kunit_expected(arch: str = DEFAULT_ARCH) -> bool:
    """True when the variant's config builds in KUnit tests (they run at boot)."""
    config = build.config_values(variant_dir(VARIANT, arch) / ".config")
    return any(k.endswith("_KUNIT_TEST") and v == "y" for k, v in config.items())


def check_kunit(report: Report, serial: str, arch: str = DEFAULT_ARCH) -> None:
    kunit = logscan.kunit_results(serial)
    where = "" if arch == DEFAULT_ARCH else f" ({arch})"
    say(f"KUnit{where}: {len(kunit.passed)} passed, {len(kunit.failed)} failed, "
        f"{len(kunit.skipped)} skipped")
    report.failures += [f"KUnit{where}: not ok {name}" for name in kunit.failed]
    if kunit_expected(arch) and not (kunit.passed or kunit.failed):
        report.failures.append(f"KUnit{where}: tests are configured but none ran at boot")


# Other architectures: a stage of their own after x86-64's, arm64 unless this variable
# says otherwise (comma- or space-separated; "x86_64" alone: none); `test --arch arm64`
# runs that stage alone. An arm64 guest has no host root and so no Python: KUnit at boot,
# the kselftests, the log scan.
ARCHES_ENV = "LUA_SYSCALL_ARCHES"
DEFAULT_EXTRA_ARCHES = "arm64"
ARCH_STAGE_TIMEOUT = 2400.0


def extra_arches() -> list[str]:
    """The architectures besides x86-64 whose stage `test` runs ($LUA_SYSCALL_ARCHES)."""
    names = os.environ.get(ARCHES_ENV, DEFAULT_EXTRA_ARCHES).replace(",", " ").split()
    unknown = [n for n in names if n not in ARCHES]
    if unknown:
        raise HarnessError(f"${ARCHES_ENV}: unknown arch {', '.join(unknown)}; "
                           f"known: {', '.join(ARCHES)}")
    return [n for n in dict.fromkeys(names) if n != DEFAULT_ARCH]


def run_arch_stage(report: Report, arch: str) -> None:
    """Build the debug kernel and the kselftests of arch, boot it: KUnit, kselftests, log."""
    if arch != arm64.ARCH:
        raise HarnessError(f"no test stage for arch {arch!r}")
    clock = Stopwatch()
    build.build(VARIANT, arch=arch)
    arm64.build_kselftests(VARIANT)
    report.timed(f"build ({arch})", clock)
    release = build.kernel_release(VARIANT, arch)
    version = build.kernel_version_string(VARIANT, arch)
    command = "\n".join((
        "status=0",
        'echo "guest kernel: $(uname -m) $(uname -r) $(uname -v)"',
        f'[ "$(uname -r)" = {shlex.quote(release)} ] && '
        f'[ "$(uname -v)" = {shlex.quote(version)} ] || '
        '{ echo "not the kernel just built"; status=1; }',
        "echo '== kselftest =='",
        f"{arm64.GUEST_MOUNT}/run_kselftest.sh || status=1",
        "echo '== end =='",
        "exit $status",
    ))
    clock = Stopwatch()
    say(f"booting the {arch} {VARIANT} kernel (TCG): KUnit at boot, kselftests")
    res = vm.run(command, variant=VARIANT, arch=arch, stream=True,
                 timeout=ARCH_STAGE_TIMEOUT, memory_mb=2048, cpus=2)
    report.timed(f"boot+tests ({arch})", clock)
    say(f"{arch} guest run: {res.seconds:.0f}s, logs in {res.run_dir}")
    if res.returncode != 0:
        report.failures.append(f"{arch} guest: {res.failure_reason()}")
    tap = res.output.partition("== kselftest ==")[2].partition("== end ==")[0]
    totals = kselftest.tap_totals(tap)
    say(f"kselftests ({arch}): " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    report.failures += [f"kselftest ({arch}): {line}"
                        for line in kselftest.tap_failures(tap)]
    check_kunit(report, res.serial, arch)
    splats = logscan.splats(res.serial)
    say(f"kernel log ({arch}): {len(splats)} KASAN/lockdep/UBSAN/WARNING/BUG lines")
    report.failures += [f"kernel log ({arch}): {line}" for line in splats]


def test_arch(arch: str, *, skip_setup: bool = False) -> int:
    """`test --arch ARCH`: that architecture's stage alone."""
    total = Stopwatch()
    report = Report()
    if not skip_setup:
        clock = Stopwatch()
        machine_setup.setup()
        arm64.setup()
        report.timed("setup", clock)
    clock = Stopwatch()
    say(f"series head {tree.prepare()[:12]}")
    report.timed("tree", clock)
    run_arch_stage(report, arch)
    report.timed("total", total)
    report.print()
    return 1 if report.failures else 0


def run_host_tests(report: Report, extra: list[str]) -> None:
    clock = Stopwatch()
    say("host tests (pytest)")
    env = {"LUA_SYSCALL_VARIANT": VARIANT}
    res = run([sys.executable, "-m", "pytest", "-v", "-rs", str(HOST_TESTS), str(PACKAGE_TESTS),
               *extra],
              cwd=HARNESS_DIR, env=env, check=False)
    report.timed("host tests", clock)
    if res.returncode != 0:
        report.failures.append(f"host pytest exited with {res.returncode}")


def test(*, skip_setup: bool = False, pytest_args: list[str] | None = None) -> int:
    total = Stopwatch()
    report = Report()
    prepare_kernel(report, skip_setup=skip_setup)
    run_host_tests(report, pytest_args or [])
    run_guest_suite(report)
    run_fuzz(report)
    for arch in extra_arches():
        if not skip_setup:
            arm64.setup()
        run_arch_stage(report, arch)
    report.timed("total", total)
    report.print()
    return 1 if report.failures else 0


def demo(*, skip_setup: bool = False) -> int:
    report = Report()
    prepare_kernel(report, skip_setup=skip_setup)
    runner = shlex.quote(str(kselftest.install_dir(VARIANT) / "run_kselftest.sh"))
    command = guest_command(
        "echo \"guest kernel: $(uname -r) $(uname -v)\"",
        "echo \"built from:   $LUA_SYSCALL_EXPECT_RELEASE $LUA_SYSCALL_EXPECT_VERSION\"",
        f"git -C {shlex.quote(str(kernel_tree()))} --no-pager log --oneline "
        "lua-syscall-base..HEAD",
        "echo '-- lua_syscall demo --'",
        f"{shlex.quote(sys.executable)} -m lua_syscall_harness.demo_guest",
        "echo '-- kselftests (lua_syscall) --'",
        runner,
    )
    clock = Stopwatch()
    res = vm.run(command, variant=VARIANT, stream=True, cwd=REPO_ROOT)
    report.timed("boot+demo", clock)
    if res.returncode != 0:
        report.failures.append(f"demo: {res.failure_reason()}; serial log {res.serial_log}")
    report.failures += [f"kernel log: {line}" for line in logscan.splats(res.serial)]
    report.print()
    return 1 if report.failures else 0
