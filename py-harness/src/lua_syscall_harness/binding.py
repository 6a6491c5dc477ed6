"""The guest tests' binding of register_lua_syscall() and lua_syscall(), on the lua_syscall package.

The applications' package (python/, `import lua_syscall`) is the binding: its State registers
a script and calls it, its RegistrationError carries the kernel's log of a refused script and
its CallError the state's message for a failed call. This module keeps the names the tests
import and adds what only tests need:

    with LuaState("local n = 0 return function(k) n = n + k return n end") as st:
        st.call(5)            # -> 5
        st.call(2)            # -> 7
        st.fdinfo()["lua-invocations"]   # -> "2"

LuaState is a lua_syscall.State that takes raw registration flags (and is not close-on-exec
by default) and returns fdinfo as a dict. The module functions register() and lua_syscall()
take raw addresses too, so that tests can pass NULL, unmapped or kernel pointers, flags the
package never sends and lengths that do not match the buffer.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from pathlib import Path

from lua_syscall import CallError, RegistrationError, State, abi, supported

__all__ = [
    "LUA_SYSCALL_CLOEXEC",
    "LUA_SYSCALL_MAX_ARGS",
    "NR_LUA_SYSCALL",
    "NR_REGISTER_LUA_SYSCALL",
    "SYSCTL_DIR",
    "CallError",
    "LuaState",
    "Registration",
    "RegistrationError",
    "available",
    "fdinfo",
    "is_luastate",
    "last_error",
    "lua_syscall",
    "read_sysctl",
    "register",
    "write_sysctl",
]

# x86_64 numbers; provisional (DESIGN.md §4).
NR_REGISTER_LUA_SYSCALL, NR_LUA_SYSCALL = abi.SYSCALL_NUMBERS["x86_64"]

# include/uapi/linux/lua_syscall.h
LUA_SYSCALL_CLOEXEC = abi.CLOEXEC
LUA_SYSCALL_MAX_ARGS = abi.MAX_ARGS
LUA_SYSCALL_LOG_ERRORS = abi.LOG_ERRORS
LUA_SYSCALL_LOG_WARNINGS = abi.LOG_WARNINGS
LUA_SYSCALL_NAME_MAX = abi.NAME_MAX
LUA_SYSCALL_REG_SIZE_VER0 = abi.REG_SIZE_VER0

LuaSyscallReg = abi.Reg
"""struct lua_syscall_reg."""


class Registration:
    """What the last register() call with a log left: the log and the size it needed."""

    log: str = ""
    log_true_size: int = 0


SYSCTL_DIR = Path(abi.SYSCTL_DIR)
ANON_INODE_NAME = abi.ANON_INODE_NAME

_U64_MASK = (1 << 64) - 1
_ERRMSG_MAX = 4096

Script = str | bytes
Pointer = int | None


def _script_pointer(script: Script | Pointer) -> tuple[ctypes.c_void_p, int | None, object]:
    """(address, natural length or None, object keeping the buffer alive)."""
    if isinstance(script, str):
        script = script.encode()
    if isinstance(script, bytes):
        buf = ctypes.create_string_buffer(script, len(script))
        return ctypes.c_void_p(ctypes.addressof(buf)), len(script), buf
    return ctypes.c_void_p(script), None, None


def register(script: Script | Pointer, flags: int = 0, length: int | None = None, *,
             log_level: int = LUA_SYSCALL_LOG_WARNINGS, log_size: int = 4096,
             name: str | None = None, insn_limit: int = 0, mem_limit: int = 0,
             result: Registration | None = None) -> int:
    """register_lua_syscall(): the new fd, or RegistrationError (an OSError) with the log.

    script is Lua source (str or bytes), or a raw address (int, None for NULL). length defaults
    to the source's length; it must be given for a raw address. log_level 0 (or log_size 0)
    asks for no log; result, if given, receives the log of a successful registration (its
    warnings).
    """
    ptr, natural, keep = _script_pointer(script)
    if length is None:
        if natural is None:
            raise ValueError("length is required with a raw script address")
        length = natural
    reg = LuaSyscallReg(script=ptr.value or 0, script_len=length & _U64_MASK,
                        flags=flags & _U64_MASK, insn_limit=insn_limit, mem_limit=mem_limit)
    log = None
    if log_level and log_size:
        log = ctypes.create_string_buffer(log_size)
        reg.log_buf, reg.log_size, reg.log_level = ctypes.addressof(log), log_size, log_level
    name_buf = None
    if name is not None:
        name_buf = ctypes.create_string_buffer(name.encode())
        reg.name = ctypes.addressof(name_buf)
    ret, err = abi.raw_register(ctypes.addressof(reg), ctypes.sizeof(reg))
    del keep, name_buf
    text = log.value.decode(errors="replace") if log is not None else ""
    if result is not None:
        result.log, result.log_true_size = text, reg.log_true_size
    if ret == -1:
        raise RegistrationError(err, text)
    return ret


def raw_register(reg: Pointer, size: int) -> int:
    """The system call itself: register_lua_syscall(reg, size); -1 with ctypes' errno set."""
    ret, err = abi.raw_register(reg, size)
    ctypes.set_errno(err)
    return ret


def lua_syscall(fd: int, args: Sequence[int] | Pointer = (), nargs: int | None = None,
                flags: int = 0) -> int:
    """lua_syscall(): the script's integer result, or CallError (an OSError) with the state's
    last error.

    args is a sequence of integers (each taken modulo 2**64, so negatives are two's
    complement), or a raw address (int, None for NULL) of nargs u64s. nargs defaults to the
    sequence's length (0 for a raw address) and may differ from it to test the bounds.
    """
    keep: object = None
    if args is None or isinstance(args, int):
        ptr = ctypes.c_void_p(args)
        count = 0 if nargs is None else nargs
    else:
        values = [int(a) & _U64_MASK for a in args]
        arr = (ctypes.c_uint64 * max(len(values), 1))(*values)
        keep = arr
        ptr = ctypes.c_void_p(ctypes.addressof(arr))
        count = len(values) if nargs is None else nargs
    ret, err = abi.raw_call(fd, ptr.value, count, flags)
    del keep
    if ret == -1:
        raise CallError(err, _state_error(fd))
    return ret


def is_luastate(fd: int) -> bool:
    """Whether fd is open and a `[luastate]`."""
    return bool(abi.is_luastate(fd))


def _state_error(fd: int) -> str:
    if fd < 0 or not is_luastate(fd):
        return ""
    try:
        return last_error(fd)
    except OSError:
        return ""


def last_error(fd: int) -> str:
    """The message of the state's last failure (empty before any), read at offset 0."""
    return os.pread(fd, _ERRMSG_MAX, 0).decode(errors="replace")


def fdinfo(fd: int, pid: int | str = "self") -> dict[str, str]:
    """/proc/PID/fdinfo/FD as a dict: 'key:<tab>value' lines, values stripped."""
    info: dict[str, str] = {}
    text = Path(f"/proc/{pid}/fdinfo/{fd}").read_text(errors="replace")
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def read_sysctl(name: str) -> int:
    """/proc/sys/kernel/lua_syscall/<name> as an integer."""
    return int((SYSCTL_DIR / name).read_text().strip())


def write_sysctl(name: str, value: int) -> None:
    """Write /proc/sys/kernel/lua_syscall/<name>; OSError (EINVAL) when out of range."""
    fd = os.open(SYSCTL_DIR / name, os.O_WRONLY)
    try:
        os.write(fd, f"{value}\n".encode())
    finally:
        os.close(fd)


def available() -> bool:
    """Whether the running kernel has the lua_syscall ABI (False on ENOSYS).

    lua_syscall.supported(), or the kernel's sysctls: on a kernel that has them, a probe
    registration that fails is a bug for the tests to report, not a reason to skip them.
    """
    return supported() or SYSCTL_DIR.is_dir()


class LuaState(State):
    """A registered script: a lua_syscall.State for the tests.

    flags are register_lua_syscall()'s (LUA_SYSCALL_CLOEXEC or 0; unlike State the
    descriptor is not close-on-exec by default); registration.log holds the log of the
    registration (warnings), fdinfo() returns /proc/self/fdinfo as a dict, and call() takes
    lua_syscall()'s flags.
    """

    def __init__(self, script: Script, flags: int = 0, *, name: str | None = None,
                 insn_limit: int = 0, mem_limit: int = 0, cloexec: bool = False,
                 log_level: int = LUA_SYSCALL_LOG_WARNINGS) -> None:
        if flags & ~LUA_SYSCALL_CLOEXEC:
            raise ValueError(f"flags {flags:#x}: use register() to pass other bits")
        self.registration = Registration()
        super().__init__(script, name=name, cloexec=cloexec or bool(flags),
                         insn_limit=insn_limit, mem_limit=mem_limit, log_level=log_level)
        self.registration.log = self.warnings
        # the log fits its buffer (LOG_MAX): the size it needed is its own and its NUL
        self.registration.log_true_size = len(self.warnings.encode()) + 1 if log_level else 0

    def call(self, *args: int, flags: int = 0) -> int:
        """Run the entry with args (int64, u64 taken modulo 2**64); its integer result."""
        if flags:
            return lua_syscall(self.fd, args, flags=flags)
        return super().call(*args)

    def fdinfo(self) -> dict[str, str]:
        return fdinfo(self.fd)
