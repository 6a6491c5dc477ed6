# SPDX-License-Identifier: LGPL-2.1-only OR BSD-2-Clause
"""The kernel interface itself: constants, system call numbers, struct lua_syscall_reg.

This module is the low level under State: its raw wrappers take addresses, check nothing and
return the system call's result with the errno. Applications use State; tests that need to
pass bad pointers use this module.

The definitions follow include/uapi/linux/lua_syscall.h.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import operator
import os
import platform
import sys
from collections.abc import Callable, Sequence

__all__ = [
    "ANON_INODE_NAME",
    "CLOEXEC",
    "LOG_ERRORS",
    "LOG_MAX",
    "LOG_WARNINGS",
    "MAX_ARGS",
    "NAME_MAX",
    "REG_SIZE_VER0",
    "SYSCALL_NUMBERS",
    "SYSCTL_DIR",
    "Reg",
    "is_luastate",
    "pack_args",
    "raw_call",
    "raw_register",
    "syscall_numbers",
    "u64",
]

CLOEXEC = 0x1
"""Registration flag: the new descriptor is close-on-exec (not O_CLOEXEC's value)."""
MAX_ARGS = 16
"""The most integers one call passes to the script's entry."""
LOG_ERRORS = 1
"""Log level: why a script was refused."""
LOG_WARNINGS = 2
"""Log level: why a script was refused, and what looks wrong in one that was accepted."""
NAME_MAX = 32
"""The size of a state's name, its NUL included: names have at most 31 characters."""
REG_SIZE_VER0 = 72
"""sizeof(struct lua_syscall_reg) as first published."""
LOG_MAX = 8192
"""The most bytes a registration log takes, its NUL included."""

SYSCTL_DIR = "/proc/sys/kernel/lua_syscall"
ANON_INODE_NAME = "anon_inode:[luastate]"

SYSCALL_NUMBERS: dict[str, tuple[int, int]] = {
    # machine (uname -m): (register_lua_syscall, lua_syscall). Provisional numbers: mainline
    # 6.13 and later give 463 and 464 to setxattrat() and getxattrat(); see supported().
    "x86_64": (463, 464),
    "aarch64": (463, 464),
}

_U64_MASK = (1 << 64) - 1


class Reg(ctypes.Structure):
    """struct lua_syscall_reg, the argument of register_lua_syscall()."""

    _fields_ = [
        ("script", ctypes.c_uint64),
        ("script_len", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
        ("log_buf", ctypes.c_uint64),
        ("log_size", ctypes.c_uint32),
        ("log_level", ctypes.c_uint32),
        ("log_true_size", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("name", ctypes.c_uint64),
        ("insn_limit", ctypes.c_uint64),
        ("mem_limit", ctypes.c_uint64),
    ]


assert ctypes.sizeof(Reg) == REG_SIZE_VER0


def syscall_numbers(machine: str | None = None) -> tuple[int, int] | None:
    """(register_lua_syscall, lua_syscall) for this process, or None where there are none.

    None on another operating system or machine, and in a 32-bit process (the calls refuse
    compat tasks). machine defaults to the running one's (`uname -m`).
    """
    if sys.platform != "linux" or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None
    return SYSCALL_NUMBERS.get(platform.machine() if machine is None else machine)


def u64(value: int) -> int:
    """An integer argument as the kernel reads it: modulo 2**64 (so -1 is 2**64 - 1).

    TypeError for what is not an integer (a float, a string); bool and integer-like objects
    (those with __index__) are accepted.
    """
    return operator.index(value) & _U64_MASK


def pack_args(args: Sequence[int]) -> ctypes.Array[ctypes.c_uint64]:
    """The u64 array lua_syscall() reads: at least one element, so that it has an address.

    ValueError for more than MAX_ARGS arguments, TypeError for one that is not an integer.
    """
    if len(args) > MAX_ARGS:
        raise ValueError(f"at most {MAX_ARGS} arguments, not {len(args)}")
    values = [u64(a) for a in args]
    return (ctypes.c_uint64 * max(len(values), 1))(*values)


@functools.cache
def _syscall() -> Callable[..., int]:
    # CDLL, not PyDLL: the GIL is released while the script runs.
    fn = ctypes.CDLL(None, use_errno=True).syscall
    fn.restype = ctypes.c_long
    return fn


def _numbers() -> tuple[int, int]:
    numbers = syscall_numbers()
    if numbers is None:
        raise OSError(errno.ENOSYS, f"no lua_syscall numbers for {platform.machine()}")
    return numbers


def raw_register(reg: int | None, size: int) -> tuple[int, int]:
    """register_lua_syscall(reg, size) with reg an address (None for NULL): (result, errno).

    The result is the new descriptor, or -1 with the errno. OSError (ENOSYS) on a machine
    without the calls' numbers.
    """
    nr = _numbers()[0]
    ret = _syscall()(ctypes.c_long(nr), ctypes.c_void_p(reg), ctypes.c_size_t(size & _U64_MASK))
    err = ctypes.get_errno() if ret == -1 else 0
    return int(ret), err


def raw_call(fd: int, args: int | None, nargs: int, flags: int = 0) -> tuple[int, int]:
    """lua_syscall(fd, args, nargs, flags) with args an address (None for NULL): (result, errno).

    The result is the script's, or -1 with the errno. OSError (ENOSYS) on a machine without
    the calls' numbers.
    """
    nr = _numbers()[1]
    ret = _syscall()(ctypes.c_long(nr), ctypes.c_long(fd), ctypes.c_void_p(args),
                     ctypes.c_ulong(nargs & _U64_MASK), ctypes.c_ulong(flags & _U64_MASK))
    err = ctypes.get_errno() if ret == -1 else 0
    return int(ret), err


def is_luastate(fd: int) -> bool | None:
    """Whether fd is open and a `[luastate]`; None when /proc cannot tell (not mounted)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == ANON_INODE_NAME
    except FileNotFoundError:
        if not os.path.isdir("/proc/self/fd"):
            return None
        return False
    except OSError:
        return False
