"""The instruction profiler: its plugin output parser, the per-function windows, the tools."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lua_syscall_harness import profile

COUNTS = """\
snapshot 0 vcpu 0
total 0 1000 500
pc 0 ffffffff81000010 10
pc 0 ffffffff81000020 5
end
snapshot 1 vcpu 0
total 0 1600 700
pc 0 ffffffff81000010 410
pc 0 ffffffff81000020 5
pc 0 ffffffff81000104 200
end
"""

SYSTEM_MAP = """\
ffffffff81000000 T entry_SYSCALL_64
ffffffff81000018 t do_syscall_64
ffffffff81000100 T __x64_sys_getppid
ffffffff81000200 D some_data
"""


def test_window_attributes_each_address_to_its_function(tmp_path: Path) -> None:
    counts = tmp_path / "counts.txt"
    counts.write_text(COUNTS)
    (tmp_path / "System.map").write_text(SYSTEM_MAP)
    snaps = profile.parse_snapshots(counts)
    assert len(snaps) == 2
    res = profile.window(snaps[0], snaps[1], 0, profile.Symbols(tmp_path / "System.map"), 100)
    assert res["kernel"] == 6.0 and res["user"] == 2.0
    assert res["functions"] == {"entry_SYSCALL_64": 4.0, "__x64_sys_getppid": 2.0}


def test_nested_call_is_the_difference_over_64() -> None:
    with_calls = {"kernel": 64.0 * 3 + 10, "user": 0.0, "functions": {"f": 64.0 * 3, "g": 10.0}}
    without = {"kernel": 10.0, "user": 0.0, "functions": {"g": 10.0}}
    res = profile.nested_call(with_calls, without)
    assert res["kernel"] == 3.0
    assert res["functions"] == {"f": 3.0, "g": 0.0}


def test_plugin_errors_are_not_ignored(tmp_path: Path) -> None:
    counts = tmp_path / "counts.txt"
    counts.write_text("error no memory for 5 addresses\n")
    with pytest.raises(profile.HarnessError, match="no memory"):
        profile.parse_snapshots(counts)


def test_tools_build_and_the_guest_program_checks_its_arguments() -> None:
    plugin, guest = profile.build_tools()
    assert plugin.exists()
    res = subprocess.run([str(guest), "bogus", "1"], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 2 and "unknown workload" in res.stderr
