"""Building the lua_syscall kselftests against a variant's headers, for running in the guest."""

from __future__ import annotations

import re
from pathlib import Path

from .build import ccache_env, make_args
from .layout import build_lock, variant_dir
from .proc import run, say

TARGET = "lua_syscall"


def install_dir(variant: str) -> Path:
    return variant_dir(variant) / "kselftest_install"


def build(variant: str) -> Path:
    """Build and install the suite; return the directory holding run_kselftest.sh."""
    dest = install_dir(variant)
    say(f"building kselftests ({TARGET}) into {dest}")
    with build_lock():
        run([*make_args(variant), "headers"], env=ccache_env(), capture=True)
        run([*make_args(variant), f"TARGETS={TARGET}", f"KSFT_INSTALL_PATH={dest}",
             "kselftest-install"], env=ccache_env(), capture=True)
    return dest


_NOT_OK = re.compile(r"^(?:#\s*)*not ok\b")


def tap_failures(tap: str) -> list[str]:
    """'not ok' lines of a kselftest TAP stream at any nesting depth, skips excluded."""
    return [line.strip() for line in tap.splitlines()
            if _NOT_OK.match(line.strip()) and "# SKIP" not in line]


_TOTALS = re.compile(r"^(?:#\s*)*# Totals: (.*)$")


def tap_totals(tap: str) -> dict[str, int]:
    """The sums of the kselftest_harness "# Totals: pass:N fail:N ..." lines of a stream."""
    sums: dict[str, int] = {}
    for line in tap.splitlines():
        m = _TOTALS.match(line.strip())
        if m:
            for field in m.group(1).split():
                key, _, value = field.partition(":")
                if value.isdigit():
                    sums[key] = sums.get(key, 0) + int(value)
    return sums
