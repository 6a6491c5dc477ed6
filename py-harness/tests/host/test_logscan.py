from lua_syscall_harness import logscan

CLEAN = """\
[    0.000000] Linux version 6.12.117-g0123456789ab (root@host) #1 SMP PREEMPT_DYNAMIC
[    1.234567] 9pnet: Installing 9P2000 support
[    2.000000] Run /work/main/py-harness/src/lua_syscall_harness/guest/init.sh as init process
"""


def test_clean_boot_log_has_no_splats():
    assert logscan.splats(CLEAN) == []


def test_each_kind_of_splat_is_found():
    lines = [
        "[   5.1] BUG: KASAN: slab-out-of-bounds in lua_foo+0x12/0x40",
        "[   5.2] WARNING: CPU: 0 PID: 1 at kernel/lua/lstate.c:12 f+0x1/0x2",
        "[   5.3] UBSAN: shift-out-of-bounds in kernel/lua/lvm.c:700:3",
        "[   5.4] WARNING: possible circular locking dependency detected",
        "[   5.5] INFO: task python3:77 blocked for more than 120 seconds.",
        "[   5.6] watchdog: BUG: soft lockup - CPU#1 stuck for 26s!",
        "[   5.7] Kernel panic - not syncing: Fatal exception",
    ]
    found = logscan.splats(CLEAN + "\n".join(lines))
    assert found == lines


KUNIT_LOG = """\
[    3.100000] KTAP version 1
[    3.100001] 1..2
[    3.100002]     KTAP version 1
[    3.100003]     # Subtest: lua_runtime
[    3.100004]     1..3
[    3.200000]     ok 1 lua_integers
[    3.300000]     not ok 2 lua_strings
[    3.300001]     ok 3 lua_coroutines # SKIP no coroutines
[    3.400000] not ok 1 lua_runtime
[    3.500000] ok 2 other_suite
"""


def test_kunit_cases_and_suites_are_classified():
    res = logscan.kunit_results(KUNIT_LOG)
    assert res.passed == ["lua_integers", "other_suite"]
    assert res.failed == ["lua_strings", "lua_runtime"]
    assert res.skipped == ["lua_coroutines"]


def test_no_ktap_no_results():
    res = logscan.kunit_results(CLEAN)
    assert (res.passed, res.failed, res.skipped) == ([], [], [])
