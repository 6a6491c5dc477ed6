"""Finding kernel splats in a guest's serial log: any of them fails a test run."""

from __future__ import annotations

import re

SPLAT_PATTERNS = (
    r"BUG: ",
    r"WARNING: ",
    r"KASAN: ",
    r"UBSAN: ",
    r"Oops",
    r"Kernel panic",
    r"general protection fault",
    r"possible circular locking dependency",
    r"possible recursive locking",
    r"inconsistent lock state",
    r"suspicious RCU usage",
    r"INFO: task .* blocked for more than",
    r"INFO: rcu_\w+ (?:self-)?detected stall",
    r"watchdog: BUG: soft lockup",
    r"unreferenced object 0x",
    r"stack-protector: ",
    r"Call Trace:",
)
_SPLAT = re.compile("|".join(f"(?:{p})" for p in SPLAT_PATTERNS))


def splats(log: str) -> list[str]:
    """The lines of log that report a kernel bug, warning or sanitizer finding."""
    return [line.rstrip() for line in log.splitlines() if _SPLAT.search(line)]
