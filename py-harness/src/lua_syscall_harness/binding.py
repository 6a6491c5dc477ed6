"""A ctypes binding of register_lua_syscall() and lua_syscall() for tests in the guest.

The ABI is DESIGN.md §4: register_lua_syscall(&reg, sizeof(reg)) takes a struct
lua_syscall_reg (script, flags, a log buffer, a name, budgets) and returns a `[luastate]` fd;
lua_syscall(fd, args, nargs, flags) runs the script's entry function with `nargs` u64
arguments. Failures raise OSError with the errno; a refused registration raises
RegistrationError, whose message and `log` carry the kernel's registration log; for a call on
a state the message carries the state's last error text, which read() on the fd returns.

    with LuaState("local n = 0 return function(k) n = n + k return n end") as st:
        st.call(5)            # -> 5
        st.call(2)            # -> 7
        st.fdinfo()["lua-invocations"]   # -> "2"

The module functions register() and lua_syscall() take raw addresses too, so that tests can
pass NULL, unmapped or kernel pointers and lengths that do not match the buffer.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

__all__ = [
    "LUA_SYSCALL_CLOEXEC",
    "LUA_SYSCALL_MAX_ARGS",
    "NR_LUA_SYSCALL",
    "NR_REGISTER_LUA_SYSCALL",
    "SYSCTL_DIR",
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
NR_REGISTER_LUA_SYSCALL = 463
NR_LUA_SYSCALL = 464

# include/uapi/linux/lua_syscall.h
LUA_SYSCALL_CLOEXEC = 0x1
LUA_SYSCALL_MAX_ARGS = 16
LUA_SYSCALL_LOG_ERRORS = 1
LUA_SYSCALL_LOG_WARNINGS = 2
LUA_SYSCALL_NAME_MAX = 32
LUA_SYSCALL_REG_SIZE_VER0 = 72


class LuaSyscallReg(ctypes.Structure):
    """struct lua_syscall_reg."""

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


assert ctypes.sizeof(LuaSyscallReg) == LUA_SYSCALL_REG_SIZE_VER0


class RegistrationError(OSError):
    """A refused registration: the errno, and the kernel's log (empty without one)."""

    def __init__(self, err: int, log: str) -> None:
        detail = log.strip().replace("\n", "; ")
        super().__init__(err, f"{os.strerror(err)}: {detail}" if detail else os.strerror(err))
        self.log = log


class Registration:
    """What the last register() call with a log left: the log and the size it needed."""

    log: str = ""
    log_true_size: int = 0

SYSCTL_DIR = Path("/proc/sys/kernel/lua_syscall")
ANON_INODE_NAME = "anon_inode:[luastate]"

_U64_MASK = (1 << 64) - 1
_ERRMSG_MAX = 4096

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

Script = str | bytes
Pointer = int | None


def _raise(err: int, detail: str = "") -> None:
    msg = os.strerror(err)
    if detail:
        msg = f"{msg}: {detail}"
    raise OSError(err, msg)


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
    ret = raw_register(ctypes.addressof(reg), ctypes.sizeof(reg))
    err = ctypes.get_errno()
    del keep, name_buf
    text = log.value.decode(errors="replace") if log is not None else ""
    if result is not None:
        result.log, result.log_true_size = text, reg.log_true_size
    if ret == -1:
        raise RegistrationError(err, text)
    return int(ret)


def raw_register(reg: Pointer, size: int) -> int:
    """The system call itself: register_lua_syscall(reg, size); -1 with ctypes' errno set."""
    return int(_syscall(ctypes.c_long(NR_REGISTER_LUA_SYSCALL), ctypes.c_void_p(reg),
                        ctypes.c_size_t(size & _U64_MASK)))


def lua_syscall(fd: int, args: Sequence[int] | Pointer = (), nargs: int | None = None,
                flags: int = 0) -> int:
    """lua_syscall(): the script's integer result, or OSError (with the state's last error).

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
    ret = _syscall(ctypes.c_long(NR_LUA_SYSCALL), ctypes.c_long(fd), ptr,
                   ctypes.c_ulong(count & _U64_MASK), ctypes.c_ulong(flags & _U64_MASK))
    err = ctypes.get_errno()
    del keep
    if ret == -1:
        _raise(err, _state_error(fd))
    return int(ret)


def is_luastate(fd: int) -> bool:
    """Whether fd is open and a `[luastate]`."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == ANON_INODE_NAME
    except OSError:
        return False


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


_available: bool | None = None


def _probe() -> bool:
    probe = b"return function() end"
    try:
        fd = register(probe, LUA_SYSCALL_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ENOSYS:
            return False
        # EPERM without CAP_SYS_ADMIN; anything else on a kernel that has the feature is a
        # bug for the tests to report, not a reason to skip them.
        return SYSCTL_DIR.is_dir()
    if not is_luastate(fd):
        # Another syscall at this number (mainline reused 463/464): not ours, do not close.
        return False
    os.close(fd)
    return True


def available() -> bool:
    """Whether the running kernel has the lua_syscall ABI (False on ENOSYS)."""
    global _available
    if _available is None:
        _available = _probe()
    return _available


class LuaState:
    """A registered script: a `[luastate]` fd.

    Registers at construction (so it is usable without `with`); the context manager closes
    the fd on exit, as does close().
    """

    def __init__(self, script: Script, flags: int = 0, *, name: str | None = None,
                 insn_limit: int = 0, mem_limit: int = 0) -> None:
        self._fd: int | None = None
        self.registration = Registration()
        self._fd = register(script, flags, name=name, insn_limit=insn_limit,
                            mem_limit=mem_limit, result=self.registration)

    @property
    def fd(self) -> int:
        if self._fd is None:
            raise ValueError("the state is closed")
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd is None

    def call(self, *args: int, flags: int = 0) -> int:
        """Run the entry with args (int64, u64 taken modulo 2**64); its integer result."""
        return lua_syscall(self.fd, args, flags=flags)

    def last_error(self) -> str:
        return last_error(self.fd)

    def fdinfo(self) -> dict[str, str]:
        return fdinfo(self.fd)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def detach(self) -> int:
        """Give up ownership of the fd (it is no longer closed by this object)."""
        fd = self.fd
        self._fd = None
        return fd

    def __enter__(self) -> LuaState:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __repr__(self) -> str:
        return f"LuaState(fd={self._fd})"
