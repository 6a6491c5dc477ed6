"""Bad inputs to register_lua_syscall() and lua_syscall(): each fails with its exact errno.

Every case also checks that nothing broke: a registration failure leaves no fd behind and a
fresh state works; a failed call leaves its state usable (the next call returns what it must,
which also shows whether the failed call ran the script); a bad fd leaves a good state usable.
The errnos are ABI-DETAILS.md's.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from lua_util import KERNEL_ADDR, Memory, open_fds

from lua_syscall_harness import binding
from lua_syscall_harness.binding import LuaState

pytestmark = pytest.mark.usefixtures("lua_available")

GOOD = "return function(a, b) return a + b end"
# Deep enough for any parser or C-stack guard; far below max_script_len.
DEEP = 3000


@dataclass
class Ctx:
    mem: Memory
    pipe_r: int
    pipe_w: int
    nb_pipe_r: int
    buf: int


@pytest.fixture(scope="module")
def ctx(lua_memory):
    r, w = os.pipe()
    nr, nw = os.pipe()
    os.set_blocking(nr, False)
    yield Ctx(mem=lua_memory, pipe_r=r, pipe_w=w, nb_pipe_r=nr, buf=lua_memory.rw)
    for fd in (r, w, nr, nw):
        os.close(fd)


def good_state_works() -> None:
    with LuaState(GOOD) as st:
        assert st.call(2, 3) == 5


def expect_errno(expected: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    with pytest.raises(OSError) as exc:
        fn(*args, **kwargs)
    assert exc.value.errno == expected, \
        f"expected {errno.errorcode[expected]}, got {errno.errorcode.get(exc.value.errno)}"


# --- registration -----------------------------------------------------------------------------

Made = tuple[str | bytes | int | None, int | None]


@dataclass(frozen=True)
class Reg:
    """register_lua_syscall(*make(ctx), flags) fails with errno."""

    errno: int
    make: Callable[[Ctx], Made]
    flags: int = 0
    sysctls: Sequence[tuple[str, int]] = ()


def src(text: str | bytes, length: int | None = None) -> Callable[[Ctx], Made]:
    return lambda c: (text, length)


def script_before_hole(c: Ctx) -> Made:
    data = GOOD.encode()
    addr = c.mem.tail(len(data))
    c.mem.put(addr, data)
    return addr, len(data) + 16


def over_max_len(c: Ctx) -> Made:
    limit = binding.read_sysctl("max_script_len")
    return GOOD.encode().ljust(limit + 1), None


BINARY_CHUNK = b"\x1bLuaT\x00\x19\x93\r\n\x1a\n\x04\x08\x08" + b"\x78\x56" + b"\0" * 32

REGISTER_CASES = {
    "flags_bit1": Reg(errno.EINVAL, src(GOOD), flags=0x2),
    "flags_all_ones": Reg(errno.EINVAL, src(GOOD), flags=0xFFFFFFFF),
    "flags_o_cloexec_value": Reg(errno.EINVAL, src(GOOD), flags=os.O_CLOEXEC),
    "flags_high_bit": Reg(errno.EINVAL, src(GOOD), flags=0x80000000),
    "len_zero": Reg(errno.EINVAL, src(GOOD, 0)),
    "script_null": Reg(errno.EFAULT, src(None, len(GOOD))),
    "script_unmapped": Reg(errno.EFAULT, lambda c: (c.mem.unmapped, len(GOOD))),
    "script_prot_none": Reg(errno.EFAULT, lambda c: (c.mem.noaccess, len(GOOD))),
    "script_kernel_address": Reg(errno.EFAULT, src(KERNEL_ADDR, len(GOOD))),
    "script_runs_into_unmapped": Reg(errno.EFAULT, script_before_hole),
    "len_over_max_script_len": Reg(errno.E2BIG, over_max_len),
    "len_huge": Reg(errno.E2BIG, src(GOOD, 1 << 40)),
    "len_size_max": Reg(errno.E2BIG, src(GOOD, 2**64 - 1)),
    "syntax_error": Reg(errno.EINVAL, src("return function(")),
    "binary_chunk": Reg(errno.EINVAL, src(BINARY_CHUNK)),
    "chunk_returns_nothing": Reg(errno.EINVAL, src("local x = 1")),
    "chunk_returns_integer": Reg(errno.EINVAL, src("return 42")),
    "chunk_returns_table": Reg(errno.EINVAL, src("return {}")),
    "chunk_returns_string": Reg(errno.EINVAL, src("return 'function'")),
    "float_literal": Reg(errno.EINVAL, src("return function() return 1.5 end")),
    "integer_literal_overflow": Reg(errno.EINVAL, src(
        "return function() return 99999999999999999999 end")),
    "invalid_utf8_source": Reg(errno.EINVAL, src(b"return function() return \xff\xfe end")),
    "nul_in_source": Reg(errno.EINVAL, src(GOOD.encode() + b"\0junk")),
    "deep_parentheses": Reg(errno.EINVAL, src(
        "return function() return " + "(" * DEEP + "1" + ")" * DEEP + " end")),
    "deep_table_constructors": Reg(errno.EINVAL, src(
        "return function() return " + "{" * DEEP + "}" * DEEP + " end")),
    "deep_nested_functions": Reg(errno.EINVAL, src(
        "return " + "function() return " * 500 + "1" + " end" * 500)),
    "deep_unary_operators": Reg(errno.EINVAL, src(
        "return function() return " + "- " * DEEP + "1 end")),
    "top_level_error": Reg(errno.ENOEXEC, src("error('top level boom')")),
    "top_level_error_table": Reg(errno.ENOEXEC, src("error({code = 1})")),
    "top_level_calls_load": Reg(errno.ENOEXEC, src("return load('return function() end')()")),
    "top_level_calls_require": Reg(errno.ENOEXEC, src("return require('os')")),
    "top_level_calls_dofile": Reg(errno.ENOEXEC, src("dofile('/etc/passwd')")),
    "top_level_uses_io": Reg(errno.ENOEXEC, src("io.write('x') return function() end")),
    "top_level_uses_os": Reg(errno.ENOEXEC, src("os.exit(1)")),
    "top_level_uses_debug": Reg(errno.ENOEXEC, src("debug.sethook() return function() end")),
    "top_level_infinite_loop": Reg(errno.ETIME, src("while true do end"),
                                   sysctls=(("insn_limit", 100_000),)),
    "top_level_memory_bomb": Reg(errno.ENOMEM, src(
        "local t = {} local i = 0 "
        "while true do i = i + 1 t[i] = string.rep('x', 64) .. i end")),
    "top_level_huge_string_rep": Reg(errno.ENOMEM, src(
        "local s = string.rep('x', 1 << 30) return function() end")),
}


@pytest.mark.parametrize("case", [pytest.param(c, id=k) for k, c in REGISTER_CASES.items()])
def test_bad_registration(case: Reg, ctx, lua_sysctl):
    for name, value in case.sysctls:
        lua_sysctl(name, value)
    script, length = case.make(ctx)
    before = open_fds()
    expect_errno(case.errno, binding.register, script, case.flags, length)
    assert open_fds() == before, "a failed registration left an fd"
    good_state_works()


# --- arguments of lua_syscall -----------------------------------------------------------------

COUNTING = "local calls = 0 return function(...) calls = calls + 1 return 1000 + calls end"


@dataclass(frozen=True)
class Args:
    """lua_syscall(state, *make(ctx)) fails with errno, without running the script."""

    errno: int
    make: Callable[[Ctx], tuple[Sequence[int] | int | None, int | None, int]]


def args_before_hole(c: Ctx) -> tuple[int, int, int]:
    addr = c.mem.tail(8)
    c.mem.put(addr, (7).to_bytes(8, "little"))
    return addr, 2, 0


ARGS_CASES = {
    "call_flags_1": Args(errno.EINVAL, lambda c: ((), None, 1)),
    "call_flags_high_bit": Args(errno.EINVAL, lambda c: ((), None, 0x80000000)),
    "nargs_17": Args(errno.EINVAL, lambda c: (list(range(17)), None, 0)),
    "nargs_uint_max": Args(errno.EINVAL, lambda c: ([1], 0xFFFFFFFF, 0)),
    "args_null": Args(errno.EFAULT, lambda c: (None, 1, 0)),
    "args_unmapped": Args(errno.EFAULT, lambda c: (c.mem.unmapped, 2, 0)),
    "args_prot_none": Args(errno.EFAULT, lambda c: (c.mem.noaccess, 1, 0)),
    "args_kernel_address": Args(errno.EFAULT, lambda c: (KERNEL_ADDR, 1, 0)),
    "args_run_into_unmapped": Args(errno.EFAULT, args_before_hole),
    "args_misaligned_into_unmapped": Args(errno.EFAULT, lambda c: (c.mem.hole - 4, 1, 0)),
}


@pytest.mark.parametrize("case", [pytest.param(c, id=k) for k, c in ARGS_CASES.items()])
def test_bad_call_arguments(case: Args, ctx):
    args, nargs, flags = case.make(ctx)
    with LuaState(COUNTING) as st:
        expect_errno(case.errno, binding.lua_syscall, st.fd, args, nargs, flags)
        # the script did not run: this is its first call
        assert st.call(1, 2) == 1001


# --- file descriptors -------------------------------------------------------------------------

def closed_fd(stack: contextlib.ExitStack) -> int:
    fd = os.open("/dev/null", os.O_RDONLY)
    os.close(fd)
    return fd


def new_fd(stack: contextlib.ExitStack, fd: int) -> int:
    stack.callback(os.close, fd)
    return fd


def pipe_end(stack: contextlib.ExitStack, which: int) -> int:
    fds = os.pipe()
    for fd in fds:
        stack.callback(os.close, fd)
    return fds[which]


def udp_socket(stack: contextlib.ExitStack) -> int:
    s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    return s.fileno()


def epoll_fd(stack: contextlib.ExitStack) -> int:
    return stack.enter_context(select.epoll()).fileno()


def closed_state(stack: contextlib.ExitStack) -> int:
    st = LuaState(GOOD)
    fd = st.fd
    st.close()
    return fd


FD_CASES: dict[str, tuple[int, Callable[[contextlib.ExitStack], int]]] = {
    "fd_minus_1": (errno.EBADF, lambda s: -1),
    "fd_int_min": (errno.EBADF, lambda s: -(2**31)),
    "fd_closed": (errno.EBADF, closed_fd),
    "fd_closed_state": (errno.EBADF, closed_state),
    "fd_never_opened": (errno.EBADF, lambda s: 1 << 20),
    "fd_int_max": (errno.EBADF, lambda s: 2**31 - 1),
    "fd_o_path": (errno.EBADF, lambda s: new_fd(s, os.open("/dev/null", os.O_PATH))),
    "fd_pipe_read_end": (errno.EINVAL, lambda s: pipe_end(s, 0)),
    "fd_pipe_write_end": (errno.EINVAL, lambda s: pipe_end(s, 1)),
    "fd_eventfd": (errno.EINVAL, lambda s: new_fd(s, os.eventfd(0))),
    "fd_epoll": (errno.EINVAL, epoll_fd),
    "fd_dev_null": (errno.EINVAL, lambda s: new_fd(s, os.open("/dev/null", os.O_RDWR))),
    "fd_memfd": (errno.EINVAL, lambda s: new_fd(s, os.memfd_create("not-lua"))),
    "fd_udp_socket": (errno.EINVAL, udp_socket),
    "fd_proc_dir": (errno.EINVAL, lambda s: new_fd(s, os.open("/proc/self", os.O_RDONLY))),
}


@pytest.mark.parametrize("case", [pytest.param(c, id=k) for k, c in FD_CASES.items()])
def test_bad_fd(case):
    expected, make = case
    with LuaState(COUNTING) as st, contextlib.ExitStack() as stack:
        fd = make(stack)
        expect_errno(expected, binding.lua_syscall, fd, [1, 2])
        expect_errno(expected, binding.lua_syscall, fd, ())
        assert st.call() == 1001


# --- failures inside the script ---------------------------------------------------------------

PRELUDE = """local calls = 0
return function(mode, a, b, c)
  calls = calls + 1
  if mode == 0 then return 1000 + calls end
"""


@dataclass(frozen=True)
class Run:
    """The entry's body fails the call with errno; the state keeps working after."""

    errno: int
    body: str
    args: Callable[[Ctx], list[int]] = lambda c: []
    sysctls: Sequence[tuple[str, int]] = ()
    message: str | None = None
    # The errno is the result of a nested syscall the entry returned (not a failed call).
    passthrough: bool = False


RUN_CASES = {
    "error_string": Run(errno.ENOEXEC, "error('boom in the entry')",
                        message="boom in the entry"),
    "error_table_value": Run(errno.ENOEXEC, "error({code = 42})", message="table"),
    "error_nil_value": Run(errno.ENOEXEC, "error(nil)"),
    "error_integer_value": Run(errno.ENOEXEC, "error(31337)", message="31337"),
    "arithmetic_on_nil": Run(errno.ENOEXEC, "local x; return x + 1"),
    "call_nil": Run(errno.ENOEXEC, "local f; return f()"),
    "index_nil": Run(errno.ENOEXEC, "local t; return t.x"),
    "concat_table": Run(errno.ENOEXEC, "return #('x' .. {})"),
    "idiv_by_zero": Run(errno.ENOEXEC, "return a // 0", args=lambda c: [5]),
    "mod_by_zero": Run(errno.ENOEXEC, "return a % 0", args=lambda c: [5]),
    "float_division": Run(errno.ENOEXEC, "return a / 2", args=lambda c: [5]),
    "float_power": Run(errno.ENOEXEC, "return a ^ 2", args=lambda c: [5]),
    "return_boolean": Run(errno.ENOEXEC, "return true"),
    "return_numeric_string": Run(errno.ENOEXEC, "return '5'"),
    "return_table": Run(errno.ENOEXEC, "return {}"),
    "return_function": Run(errno.ENOEXEC, "return function() end"),
    "return_coroutine": Run(errno.ENOEXEC, "return coroutine.create(function() end)"),
    "infinite_loop": Run(errno.ETIME, "while true do end", sysctls=(("insn_limit", 200_000),)),
    "infinite_tail_calls": Run(errno.ETIME, "local function f() return f() end return f()",
                               sysctls=(("insn_limit", 200_000),)),
    "busy_library_calls": Run(errno.ETIME, "while true do string.rep('x', 10) end",
                              sysctls=(("insn_limit", 200_000),)),
    "table_memory_bomb": Run(errno.ENOMEM,
                             "local t = {} local i = 0 "
                             "while true do i = i + 1 t[i] = {i, i, i} end"),
    "string_doubling_bomb": Run(errno.ENOMEM, "local s = 'x' while true do s = s .. s end"),
    "huge_string_rep": Run(errno.ENOMEM, "return #string.rep('x', 1 << 30)"),
    # Past Lua's own cap on string sizes (INT_MAX): "resulting string too large".
    "string_rep_past_lua_cap": Run(errno.ENOEXEC, "return #string.rep('x', 1 << 40)"),
    "huge_table_concat": Run(errno.ENOMEM,
                             "local s, t = string.rep('y', 512), {} "
                             "for i = 1, 4096 do t[i] = s end "
                             "return #table.concat(t)"),
    "too_many_results": Run(errno.ENOEXEC, "return table.unpack({}, 1, 1 << 30)"),
    "deep_lua_recursion": Run(errno.ENOEXEC,
                              "local function f(n) return 1 + f(n + 1) end return f(0)",
                              sysctls=(("mem_limit", 16 << 20),)),
    "deep_pcall_nesting": Run(errno.ENOEXEC, """
        local function f(n)
          local ok, e = pcall(f, n + 1)
          if not ok then error(e, 0) end
          return e
        end
        return f(0)"""),
    "deep_index_metamethod": Run(errno.ENOEXEC, """
        local t = setmetatable({}, {__index = function(t, k) return t[k] end})
        return t.x"""),
    "deep_add_metamethod": Run(errno.ENOEXEC, """
        local mt = {}
        mt.__add = function(x, y) return x + y end
        local t = setmetatable({}, mt)
        return t + 1"""),
    "deep_tostring_metamethod": Run(errno.ENOEXEC, """
        local t = setmetatable({}, {__tostring = function(x) return tostring(x) end})
        return #tostring(t)"""),
    "deep_gsub_callback": Run(errno.ENOEXEC, """
        local function f(s) return (string.gsub(s, ".", f)) end
        return #f("x")"""),
    "deep_sort_comparator": Run(errno.ENOEXEC, """
        local function f()
          table.sort({3, 2, 1}, function(x, y) f() return x < y end)
        end
        f()"""),
    "deep_coroutine_nesting": Run(errno.ENOEXEC, """
        local function f() return coroutine.wrap(f)() end
        return f()"""),
    "deep_coroutine_resume": Run(errno.ENOEXEC, """
        local function f()
          local ok, e = coroutine.resume(coroutine.create(f))
          if not ok then error(e, 0) end
        end
        f()"""),
    "yield_outside_coroutine": Run(errno.ENOEXEC, "return coroutine.yield(1)"),
    "too_many_captures": Run(errno.ENOEXEC,
                             "return #string.match(string.rep('a', 40), string.rep('(a)', 17))"),
    "pattern_too_deep": Run(errno.ENOEXEC, """
        local m = string.match(string.rep('a', 300), string.rep('a?', 300))
        if m then return 7 end return 8"""),
    "invalid_utf8_codepoint": Run(errno.ENOEXEC, "return utf8.codepoint('\\xff')"),
    "invalid_utf8_surrogate": Run(errno.ENOEXEC, "return utf8.codepoint('\\xed\\xa0\\x80')"),
    "utf8_char_out_of_range": Run(errno.ENOEXEC, "return #utf8.char(-1)"),
    "string_format_float": Run(errno.ENOEXEC, "return #string.format('%f', 1)"),
    "string_pack_double": Run(errno.ENOEXEC, "return #string.pack('d', 1)"),
    "mem_get64_null": Run(errno.EFAULT, "return mem.get64(0)"),
    "mem_get64_kernel": Run(errno.EFAULT, "return mem.get64(0xffffffff81000000)"),
    "mem_get8_minus_one": Run(errno.EFAULT, "return mem.get8(-1)"),
    "mem_get32_unmapped": Run(errno.EFAULT, "return mem.get32(a)",
                              args=lambda c: [c.mem.unmapped]),
    "mem_get16_prot_none": Run(errno.EFAULT, "return mem.get16(a)",
                               args=lambda c: [c.mem.noaccess]),
    "mem_get64_straddles_hole": Run(errno.EFAULT, "return mem.get64(a)",
                                    args=lambda c: [c.mem.hole - 4]),
    "mem_put32_readonly": Run(errno.EFAULT, "mem.put32(a, 1) return 0",
                              args=lambda c: [c.mem.readonly]),
    "mem_put64_kernel": Run(errno.EFAULT, "mem.put64(0xffffffff81000000, 1) return 0"),
    "mem_read_runs_into_hole": Run(errno.EFAULT, "return #mem.read(a, 16)",
                                   args=lambda c: [c.mem.hole - 8]),
    "mem_write_null": Run(errno.EFAULT, "mem.write(0, 'x') return 0"),
    "mem_write_readonly": Run(errno.EFAULT, "mem.write(a, 'xyz') return 0",
                              args=lambda c: [c.mem.readonly]),
    "sys_call_nr_minus_1": Run(errno.ENOSYS, "return sys.call(-1)", passthrough=True),
    "sys_call_nr_huge": Run(errno.ENOSYS, "return sys.call(1 << 40)", passthrough=True),
    "sys_call_nr_mininteger": Run(errno.ENOSYS, "return sys.call(math.mininteger)",
                                  passthrough=True),
    "sys_call_nr_past_table": Run(errno.ENOSYS, "return sys.call(1000)", passthrough=True),
    "sys_call_lua_syscall": Run(errno.EPERM, "return sys.call(464, 0, 0, 0, 0)",
                                passthrough=True),
    "sys_call_register": Run(errno.EPERM, "return sys.call(463, 0, 0, 0)", passthrough=True),
    "sys_arch_prctl_get_fs": Run(errno.EPERM, "return sys.call(158, 0x1003, a)",
                                 args=lambda c: [c.buf], passthrough=True),
    "sys_modify_ldt_read": Run(errno.EPERM, "return sys.call(154, 0, a, 16)",
                               args=lambda c: [c.buf], passthrough=True),
    "sys_ioperm": Run(errno.EPERM, "return sys.call(173, 0, 0, 0)", passthrough=True),
    "sys_map_shadow_stack": Run(errno.EPERM, "return sys.call(453, 0, 4096, 0)",
                                passthrough=True),
    "sys_read_bad_fd": Run(errno.EBADF, "return sys.read(-1, 0, 0)", passthrough=True),
    "sys_getcwd_null_buffer": Run(errno.EFAULT, "return sys.getcwd(0, 4096)",
                                  passthrough=True),
    "sys_write_unmapped_buffer": Run(errno.EFAULT, "return sys.write(a, b, 10)",
                                     args=lambda c: [c.pipe_w, c.mem.unmapped],
                                     passthrough=True),
    "sys_read_would_block": Run(errno.EAGAIN, "return sys.read(a, b, 1)",
                                args=lambda c: [c.nb_pipe_r, c.buf], passthrough=True),
}


@pytest.mark.parametrize("case", [pytest.param(c, id=k) for k, c in RUN_CASES.items()])
def test_bad_script_behaviour(case: Run, ctx, lua_sysctl):
    for name, value in case.sysctls:
        lua_sysctl(name, value)
    with LuaState(PRELUDE + case.body + "\nend") as st:
        expect_errno(case.errno, st.call, 1, *case.args(ctx))
        if not case.passthrough:
            assert st.fdinfo()["lua-last-errno"] == str(case.errno)
        if case.message is not None:
            assert case.message in st.last_error()
        # same state, upvalue intact: this is its second call
        assert st.call(0) == 1002


def test_battery_is_big_enough():
    cases = len(REGISTER_CASES) + len(ARGS_CASES) + len(FD_CASES) + len(RUN_CASES)
    assert cases >= 40
