"""Rewrite series.toml and series/diffs/ from commits made in a kernel tree.

The series is edited where kernel developers edit: in the kernel tree, with `git rebase -i`,
`git commit --amend` and friends, on top of the generated Lua import. `lua-syscall series
refresh` then records that branch in this repository's form:

- a file new in the series is kept in the repository at its kernel path, in its final form,
  and copied in by the last commit that touches it; earlier commits reach their version of it
  through diffs;
- every other change (existing kernel files, intermediate versions) goes into one diff per
  commit, `diffs/NN-<subject>.diff`;
- commit subjects and bodies (without the Signed-off-by the harness adds) become the steps.

`tree.prepare()` on the result rebuilds the same trees: refresh checks that it does.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import series, tree
from .layout import BASE_TAG, LUA_IMPORT_TAG, REPO_ROOT, SERIES_DIR, build_lock, kernel_tree
from .proc import HarnessError, git, run, say

_SIGNOFF = re.compile(r"^Signed-off-by: .*$", re.MULTILINE)


@dataclass
class RefreshedStep:
    subject: str
    body: str
    paths: list[str]
    diff_name: str | None


def _changed_files(ktree: Path, commit: str) -> list[tuple[str, str]]:
    out = git(ktree, "diff-tree", "-r", "--no-commit-id", "--no-renames", "--name-status",
              f"{commit}^", commit)
    return [(line[0], line.split("\t", 1)[1]) for line in out.splitlines() if line]


def _is_new_in_series(ktree: Path, path: str) -> bool:
    return git(ktree, "ls-tree", "--name-only", LUA_IMPORT_TAG, "--", path) == "" and \
        git(ktree, "ls-tree", "--name-only", BASE_TAG, "--", path) == ""


def _slug(subject: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "-", subject).strip("-")[:60].rstrip("-")


def _message_parts(ktree: Path, commit: str) -> tuple[str, str]:
    subject = git(ktree, "log", "-1", "--format=%s", commit)
    body = git(ktree, "log", "-1", "--format=%b", commit)
    body = _SIGNOFF.sub("", body).strip()
    if not body:
        raise HarnessError(f"commit {commit[:12]} ({subject!r}) has no message body")
    return subject, body


def plan(ktree: Path, ref: str) -> tuple[list[RefreshedStep], dict[str, bytes], dict[str, str]]:
    """Steps, the final content of the series' new files, and the diff text per step."""
    commits = git(ktree, "rev-list", "--reverse", "--topo-order",
                  f"{LUA_IMPORT_TAG}..{ref}").split()
    if not commits:
        raise HarnessError(f"no commits between {LUA_IMPORT_TAG} and {ref}")
    last_touch: dict[str, int] = {}
    changes = []
    for index, commit in enumerate(commits):
        files = _changed_files(ktree, commit)
        for status, path in files:
            if status == "D":
                raise HarnessError(f"{commit[:12]} deletes {path}: the series format has no "
                                   "deletions")
            last_touch[path] = index
        changes.append(files)
    new_files = {p for p in last_touch if _is_new_in_series(ktree, p)}

    steps, finals, diffs = [], {}, {}
    for index, (commit, files) in enumerate(zip(commits, changes, strict=True)):
        subject, body = _message_parts(ktree, commit)
        copied = sorted(p for _, p in files if p in new_files and last_touch[p] == index)
        diffed = sorted(p for _, p in files if p not in copied)
        diff_name = None
        if diffed:
            diff_name = f"{index + 1:02d}-{_slug(subject)}.diff"
            diffs[diff_name] = commit_diff(ktree, commit, diffed)
        for p in copied:
            finals[p] = git_blob(ktree, f"{commit}:{p}")
        steps.append(RefreshedStep(subject, body, copied, diff_name))
    return steps, finals, diffs


def commit_diff(ktree: Path, commit: str, paths: list[str]) -> str:
    """What commit changed in paths, as `git apply` takes it. Not stripped: a hunk may end
    with the context line of an empty line, a lone space, which stripping would cut off."""
    return run(["git", "-C", str(ktree), "diff", "--no-renames", "--full-index", "--binary",
                f"{commit}^", commit, "--", *paths], capture=True).stdout


def git_blob(ktree: Path, spec: str) -> bytes:
    return subprocess.run(["git", "-C", str(ktree), "cat-file", "blob", spec],
                          capture_output=True, check=True).stdout


def _trees(ktree: Path, ref: str) -> list[str]:
    """Tree ids of the commits LUA_IMPORT_TAG..ref, oldest first."""
    out = git(ktree, "log", "--reverse", "--format=%T", f"{LUA_IMPORT_TAG}..{ref}")
    return out.split()


def _toml_string(text: str) -> str:
    if "'''" not in text:
        return "'''\n" + text + "\n'''"
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"""')
    return '"""\n' + escaped + '\n"""'


def render_steps(steps: list[RefreshedStep]) -> str:
    out = []
    for step in steps:
        out.append("[[step]]")
        out.append(f'subject = "{_escape_basic(step.subject)}"')
        out.append(f"body = {_toml_string(step.body)}")
        if step.paths:
            out.append("paths = [")
            out.extend(f'    "{_escape_basic(p)}",' for p in step.paths)
            out.append("]")
        if step.diff_name:
            out.append(f'diffs = ["{step.diff_name}"]')
        out.append("")
    return "\n".join(out)


def _escape_basic(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _manifest_header(manifest: Path) -> str:
    text = manifest.read_text()
    cut = text.find("\n[[step]]")
    return text if cut < 0 else text[:cut + 1]


def refresh(ref: str | None = None, ktree: Path | None = None) -> list[RefreshedStep]:
    """Record the commits LUA_IMPORT_TAG..ref of the kernel tree as the series."""

    ktree = ktree or kernel_tree()
    ref = ref or "HEAD"
    with build_lock():
        if subprocess.run(["git", "-C", str(ktree), "rev-parse", "-q", "--verify",
                           f"{ref}^{{commit}}"], capture_output=True).returncode:
            raise HarnessError(f"{ref!r} is not a commit of {ktree}")
        wanted = _trees(ktree, ref)
        steps, finals, diffs = plan(ktree, ref)
        manifest = SERIES_DIR / "series.toml"
        manifest.write_text(_manifest_header(manifest).rstrip("\n") + "\n\n" + render_steps(steps))
        diff_dir = SERIES_DIR / "diffs"
        for old in diff_dir.glob("*.diff"):
            if old.name not in diffs:
                old.unlink()
        for name, text in diffs.items():
            (diff_dir / name).write_text(text)
        for path, blob in finals.items():
            dest = REPO_ROOT / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists() or dest.read_bytes() != blob:
                dest.write_bytes(blob)
        rebuilt = tree.build_series(ktree, series.load())
        for n, (want, got) in enumerate(zip(wanted, _trees(ktree, rebuilt), strict=True), 1):
            if want != got:
                raise HarnessError(f"the refreshed series does not rebuild commit {n} of {ref}; "
                                   f"compare with `git -C {ktree} diff {want} {got}`")
        # Recorded now: the next prepare() may move the tree to the harness-made commits.
        git(ktree, "update-ref", tree.BUILT_REF, git(ktree, "rev-parse", "HEAD"))
    say(f"series.toml: {len(steps)} steps from {ref}; {len(diffs)} diffs, "
        f"{len(finals)} files copied; rebuilt tree matches")
    return steps
