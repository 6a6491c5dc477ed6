"""The applications' package (python/, `import lua_syscall`) against the running kernel."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import lua_syscall
import pytest
from lua_syscall import abi
from lua_util import SECCOMP_RET_ERRNO, in_child, open_fds, seccomp_on_nr

from lua_syscall_harness import binding
from lua_syscall_harness.layout import REPO_ROOT

pytestmark = pytest.mark.usefixtures("lua_available")

COUNTER = """
local total = 0
return function(n)
  total = total + n
  return total
end
"""
ECHO = "return function(a) return a end"
README = REPO_ROOT / "python" / "README.md"


def test_the_package_is_the_harness_binding():
    assert Path(lua_syscall.__file__).is_relative_to(REPO_ROOT / "python" / "src")
    assert issubclass(binding.LuaState, lua_syscall.State)
    assert binding.RegistrationError is lua_syscall.RegistrationError
    assert binding.CallError is lua_syscall.CallError


def test_supported():
    lua_syscall.supported.cache_clear()
    before = open_fds()
    assert lua_syscall.supported() is True
    assert open_fds() == before  # the probe's state is closed


# --- registration and calls --------------------------------------------------------------------

def test_register_and_call():
    with lua_syscall.State(COUNTER) as st:
        assert os.readlink(f"/proc/self/fd/{st.fd}") == "anon_inode:[luastate]"
        assert st(5) == 5
        assert st.call(2) == 7
        assert st(-3) == 4
        assert st.warnings == ""


@pytest.mark.parametrize("arg, result", [
    (0, 0),
    (-5000, -5000),
    (2**64 - 5000, -5000),        # u64 reinterpreted as a Lua integer
    (2**63 - 1, 2**63 - 1),
    (2**63, -(2**63)),
    (2**64 + 9, 9),               # taken modulo 2**64
    (True, 1),
])
def test_arguments_modulo_2_64(arg, result):
    with lua_syscall.State(ECHO) as st:
        assert st(arg) == result


def test_max_args_reach_the_script():
    src = "return function(...) local s = 0 for _, v in ipairs({...}) do s = s * 2 + v end " \
          "return s * 100 + select('#', ...) end"
    with lua_syscall.State(src) as st:
        assert st() == 0
        assert st(*[1] * lua_syscall.MAX_ARGS) == (2**16 - 1) * 100 + 16
        with pytest.raises(ValueError):
            st(*[1] * (lua_syscall.MAX_ARGS + 1))


def test_script_makes_system_calls():
    src = "return function(n) local pid for i = 1, n do pid = sys.getppid() end return pid end"
    with lua_syscall.State(src) as st:
        assert st(50) == os.getppid()
        assert st.info().nested_syscalls == 50


def test_cloexec_by_default():
    with lua_syscall.State(COUNTER) as st:
        assert fcntl.fcntl(st.fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    with lua_syscall.State(COUNTER, cloexec=False) as st:
        assert not fcntl.fcntl(st.fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC


def test_bytes_and_utf8_source():
    with lua_syscall.State(b"return function() return #'\xc3\xa9' end") as st:
        assert st() == 2
    with lua_syscall.State("return function() return #'\u00e9\u00e9' end") as st:
        assert st() == 4


def test_from_file(tmp_path):
    path = tmp_path / "counter.lua"
    path.write_text(COUNTER)
    with lua_syscall.State.from_file(path, name="from_file") as st:
        assert st(4) == 4
        assert st.name == "from_file"
        assert st.info().name == "from_file"
    with pytest.raises(FileNotFoundError):
        lua_syscall.State.from_file(tmp_path / "missing.lua")


# --- registration errors and the log -----------------------------------------------------------

@pytest.mark.parametrize("source, name, err, log", [
    ("local x = 1\nreturn function() return 1.5 end", None, errno.EINVAL,
     "script:2: error: malformed number near '1.5'\n"),
    ("return 42", "answer", errno.EINVAL,
     "answer: error: the chunk returned number, not a function (the entry)\n"),
    ("local a = 1\nerror('boom')\nreturn function() end", "top", errno.ENOEXEC,
     "top:2: error: boom\n"),
    ("", None, errno.EINVAL, "error: script_len is 0\n"),
    ("return function() end", "no spaces", errno.EINVAL,
     "error: name: at most 31 letters, digits, '_', '.' or '-'\n"),
])
def test_refused_script_raises_with_the_log(source, name, err, log):
    before = open_fds()
    with pytest.raises(lua_syscall.RegistrationError) as exc:
        lua_syscall.State(source, name=name)
    assert isinstance(exc.value, OSError)
    assert exc.value.errno == err
    assert exc.value.log == log
    assert log.strip() in str(exc.value)
    assert open_fds() == before


def test_log_level_errors_only_has_no_warnings():
    src = "return function()\n return sys.getppdi()\nend"
    with lua_syscall.State(src, name="w") as st:
        assert st.warnings == "w:2: warning: sys.getppdi: no such system call\n"
    with lua_syscall.State(src, name="w", log_level=lua_syscall.LOG_ERRORS) as st:
        assert st.warnings == ""
    with pytest.raises(lua_syscall.RegistrationError) as exc:
        lua_syscall.State("return function(", log_level=lua_syscall.LOG_ERRORS)
    assert "error:" in exc.value.log


def test_no_log_still_raises():
    with pytest.raises(lua_syscall.RegistrationError) as exc:
        lua_syscall.State("return 1", log_level=0)
    assert exc.value.errno == errno.EINVAL
    assert exc.value.log == ""


def test_budgets_out_of_range_are_explained():
    with pytest.raises(lua_syscall.RegistrationError) as exc:
        lua_syscall.State(ECHO, insn_limit=5)
    assert exc.value.errno == errno.EINVAL
    assert exc.value.log.startswith("error: insn_limit 5: outside 1000..")


# --- call errors -------------------------------------------------------------------------------

def test_runtime_error_carries_the_message():
    src = "return function(x)\n  if x < 0 then error('negative: ' .. x) end\n  return x\nend"
    with lua_syscall.State(src, name="check") as st:
        with pytest.raises(lua_syscall.CallError) as exc:
            st(-4)
        assert exc.value.errno == errno.ENOEXEC
        assert exc.value.detail == "check:2: negative: -4"
        assert "check:2: negative: -4" in str(exc.value)
        assert st.last_error() == "check:2: negative: -4"
        assert st(3) == 3
        assert st.last_error() == ""


def test_errno_returned_by_the_script():
    with lua_syscall.State("return function() return sys.close(-1) end") as st:
        with pytest.raises(lua_syscall.CallError) as exc:
            st()
        assert exc.value.errno == errno.EBADF
        assert exc.value.detail == "the entry returned -9"


def test_budgets():
    loop = "local keep = {} return function(op, n) " \
           "if op == 1 then for i = 1, n do end else keep[#keep + 1] = string.rep('x', n) end " \
           "return 0 end"
    with lua_syscall.State(loop, insn_limit=10_000, mem_limit=128 * 1024) as st:
        info = st.info()
        assert (info.insn_limit, info.mem_limit) == (10_000, 128 * 1024)
        assert st(1, 100) == 0
        with pytest.raises(lua_syscall.CallError) as exc:
            st(1, 1_000_000)
        assert exc.value.errno == errno.ETIME
        with pytest.raises(lua_syscall.CallError) as exc:
            st(2, 256 * 1024)
        assert exc.value.errno == errno.ENOMEM
        assert st(2, 10) == 0


# --- info --------------------------------------------------------------------------------------

def test_info_matches_fdinfo():
    loop = "local n = 0 return function(k) for i = 1, k do n = n + 1 end return n end"
    with lua_syscall.State(loop, name="info.1") as st:
        info = st.info()
        raw = binding.fdinfo(st.fd)
        assert info.id == int(raw["lua-id"]) > 0
        assert info.name == "info.1"
        assert (info.invocations, info.nested_syscalls, info.last_errno) == (0, 0, 0)
        assert info.last_error == ""
        assert 0 < info.mem_used <= info.mem_limit == binding.read_sysctl("mem_limit")
        assert info.insn_limit == binding.read_sysctl("insn_limit")
        assert st(10_000) == 10_000
        assert st(1) == 10_001
        after = st.info()
        assert after.invocations == 2
        assert after.instructions >= info.instructions + 10_000
        assert after.id == info.id
    with lua_syscall.State(COUNTER) as other:
        assert other.info().id != info.id
        assert other.info().name == ""


def test_info_unescapes_the_last_error():
    # the kernel escapes the message in fdinfo (backslash, tab, non-ASCII): info() undoes it
    src = "return function() error('a\\\\b\\tc \u00e9 \"q\"', 0) end"
    with lua_syscall.State(src) as st:
        with pytest.raises(lua_syscall.CallError) as exc:
            st()
        assert exc.value.detail == 'a\\b\tc \u00e9 "q"'
        info = st.info()
        assert info.last_errno == errno.ENOEXEC
        assert info.last_error == st.last_error() == exc.value.detail
        assert "\\134" in binding.fdinfo(st.fd)["lua-last-error"]


# --- the descriptor's life ---------------------------------------------------------------------

def test_context_manager_and_closed_state():
    with lua_syscall.State(COUNTER) as st:
        fd = st.fd
        assert st.fileno() == fd
        assert fd in open_fds()
    assert st.closed
    assert fd not in open_fds()
    with pytest.raises(ValueError, match="closed"):
        st(1)
    with pytest.raises(ValueError, match="closed"):
        st.info()
    with pytest.raises(ValueError, match="closed"):
        st.last_error()
    assert abi.raw_call(fd, None, 0) == (-1, errno.EBADF)


def test_close_without_with():
    st = lua_syscall.State(COUNTER)
    fd = st.fd
    assert st(1) == 1
    st.close()
    st.close()
    assert fd not in open_fds()


def test_exception_in_with_closes():
    with pytest.raises(RuntimeError), lua_syscall.State(COUNTER) as st:
        fd = st.fd
        raise RuntimeError
    assert fd not in open_fds()


def test_threads_share_a_state():
    calls, threads = 100, 4
    with lua_syscall.State(COUNTER) as st:
        def work() -> None:
            for _ in range(calls):
                st(1)

        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert st(0) == calls * threads
        assert st.info().invocations == calls * threads + 1


# --- without the system calls ------------------------------------------------------------------

def test_enosys_raises_not_supported():
    nr = abi.SYSCALL_NUMBERS["x86_64"][0]

    def child() -> tuple[str, int, bool]:
        seccomp_on_nr(nr, SECCOMP_RET_ERRNO | errno.ENOSYS)
        lua_syscall.supported.cache_clear()
        supported = lua_syscall.supported()
        try:
            lua_syscall.State(COUNTER)
        except lua_syscall.LuaSyscallError as e:
            return type(e).__name__, e.errno, supported
        return "none", 0, supported

    assert in_child(child).get() == ("NotSupportedError", errno.ENOSYS, False)


def test_unprivileged_eperm_is_a_registration_error(lua_sysctl):
    lua_sysctl("unprivileged_register", 0)

    def child() -> tuple[str, int, bool]:
        os.setgroups([])
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)
        lua_syscall.supported.cache_clear()
        supported = lua_syscall.supported()
        try:
            lua_syscall.State(COUNTER)
        except lua_syscall.LuaSyscallError as e:
            return type(e).__name__, e.errno, supported
        return "none", 0, supported

    assert in_child(child).get() == ("RegistrationError", errno.EPERM, True)


# --- the README --------------------------------------------------------------------------------

def test_readme_example_prints_what_it_says(tmp_path):
    text = README.read_text()
    code = re.search(r"^```python\n(.*?)^```$", text, re.M | re.S)
    output = re.search(r"^It prints:\n\n```text\n(.*?)^```$", text, re.M | re.S)
    assert code and output
    script = tmp_path / "example.py"
    script.write_text(code[1])
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout == output[1]
