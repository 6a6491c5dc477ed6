from lua_syscall_harness import kselftest

TAP = """\
TAP version 13
1..2
# selftests: lua_syscall: lua_syscall_test
# TAP version 13
# 1..3
# ok 1 global.a
# not ok 2 global.b
# ok 3 global.c # SKIP register_lua_syscall() is not supported
not ok 1 selftests: lua_syscall: lua_syscall_test # exit=1
ok 2 selftests: lua_syscall: other # SKIP
"""


def test_failures_are_found_at_every_depth_and_skips_are_not():
    assert kselftest.tap_failures(TAP) == [
        "# not ok 2 global.b",
        "not ok 1 selftests: lua_syscall: lua_syscall_test # exit=1",
    ]


def test_clean_run_has_no_failures():
    assert kselftest.tap_failures("TAP version 13\n1..1\nok 1 x\n") == []
