"""Exporting the series as mail patches, and checking that patches/ is fresh and applies.

patches/ holds the series as posted: a cover letter and the project's patches 1..N, based on
the generated Lua import (the base-commit). The import itself (Lua 5.4.7 from Debian's source
package; a second patch only if Debian fixed the interpreter, which 5.4.7-1 does not) is never
committed: `lua-syscall patches` writes it to build/patches/lua-import/, to `git am` first.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

from . import cover, tree
from .layout import BASE_TAG, LUA_IMPORT_TAG, REPO_ROOT, build_root, kernel_tree
from .proc import HarnessError, git, run, say
from .series import load as load_series

COMMITTED_DIR = REPO_ROOT / "patches"


def _committer_env() -> dict[str, str]:
    s = load_series()
    return {"GIT_COMMITTER_NAME": s.author.name, "GIT_COMMITTER_EMAIL": s.author.email,
            "GIT_COMMITTER_DATE": s.date}


def export(dest: Path, ktree: Path | None = None) -> list[Path]:
    """Write the posted series (cover letter first) to dest; return the files in order."""
    ktree = ktree or kernel_tree()
    head = tree.prepare(ktree)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    out = git(ktree, "format-patch", "--cover-letter", "--no-signature",
              f"--base={LUA_IMPORT_TAG}", "--subject-prefix=PATCH", "-o", str(dest),
              f"{LUA_IMPORT_TAG}..{head}", env=_committer_env())
    files = [Path(p) for p in out.splitlines()]
    letter = files[0]
    text = letter.read_text()
    if "*** SUBJECT HERE ***" not in text or "*** BLURB HERE ***" not in text:
        raise HarnessError(f"unexpected cover letter template in {letter}")
    subject, body = cover.subject_and_body()
    letter.write_text(text.replace("*** SUBJECT HERE ***", subject)
                     .replace("*** BLURB HERE ***", body))
    return files


def export_lua_import(dest: Path, ktree: Path | None = None) -> list[Path]:
    """The generated Lua import as patches onto the Debian base (not committed)."""
    ktree = ktree or kernel_tree()
    tree.prepare(ktree)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    out = git(ktree, "format-patch", "--no-signature", "-o", str(dest),
              f"{BASE_TAG}..{LUA_IMPORT_TAG}", env=_committer_env())
    return [Path(p) for p in out.splitlines()]


def write(ktree: Path | None = None) -> list[Path]:
    """Regenerate patches/ and build/patches/lua-import/."""
    ktree = ktree or kernel_tree()
    posted = export(COMMITTED_DIR, ktree)
    generated = export_lua_import(build_root() / "patches" / "lua-import", ktree)
    say(f"wrote the cover letter and {len(posted) - 1} patches to {COMMITTED_DIR}; the "
        f"generated Lua import ({len(generated)} to git am first) to "
        f"{generated[0].parent}")
    return posted


def stale_files(ktree: Path | None = None) -> list[str]:
    """Names that differ between a fresh export and patches/ (empty when fresh)."""
    ktree = ktree or kernel_tree()
    with tempfile.TemporaryDirectory(prefix="lua-syscall-patches-") as tmp:
        fresh = export(Path(tmp) / "p", ktree)
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
        generated = export_lua_import(Path(tmp) / "lua-import", ktree)
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
