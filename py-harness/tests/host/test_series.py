import os
import subprocess

from lua_syscall_harness import series, series_refresh, tree
from lua_syscall_harness.layout import LUA_IMPORT_TAG, SERIES_BRANCH, kernel_tree


def test_manifest_loads_with_steps():
    s = series.load()
    assert s.steps
    for step in s.steps:
        assert step.subject and step.body.strip()
        assert step.paths or step.diffs


def test_every_commit_is_signed_off_and_kernel_style():
    s = series.load()
    for step in s.steps:
        msg = step.message(s.author)
        subject = msg.splitlines()[0]
        assert ": " in subject and len(subject) <= 75
        assert msg.rstrip().endswith(f"Signed-off-by: {s.author}")
        assert all(len(line) <= 75 for line in msg.splitlines())


def test_series_commits_are_reproducible():
    ktree = kernel_tree()
    head = tree.prepare(ktree)
    assert tree.build_series(ktree, series.load()) == head


def test_prepare_is_idempotent_and_leaves_files_alone():
    ktree = kernel_tree()
    head = tree.prepare(ktree)
    makefile = ktree / "Makefile"
    before = makefile.stat().st_mtime_ns
    assert tree.prepare(ktree) == head
    assert makefile.stat().st_mtime_ns == before
    assert tree.git(ktree, "rev-parse", "--abbrev-ref", "HEAD") == SERIES_BRANCH


def test_series_sits_on_the_generated_lua_import():
    ktree = kernel_tree()
    head = tree.prepare(ktree)
    count = int(tree.git(ktree, "rev-list", "--count", f"{LUA_IMPORT_TAG}..{head}"))
    assert count == len(series.load().steps)
    assert tree.git(ktree, "merge-base", LUA_IMPORT_TAG, head) == \
        tree.git(ktree, "rev-parse", LUA_IMPORT_TAG)


def test_series_head_holds_the_repository_version_of_every_copied_file():
    """A later diff must not leave a step's file different from the repository's copy."""
    ktree = kernel_tree()
    head = tree.prepare(ktree)
    s = series.load()
    for step in s.steps:
        for f in s.repo_files(step):
            blob = tree.git(ktree, "rev-parse", f"{head}:{f}")
            here = tree.git(ktree, "hash-object", str(series.REPO_ROOT / f))
            assert blob == here, f"{f} at the series head differs from the repository's"


def test_manifest_is_what_refresh_makes_of_the_series_head():
    """series.toml and diffs/ are canonical: recording the head again changes nothing."""
    from lua_syscall_harness import series_refresh
    from lua_syscall_harness.layout import SERIES_DIR

    ktree = kernel_tree()
    head = tree.prepare(ktree)
    steps, finals, diffs = series_refresh.plan(ktree, head)
    manifest = (SERIES_DIR / "series.toml").read_text()
    assert manifest.endswith(series_refresh.render_steps(steps))
    on_disk = {p.name: p.read_text() for p in (SERIES_DIR / "diffs").glob("*.diff")}
    assert on_disk == diffs
    for path, blob in finals.items():
        assert (series.REPO_ROOT / path).read_bytes() == blob


def test_a_step_diff_ending_in_an_empty_context_line_still_applies(tmp_path):
    """The last context line of a hunk may be a lone space (an empty line): keep it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e"}

    def sh(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                              text=True, env={**os.environ, **env}).stdout

    sh("init", "-q")
    (repo / "f").write_text("a\nb\nc\nold\ny\nz\n\nw\n")
    sh("add", "f")
    sh("commit", "-qm", "one")
    (repo / "f").write_text("a\nb\nc\nnew\ny\nz\n\nw\n")
    sh("commit", "-qam", "two")
    text = series_refresh.commit_diff(repo, sh("rev-parse", "HEAD").strip(), ["f"])
    assert text.endswith("+new\n y\n z\n \n")
    (tmp_path / "step.diff").write_text(text)
    sh("checkout", "-q", "HEAD^")
    sh("apply", "--check", str(tmp_path / "step.diff"))
