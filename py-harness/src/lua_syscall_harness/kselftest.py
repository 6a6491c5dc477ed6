"""Building the lua_syscall kselftests against a variant's headers, for running in the guest."""

from __future__ import annotations

from pathlib import Path

from .build import ccache_env, make_args
from .layout import variant_dir
from .proc import run, say

TARGET = "lua_syscall"


def install_dir(variant: str) -> Path:
    return variant_dir(variant) / "kselftest_install"


def build(variant: str) -> Path:
    """Build and install the suite; return the directory holding run_kselftest.sh."""
    dest = install_dir(variant)
    say(f"building kselftests ({TARGET}) into {dest}")
    run([*make_args(variant), "headers"], env=ccache_env(), capture=True)
    run([*make_args(variant), f"TARGETS={TARGET}", f"INSTALL_PATH={dest}",
         "kselftest-install"], env=ccache_env(), capture=True)
    return dest


def tap_failures(tap: str) -> list[str]:
    """'not ok' lines of a kselftest TAP stream, skips excluded."""
    return [line.strip() for line in tap.splitlines()
            if line.lstrip().startswith("not ok") and "# SKIP" not in line]
