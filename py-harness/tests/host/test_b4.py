"""b4 manages the series for posting: the prep branch, its cover letter and `prep --check`."""

from lua_syscall_harness import b4prep, cover, series, tree
from lua_syscall_harness.layout import kernel_tree


def test_b4_prep_branch_holds_the_series_and_the_cover_letter():
    wt = b4prep.prepare()
    ktree = kernel_tree()
    assert tree.git(wt, "rev-parse", "HEAD") == tree.git(ktree, "rev-parse", "lua-syscall")
    desc = tree.git(ktree, "config", f"branch.{b4prep.BRANCH}.description")
    subject, body = cover.subject_and_body()
    assert desc.startswith(subject)
    for must in ("Security model", "provisional", "Changes", "base-commit", "Performance"):
        assert must in body or must in desc


def test_b4_prep_check_is_clean():
    report = b4prep.check()
    steps = len(series.load().steps)
    assert f"Success: {steps}, Warning: 0, Error: 0" in report
