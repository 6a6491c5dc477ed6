"""The kernel tree is where developers edit the series: the harness must not reset over it."""

import pytest

from lua_syscall_harness import tree
from lua_syscall_harness.layout import kernel_tree
from lua_syscall_harness.proc import HarnessError


def test_prepare_refuses_to_drop_unrecorded_edits_and_commits():
    ktree = kernel_tree()
    head = tree.prepare(ktree)
    makefile = ktree / "kernel/lua/Makefile"
    original = makefile.read_text()
    try:
        makefile.write_text(original + "# local edit\n")
        with pytest.raises(HarnessError, match="uncommitted changes"):
            tree.prepare(ktree)
        tree.git(ktree, "commit", "-q", "-a", "-m", "lua: a local change",
                 env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                      "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})
        with pytest.raises(HarnessError, match="series refresh"):
            tree.prepare(ktree)
    finally:
        tree.git(ktree, "checkout", "-q", "-f", "-B", tree.SERIES_BRANCH, head)
        tree.git(ktree, "update-ref", tree.BUILT_REF, head)
    assert tree.prepare(ktree) == head
    assert makefile.read_text() == original


def test_an_import_of_another_lua_is_made_again(tmp_path):
    """A tree made before a Lua version bump must not keep its old import."""
    from lua_syscall_harness.layout import BASE_TAG, LUA, LUA_IMPORT_TAG, LUA_ORIG_SHA256

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    tree.git(tmp_path, "init", "-q")
    tree.git(tmp_path, "commit", "-q", "--allow-empty", "-m", "base", env=env)
    tree.git(tmp_path, "tag", BASE_TAG)
    tree.git(tmp_path, "commit", "-q", "--allow-empty", "-m",
             "lua: import Lua 5.4.4 core\n\nSource: Debian source package lua5.4 "
             "5.4.4-3+deb12u1, upstream tarball\nlua5.4_5.4.4.orig.tar.gz, sha256 164c78.\n",
             env=env)
    tree.git(tmp_path, "tag", LUA_IMPORT_TAG)
    assert not tree._import_is_pinned(tmp_path)
    tree.git(tmp_path, "commit", "-q", "--allow-empty", "-m",
             f"lua: import\n\nSource: Debian source package {LUA.package} {LUA.version}, "
             f"upstream tarball\nx.tar.gz, sha256 {LUA_ORIG_SHA256}.\n", env=env)
    tree.git(tmp_path, "tag", "-f", LUA_IMPORT_TAG)
    assert tree._import_is_pinned(tmp_path)
