"""The VM runner, on the real built kernel."""

from pathlib import Path

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


def test_a_working_directory_under_tmp_stays_visible_in_the_guest(kernel, tmp_path):
    # The guest mounts a tmpfs over /tmp: a clone of the repository there must still work.
    assert str(tmp_path.resolve()).startswith("/tmp/")
    (tmp_path / "marker").write_text("host file\n")
    res = vm.run("cat marker && touch /tmp/guest-writable && ls /tmp", kernel=kernel,
                 cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.failure_reason() + res.output
    assert "host file" in res.output and "guest-writable" in res.output


def test_kept_paths_are_the_outermost_under_a_guest_tmpfs(tmp_path, monkeypatch):
    repo = tmp_path / "clone"
    (repo / "build").mkdir(parents=True)
    monkeypatch.setattr(vm, "REPO_ROOT", repo)
    monkeypatch.setattr(vm, "build_root", lambda: repo / "build")
    assert vm.guest_kept_paths(repo / "build") == [str(repo.resolve())]
    assert vm.guest_kept_paths(Path("/usr")) == [str(repo.resolve())]
    monkeypatch.setattr(vm, "REPO_ROOT", Path("/work/repo"))
    monkeypatch.setattr(vm, "build_root", lambda: Path("/work/repo/build"))
    assert vm.guest_kept_paths(Path("/work/repo")) == []
    assert vm.guest_kept_paths(Path("/var/tmp/x")) == ["/var/tmp/x"]
