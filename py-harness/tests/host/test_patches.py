from lua_syscall_harness import patches


def test_committed_patches_are_fresh():
    assert patches.stale_files() == [], "run `lua-syscall patches` and commit patches/"


def test_patches_apply_with_git_am_onto_a_clean_base():
    patches.check_applies()


def test_generated_lua_patches_are_not_committed():
    names = [p.name for p in patches.COMMITTED_DIR.glob("*.patch")]
    assert "0000-cover-letter.patch" in names
    assert not any("lua-import" in n or "CVE" in n for n in names)
