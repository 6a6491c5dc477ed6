"""The guest runs the kernel just built from the series head: not the host's, not a stale one."""

import os
from pathlib import Path


def test_release_is_the_built_one(expected):
    assert os.uname().release == expected["LUA_SYSCALL_EXPECT_RELEASE"]


def test_release_names_the_series_head(expected):
    head = expected["LUA_SYSCALL_SERIES_HEAD"]
    assert f"-g{head[:12]}" in os.uname().release


def test_build_stamp_is_this_build(expected):
    # '#<build number> SMP PREEMPT_DYNAMIC <link time>': differs on every relink.
    assert Path("/proc/sys/kernel/version").read_text().strip() == \
        expected["LUA_SYSCALL_EXPECT_VERSION"]


def test_debug_options_are_live():
    # The debug build has lockdep and KASAN; neither the host's nor the bench kernel does.
    assert Path("/proc/lockdep").exists()
    with open("/proc/kallsyms") as f:
        assert any(line.rstrip().endswith(" kasan_report") for line in f)


def test_root_is_the_hosts_filesystem_read_only():
    with open("/proc/mounts") as f:
        root = next(line.split() for line in f if line.split()[1] == "/")
    assert root[2] == "9p"
    assert "ro" in root[3].split(",")
