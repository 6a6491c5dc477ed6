"""The EXAMPLES program of lua_syscall(2), built by the host tests, does what the page says."""

import subprocess

import pytest

from lua_syscall_harness import manpages


def test_lua_cat_copies_a_file_in_one_call(lua_available):
    binary = manpages.examples_dir() / "lua_cat"
    if not binary.exists():
        pytest.skip("the host tests build the example (tests/host/test_man_pages.py)")
    res = subprocess.run([str(binary), "/proc/sys/kernel/ostype"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "Linux\n"
    assert res.stderr == "6 bytes copied in one lua_syscall()\n"


def test_lua_cat_reports_a_failed_open(lua_available):
    binary = manpages.examples_dir() / "lua_cat"
    if not binary.exists():
        pytest.skip("the host tests build the example (tests/host/test_man_pages.py)")
    res = subprocess.run([str(binary), "/nonexistent"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 1
    assert "open: No such file or directory" in res.stderr
