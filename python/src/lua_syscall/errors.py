# SPDX-License-Identifier: LGPL-2.1-only OR BSD-2-Clause
"""The package's exceptions: OSErrors with the errno and the kernel's explanation."""

from __future__ import annotations

import errno as _errno
import os

__all__ = ["CallError", "LuaSyscallError", "NotSupportedError", "RegistrationError",
           "first_error_line"]


class LuaSyscallError(OSError):
    """The base of the package's errors; `errno` is the system call's."""

    errno: int


class NotSupportedError(LuaSyscallError):
    """The running kernel (or this machine) has no lua_syscall system calls."""

    def __init__(self, detail: str = "", err: int = _errno.ENOSYS) -> None:
        self.detail = detail
        text = "the kernel has no lua_syscall system calls"
        super().__init__(err, f"{text}: {detail}" if detail else text)

    def __reduce__(self) -> tuple[type[NotSupportedError], tuple[str, int]]:
        return type(self), (self.detail, self.errno)


def first_error_line(log: str) -> str:
    """The line of a registration log that says why: the first error, else the first line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("error:") or ": error:" in line:
            return line
    return lines[0] if lines else ""


class RegistrationError(LuaSyscallError):
    """register_lua_syscall() refused the script.

    `errno` tells the kind (EINVAL for a script that does not compile or returns no entry,
    ENOEXEC for a runtime error of its top level, E2BIG, EPERM, ...); `log` is the kernel's
    whole registration log, one message per line, and the message is its first error line.
    """

    def __init__(self, err: int, log: str = "") -> None:
        self.log = log
        line = first_error_line(log)
        super().__init__(err, f"{os.strerror(err)}: {line}" if line else os.strerror(err))

    def __reduce__(self) -> tuple[type[RegistrationError], tuple[int, str]]:
        return type(self), (self.errno, self.log)


class CallError(LuaSyscallError):
    """A call of a state failed.

    `errno` is the call's (ENOEXEC for a runtime error in the script, ETIME past the
    instruction budget, ENOMEM past the memory budget, or an errno the script returned);
    `detail` is the state's message for the call, as State.last_error() reads it ("" when
    there is none), and is part of the message.
    """

    def __init__(self, err: int, detail: str = "") -> None:
        self.detail = detail
        super().__init__(err, f"{os.strerror(err)}: {detail}" if detail else os.strerror(err))

    def __reduce__(self) -> tuple[type[CallError], tuple[int, str]]:
        return type(self), (self.errno, self.detail)
