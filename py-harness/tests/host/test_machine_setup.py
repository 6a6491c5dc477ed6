import subprocess

from lua_syscall_harness import machine_setup
from lua_syscall_harness.layout import LUA

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


def test_extra_suite_is_a_deb_src_entry_on_the_release_mirror(tmp_path):
    f = tmp_path / "debian.sources"
    f.write_text("Types: deb\nURIs: http://deb.debian.org/debian-security\n"
                 "Suites: bookworm-security\nComponents: main\n\n" + DEB822)
    stanzas = machine_setup.deb_src_stanzas([f], None, ("trixie",))
    assert len(stanzas) == 3
    assert stanzas[-1].splitlines() == [
        "Types: deb-src",
        "URIs: http://deb.debian.org/debian",
        "Suites: trixie",
        "Components: main",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
    ]
    # Source entries only: no binary package can come from the extra suite.
    assert all(s.splitlines()[0] == "Types: deb-src" for s in stanzas)


def test_extra_suite_is_added_once(tmp_path):
    f = tmp_path / "debian.sources"
    f.write_text(DEB822.replace("Suites: bookworm bookworm-updates", "Suites: trixie"))
    (stanza,) = machine_setup.deb_src_stanzas([f], None, ("trixie",))
    assert "Suites: trixie" in stanza


def test_extra_suite_from_one_line_entries(tmp_path):
    f = tmp_path / "sources.list"
    f.write_text("deb http://mirror/debian-security bookworm-security main\n"
                 "deb http://mirror/debian bookworm main\n")
    stanzas = machine_setup.deb_src_stanzas([], f, ("trixie",))
    assert stanzas[-1].splitlines() == [
        "Types: deb-src", "URIs: http://mirror/debian", "Suites: trixie", "Components: main"]


def test_machine_has_no_binary_packages_of_the_lua_suite():
    policy = subprocess.run(["apt-cache", "policy"], capture_output=True, text=True,
                            check=True).stdout
    assert f" {LUA.source_suite}/" not in policy and f"n={LUA.source_suite}," not in policy


def test_machine_has_the_pinned_lua_source():
    assert machine_setup.have_source(LUA.package, LUA.version)
