"""The EXAMPLES programs of the man pages, built by the host tests, do what the pages say."""

import re
import subprocess
from pathlib import Path

import pytest

from lua_syscall_harness import manpages


def _binary(name: str) -> Path:
    binary = manpages.examples_dir() / name
    if not binary.exists():
        pytest.skip("the host tests build the examples (tests/host/test_man_pages.py)")
    return binary


def _page_example_text(page: str) -> str:
    """The EXAMPLES section of a page up to its program, roff escapes and fonts undone."""
    text = (manpages.MAN_DIR / page).read_text()
    text = text.split(".SH EXAMPLES\n", 1)[1].split(".SS Program source", 1)[0]
    text = re.sub(r'^\.RB "\$" " (.*)"$', r"$ \1", text, flags=re.MULTILINE)
    return manpages.unescape(text)


def test_lua_cat_copies_a_file_in_one_call(lua_available: None) -> None:
    res = subprocess.run([str(_binary("lua_cat")), "/proc/sys/kernel/ostype"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "Linux\n"
    assert res.stderr == "6 bytes copied in one lua_syscall()\n"


def test_lua_cat_reports_a_failed_open(lua_available: None) -> None:
    res = subprocess.run([str(_binary("lua_cat")), "/nonexistent"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 1
    assert "open: No such file or directory" in res.stderr


def test_lua_check_prints_a_warning_and_registers(lua_available: None, tmp_path: Path) -> None:
    (tmp_path / "typo.lua").write_text("return function()\n  return sys.getppdi()\nend\n")
    res = subprocess.run([str(_binary("lua_check")), "typo.lua", "typo"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout == ("typo:2: warning: sys.getppdi: no such system call\n"
                          "registered as fd 3\n")
    # ... as the page prints it.
    assert "$ ./lua_check typo.lua typo\n" + res.stdout in _page_example_text(
        "register_lua_syscall.2")


def test_lua_check_prints_the_compile_error(lua_available: None, tmp_path: Path) -> None:
    (tmp_path / "float.lua").write_text("return function(x)\n  return x + 1.5\nend\n")
    res = subprocess.run([str(_binary("lua_check")), "float.lua"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert res.stdout == "script:2: error: malformed number near '1.5'\n"
    assert res.stderr == "lua_check: register_lua_syscall: Invalid argument\n"
    assert ("$ ./lua_check float.lua\n" + res.stdout + res.stderr
            in _page_example_text("register_lua_syscall.2"))


def test_lua_check_logs_at_most_16_warnings(lua_available: None, tmp_path: Path) -> None:
    """40 unknown names: 16 warnings, then one line counts the rest."""
    calls = "".join(f"  sys.nosuchcall{i}()\n" for i in range(40))
    (tmp_path / "many.lua").write_text(f"return function()\n{calls}end\n")
    res = subprocess.run([str(_binary("lua_check")), "many.lua"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "script:2: warning: sys.nosuchcall0: no such system call"
    assert lines[15] == "script:17: warning: sys.nosuchcall15: no such system call"
    assert lines[16:] == ["script: warning: 24 more unknown names", "registered as fd 3"]
    page = manpages.unescape((manpages.MAN_DIR / "register_lua_syscall.2").read_text())
    assert lines[16] in page


def test_lua_check_warns_about_constants_through_upvalues(lua_available: None,
                                                          tmp_path: Path) -> None:
    (tmp_path / "const.lua").write_text(
        "local K = sys.const\n"
        "return function(path)\n"
        "  local fd = sys.openat(K.AT_FDCWD, path, K.O_RDONLY | K.O_CLOEXEC)\n"
        "  if fd < 0 then return fd end\n"
        "  return sys.close(fd) + K.O_CRAET\n"
        "end\n")
    res = subprocess.run([str(_binary("lua_check")), "const.lua"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout == ("script:5: warning: sys.const.O_CRAET: no such constant\n"
                          "registered as fd 3\n")
    # The log format of register_lua_syscall(2) is the kernel's.
    page = manpages.unescape((manpages.MAN_DIR / "register_lua_syscall.2").read_text())
    assert res.stdout.splitlines()[0] in page
