"""The kernel git tree: pristine Debian base, generated Lua import, then the series steps.

Commits are made with plumbing on a private index and fixed identities and dates, so the same
inputs give the same commit ids on every machine, and checking out a new series head rewrites
only the files that changed (an incremental rebuild stays incremental).
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from . import lua_source
from .layout import (
    BASE_TAG,
    KERNEL,
    KERNEL_TARBALL,
    LUA,
    LUA_IMPORT_TAG,
    LUA_ORIG_SHA256,
    LUA_UPSTREAM_VERSION,
    REPO_ROOT,
    SERIES_BRANCH,
    SERIES_DIR,
    build_lock,
    kernel_tree,
)
from .proc import HarnessError, Stopwatch, git, run, say
from .series import Identity, Series
from .series import load as load_series

HARNESS_IDENTITY = Identity("lua_syscall harness", "lua-syscall-harness@localhost")
GENERATED_DATE = "2025-01-01T00:00:00+00:00"


def _commit_env(who: Identity, date: str) -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": who.name, "GIT_AUTHOR_EMAIL": who.email, "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": who.name, "GIT_COMMITTER_EMAIL": who.email,
        "GIT_COMMITTER_DATE": date,
    }


def installed_version(package: str) -> str | None:
    res = run(["dpkg-query", "-W", "-f=${Version}", package], capture=True, check=False)
    return res.stdout.strip() if res.returncode == 0 else None


def has_ref(tree: Path, ref: str) -> bool:
    if not (tree / ".git").exists():
        return False
    res = run(["git", "-C", str(tree), "rev-parse", "-q", "--verify", f"{ref}^{{commit}}"],
              capture=True, check=False)
    return res.returncode == 0


def ensure_base(tree: Path) -> str:
    """Extract linux-source-6.12 and commit it as the series base; return the base commit."""
    if has_ref(tree, BASE_TAG):
        return git(tree, "rev-parse", BASE_TAG)
    version = installed_version(KERNEL.package)
    if version != KERNEL.version:
        raise HarnessError(
            f"{KERNEL.package} {KERNEL.version} is needed, found {version or 'none'}: "
            "run `lua-syscall setup`")
    if tree.exists():
        say(f"removing incomplete kernel tree {tree}")
        shutil.rmtree(tree)
    clock = Stopwatch()
    say(f"extracting {KERNEL_TARBALL} into {tree} (about 1 minute)")
    tree.mkdir(parents=True)
    run(["tar", "-xf", str(KERNEL_TARBALL), "-C", str(tree), "--strip-components=1"])
    say("committing the pristine base")
    git(tree, "init", "-q", "-b", "debian-base")
    git(tree, "config", "gc.auto", "0")
    git(tree, "add", "-A", "-f", ".")
    env = _commit_env(HARNESS_IDENTITY, GENERATED_DATE)
    msg = (f"Linux {_makefile_version(tree)} from Debian {KERNEL.package} {KERNEL.version}\n\n"
           f"Pristine tree from {KERNEL_TARBALL}, the base of the lua_syscall series.\n")
    git(tree, "commit", "-q", "--no-verify", "-m", msg, env=env)
    git(tree, "tag", BASE_TAG)
    say(f"base committed in {clock}")
    return git(tree, "rev-parse", BASE_TAG)


def _makefile_version(tree: Path) -> str:
    fields = {}
    for line in (tree / "Makefile").read_text().splitlines()[:6]:
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip()
    return f"{fields['VERSION']}.{fields['PATCHLEVEL']}.{fields['SUBLEVEL']}"


class IndexBuilder:
    """Builds commits on a private index, never touching the work tree."""

    def __init__(self, tree: Path, start: str) -> None:
        self.tree = tree
        self.head = git(tree, "rev-parse", start)
        self._tmp = tempfile.TemporaryDirectory(prefix="lua-syscall-index-")
        self.env = {"GIT_INDEX_FILE": str(Path(self._tmp.name) / "index")}
        git(tree, "read-tree", self.head, env=self.env)

    def close(self) -> None:
        self._tmp.cleanup()

    def add_files(self, files: Iterable[tuple[Path, str]]) -> None:
        """Stage (source file, path in the kernel tree) pairs."""
        files = list(files)
        if not files:
            return
        blobs = git(self.tree, "hash-object", "-w", "--stdin-paths",
                    input_text="".join(f"{src}\n" for src, _ in files)).split()
        lines = []
        for (src, dst), blob in zip(files, blobs, strict=True):
            mode = "100755" if src.stat().st_mode & 0o111 else "100644"
            lines.append(f"{mode} {blob}\t{dst}\n")
        git(self.tree, "update-index", "--add", "--index-info", env=self.env,
            input_text="".join(lines))

    def apply(self, patch: Path, *, strip: int = 1, directory: str | None = None) -> None:
        args = ["apply", "--cached", f"-p{strip}"]
        if directory:
            args.append(f"--directory={directory}")
        try:
            git(self.tree, *args, str(patch), env=self.env)
        except HarnessError as e:
            raise HarnessError(f"{patch.name} does not apply: {e}") from e

    def commit(self, message: str, who: Identity, date: str) -> str:
        tree_id = git(self.tree, "write-tree", env=self.env)
        self.head = git(self.tree, "commit-tree", tree_id, "-p", self.head, "-F", "-",
                        env={**self.env, **_commit_env(who, date)}, input_text=message)
        return self.head


def ensure_lua_import(tree: Path) -> str:
    """Commit the Lua core (and Debian's fixes to it, if any) on the base; return the commit."""
    if has_ref(tree, LUA_IMPORT_TAG):
        if _import_is_pinned(tree):
            return git(tree, "rev-parse", LUA_IMPORT_TAG)
        say(f"the kernel tree's Lua import is not {LUA.package} {LUA.version}: importing again")
    src = lua_source.fetch()
    builder = IndexBuilder(tree, BASE_TAG)
    try:
        with tempfile.TemporaryDirectory(prefix="lua-core-") as tmp:
            names = lua_source.extract_core(src, Path(tmp))
            builder.add_files((Path(tmp) / n, f"kernel/lua/{n}") for n in names)
            skipped = ", ".join(sorted(lua_source.NOT_IMPORTED - {"Makefile"}))
            builder.commit(
                f"lua: import Lua {LUA_UPSTREAM_VERSION} core\n\n"
                "Generated by the lua_syscall harness (`lua-syscall tree`); not hand-edited.\n\n"
                f"Source: Debian source package {LUA.package} {LUA.version}, upstream tarball\n"
                f"{src.orig_tarball.name}, sha256 {LUA_ORIG_SHA256}.\n"
                "The files of src/ are copied byte-for-byte into kernel/lua/, except\n"
                f"{skipped}:\n"
                "the kernel supplies its own luaconf.h and has no use for the stand-alone\n"
                "interpreter, compiler or the io, os and package libraries.\n",
                HARNESS_IDENTITY, GENERATED_DATE)
            # A second commit only when Debian fixes the interpreter itself (5.4.7-1: no).
            fixes = lua_source.security_patches(src)
            subjects = []
            for name, text in fixes:
                path = Path(tmp) / name
                path.write_bytes(text)
                builder.apply(path, strip=2, directory="kernel/lua")
                subjects.append(f"  {name}: {email.message_from_bytes(text)['Subject']}")
            if fixes:
                builder.commit(
                    f"lua: apply Debian's fixes to Lua {LUA_UPSTREAM_VERSION}\n\n"
                    "Generated by the lua_syscall harness (`lua-syscall tree`); not hand-edited."
                    f"\n\nDebian fixes Lua {LUA_UPSTREAM_VERSION} as released in {LUA.package} "
                    f"{LUA.version}\nwith these patches; code run by the kernel needs them "
                    "too:\n" + "\n".join(subjects) + "\n",
                    HARNESS_IDENTITY, GENERATED_DATE)
    finally:
        builder.close()
    git(tree, "tag", "-f", LUA_IMPORT_TAG, builder.head)
    say(f"Lua {LUA.version} imported as {builder.head[:12]}")
    return builder.head


def _import_is_pinned(tree: Path) -> bool:
    """Whether the tagged import was made from the pinned source (the commit messages say)."""
    log = git(tree, "log", "--format=%B", f"{BASE_TAG}..{LUA_IMPORT_TAG}")
    return f"{LUA.package} {LUA.version}," in log and LUA_ORIG_SHA256 in log


def build_series(tree: Path, series: Series) -> str:
    """Commit every series step on the Lua import; return the head (work tree untouched)."""
    builder = IndexBuilder(tree, LUA_IMPORT_TAG)
    try:
        for index, step in enumerate(series.steps, start=1):
            builder.add_files((REPO_ROOT / f, str(f)) for f in series.repo_files(step))
            for diff in step.diffs:
                builder.apply(SERIES_DIR / "diffs" / diff)
            builder.commit(step.message(series.author), series.author,
                           _step_date(series.date, index))
        return builder.head
    finally:
        builder.close()


def _step_date(date: str, index: int) -> str:
    """Distinct, ordered, reproducible dates: the series date plus index seconds."""
    return (datetime.fromisoformat(date) + timedelta(seconds=index)).isoformat()


# The series head the harness last checked out in the kernel tree.
BUILT_REF = "refs/lua-syscall/built"


def prepare(tree: Path | None = None) -> str:
    with build_lock():
        return _prepare_locked(tree)


def _prepare_locked(tree: Path | None = None) -> str:
    """Bring the kernel tree to the current series head; return its commit id."""
    tree = tree or kernel_tree()
    ensure_base(tree)
    ensure_lua_import(tree)
    head = build_series(tree, load_series())
    current = git(tree, "rev-parse", "HEAD")
    dirty = git(tree, "status", "--porcelain", "--untracked-files=no")
    if current != head or dirty:
        _refuse_to_discard_work(tree, current, bool(dirty))
        # Only files that differ between the two trees are rewritten.
        git(tree, "checkout", "-q", "-f", "-B", SERIES_BRANCH, head)
        say(f"kernel tree at series head {head[:12]} ({len(load_series().steps)} steps)")
    git(tree, "update-ref", BUILT_REF, head)
    return head


def _refuse_to_discard_work(tree: Path, current: str, dirty: bool) -> None:
    """Developers edit the series in this tree: never reset over commits or edits not recorded.

    HEAD may be moved only from the head the harness last checked out (BUILT_REF).
    """
    if os.environ.get("LUA_SYSCALL_DISCARD_TREE_CHANGES") == "1":
        return
    built = subprocess.run(["git", "-C", str(tree), "rev-parse", "-q", "--verify", BUILT_REF],
                           capture_output=True, text=True).stdout.strip()
    moved = bool(built) and current != built
    if moved or (dirty and built):
        what = "commits" if moved else "uncommitted changes"
        raise HarnessError(
            f"{tree} has {what} the series does not record; run `lua-syscall series refresh` "
            "to record them, or set LUA_SYSCALL_DISCARD_TREE_CHANGES=1 to drop them")
