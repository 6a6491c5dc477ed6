"""The cover letter of the posted series: series.toml's text, the latest benchmark numbers,
and the base it applies to. patches/ and the b4 prep branch both take it from here."""

from __future__ import annotations

import textwrap

from .layout import KERNEL, LUA, REPO_ROOT
from .series import load as load_series

BENCHMARK_MARK = "@BENCHMARK@"
# Written by `lua-syscall bench` (a short table of ratios); filled in where the mark stands.
BENCHMARK_SUMMARY = REPO_ROOT / "py-harness" / "series" / "benchmark-summary.txt"


def subject_and_body() -> tuple[str, str]:
    s = load_series()
    body = s.cover_body
    if BENCHMARK_MARK in body:
        summary = (BENCHMARK_SUMMARY.read_text().strip() if BENCHMARK_SUMMARY.exists()
                   else "(no benchmark run recorded yet: `lua-syscall bench`)")
        body = body.replace(BENCHMARK_MARK, summary)
    base = (f"Base: Linux {KERNEL.version.split('-')[0]} as shipped in Debian's "
            f"{KERNEL.package} {KERNEL.version}, plus the Lua {LUA.version.split('-')[0]} "
            f"import generated from Debian's {LUA.package} {LUA.version} (the base-commit "
            "below).")
    return s.cover_subject, f"{body}\n\n{textwrap.fill(base, width=72)}"


def b4_description() -> str:
    """The cover letter as b4 keeps it in the prep branch's description."""
    subject, body = subject_and_body()
    return f"{subject}\n\n{body}\n\nSigned-off-by: {load_series().author}\n"
