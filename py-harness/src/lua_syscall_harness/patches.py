"""Exporting the series as mail patches, and checking that patches/ is fresh and applies.

patches/ holds the cover letter and the project's own patches. The first patches of the
series (the Lua import and Debian's fixes to it) are generated from Debian's source package
and never committed: `lua-syscall patches` writes the whole series, those included, to
build/patches/.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

from . import tree
from .layout import BASE_TAG, KERNEL, LUA_IMPORT_TAG, REPO_ROOT, build_root, kernel_tree
from .proc import HarnessError, git, run, say
from .series import load as load_series

COMMITTED_DIR = REPO_ROOT / "patches"


def generated_count(ktree: Path) -> int:
    return int(git(ktree, "rev-list", "--count", f"{BASE_TAG}..{LUA_IMPORT_TAG}"))


def export(dest: Path, ktree: Path | None = None) -> list[Path]:
    """Write the full series (cover letter first) to dest; return the files in order."""
    ktree = ktree or kernel_tree()
    head = tree.prepare(ktree)
    series = load_series()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    who = series.author
    env = {"GIT_COMMITTER_NAME": who.name, "GIT_COMMITTER_EMAIL": who.email,
           "GIT_COMMITTER_DATE": series.date}
    out = git(ktree, "format-patch", "--cover-letter", "--no-signature",
              f"--base={BASE_TAG}", "--subject-prefix=PATCH", "-o", str(dest),
              f"{BASE_TAG}..{head}", env=env)
    files = [Path(p) for p in out.splitlines()]
    cover = files[0]
    body = (f"{series.cover_body}\n\nBase: Linux {KERNEL.version.split('-')[0]} as shipped in "
            f"Debian's {KERNEL.package} {KERNEL.version}.")
    text = cover.read_text()
    if "*** SUBJECT HERE ***" not in text or "*** BLURB HERE ***" not in text:
        raise HarnessError(f"unexpected cover letter template in {cover}")
    cover.write_text(text.replace("*** SUBJECT HERE ***", series.cover_subject)
                     .replace("*** BLURB HERE ***", body))
    return files


def committed_subset(files: list[Path], ktree: Path) -> list[Path]:
    """The cover letter and every patch after the generated ones."""
    skip = generated_count(ktree)
    return [files[0], *files[1 + skip:]]


def generated_subset(files: list[Path], ktree: Path) -> list[Path]:
    return files[1:1 + generated_count(ktree)]


def write(ktree: Path | None = None) -> list[Path]:
    """Regenerate build/patches/ (everything) and patches/ (what is committed)."""
    ktree = ktree or kernel_tree()
    full = export(build_root() / "patches", ktree)
    if COMMITTED_DIR.exists():
        shutil.rmtree(COMMITTED_DIR)
    COMMITTED_DIR.mkdir()
    for f in committed_subset(full, ktree):
        shutil.copy2(f, COMMITTED_DIR / f.name)
    say(f"wrote {len(full) - 1} patches + cover letter to {build_root() / 'patches'}; "
        f"committed set in {COMMITTED_DIR}")
    return full


def stale_files(ktree: Path | None = None) -> list[str]:
    """Names that differ between a fresh export and patches/ (empty when fresh)."""
    ktree = ktree or kernel_tree()
    with tempfile.TemporaryDirectory(prefix="lua-syscall-patches-") as tmp:
        fresh = committed_subset(export(Path(tmp) / "p", ktree), ktree)
        fresh_names = {f.name: f for f in fresh}
        have = {f.name: f for f in COMMITTED_DIR.glob("*.patch")} if COMMITTED_DIR.exists() \
            else {}
        diff = sorted(set(fresh_names) ^ set(have))
        diff += sorted(n for n in set(fresh_names) & set(have)
                       if not filecmp.cmp(fresh_names[n], have[n], shallow=False))
        return diff


def check_applies(ktree: Path | None = None) -> str:
    """git am the generated patches + patches/ onto a clean base; return the resulting tree.

    Raises HarnessError unless the result is exactly the series head's tree.
    """
    ktree = ktree or kernel_tree()
    head = tree.prepare(ktree)
    with tempfile.TemporaryDirectory(prefix="lua-syscall-am-") as tmp:
        generated = generated_subset(export(Path(tmp) / "full", ktree), ktree)
        mails = [*generated, *sorted(COMMITTED_DIR.glob("0*.patch"))[1:]]
        if not mails:
            raise HarnessError(f"no patches in {COMMITTED_DIR}: run `lua-syscall patches`")
        touched = git(ktree, "diff", "--name-only", BASE_TAG, head).splitlines()
        work = Path(tmp) / "am"
        git(ktree, "worktree", "add", "-q", "--no-checkout", "--detach", str(work), BASE_TAG)
        try:
            # Only the files the series touches are checked out: a full 6.12 checkout is slow.
            git(work, "sparse-checkout", "set", "--no-cone", *(f"/{p}" for p in touched))
            git(work, "checkout", "-q")
            env = {"GIT_COMMITTER_NAME": "am check", "GIT_COMMITTER_EMAIL": "am@localhost"}
            res = run(["git", "-C", str(work), "am", "-q", "--whitespace=nowarn",
                       *map(str, mails)], env=env, capture=True, check=False)
            if res.returncode != 0:
                raise HarnessError("git am onto a clean base failed:\n" +
                                   (res.stdout + res.stderr)[-2000:])
            result = git(work, "rev-parse", "HEAD^{tree}")
        finally:
            git(ktree, "worktree", "remove", "--force", str(work))
    expected = git(ktree, "rev-parse", f"{head}^{{tree}}")
    if result != expected:
        raise HarnessError(f"patches applied, but the tree {result[:12]} differs from the "
                           f"series head's {expected[:12]}: patches/ is stale")
    return result
