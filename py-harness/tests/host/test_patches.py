from lua_syscall_harness import patches


def test_committed_patches_are_fresh():
    assert patches.stale_files() == [], "run `lua-syscall patches` and commit patches/"


def test_patches_apply_with_git_am_onto_a_clean_base():
    patches.check_applies()


def test_generated_lua_patches_are_not_committed():
    names = [p.name for p in patches.COMMITTED_DIR.glob("*.patch")]
    assert "0000-cover-letter.patch" in names
    assert not any("import" in n or "CVE" in n for n in names)


def test_cover_letter_is_filled_and_based_on_the_lua_import():
    from lua_syscall_harness import tree
    from lua_syscall_harness.layout import LUA_IMPORT_TAG, kernel_tree

    text = (patches.COMMITTED_DIR / "0000-cover-letter.patch").read_text()
    assert "*** SUBJECT HERE ***" not in text and "*** BLURB HERE ***" not in text
    assert "@BENCHMARK@" not in text
    base = tree.git(kernel_tree(), "rev-parse", LUA_IMPORT_TAG)
    assert f"base-commit: {base}" in text
    blurb = text.split("\n\n", 1)[1].split("\nlua_syscall developers (")[0]
    assert all(len(line) <= 75 for line in blurb.splitlines()), "wrap the cover at 75"
