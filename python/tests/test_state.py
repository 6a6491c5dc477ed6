"""State and supported() on the host, with the system calls replaced by fakes.

The fakes read struct lua_syscall_reg and the argument array from the addresses State
passes, as the kernel would, and answer with a descriptor of a temporary file that stands
for the state (its contents are the "last error" pread() returns).
"""

import ctypes
import errno
import gc
import os
from dataclasses import dataclass, field

import pytest

import lua_syscall
from lua_syscall import abi, state


@dataclass
class FakeKernel:
    """register_lua_syscall() and lua_syscall() as seen through their arguments."""

    tmp_path: object
    log: bytes = b""
    register_errno: int = 0
    call_errno: int = 0
    message: bytes = b""
    regs: list[dict] = field(default_factory=list)
    calls: list[tuple[int, list[int], int]] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)

    def raw_register(self, addr, size):
        assert size == abi.REG_SIZE_VER0
        reg = abi.Reg.from_address(addr)
        seen = {name: getattr(reg, name) for name, _ in abi.Reg._fields_}
        seen["source"] = ctypes.string_at(reg.script, reg.script_len)
        seen["name_text"] = ctypes.string_at(reg.name) if reg.name else None
        self.regs.append(seen)
        if reg.log_level:
            assert reg.log_buf and reg.log_size >= len(self.log) + 1
            ctypes.memmove(reg.log_buf, self.log + b"\0", len(self.log) + 1)
            reg.log_true_size = len(self.log) + 1
        if self.register_errno:
            return -1, self.register_errno
        path = self.tmp_path / f"state{len(self.fds)}"
        path.write_bytes(b"")
        fd = os.open(path, os.O_RDWR)
        self.fds.append(fd)
        return fd, 0

    def raw_call(self, fd, args, nargs, flags=0):
        values = list((ctypes.c_uint64 * nargs).from_address(args)) if nargs else []
        self.calls.append((fd, values, flags))
        os.pwrite(fd, self.message, 0)
        os.ftruncate(fd, len(self.message))
        if self.call_errno:
            return -1, self.call_errno
        return sum(values) % 2**63, 0


@pytest.fixture
def kernel(monkeypatch, tmp_path):
    fake = FakeKernel(tmp_path)
    monkeypatch.setattr(abi, "syscall_numbers", lambda machine=None: (463, 464))
    monkeypatch.setattr(abi, "raw_register", fake.raw_register)
    monkeypatch.setattr(abi, "raw_call", fake.raw_call)
    monkeypatch.setattr(abi, "is_luastate", lambda fd: fd in fake.fds)
    monkeypatch.setattr(state, "supported", lambda: True)
    return fake


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


# --- registration ------------------------------------------------------------------------------

def test_registration_passes_the_script_and_options(kernel):
    with lua_syscall.State("return function() end", name="app.1", insn_limit=5000,
                           mem_limit=1 << 20) as st:
        reg = kernel.regs[-1]
        assert reg["source"] == b"return function() end"
        assert reg["script_len"] == len(b"return function() end")
        assert reg["flags"] == lua_syscall.CLOEXEC
        assert reg["name_text"] == b"app.1"
        assert (reg["insn_limit"], reg["mem_limit"]) == (5000, 1 << 20)
        assert reg["log_level"] == lua_syscall.LOG_WARNINGS
        assert reg["log_size"] == abi.LOG_MAX
        assert reg["reserved"] == 0
        assert st.fd == kernel.fds[-1]
        assert st.fileno() == st.fd
        assert st.name == "app.1"


def test_registration_defaults(kernel):
    with lua_syscall.State(b"return function() end", cloexec=False, log_level=0):
        reg = kernel.regs[-1]
        assert reg["flags"] == 0
        assert reg["name"] == 0
        assert (reg["insn_limit"], reg["mem_limit"]) == (0, 0)
        assert (reg["log_buf"], reg["log_size"], reg["log_level"]) == (0, 0, 0)


def test_utf8_source(kernel):
    lua_syscall.State("-- caf\u00e9\nreturn function() end").close()
    assert kernel.regs[-1]["source"] == "-- caf\u00e9\nreturn function() end".encode()


def test_warnings_of_an_accepted_script(kernel):
    kernel.log = b"script:2: warning: sys.getppdi: no such system call\n"
    with lua_syscall.State("x") as st:
        assert st.warnings == "script:2: warning: sys.getppdi: no such system call\n"


def test_refused_script_raises_with_the_log(kernel):
    kernel.log = b"script:1: error: unexpected symbol near '?'\n"
    kernel.register_errno = errno.EINVAL
    with pytest.raises(lua_syscall.RegistrationError) as exc:
        lua_syscall.State("?")
    assert exc.value.errno == errno.EINVAL
    assert exc.value.log == "script:1: error: unexpected symbol near '?'\n"
    assert "script:1: error: unexpected symbol" in str(exc.value)


def test_enosys_is_not_supported(kernel):
    kernel.register_errno = errno.ENOSYS
    with pytest.raises(lua_syscall.NotSupportedError) as exc:
        lua_syscall.State("x")
    assert exc.value.errno == errno.ENOSYS


def test_failure_on_a_kernel_without_the_calls_is_not_supported(kernel, monkeypatch):
    kernel.register_errno = errno.EBADF  # what setxattrat() might say
    monkeypatch.setattr(state, "supported", lambda: False)
    with pytest.raises(lua_syscall.NotSupportedError) as exc:
        lua_syscall.State("x")
    assert exc.value.errno == errno.EBADF


def test_a_descriptor_that_is_no_state_is_not_supported(kernel, monkeypatch):
    monkeypatch.setattr(abi, "is_luastate", lambda fd: False)
    with pytest.raises(lua_syscall.NotSupportedError):
        lua_syscall.State("x")
    # not ours: left open
    assert is_open(kernel.fds[-1])
    os.close(kernel.fds[-1])


def test_unknown_machine_is_not_supported(monkeypatch):
    monkeypatch.setattr(abi, "syscall_numbers", lambda machine=None: None)
    with pytest.raises(lua_syscall.NotSupportedError):
        lua_syscall.State("return function() end")


@pytest.mark.parametrize("kwargs", [{"name": "a\0b"}, {"insn_limit": -1}, {"mem_limit": -5}])
def test_bad_options_are_refused_before_the_kernel(kernel, kwargs):
    with pytest.raises(ValueError):
        lua_syscall.State("x", **kwargs)
    assert kernel.regs == []


def test_from_file(kernel, tmp_path):
    path = tmp_path / "s.lua"
    path.write_bytes(b"return function(a) return a end\n")
    with lua_syscall.State.from_file(path, name="f", cloexec=False) as st:
        assert isinstance(st, lua_syscall.State)
        reg = kernel.regs[-1]
        assert reg["source"] == b"return function(a) return a end\n"
        assert reg["name_text"] == b"f"
        assert reg["flags"] == 0
    with pytest.raises(FileNotFoundError):
        lua_syscall.State.from_file(tmp_path / "missing.lua")


# --- calls -------------------------------------------------------------------------------------

def test_call_packs_integers_modulo_2_64(kernel):
    with lua_syscall.State("x") as st:
        assert st(1, 2, 3) == 6
        assert st.call(-1) == (2**64 - 1) % 2**63
        assert st() == 0
        assert kernel.calls == [(st.fd, [1, 2, 3], 0), (st.fd, [2**64 - 1], 0),
                                (st.fd, [], 0)]


def test_call_argument_errors(kernel):
    with lua_syscall.State("x") as st:
        with pytest.raises(ValueError):
            st(*range(lua_syscall.MAX_ARGS + 1))
        with pytest.raises(TypeError):
            st(1.5)
        assert kernel.calls == []
        assert st(*range(lua_syscall.MAX_ARGS)) == sum(range(16))


def test_failed_call_carries_the_state_s_message(kernel):
    with lua_syscall.State("x") as st:
        kernel.call_errno, kernel.message = errno.ENOEXEC, b"script:1: boom"
        with pytest.raises(lua_syscall.CallError) as exc:
            st(1)
        assert exc.value.errno == errno.ENOEXEC
        assert exc.value.detail == "script:1: boom"
        assert "script:1: boom" in str(exc.value)
        assert st.last_error() == "script:1: boom"
        kernel.call_errno, kernel.message = 0, b""
        assert st(2) == 2
        assert st.last_error() == ""


# --- the descriptor's life ---------------------------------------------------------------------

def test_context_manager_closes(kernel):
    with lua_syscall.State("x") as st:
        fd = st.fd
        assert not st.closed
    assert st.closed
    assert not is_open(fd)
    assert repr(st) == "<State closed>"
    for use in (lambda: st.fd, st.fileno, st.call, st.last_error, st.info, st.detach):
        with pytest.raises(ValueError, match="closed"):
            use()
    with pytest.raises(ValueError):
        st.__enter__()
    st.close()  # again: nothing


def test_detach_gives_up_the_descriptor(kernel):
    st = lua_syscall.State("x")
    fd = st.detach()
    assert st.closed
    st.close()
    assert is_open(fd)
    os.close(fd)


def test_an_unclosed_state_warns_and_closes(kernel):
    st = lua_syscall.State("x", name="leak")
    fd = st.fd
    assert repr(st) == f"<State fd={fd} name='leak'>"
    with pytest.warns(ResourceWarning, match="unclosed"):
        del st
        gc.collect()
    assert not is_open(fd)


# --- supported() -------------------------------------------------------------------------------

@pytest.fixture
def probe(monkeypatch, tmp_path):
    """supported() uncached, with register_lua_syscall() answering `answer`."""
    answer = {}
    opened = []

    def raw_register(addr, size):
        reg = abi.Reg.from_address(addr)
        answer["source"] = ctypes.string_at(reg.script, reg.script_len)
        answer["flags"] = reg.flags
        if answer["errno"]:
            return -1, answer["errno"]
        fd = os.open(tmp_path, os.O_RDONLY)
        opened.append(fd)
        return fd, 0

    monkeypatch.setattr(abi, "syscall_numbers", lambda machine=None: (463, 464))
    monkeypatch.setattr(abi, "raw_register", raw_register)
    monkeypatch.setattr(abi, "is_luastate", lambda fd: answer["luastate"])
    monkeypatch.setattr(abi, "SYSCTL_DIR", str(tmp_path / "sysctl"))
    state.supported.cache_clear()
    yield answer, opened, tmp_path / "sysctl"
    state.supported.cache_clear()
    for fd in opened:
        if is_open(fd):
            os.close(fd)


def test_supported_registers_a_probe(probe):
    answer, opened, _ = probe
    answer.update(errno=0, luastate=True)
    assert lua_syscall.supported()
    assert answer["source"] == b"return function() end"
    assert answer["flags"] == lua_syscall.CLOEXEC
    assert not is_open(opened[0])  # the probe's state is closed


def test_supported_refuses_another_call_s_descriptor(probe):
    answer, opened, _ = probe
    answer.update(errno=0, luastate=False)
    assert not lua_syscall.supported()
    assert is_open(opened[0])  # not ours to close


def test_supported_is_cached(probe):
    answer, _, _ = probe
    answer.update(errno=errno.ENOSYS, luastate=False)
    assert not lua_syscall.supported()
    answer.update(errno=0, luastate=True)
    assert not lua_syscall.supported()
    lua_syscall.supported.cache_clear()
    assert lua_syscall.supported()


@pytest.mark.parametrize("err, sysctls, expected", [
    (errno.ENOSYS, False, False),
    (errno.ENOSYS, True, False),
    (errno.EPERM, True, True),     # unprivileged on a kernel that has the calls
    (errno.EPERM, False, False),
    (errno.EFAULT, True, False),   # setxattrat() refusing our arguments
])
def test_supported_when_the_probe_fails(probe, err, sysctls, expected):
    answer, _, sysctl_dir = probe
    answer.update(errno=err, luastate=False)
    if sysctls:
        sysctl_dir.mkdir()
    assert lua_syscall.supported() is expected


def test_supported_on_an_unknown_machine(probe, monkeypatch):
    monkeypatch.setattr(abi, "syscall_numbers", lambda machine=None: None)
    assert lua_syscall.supported() is False
