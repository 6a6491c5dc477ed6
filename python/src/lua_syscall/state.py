# SPDX-License-Identifier: LGPL-2.1-only OR BSD-2-Clause
"""State: a registered script, and supported(): whether the kernel has the calls."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import warnings
from pathlib import Path
from types import TracebackType
from typing import Self

from . import abi
from .errors import CallError, NotSupportedError, RegistrationError
from .info import StateInfo

__all__ = ["State", "supported"]

_PROBE = b"return function() end"
_MESSAGE_MAX = 4096  # the kernel keeps at most 255 bytes


@functools.cache
def supported() -> bool:
    """Whether the running kernel has register_lua_syscall() and lua_syscall().

    The system call numbers are provisional and mainline kernels since 6.13 use them for
    other calls, so the answer comes from registering a trivial script and checking that
    the descriptor is a `[luastate]`. Without the privilege to register (EPERM), the
    answer is whether the kernel's sysctls (/proc/sys/kernel/lua_syscall) exist. False on
    machines the package has no numbers for. The answer is cached for the process
    (supported.cache_clear() asks again).
    """
    if abi.syscall_numbers() is None:
        return False
    reg = abi.Reg(script=ctypes.cast(ctypes.c_char_p(_PROBE), ctypes.c_void_p).value or 0,
                  script_len=len(_PROBE), flags=abi.CLOEXEC)
    fd, err = abi.raw_register(ctypes.addressof(reg), ctypes.sizeof(reg))
    if fd < 0:
        return err == errno.EPERM and os.path.isdir(abi.SYSCTL_DIR)
    if abi.is_luastate(fd) is False:
        return False  # another call's result: not ours to close
    os.close(fd)
    return True


def _register(source: bytes, *, flags: int, name: str | None, insn_limit: int,
              mem_limit: int, log_level: int) -> tuple[int, str]:
    """register_lua_syscall(): (descriptor, log text), or the package's exception."""
    if insn_limit < 0 or mem_limit < 0:
        raise ValueError("insn_limit and mem_limit are at least 0 (0: the system's)")
    if name is not None and "\0" in name:
        raise ValueError("a state's name has no NUL character")
    if abi.syscall_numbers() is None:
        raise NotSupportedError("no system call numbers for this machine")
    script = ctypes.create_string_buffer(source, len(source))
    reg = abi.Reg(script=ctypes.addressof(script), script_len=len(source), flags=flags,
                  insn_limit=insn_limit, mem_limit=mem_limit)
    name_buf = None
    if name is not None:
        name_buf = ctypes.create_string_buffer(name.encode())
        reg.name = ctypes.addressof(name_buf)
    log = None
    if log_level:
        log = ctypes.create_string_buffer(abi.LOG_MAX)
        reg.log_buf, reg.log_size, reg.log_level = ctypes.addressof(log), abi.LOG_MAX, log_level
    fd, err = abi.raw_register(ctypes.addressof(reg), ctypes.sizeof(reg))
    text = log.value.decode(errors="replace") if log is not None else ""
    if fd < 0:
        if err == errno.ENOSYS or not supported():
            raise NotSupportedError(os.strerror(err), err)
        raise RegistrationError(err, text)
    if abi.is_luastate(fd) is False:
        # Some other system call at this number succeeded: not ours, left open.
        raise NotSupportedError(f"descriptor {fd} is not a [luastate]", errno.ENOSYS)
    return fd, text


class State:
    """A Lua script registered with the kernel: a `[luastate]` file descriptor.

    The source is Lua 5.4 text whose chunk returns a function, the entry; its top level runs
    once, here. Calling the state calls the entry with up to MAX_ARGS integers and returns
    its integer result; upvalues and globals persist between calls::

        with State("local n = 0 return function(k) n = n + k return n end") as st:
            st(5)   # 5
            st(2)   # 7

    name names the state in fdinfo and in its messages (at most NAME_MAX - 1 letters, digits,
    '_', '.' or '-'); cloexec sets close-on-exec on the descriptor; insn_limit and mem_limit
    are its budgets (0: the system's, kernel.lua_syscall.*, which are also the most);
    log_level (LOG_WARNINGS, LOG_ERRORS or 0) is what the registration log receives: a
    refused script raises RegistrationError with the log, an accepted one keeps its
    warnings in `warnings`.

    Raises RegistrationError (an OSError) when the kernel refuses the script,
    NotSupportedError when the kernel has no such system calls.

    Threads: a state runs one call at a time. Threads (and forked children, which share the
    descriptor) may call one state concurrently: the kernel serialises the calls, and a
    waiting caller sleeps interruptibly. The GIL is released during a call. The message of a
    failed call (CallError.detail, last_error()) is the state's last call's, so with several
    callers it may be another thread's. Do not close a state while other threads use it.
    """

    def __init__(self, source: str | bytes, *, name: str | None = None, cloexec: bool = True,
                 insn_limit: int = 0, mem_limit: int = 0,
                 log_level: int = abi.LOG_WARNINGS) -> None:
        self._fd: int | None = None
        self._name = name
        if isinstance(source, str):
            source = source.encode()
        fd, log = _register(bytes(source), flags=abi.CLOEXEC if cloexec else 0, name=name,
                            insn_limit=insn_limit, mem_limit=mem_limit, log_level=log_level)
        self._fd = fd
        self.warnings: str = log
        """The registration log of the accepted script: its warnings ("" without)."""

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, name: str | None = None,
                  cloexec: bool = True, insn_limit: int = 0, mem_limit: int = 0,
                  log_level: int = abi.LOG_WARNINGS) -> Self:
        """A state of the script in file path (OSError when it cannot be read)."""
        return cls(Path(path).read_bytes(), name=name, cloexec=cloexec,
                   insn_limit=insn_limit, mem_limit=mem_limit, log_level=log_level)

    @property
    def fd(self) -> int:
        """The descriptor; ValueError once the state is closed."""
        if self._fd is None:
            raise ValueError("I/O operation on a closed lua_syscall state")
        return self._fd

    def fileno(self) -> int:
        """The descriptor, as files have it (ValueError once the state is closed)."""
        return self.fd

    @property
    def name(self) -> str | None:
        """The name given at registration."""
        return self._name

    @property
    def closed(self) -> bool:
        return self._fd is None

    def call(self, *args: int) -> int:
        """Run the entry with args (integers, each taken modulo 2**64); its integer result.

        The kernel passes each argument to the script as a signed 64-bit integer. The result
        is the entry's first result (0 for nil or none); one in [-4095, -1] is an errno and
        raises CallError, which carries the state's message for the call. ValueError for
        more than MAX_ARGS arguments, TypeError for an argument that is not an integer.
        """
        fd = self.fd
        packed = abi.pack_args(args)
        ret, err = abi.raw_call(fd, ctypes.addressof(packed), len(args))
        if ret == -1:
            raise CallError(err, self._message(fd))
        return ret

    def __call__(self, *args: int) -> int:
        """The same as call()."""
        return self.call(*args)

    @staticmethod
    def _message(fd: int) -> str:
        if abi.is_luastate(fd) is False:
            return ""  # not ours any more: nothing to read
        try:
            return os.pread(fd, _MESSAGE_MAX, 0).decode(errors="replace")
        except OSError:
            return ""

    def last_error(self) -> str:
        """The message of the state's last call: why it failed, "" after a success."""
        return os.pread(self.fd, _MESSAGE_MAX, 0).decode(errors="replace")

    def info(self) -> StateInfo:
        """The state's identity, counters and budgets (from /proc/self/fdinfo)."""
        return StateInfo.read(self.fd)

    def close(self) -> None:
        """Close the descriptor (the state lives on while a dup or a child holds it)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def detach(self) -> int:
        """Give up the descriptor: it is returned and no longer closed by this object."""
        fd = self.fd
        self._fd = None
        return fd

    def __enter__(self) -> Self:
        self.fd  # noqa: B018 - a closed state is refused here, as files do
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            warnings.warn(f"unclosed lua_syscall state {self!r}", ResourceWarning,
                          stacklevel=2, source=self)
            with contextlib.suppress(OSError):
                os.close(fd)

    def __repr__(self) -> str:
        what = "closed" if self._fd is None else f"fd={self._fd}"
        name = f" name={self._name!r}" if self._name is not None else ""
        return f"<{type(self).__name__} {what}{name}>"
