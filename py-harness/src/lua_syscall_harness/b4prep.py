"""The series as a b4 prep branch: cover letter, `b4 prep --check`, and mails ready to send.

b4 (PyPI; Debian's 0.12 has no `prep --check`) keeps a series on a branch of its own with the
cover letter in the branch description. `lua-syscall b4 prep` makes that branch in the kernel
tree, b4/lua-syscall, at the series head, on a base branch at the generated Lua import (the
import is not posted: reviewers get it from Debian's lua5.4, see the cover letter), and writes
the cover letter from series.toml. The per-patch check b4 runs is checkpatch --strict through
lua_syscall_harness.checkpatch, so b4 and `lua-syscall patches --check` judge alike.

b4 works on the checked-out branch; it gets a sparse worktree of its own (build/b4/linux)
so that build/linux stays on the series branch for the builds.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from . import cover, tree
from .layout import LUA_IMPORT_TAG, build_lock, build_root, kernel_tree
from .proc import HarnessError, git, run, say
from .series import load as load_series

BRANCH = "b4/lua-syscall"
BASE_BRANCH = "b4/lua-syscall-base"
# Fixed, so that every machine prepares the same series (b4 makes a random one otherwise).
CHANGE_ID = "20261126-lua-syscall-1a2b3c4d5e6f"
_SUMMARY = re.compile(r"Success: (\d+), Warning: (\d+), Error: (\d+)")


def worktree() -> Path:
    return build_root() / "b4" / "linux"


def b4_command() -> str:
    exe = Path(sys.executable).with_name("b4")
    if not exe.exists():
        raise HarnessError("b4 is not installed in the harness's venv: run `lua-syscall setup`")
    return str(exe)


def prepare(ktree: Path | None = None) -> Path:
    """Make the b4 prep branch and its worktree; return the worktree."""
    ktree = ktree or kernel_tree()
    with build_lock():
        head = tree.prepare(ktree)
        author = load_series().author
        git(ktree, "branch", "-f", BASE_BRANCH, LUA_IMPORT_TAG)
        wt = worktree()
        if not (wt / ".git").exists():
            git(ktree, "worktree", "prune")
            wt.parent.mkdir(parents=True, exist_ok=True)
            git(ktree, "worktree", "add", "-q", "-f", "--no-checkout", "--detach", str(wt),
                head)
            # b4 reads patches from git; checkpatch runs from build/linux.
            git(wt, "sparse-checkout", "set", "--no-cone", "/scripts/", "/MAINTAINERS")
        git(wt, "checkout", "-q", "-f", "-B", BRANCH, head)
        tracking = {"series": {"revision": 1, "change-id": CHANGE_ID, "prefixes": [],
                               "presubject": "", "base-branch": BASE_BRANCH}}
        config = {
            f"branch.{BRANCH}.b4-prep-cover-strategy": "branch-description",
            f"branch.{BRANCH}.description": cover.b4_description(),
            f"branch.{BRANCH}.b4-tracking": json.dumps(tracking),
            "b4.prep-cover-strategy": "branch-description",
            "b4.prep-perpatch-check-cmd": f"{sys.executable} -m lua_syscall_harness.checkpatch",
            "user.name": author.name,
            "user.email": author.email,
            # b4 send -o is a dry run, but b4 wants a transport configured.
            "sendemail.smtpserver": "/bin/false",
        }
        for key, value in config.items():
            git(ktree, "config", key, value)
    say(f"b4 prep branch {BRANCH} at {head[:12]} in {wt}")
    return wt


def check(ktree: Path | None = None) -> str:
    """`b4 prep --check`; raise unless every patch passes. Returns b4's report."""
    wt = prepare(ktree)
    res = run([b4_command(), "prep", "--check", "--no-cache"], cwd=wt, capture=True,
              check=False)
    report = res.stdout + res.stderr
    m = _SUMMARY.search(report)
    if res.returncode or not m or int(m.group(2)) or int(m.group(3)):
        raise HarnessError(f"b4 prep --check is not clean:\n{report[-4000:]}")
    say(f"b4 prep --check: {m.group(1)} patches, no warnings, no errors")
    return report


def send_dry_run(ktree: Path | None = None) -> Path:
    """The mails `b4 send` would send, written to build/b4/outbox for review."""
    wt = prepare(ktree)
    out = build_root() / "b4" / "outbox"
    if out.exists():
        shutil.rmtree(out)
    run([b4_command(), "send", "--no-sign", "-o", str(out)], cwd=wt, capture=True)
    say(f"b4 wrote {len(list(out.glob('*.eml')))} mails to {out}")
    return out
