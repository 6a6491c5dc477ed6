"""The userspace-api document is valid reStructuredText, documents the ABI, and its C
programs compile.

Plain docutils, as strict as it gets: a malformed table or title fails here as it would warn
in the kernel's Sphinx build (`make htmldocs`), which this machine does not run.
"""

import re
import subprocess

import docutils.core
import docutils.utils
import pytest

from lua_syscall_harness import manpages, rst_examples

RST = rst_examples.RST


def test_userspace_api_rst_parses_without_warnings() -> None:
    try:
        docutils.core.publish_doctree(
            RST.read_text(), source_path=str(RST),
            settings_overrides={"halt_level": docutils.utils.Reporter.WARNING_LEVEL,
                                "report_level": docutils.utils.Reporter.WARNING_LEVEL})
    except docutils.utils.SystemMessage as e:
        raise AssertionError(f"{RST.name}: {e}") from None


def test_every_c_block_is_a_named_program() -> None:
    """An unnamed C block would be an example nobody compiles."""
    blocks = rst_examples.c_blocks()
    assert blocks
    assert [names for names, _ in blocks if not any(n.endswith(".c") for n in names)] == []


def test_the_programs_are_there() -> None:
    assert sorted(rst_examples.example_sources()) == ["lua_run.c", "udp_echo.c"]


def test_programs_include_what_they_use() -> None:
    for name, text in rst_examples.example_sources().items():
        assert "#include <linux/lua_syscall.h>" in text or manpages.uses_library(text), name
        if re.search(r"\b__u64\b", text):
            assert "#include <linux/types.h>" in text, name
        assert "int\nmain(" in text, f"{name}: not a whole program"


def test_documents_every_field_of_the_struct() -> None:
    text = RST.read_text()
    fields = manpages.reg_fields()
    assert fields
    # A definition-list term per field (or per group of fields): ``name`` at column 0.
    terms = {name for line in text.splitlines() if line.startswith("``")
             for name in re.findall(r"``(\w+)``", line)}
    assert [f for f in fields if f not in terms] == []


def test_documents_the_log_design_and_detection() -> None:
    text = " ".join(RST.read_text().split())
    for phrase in ("Design decisions", "mem.put64()", "Register, then drop privileges",
                   "lua_syscall_supported()", "setxattrat()", "make headers_install",
                   "log_true_size", "script: warning: 24 more unknown names",
                   "error: flags: unknown bits 0x6"):
        assert phrase in text, phrase


def test_programs_compile_warning_free() -> None:
    try:
        binaries = rst_examples.build_examples()
    except subprocess.CalledProcessError as e:
        pytest.fail(f"{' '.join(e.cmd[:3])}... does not compile:\n{e.stderr}")
    except FileNotFoundError as e:
        pytest.fail(str(e))
    assert sorted(b.name for b in binaries) == ["lua_run", "udp_echo"]
    assert all(b.exists() for b in binaries)
