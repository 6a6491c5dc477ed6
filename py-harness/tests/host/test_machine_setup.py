from lua_syscall_harness import machine_setup

DEB822 = """\
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
"""


def test_deb_src_mirrors_deb822_entries(tmp_path):
    f = tmp_path / "debian.sources"
    f.write_text(DEB822)
    (stanza,) = machine_setup.deb_src_stanzas([f], None)
    assert stanza.splitlines() == [
        "Types: deb-src",
        "URIs: http://deb.debian.org/debian",
        "Suites: bookworm bookworm-updates",
        "Components: main",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
    ]


def test_deb_src_mirrors_one_line_entries(tmp_path):
    f = tmp_path / "sources.list"
    f.write_text("# comment\ndeb [signed-by=/k.gpg] http://mirror/debian bookworm main contrib\n"
                 "deb-src http://mirror/debian bookworm main\n")
    (stanza,) = machine_setup.deb_src_stanzas([], f)
    assert "Suites: bookworm" in stanza and "Components: main contrib" in stanza
    assert "Signed-By: /k.gpg" in stanza


def test_machine_has_the_pinned_lua_source():
    from lua_syscall_harness.layout import LUA
    assert machine_setup.have_source(LUA.package, LUA.version)
