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
