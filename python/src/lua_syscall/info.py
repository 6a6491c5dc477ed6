# SPDX-License-Identifier: LGPL-2.1-only OR BSD-2-Clause
"""What /proc/PID/fdinfo/FD tells about a state."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path

__all__ = ["StateInfo", "unescape"]

_OCTAL = re.compile(rb"\\([0-3][0-7]{2})")


def unescape(value: str) -> str:
    r"""A value the kernel escaped with seq_escape_str(ESCAPE_OCTAL): `\ooo` back to its byte.

    The kernel escapes every byte that is not printable ASCII, and the backslash itself, so
    the result is the original text (decoded as UTF-8, undecodable bytes replaced).
    """
    raw = _OCTAL.sub(lambda m: bytes([int(m[1], 8)]), value.encode())
    return raw.decode(errors="replace")


@dataclass(frozen=True)
class StateInfo:
    """A state's identity, counters and budgets, as fdinfo shows them (its `lua-*` lines).

    The counters are those after the state's last completed call.
    """

    id: int
    """The state's number (as in the lua_syscall tracepoint)."""
    name: str
    """The name given at registration, "" without one."""
    invocations: int
    """lua_syscall() calls so far."""
    nested_syscalls: int
    """System calls its script made through `sys` so far, its top level included."""
    instructions: int
    """Instructions charged to all its calls, as its budget counts them: each loop its body's
    length every time around, each Lua function call the function's length, library work
    by the bytes it touches."""
    mem_used: int
    """Bytes the state has allocated now."""
    mem_limit: int
    """Its memory budget in bytes."""
    insn_limit: int
    """Its instruction budget per call."""
    last_errno: int
    """The errno of the last call, 0 after a success (and before any call)."""
    last_error: str
    """The message of the last call, "" after a success (the text State.last_error() reads)."""

    @classmethod
    def parse(cls, text: str) -> StateInfo:
        """The StateInfo of an fdinfo text; ValueError when one of its lines is missing."""
        values: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.startswith("lua-"):
                # "key:\tvalue": a message may end in spaces, which belong to it
                values[key[4:].replace("-", "_")] = value.removeprefix("\t")
        kwargs: dict[str, int | str] = {}
        for field in fields(cls):
            if field.name not in values:
                raise ValueError(f"no lua-{field.name.replace('_', '-')} line in fdinfo")
            value = values[field.name]
            if field.name == "name":
                kwargs[field.name] = value.strip()
            elif field.name == "last_error":
                kwargs[field.name] = unescape(value)
            else:
                kwargs[field.name] = int(value.strip())
        return cls(**kwargs)  # type: ignore[arg-type]

    @classmethod
    def read(cls, fd: int, pid: int | str = "self") -> StateInfo:
        """The StateInfo of descriptor fd of process pid (/proc/PID/fdinfo/FD).

        OSError when there is no such descriptor, ValueError when it is not a state.
        """
        return cls.parse(Path(f"/proc/{pid}/fdinfo/{fd}").read_text(errors="replace"))
