"""The man pages render cleanly, have the man-pages sections, and their example compiles."""

import subprocess

import pytest

from lua_syscall_harness import manpages

SECTIONS = ("NAME", "LIBRARY", "SYNOPSIS", "DESCRIPTION", "RETURN VALUE", "ERRORS",
            "VERSIONS", "STANDARDS", "EXAMPLES", "SEE ALSO")


@pytest.fixture(scope="module", params=["register_lua_syscall.2", "lua_syscall.2"])
def page(request):
    path = manpages.MAN_DIR / request.param
    assert path.exists()
    return path


def test_renders_without_warnings(page):
    text, warnings = manpages.render(page)
    assert warnings == ""
    assert text.strip()


def test_has_the_man_pages_sections_in_order(page):
    text, _ = manpages.render(page)
    headings = [line for line in text.splitlines() if line in SECTIONS]
    assert headings == list(SECTIONS)


def test_every_errno_of_the_page_is_described(page):
    text, _ = manpages.render(page)
    errors = text.split("\nERRORS\n")[1].split("\nVERSIONS\n")[0]
    for errno_name in ("EFAULT", "EINTR", "EINVAL", "ENOEXEC", "ENOMEM", "EOPNOTSUPP", "ETIME"):
        assert f"       {errno_name}" in errors, errno_name


def test_example_program_compiles_warning_free():
    try:
        binaries = manpages.build_examples()
    except subprocess.CalledProcessError as e:
        pytest.fail(f"example does not compile:\n{e.stderr}")
    assert [b.name for b in binaries] == ["lua_cat"]
