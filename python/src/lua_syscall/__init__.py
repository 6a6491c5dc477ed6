# SPDX-License-Identifier: LGPL-2.1-only OR BSD-2-Clause
"""lua_syscall: register Lua scripts with the Linux kernel and call them.

An application registers a small Lua 5.4 program with the kernel and then calls it like a
system call; the program calls existing system calls inside the kernel, so that many of them
cost one user/kernel crossing::

    import lua_syscall

    with lua_syscall.State("return function(n) return sys.getppid() + n end") as st:
        st(1000)          # getppid() + 1000, computed in the kernel

State registers a script and calls it; RegistrationError carries the kernel's log of a
refused script, CallError the state's message for a failed call; supported() tells whether
the running kernel has the system calls. See Documentation/userspace-api/lua_syscall.rst in
the kernel tree for the scripts' libraries (sys, mem) and the errors.
"""

from .abi import CLOEXEC, LOG_ERRORS, LOG_WARNINGS, MAX_ARGS, NAME_MAX
from .errors import (
    CallError,
    LuaSyscallError,
    NotSupportedError,
    RegistrationError,
)
from .info import StateInfo
from .state import State, supported

__version__ = "0.1.0"

__all__ = [
    "CLOEXEC",
    "LOG_ERRORS",
    "LOG_WARNINGS",
    "MAX_ARGS",
    "NAME_MAX",
    "CallError",
    "LuaSyscallError",
    "NotSupportedError",
    "RegistrationError",
    "State",
    "StateInfo",
    "supported",
]
