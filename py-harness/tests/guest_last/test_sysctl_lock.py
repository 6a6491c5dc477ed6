"""Runs last in the guest suite, after the kselftests: the lock lasts until reboot.

kernel.lua_syscall.unprivileged_register follows kernel.unprivileged_bpf_disabled's model:
2 closes registration to unprivileged users and no later write can reopen it.
"""

from __future__ import annotations

import errno
import os

import pytest

from lua_syscall_harness import binding

SCRIPT = "return function() return 1 end"
NOBODY = 65534


def write_errno(value: int) -> int:
    try:
        binding.write_sysctl("unprivileged_register", value)
    except OSError as e:
        return e.errno
    return 0


def register_as_nobody() -> int:
    """The errno an unprivileged registration fails with, or 0."""
    pid = os.fork()
    if pid == 0:
        code = 100
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.close(binding.register(SCRIPT))
            code = 0
        except OSError as e:
            code = e.errno
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_lock_closes_registration_until_reboot() -> None:
    if binding.read_sysctl("unprivileged_register") == 2:
        pytest.fail("already locked: this test must run once per boot, last")
    assert write_errno(1) == 0
    assert register_as_nobody() == 0
    assert write_errno(2) == 0
    assert register_as_nobody() == errno.EPERM
    assert write_errno(1) == errno.EPERM
    assert write_errno(0) == errno.EPERM
    assert binding.read_sysctl("unprivileged_register") == 2
    # writing the locked value again is allowed; root still registers
    assert write_errno(2) == 0
    os.close(binding.register(SCRIPT))
