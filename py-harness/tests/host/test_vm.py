"""The VM runner, on the real built kernel."""

import pytest

from lua_syscall_harness import logscan, vm

pytestmark = pytest.mark.vm


def test_runner_returns_exit_status_and_output(kernel):
    res = vm.run("echo to-stdout; echo to-stderr >&2; exit 7", kernel=kernel, timeout=300)
    assert res.returncode == 7, res.failure_reason()
    assert "to-stdout" in res.output and "to-stderr" in res.output
    assert "Linux version" in res.serial
    assert logscan.splats(res.serial) == []


def test_runner_reports_a_guest_crash_without_hanging(kernel):
    res = vm.run("echo c > /proc/sysrq-trigger; sleep 600", kernel=kernel, timeout=300)
    assert not res.timed_out
    assert res.returncode is None
    assert "Kernel panic" in res.serial
    assert "kernel panic" in res.failure_reason() or "without reporting" in res.failure_reason()


def test_runner_kills_a_guest_past_its_timeout(kernel):
    res = vm.run("sleep 3600", kernel=kernel, timeout=20)
    assert res.timed_out and res.returncode is None
    assert res.seconds < 35
