"""Nested calls are exactly the caller's system calls (seccomp, signals, masks, task work).

Each test makes the same call directly from user space where the two can be compared, and
holds the nested call to what the direct one does: every seccomp action, the signal mask
that ppoll/pselect6/epoll_pwait/epoll_pwait2 leave, files released between nested calls, a
signal that interrupts a nested call without stopping the script, and a mem fault that stops
the script at once even under pcall.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import select
import signal
import socket
import struct
import threading
import time

import lua_util
import pytest
from lua_util import (
    AUDIT_ARCH_X86_64,
    KERNEL_ADDR,
    SECCOMP_RET_ALLOW,
    SECCOMP_RET_ERRNO,
    SECCOMP_RET_KILL_PROCESS,
    SECCOMP_RET_TRAP,
    in_child,
    open_fds,
    seccomp_on_nr,
)

from lua_syscall_harness.binding import LuaState

pytestmark = pytest.mark.usefixtures("lua_available")

SECCOMP_RET_KILL_THREAD = 0x00000000
SECCOMP_RET_USER_NOTIF = 0x7FC00000
SECCOMP_RET_TRACE = 0x7FF00000
SECCOMP_RET_LOG = 0x7FFC0000
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1
# _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp)
SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101

NR = {"dup": 32, "getppid": 110, "ppoll": 271, "pselect6": 270, "epoll_pwait": 281,
      "epoll_pwait2": 441, "rt_sigprocmask": 14, "seccomp": 317}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def raw_syscall(nr: int, *args: int) -> int:
    """A direct system call: its result, or -errno."""
    ret = _libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args))
    return -ctypes.get_errno() if ret == -1 else ret


def seccomp_filter(nr: int, action: int, flags: int = 0) -> int:
    """lua_util's filter, letting calls of another arch through."""
    return lua_util.seccomp_filter(nr, action, flags, other_arch=SECCOMP_RET_ALLOW)


def shared_page() -> tuple[mmap.mmap, int]:
    """A MAP_SHARED page (a forked child's writes stay visible) and its address."""
    page = mmap.mmap(-1, mmap.PAGESIZE)
    return page, ctypes.addressof(ctypes.c_char.from_buffer(page))


# --- seccomp: every action on a nested call ---------------------------------------------------

DUP_SCRIPT = "return function(fd) return sys.dup(fd) + 100000 end"


@pytest.mark.parametrize("action, ret, runs", [
    pytest.param(SECCOMP_RET_ALLOW, None, True, id="ALLOW"),
    pytest.param(SECCOMP_RET_LOG, None, True, id="LOG"),
    pytest.param(SECCOMP_RET_ERRNO | 0, 0, False, id="ERRNO0"),
    pytest.param(SECCOMP_RET_ERRNO | errno.EXFULL, -errno.EXFULL, False, id="ERRNO-EXFULL"),
    pytest.param(SECCOMP_RET_TRACE | 7, -errno.ENOSYS, False, id="TRACE-no-tracer"),
    pytest.param(SECCOMP_RET_TRAP, -errno.EPERM, False, id="TRAP"),
])
def test_seccomp_action_on_a_nested_call(action, ret, runs):
    """ALLOW and LOG run dup(); ERRNO(n) skips it and returns -n (0 for ERRNO(0)); TRACE
    without a tracer is -ENOSYS; TRAP is -EPERM. A skipped dup() opens no fd."""
    def child() -> tuple[int, set[int], set[int]]:
        st = LuaState(DUP_SCRIPT)
        seccomp_filter(NR["dup"], action)
        before = open_fds()
        got = st.call(st.fd) - 100000
        return got, before, open_fds()

    got, before, after = in_child(child).get()
    if runs:
        assert got >= 0 and after - before == {got}, (got, before, after)
    else:
        assert (got, after) == (ret, before)


def test_seccomp_trap_sends_no_sigsys_for_a_nested_call():
    def child() -> tuple[int, list[int], list[int], int]:
        hits: list[int] = []
        signal.signal(signal.SIGSYS, lambda signum, frame: hits.append(signum))
        st = LuaState("return function() return sys.getppid() + 10000 end")
        seccomp_on_nr(NR["getppid"], SECCOMP_RET_TRAP)
        got = st.call()
        time.sleep(0.05)
        nested = list(hits)
        pending = sorted(int(s) for s in signal.sigpending())
        # the control: the same call made directly traps
        _libc.getppid()
        deadline = time.monotonic() + 5
        while not hits and time.monotonic() < deadline:
            time.sleep(0.01)
        return got, nested, pending, len(hits)

    got, nested, pending, direct = in_child(child).get()
    assert got == 10000 - errno.EPERM
    assert nested == [] and int(signal.SIGSYS) not in pending
    assert direct == 1, "the direct getppid() did not trap: the filter is not in place"


class SeccompData(ctypes.Structure):
    _fields_ = (("nr", ctypes.c_int), ("arch", ctypes.c_uint32),
                ("instruction_pointer", ctypes.c_uint64), ("args", ctypes.c_uint64 * 6))


class SeccompNotif(ctypes.Structure):
    _fields_ = (("id", ctypes.c_uint64), ("pid", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("data", SeccompData))


class SeccompNotifResp(ctypes.Structure):
    _fields_ = (("id", ctypes.c_uint64), ("val", ctypes.c_int64), ("error", ctypes.c_int32),
                ("flags", ctypes.c_uint32))


def test_seccomp_user_notif_goes_to_the_supervisor():
    """Three nested getppid() under USER_NOTIF: the supervisor thread answers an errno, a
    value, then CONTINUE (which runs the call); it sees the nested call's number and
    arguments."""
    assert ctypes.sizeof(SeccompNotif) == 80 and ctypes.sizeof(SeccompNotifResp) == 24
    src = """return function(out)
      mem.put64(out, sys.getppid(11, 22))
      mem.put64(out + 8, sys.getppid(33, 44))
      mem.put64(out + 16, sys.getppid())
      return 0
    end"""

    def child() -> tuple[list[int], list[tuple[int, int, int, int, int]], int, int]:
        seen: list[tuple[int, int, int, int, int]] = []
        listener: list[int] = []
        ready = threading.Event()

        def supervisor() -> None:
            ready.wait(10)
            fd = listener[0]
            answers = [(0, -errno.EL2NSYNC, 0), (4242, 0, 0),
                       (0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE)]
            for val, error, flags in answers:
                req = SeccompNotif()
                if _libc.ioctl(fd, ctypes.c_ulong(SECCOMP_IOCTL_NOTIF_RECV),
                               ctypes.byref(req)) != 0:
                    return
                seen.append((req.data.nr, req.data.arch, req.data.args[0], req.data.args[1],
                             req.pid))
                resp = SeccompNotifResp(req.id, val, error, flags)
                _libc.ioctl(fd, ctypes.c_ulong(SECCOMP_IOCTL_NOTIF_SEND), ctypes.byref(resp))

        # Started before the filter, so that the filter is not the supervisor's.
        sup = threading.Thread(target=supervisor, daemon=True)
        sup.start()
        out = ctypes.create_string_buffer(24)
        st = LuaState(src)
        ppid = os.getppid()  # not under the filter: nobody would answer
        listener.append(seccomp_filter(NR["getppid"], SECCOMP_RET_USER_NOTIF,
                                       SECCOMP_FILTER_FLAG_NEW_LISTENER))
        ready.set()
        st.call(ctypes.addressof(out))
        sup.join(10)
        return list(struct.unpack("<qqq", out.raw)), seen, threading.get_native_id(), ppid

    got, seen, tid, ppid = in_child(child, timeout=60).get()
    assert got == [-errno.EL2NSYNC, 4242, ppid]
    assert [s[:4] for s in seen] == [(NR["getppid"], AUDIT_ARCH_X86_64, 11, 22),
                                     (NR["getppid"], AUDIT_ARCH_X86_64, 33, 44),
                                     (NR["getppid"], AUDIT_ARCH_X86_64, 0, 0)]
    assert all(s[4] == tid for s in seen)


KILLED_SCRIPT = """return function(buf)
  if buf == 0 then return 7 end
  mem.put64(buf, 1)
  pcall(function() sys.getppid() end)
  mem.put64(buf, 2)
  mem.put64(buf + 8, 3)
  return 5
end"""


def test_seccomp_kill_thread_kills_the_calling_thread_only():
    """KILL_THREAD on a nested call in a 2-thread process: that thread exits, nothing after
    the killed call runs (pcall does not catch it), the other thread goes on with the
    state."""
    def child() -> tuple[bool, tuple[int, int], list[str], int]:
        buf = ctypes.create_string_buffer(16)
        st = LuaState(KILLED_SCRIPT)
        tids: list[int] = []
        returned: list[str] = []
        filtered = threading.Event()

        def victim() -> None:
            tids.append(threading.get_native_id())
            seccomp_on_nr(NR["getppid"], SECCOMP_RET_KILL_THREAD)
            filtered.set()
            try:
                st.call(ctypes.addressof(buf))
                returned.append("returned")
            except OSError as e:
                returned.append(f"raised {e.errno}")

        t = threading.Thread(target=victim, daemon=True)
        t.start()
        assert filtered.wait(10)
        deadline = time.monotonic() + 20
        while os.path.exists(f"/proc/self/task/{tids[0]}") and time.monotonic() < deadline:
            time.sleep(0.02)
        gone = not os.path.exists(f"/proc/self/task/{tids[0]}")
        vals = struct.unpack("<qq", buf.raw)
        # The state is not left locked by the dead thread.
        after = st.call(0) if gone else -1
        return gone, vals, returned, after

    res = in_child(child, timeout=60)
    gone, vals, returned, after = res.get()
    assert gone, "the thread that made the killed nested call is still alive"
    assert vals == (1, 0), "the script ran on after the killed call"
    assert returned == []
    assert after == 7


def test_seccomp_kill_process_stops_the_script_at_once():
    page, addr = shared_page()

    def child() -> str:
        st = LuaState(KILLED_SCRIPT)
        seccomp_on_nr(NR["getppid"], SECCOMP_RET_KILL_PROCESS)
        st.call(addr)
        return "survived"

    res = in_child(child)
    assert res.signal == signal.SIGSYS, res
    assert struct.unpack_from("<qq", page, 0) == (1, 0), "the script ran on after the kill"


# --- signals ----------------------------------------------------------------------------------

def test_signal_interrupts_a_nested_call_and_is_delivered_after_the_call():
    """A non-fatal signal does not stop the script: the blocked nested read gets -EINTR, the
    script goes on, and the handler runs when lua_syscall() returns."""
    src = """return function(r, buf, sig)
      sys.kill(sys.getpid(), sig)
      local got = sys.read(r, buf, 1)
      mem.put64(buf + 8, got)
      mem.put64(buf + 16, 77)
      return 5
    end"""

    def child() -> tuple[int, int, int, int, int]:
        hits: list[int] = []
        signal.signal(signal.SIGUSR1, lambda signum, frame: hits.append(signum))
        rfd, wfd = os.pipe()
        buf = ctypes.create_string_buffer(24)
        with LuaState(src) as st:
            ret = st.call(rfd, ctypes.addressof(buf), int(signal.SIGUSR1))
        seen = len(hits)
        got, after = struct.unpack_from("<qq", buf.raw, 8)
        os.close(rfd)
        os.close(wfd)
        return ret, got, after, seen, len(signal.sigpending())

    assert in_child(child, timeout=60).get() == (5, -errno.EINTR, 77, 1, 0)


# --- temporary signal masks -------------------------------------------------------------------

SIGUSR1_BIT = 1 << (signal.SIGUSR1 - 1)
SIGUSR2_BIT = 1 << (signal.SIGUSR2 - 1)

# The call area: sigsets, a zero timespec, pselect6's { sigset *, size }, room for results.
OFF_EMPTY, OFF_USR, OFF_TS, OFF_SIG6_EMPTY, OFF_SIG6_USR = 0, 8, 16, 32, 48
OFF_OLD, OFF_EVENTS, OFF_OUT = 64, 128, 256
AREA_SIZE = 512


def call_area() -> tuple[ctypes.Array, int]:
    area = ctypes.create_string_buffer(AREA_SIZE)
    addr = ctypes.addressof(area)
    struct.pack_into("<QQ", area, OFF_EMPTY, 0, SIGUSR1_BIT | SIGUSR2_BIT)
    struct.pack_into("<qq", area, OFF_TS, 0, 0)
    struct.pack_into("<QQQQ", area, OFF_SIG6_EMPTY, addr + OFF_EMPTY, 8, addr + OFF_USR, 8)
    return area, addr


def mask_call(kind: str, addr: int, epfd: int, mask_off: int) -> tuple[str, tuple[int, ...]]:
    """(Lua argument list, direct arguments) of a call of kind with the temporary mask at
    mask_off, a zero timeout and nothing to wait for."""
    mask = addr + mask_off
    if kind == "ppoll":
        args: tuple[int, ...] = (0, 0, addr + OFF_TS, mask, 8)
    elif kind == "pselect6":
        sig6 = addr + (OFF_SIG6_EMPTY if mask_off == OFF_EMPTY else OFF_SIG6_USR)
        args = (0, 0, 0, 0, addr + OFF_TS, sig6)
    elif kind == "epoll_pwait":
        args = (epfd, addr + OFF_EVENTS, 4, 0, mask, 8)
    else:
        args = (epfd, addr + OFF_EVENTS, 4, addr + OFF_TS, mask, 8)
    return ", ".join(str(a) for a in args), args


def signal_state(hits: list[int]) -> tuple[int, list[int], list[int]]:
    """Handler runs, the blocked mask, the pending signals (of SIGUSR1/SIGUSR2)."""
    mine = {int(signal.SIGUSR1), int(signal.SIGUSR2)}
    blocked = sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, []) if s in mine)
    pending = sorted(int(s) for s in signal.sigpending() if s in mine)
    return len(hits), blocked, pending


MASK_KINDS = ("ppoll", "pselect6", "epoll_pwait", "epoll_pwait2")


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_blocked_pending_signal_and_a_temporary_empty_mask(kind):
    """SIGUSR1 blocked and pending, the call made with an empty temporary mask: the result,
    the handler runs and the mask and pending set left after lua_syscall() returns are those
    the same call leaves when made from user space. When the call returned -EINTR the signal
    is still to be delivered, so later nested calls get -EINTR too."""
    def run(nested: bool) -> tuple[int, int, tuple[int, list[int], list[int]]]:
        hits: list[int] = []
        signal.signal(signal.SIGUSR1, lambda signum, frame: hits.append(signum))
        area, addr = call_area()
        epfd = select.epoll()
        lua_args, args = mask_call(kind, addr, epfd.fileno(), OFF_EMPTY)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        os.kill(os.getpid(), signal.SIGUSR1)
        assert signal.SIGUSR1 in signal.sigpending()
        follow = 0
        if nested:
            src = f"""return function(out)
              mem.put64(out, sys.{kind}({lua_args}))
              mem.put64(out + 8, sys.getppid())
              return 0
            end"""
            with LuaState(src) as st:
                assert st.call(addr + OFF_OUT) == 0
                ret, ppid = struct.unpack_from("<qq", area, OFF_OUT)
            follow = -errno.EINTR if ppid == -errno.EINTR else (0 if ppid == os.getppid()
                                                               else ppid)
        else:
            ret = raw_syscall(NR[kind], *args)
        time.sleep(0.02)
        return ret, follow, signal_state(hits)

    direct = in_child(lambda: run(False)).get()
    nested = in_child(lambda: run(True)).get()
    ret, follow, state = nested
    assert (ret, state) == (direct[0], direct[2]), f"direct {direct}, nested {nested}"
    assert follow == (-errno.EINTR if ret == -errno.EINTR else 0), nested


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_temporary_mask_is_undone_after_the_nested_call(kind):
    """SIGUSR1 and SIGUSR2 blocked only for the call, nothing pending: the mask a nested
    rt_sigprocmask() reads right after it is the mask from before, as in user space, and
    SIGUSR1 sent after the call is delivered (once, after lua_syscall() returns)."""
    def run(nested: bool) -> tuple[int, int, int, tuple[int, list[int], list[int]]]:
        hits: list[int] = []
        signal.signal(signal.SIGUSR1, lambda signum, frame: hits.append(signum))
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        area, addr = call_area()
        epfd = select.epoll()
        lua_args, args = mask_call(kind, addr, epfd.fileno(), OFF_USR)
        if nested:
            src = f"""return function(out, old, sig)
              mem.put64(out, sys.{kind}({lua_args}))
              mem.put64(out + 8, sys.rt_sigprocmask(0, 0, old, 8))
              mem.put64(out + 16, sys.kill(sys.getpid(), sig))
              return 0
            end"""
            with LuaState(src) as st:
                assert st.call(addr + OFF_OUT, addr + OFF_OLD, int(signal.SIGUSR1)) == 0
            ret, mret, _ = struct.unpack_from("<qqq", area, OFF_OUT)
        else:
            ret = raw_syscall(NR[kind], *args)
            mret = raw_syscall(NR["rt_sigprocmask"], 0, 0, addr + OFF_OLD, 8)
            os.kill(os.getpid(), signal.SIGUSR1)
        (old,) = struct.unpack_from("<Q", area, OFF_OLD)
        time.sleep(0.02)
        return ret, mret, old & (SIGUSR1_BIT | SIGUSR2_BIT), signal_state(hits)

    direct = in_child(lambda: run(False)).get()
    nested = in_child(lambda: run(True)).get()
    assert direct == (0, 0, 0, (1, [], []))
    assert nested == direct


# --- task work between nested calls -----------------------------------------------------------

def file_nr_allocated() -> int:
    with open("/proc/sys/fs/file-nr") as f:
        return int(f.read().split()[0])


def test_open_close_loop_releases_each_file_at_once():
    """1000 open/close of /dev/null in one script: the allocated-files count read by the
    script itself stays bounded (each last close releases its file before the next nested
    call), and the fd count is unchanged after the call."""
    src = """return function(buf, out, n)
      local function allocated()
        local f = sys.openat(-100, buf + 64, 0)
        if f < 0 then return f end
        local got = sys.read(f, buf + 128, 64)
        sys.close(f)
        if got <= 0 then return -1000 + got end
        return tonumber(string.match(mem.read(buf + 128, got), "^(%d+)"))
      end
      local before = allocated()
      local fails = 0
      for _ = 1, n do
        local f = sys.openat(-100, buf, 0)
        if f >= 0 then sys.close(f) else fails = fails + 1 end
      end
      mem.put64(out, before)
      mem.put64(out + 8, allocated())
      mem.put64(out + 16, fails)
      return 0
    end"""
    buf = ctypes.create_string_buffer(256)
    ctypes.memmove(buf, b"/dev/null\0", 10)
    ctypes.memmove(ctypes.addressof(buf) + 64, b"/proc/sys/fs/file-nr\0", 21)
    out = ctypes.create_string_buffer(24)
    with LuaState(src) as st:
        fds = open_fds()
        assert st.call(ctypes.addressof(buf), ctypes.addressof(out), 1000) == 0
        assert open_fds() == fds
    before, after, fails = struct.unpack("<qqq", out.raw)
    assert fails == 0
    assert before > 0 and after > 0, (before, after)
    # 1000 files kept until the call returned would show here; the counter is per-CPU
    # approximate (a batch of 32 or so per CPU), hence the margin
    assert after - before < 300, f"{after - before} files still allocated inside the script"
    assert file_nr_allocated() - before < 300


def test_closing_the_write_end_in_the_script_gives_eof():
    """The last close of a pipe's write end in the script: a read of the read end in the
    same script sees EOF (0), not EAGAIN; for a pipe the script made and for one of ours."""
    src = """return function(buf, r, w)
      -- a pipe of the script's own, non-blocking
      if sys.pipe2(buf, 0x800) ~= 0 then return -1 end
      local rd, wr = mem.get32(buf), mem.get32(buf + 4)
      sys.write(wr, buf + 64, 3)
      sys.close(wr)
      mem.put64(buf + 8, sys.read(rd, buf + 128, 16))
      mem.put64(buf + 16, sys.read(rd, buf + 128, 16))
      sys.close(rd)
      -- ours: w is the only write end
      sys.close(w)
      mem.put64(buf + 24, sys.read(r, buf + 128, 16))
      return 0
    end"""
    rfd, wfd = os.pipe()
    os.set_blocking(rfd, False)
    buf = ctypes.create_string_buffer(256)
    ctypes.memmove(ctypes.addressof(buf) + 64, b"abc", 3)
    try:
        fds = open_fds()
        with LuaState(src) as st:
            assert st.call(ctypes.addressof(buf), rfd, wfd) == 0
        first, second, ours = struct.unpack_from("<qqq", buf.raw, 8)
        assert (first, second) == (3, 0), "the script's pipe: data then EOF expected"
        assert ours == 0, f"read after the last close of the write end: {ours}"
        assert open_fds() == fds - {wfd}
    finally:
        os.close(rfd)


def test_udp_port_rebinds_after_close_in_the_same_script():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    src = """return function(sa, port, out)
      mem.write(sa, string.pack("<I2>I2>I4", 2, port, 0x7f000001) .. string.rep("\\0", 8))
      for i = 0, 2 do
        local s = sys.socket(2, 2, 0)
        if s < 0 then return -100 + s end
        mem.put64(out + 8 * i, sys.bind(s, sa, 16))
        sys.close(s)
      end
      return 0
    end"""
    sa = ctypes.create_string_buffer(16)
    out = ctypes.create_string_buffer(24)
    with LuaState(src) as st:
        assert st.call(ctypes.addressof(sa), port, ctypes.addressof(out)) == 0
    assert struct.unpack("<qqq", out.raw) == (0, 0, 0)


# --- mem faults -------------------------------------------------------------------------------

@pytest.mark.parametrize("access", [
    "mem.get64(bad)", "mem.put32(bad, 1)", "mem.read(bad, 16)", "mem.write(bad, 'xyz')",
])
@pytest.mark.parametrize("where", ["kernel", "hole"])
def test_mem_fault_stops_the_script_at_once_even_under_pcall(access, where, lua_memory):
    src = f"""local n = 0
    return function(op, bad, ok)
      if op == 0 then return n end
      local caught = pcall(function() local _ = {access} end)
      n = n + 1
      mem.put64(ok, caught and 1 or 2)
      return n
    end"""
    bad = KERNEL_ADDR if where == "kernel" else lua_memory.hole - 2
    ok = ctypes.create_string_buffer(8)
    with LuaState(src) as st:
        with pytest.raises(OSError) as exc:
            st.call(1, bad, ctypes.addressof(ok))
        assert exc.value.errno == errno.EFAULT
        assert st.call(0) == 0, "the script ran on after the fault"
        assert ok.raw == bytes(8)
        # the state still works
        assert st.call(1, ctypes.addressof(ok), ctypes.addressof(ok)) == 1


# --- tracing ----------------------------------------------------------------------------------

PTRACE_TRACEME = 0
PTRACE_SYSCALL = 24


def test_nested_calls_run_under_ptrace_syscall():
    """Under a PTRACE_SYSCALL tracer a nested call runs as a direct one, with a stop at its
    entry and exit (kselftest ptrace_syscall_stops_at_nested_calls checks the stops): the
    script gets the same result as untraced; 4 stops at least (outer and nested)."""
    src = "return function() return sys.getppid() + 10000 end"
    _libc.ptrace.restype = ctypes.c_long
    _libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(rfd)
            _libc.ptrace(PTRACE_TRACEME, 0, None, None)
            os.kill(os.getpid(), signal.SIGSTOP)
            with LuaState(src) as st:
                os.write(wfd, str(st.call()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    stops = 0
    deadline = time.monotonic() + 120
    while True:
        _, status = os.waitpid(pid, 0)
        if not os.WIFSTOPPED(status):
            break
        sig = os.WSTOPSIG(status)
        if sig == signal.SIGTRAP:
            stops += 1
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        _libc.ptrace(PTRACE_SYSCALL, pid, None,
                     None if sig in (signal.SIGTRAP, signal.SIGSTOP) else sig)
    out = os.read(rfd, 64)
    os.close(rfd)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert stops >= 4, f"the tracer saw {stops} syscall stops"
    assert out == str(10000 + os.getpid()).encode()


# --- audit ------------------------------------------------------------------------------------

NETLINK_AUDIT = 9
AUDIT_GET, AUDIT_SET, AUDIT_ADD_RULE, AUDIT_DEL_RULE = 1000, 1001, 1011, 1012
AUDIT_STATUS_ENABLED = 1
AUDIT_FILTER_EXIT, AUDIT_ALWAYS = 4, 2
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
ACCT = 163  # a system call nothing here makes: the rule counts, and never matches


class Audit:
    """Audit control over netlink (what auditctl does): status and syscall rules."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
        self.sock.bind((0, 0))
        self.seq = 0

    def request(self, msg_type: int, payload: bytes = b"", ack: bool = True) -> bytes:
        """Send one message; the reply of type msg_type (for a get) or the ack's errno."""
        self.seq += 1
        flags = NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
        self.sock.send(struct.pack("=IHHII", 16 + len(payload), msg_type, flags, self.seq, 0)
                       + payload)
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, typ, _, seq, _ = struct.unpack_from("=IHHII", data, off)
                body = data[off + 16:off + length]
                off += (length + 3) & ~3
                if seq != self.seq:
                    continue
                if typ == NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", body)
                    if err:
                        raise OSError(-err, os.strerror(-err))
                    if ack:
                        return b""
                elif typ == msg_type:
                    return body

    def enabled(self) -> int:
        return struct.unpack_from("=II", self.request(AUDIT_GET, ack=False))[1]

    def set_enabled(self, value: int) -> None:
        self.request(AUDIT_SET, struct.pack("=II", AUDIT_STATUS_ENABLED, value) + bytes(36))

    @staticmethod
    def syscall_rule(nr: int) -> bytes:
        """struct audit_rule_data: exit,always -S nr, no fields."""
        mask = [0] * 64
        mask[nr // 32] |= 1 << (nr % 32)
        return (struct.pack("=III", AUDIT_FILTER_EXIT, AUDIT_ALWAYS, 0)
                + struct.pack("=64I", *mask) + bytes(3 * 64 * 4) + struct.pack("=I", 0))

    def close(self) -> None:
        self.sock.close()


def test_nested_calls_run_while_an_audit_rule_is_loaded():
    """Audit gives a nested call a record of its own (kselftest
    audit_records_each_nested_call counts them): while a syscall rule is loaded (audit
    enabled), nested calls run as before and after."""
    try:
        audit = Audit()
    except OSError as e:
        pytest.skip(f"no audit netlink socket (CONFIG_AUDIT?): {e}")
    src = "return function() return sys.getppid() + 10000 end"

    def child() -> int:
        with LuaState(src) as st:
            return st.call()

    rule = Audit.syscall_rule(ACCT)
    try:
        before = in_child(child).get()
        was_enabled = audit.enabled()
        audit.set_enabled(1)
        audit.request(AUDIT_ADD_RULE, rule)
        try:
            # a task forked now has an audit context, and the rule makes it non-dummy
            during = in_child(child).get()
        finally:
            audit.request(AUDIT_DEL_RULE, rule)
            audit.set_enabled(was_enabled)
        after = in_child(child).get()
    finally:
        audit.close()
    assert before == 10000 + os.getpid()
    assert during == 10000 + os.getpid()
    assert after == before
