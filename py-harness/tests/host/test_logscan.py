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
