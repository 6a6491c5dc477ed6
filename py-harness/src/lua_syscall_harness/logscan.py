"""Finding kernel splats in a guest's serial log: any of them fails a test run."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class KunitResults:
    passed: list[str]
    failed: list[str]
    skipped: list[str]


_KTAP_RESULT = re.compile(r"^\s*(ok|not ok) \d+ (\S+)(.*)$")
_CONSOLE_PREFIX = re.compile(r"^\[\s*\d+\.\d+\]\s?")


def kunit_results(log: str) -> KunitResults:
    """Results of the KUnit cases and suites the kernel printed at boot (KTAP)."""
    passed: list[str] = []
    failed: list[str] = []
    skipped: list[str] = []
    in_ktap = False
    for raw in log.splitlines():
        line = _CONSOLE_PREFIX.sub("", raw)
        if line.startswith("KTAP version"):
            in_ktap = True
            continue
        if not in_ktap:
            continue
        m = _KTAP_RESULT.match(line)
        if not m:
            continue
        status, name, rest = m.groups()
        if "# SKIP" in rest:
            skipped.append(name)
        elif status == "ok":
            passed.append(name)
        else:
            failed.append(name)
    return KunitResults(passed, failed, skipped)
