import pytest

from lua_syscall_harness import lua_source
from lua_syscall_harness.layout import LUA_ORIG_SHA256


@pytest.fixture(scope="module")
def source():
    return lua_source.fetch()


def test_pinned_tarball_verifies(source):
    assert lua_source.sha256_of(source.orig_tarball) == LUA_ORIG_SHA256


def test_wrong_checksum_fails_with_a_clear_message(source, monkeypatch):
    monkeypatch.setenv("LUA_SYSCALL_LUA_SHA256", "0" * 64)
    with pytest.raises(lua_source.ChecksumMismatch) as err:
        lua_source.fetch()
    msg = str(err.value)
    assert "sha256 mismatch" in msg
    assert "0" * 64 in msg and LUA_ORIG_SHA256 in msg
    assert source.orig_tarball.name in msg


def test_core_import_leaves_out_what_the_kernel_replaces(source, tmp_path):
    names = lua_source.extract_core(source, tmp_path)
    assert "lvm.c" in names and "lua.h" in names and "lstrlib.c" in names
    for skipped in ("luaconf.h", "lua.c", "luac.c", "liolib.c", "loslib.c", "loadlib.c"):
        assert skipped not in names
    assert not (tmp_path / "luaconf.h").exists()


def test_security_patches_are_found(source):
    names = [n for n, _ in lua_source.security_patches(source)]
    assert names == list(lua_source.SECURITY_PATCHES)


def test_every_debian_patch_to_an_imported_file_is_applied(source):
    """A Debian patch that changes an imported file must be in SECURITY_PATCHES."""
    patches = lua_source.debian_patches(source)
    assert patches, "debian/patches/series lists no patch"
    for name, text in patches:
        touched = {line.split()[1].split("/", 1)[1] for line in text.decode().splitlines()
                   if line.startswith("+++ ")}
        imported = {t for t in touched if t.startswith("src/")
                    and t.removeprefix("src/") not in lua_source.NOT_IMPORTED}
        assert not imported or name in lua_source.SECURITY_PATCHES, (name, imported)
