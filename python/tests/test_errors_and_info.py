"""The exceptions' messages and the fdinfo parser."""

import errno
import pickle

import pytest

from lua_syscall import (
    CallError,
    LuaSyscallError,
    NotSupportedError,
    RegistrationError,
    StateInfo,
)
from lua_syscall.errors import first_error_line
from lua_syscall.info import unescape

# --- errors ------------------------------------------------------------------------------------

def test_registration_error_carries_the_log_and_its_error_line():
    log = ("script:2: warning: sys.getppdi: no such system call\n"
           "script:4: error: malformed number near '1.5'\n")
    e = RegistrationError(errno.EINVAL, log)
    assert isinstance(e, LuaSyscallError) and isinstance(e, OSError)
    assert e.errno == errno.EINVAL
    assert e.log == log
    assert e.strerror == "Invalid argument: script:4: error: malformed number near '1.5'"
    assert "warning" not in str(e)


def test_registration_error_of_an_argument():
    e = RegistrationError(errno.EINVAL, "error: script_len is 0\n")
    assert str(e) == "[Errno 22] Invalid argument: error: script_len is 0"


def test_registration_error_without_a_log():
    e = RegistrationError(errno.EPERM)
    assert e.log == ""
    assert str(e) == "[Errno 1] Operation not permitted"


@pytest.mark.parametrize("log, line", [
    ("", ""),
    ("\n\n", ""),
    ("w:1: warning: a\nw:2: warning: b\n", "w:1: warning: a"),
    ("w:1: warning: a\nerror: name: at most 31 letters\n", "error: name: at most 31 letters"),
    ("x: error: the chunk returned number, not a function (the entry)\n",
     "x: error: the chunk returned number, not a function (the entry)"),
])
def test_first_error_line(log, line):
    assert first_error_line(log) == line


def test_call_error_carries_the_detail():
    e = CallError(errno.ENOEXEC, "script:1: boom")
    assert isinstance(e, LuaSyscallError)
    assert e.errno == errno.ENOEXEC
    assert e.detail == "script:1: boom"
    assert str(e) == "[Errno 8] Exec format error: script:1: boom"
    assert str(CallError(errno.EBADF)) == "[Errno 9] Bad file descriptor"


def test_not_supported_error_is_enosys():
    e = NotSupportedError("no numbers")
    assert isinstance(e, LuaSyscallError)
    assert e.errno == errno.ENOSYS
    assert "no numbers" in str(e)


@pytest.mark.parametrize("exc", [
    RegistrationError(errno.EINVAL, "script:1: error: x\n"),
    CallError(errno.ETIME, "over budget"),
    NotSupportedError("detail", errno.EBADF),
])
def test_errors_pickle(exc):
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc)
    assert copy.errno == exc.errno
    assert str(copy) == str(exc)
    assert vars(copy) == vars(exc)


# --- fdinfo ------------------------------------------------------------------------------------

FDINFO = (
    "pos:\t0\n"
    "flags:\t02000002\n"
    "mnt_id:\t15\n"
    "ino:\t1057\n"
    "lua-id:\t42\n"
    "lua-name:\tcounter\n"
    "lua-invocations:\t3\n"
    "lua-nested-syscalls:\t7\n"
    "lua-instructions:\t1234\n"
    "lua-mem-used:\t20480\n"
    "lua-mem-limit:\t1048576\n"
    "lua-insn-limit:\t1000000000\n"
    "lua-last-errno:\t8\n"
    "lua-last-error:\tcounter:3: boom\n"
)


def test_parse_fdinfo():
    info = StateInfo.parse(FDINFO)
    assert info == StateInfo(id=42, name="counter", invocations=3, nested_syscalls=7,
                             instructions=1234, mem_used=20480, mem_limit=1048576,
                             insn_limit=1000000000, last_errno=8,
                             last_error="counter:3: boom")


def test_parse_fdinfo_empty_name_and_message():
    text = FDINFO.replace("\tcounter\n", "\t\n").replace("\tcounter:3: boom\n", "\t\n")
    info = StateInfo.parse(text)
    assert info.name == ""
    assert info.last_error == ""


def test_parse_fdinfo_keeps_a_message_s_spaces_and_colons():
    text = FDINFO.replace("counter:3: boom", "a: b:  c  ")
    assert StateInfo.parse(text).last_error == "a: b:  c  "


def test_parse_fdinfo_unescapes_the_message():
    # seq_escape_str(ESCAPE_OCTAL | ESCAPE_NAP | ESCAPE_APPEND, "\\"): the backslash,
    # control characters and every non-ASCII byte as \ooo
    text = FDINFO.replace("counter:3: boom", r"x\134y\011z \303\251\012")
    assert StateInfo.parse(text).last_error == "x\\y\tz \u00e9\n"


def test_parse_fdinfo_ignores_unknown_lines():
    text = FDINFO + "lua-something-new:\t5\nother:\tx\n"
    assert StateInfo.parse(text).invocations == 3


def test_parse_fdinfo_of_another_file():
    with pytest.raises(ValueError, match="lua-id"):
        StateInfo.parse("pos:\t0\nflags:\t02\n")


def test_parse_fdinfo_missing_a_line():
    text = "".join(ln + "\n" for ln in FDINFO.splitlines() if "mem-used" not in ln)
    with pytest.raises(ValueError, match="lua-mem-used"):
        StateInfo.parse(text)


@pytest.mark.parametrize("escaped, text", [
    ("plain", "plain"),
    (r"\134\134", "\\\\"),
    (r"\000", "\0"),
    (r"\377", "\ufffd"),           # not UTF-8: replaced
    (r"\9", r"\9"),                # not an escape the kernel writes: kept
])
def test_unescape(escaped, text):
    assert unescape(escaped) == text
