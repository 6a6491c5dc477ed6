"""The man pages render cleanly, have the man-pages sections, describe the ABI, and their
examples compile."""

import re
import subprocess
from pathlib import Path

import pytest

from lua_syscall_harness import manpages

SECTIONS = ("NAME", "LIBRARY", "SYNOPSIS", "DESCRIPTION", "RETURN VALUE", "ERRORS",
            "VERSIONS", "STANDARDS", "EXAMPLES", "SEE ALSO")


@pytest.fixture(scope="module", params=["register_lua_syscall.2", "lua_syscall.2"])
def page(request: pytest.FixtureRequest) -> Path:
    path = manpages.MAN_DIR / request.param
    assert path.exists()
    return path


def _section(text: str, name: str) -> str:
    """The rendered text of one section, up to the next heading."""
    m = re.search(rf"^{name}\n(.*?)(?=^[A-Z][A-Z ]+\n)", text, re.MULTILINE | re.DOTALL)
    assert m, f"no {name} section"
    return m.group(1)


def test_renders_without_warnings(page: Path) -> None:
    text, warnings = manpages.render(page)
    assert warnings == ""
    assert text.strip()


def test_has_the_man_pages_sections_in_order(page: Path) -> None:
    text, _ = manpages.render(page)
    headings = [line for line in text.splitlines() if line in SECTIONS]
    assert headings == list(SECTIONS)


def test_every_errno_of_the_page_is_described(page: Path) -> None:
    text, _ = manpages.render(page)
    errors = text.split("\nERRORS\n")[1].split("\nVERSIONS\n")[0]
    for errno_name in ("EFAULT", "EINTR", "EINVAL", "ENOEXEC", "ENOMEM", "EOPNOTSUPP", "ETIME"):
        assert f"       {errno_name}" in errors, errno_name


def test_versions_tell_how_to_detect_the_calls(page: Path) -> None:
    text, _ = manpages.render(page)
    versions = " ".join(_section(text, "VERSIONS").split())
    assert "provisional" in versions
    assert "6.13" in versions


def test_register_page_describes_every_field_of_the_struct() -> None:
    fields = manpages.reg_fields()
    assert len(fields) >= 11 and "log_true_size" in fields, fields
    text, _ = manpages.render(manpages.MAN_DIR / "register_lua_syscall.2")
    description = _section(text, "DESCRIPTION")
    # Each field heads a tagged paragraph (".TP") of its own or shared with others.
    tags = {name for line in description.splitlines()
            if re.match(r"^ {7}\w", line) for name in re.findall(r"\w+", line)}
    assert [f for f in fields if f not in tags] == []


def test_register_page_documents_the_new_errors() -> None:
    text, _ = manpages.render(manpages.MAN_DIR / "register_lua_syscall.2")
    errors = " ".join(_section(text, "ERRORS").split())
    for phrase in ("E2BIG size is larger than the page size", "LUA_SYSCALL_REG_SIZE_VER0",
                   "reserved is not 0", "checked before anything else"):
        assert phrase in errors, phrase


def test_synopses_declare_what_they_use() -> None:
    text, _ = manpages.render(manpages.MAN_DIR / "lua_syscall.2")
    synopsis = _section(text, "SYNOPSIS")
    assert "__u64" in synopsis and "#include <linux/types.h>" in synopsis
    text, _ = manpages.render(manpages.MAN_DIR / "register_lua_syscall.2")
    assert "const struct lua_syscall_reg *reg" in _section(text, "SYNOPSIS")


def test_examples_include_what_they_use() -> None:
    sources = {n: t for p in manpages.pages() for n, t in manpages.example_sources(p).items()}
    assert sources
    for name, text in sources.items():
        assert "#include <linux/lua_syscall.h>" in text or manpages.uses_library(text), name
        if "__u64" in text:
            assert "#include <linux/types.h>" in text, name


def test_example_programs_compile_warning_free() -> None:
    try:
        binaries = manpages.build_examples()
    except subprocess.CalledProcessError as e:
        pytest.fail(f"example does not compile:\n{e.stderr}")
    assert [b.name for b in binaries] == ["lua_cat", "lua_check"]
