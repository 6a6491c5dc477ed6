"""Helpers of the lua_syscall guest tests: raw memory and running code in a forked child."""

from __future__ import annotations

import ctypes
import fcntl
import mmap
import os
import pickle
import select
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PROT_NONE = 0  # mmap.PROT_NONE only exists from Python 3.13

PAGE = mmap.PAGESIZE
# The start of the x86_64 kernel text mapping: never accessible from user space.
KERNEL_ADDR = 0xFFFFFFFF81000000

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]
MAP_FAILED = ctypes.c_void_p(-1).value


def map_pages(npages: int, prot: int = mmap.PROT_READ | mmap.PROT_WRITE) -> int:
    addr = _libc.mmap(None, npages * PAGE, prot, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if addr in (None, MAP_FAILED):
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(addr)


def unmap(addr: int, npages: int) -> None:
    if _libc.munmap(ctypes.c_void_p(addr), npages * PAGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def protect(addr: int, npages: int, prot: int) -> None:
    if _libc.mprotect(ctypes.c_void_p(addr), npages * PAGE, prot) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@dataclass
class Memory:
    """Addresses that fault in different ways, kept for a whole test module.

    rw: a read-write page followed by `hole`, an unmapped page; readonly: a PROT_READ page;
    noaccess: a PROT_NONE page; unmapped: a page that was mapped and is not any more.
    """

    rw: int
    hole: int
    readonly: int
    noaccess: int
    unmapped: int

    @classmethod
    def create(cls) -> Memory:
        base = map_pages(5)
        # [rw][hole][readonly][noaccess][unmapped]
        unmap(base + PAGE, 1)
        protect(base + 2 * PAGE, 1, mmap.PROT_READ)
        protect(base + 3 * PAGE, 1, PROT_NONE)
        unmap(base + 4 * PAGE, 1)
        return cls(rw=base, hole=base + PAGE, readonly=base + 2 * PAGE,
                   noaccess=base + 3 * PAGE, unmapped=base + 4 * PAGE)

    def tail(self, size: int) -> int:
        """An address size bytes before the hole: [addr, addr + size) is mapped, no further."""
        return self.hole - size

    def put(self, addr: int, data: bytes) -> None:
        ctypes.memmove(addr, data, len(data))

    def close(self) -> None:
        unmap(self.rw, 1)
        unmap(self.readonly, 2)


def set_no_new_privs() -> None:
    if _libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


# Classic BPF, for seccomp filters.
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_RET_K = 0x06
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_TRAP = 0x00030000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
AUDIT_ARCH_X86_64 = 0xC000003E


class SockFilter(ctypes.Structure):
    _fields_ = (("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32))


class SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter)))


def seccomp_filter(nr: int, action: int, flags: int = 0,
                   other_arch: int = SECCOMP_RET_KILL_PROCESS) -> int:
    """seccomp(SECCOMP_SET_MODE_FILTER, flags): action for syscall nr (x86_64), other_arch for
    calls of another arch, allow the rest. Irreversible. Returns what seccomp() returns (the
    listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER)."""
    insns = [
        (BPF_LD_W_ABS, 0, 0, 4),                    # seccomp_data.arch
        (BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        (BPF_RET_K, 0, 0, other_arch),
        (BPF_LD_W_ABS, 0, 0, 0),                    # seccomp_data.nr
        (BPF_JEQ_K, 0, 1, nr),
        (BPF_RET_K, 0, 0, action),
        (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ]
    arr = (SockFilter * len(insns))(*[SockFilter(*i) for i in insns])
    prog = SockFprog(len(insns), arr)
    set_no_new_privs()
    # syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog)
    ret = _libc.syscall(ctypes.c_long(317), ctypes.c_long(1), ctypes.c_long(flags),
                        ctypes.c_void_p(ctypes.addressof(prog)))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def seccomp_on_nr(nr: int, action: int) -> None:
    """Install a filter: action for syscall nr (x86_64), allow the rest. Irreversible."""
    seccomp_filter(nr, action)


@dataclass
class ChildResult:
    """How a forked child ended: the value its function returned, or a signal."""

    value: Any = None
    error: str | None = None
    signal: int | None = None
    status: int | None = None

    def get(self) -> Any:
        assert self.signal is None, f"child killed by {signal.Signals(self.signal).name}"
        assert self.error is None, f"child raised:\n{self.error}"
        return self.value


def in_child(fn: Callable[[], Any], timeout: float = 120.0) -> ChildResult:
    """Run fn in a forked child; its (picklable) result or how it died."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        code = 0
        try:
            try:
                data = pickle.dumps(("ok", fn()))
            except BaseException:
                data = pickle.dumps(("error", traceback.format_exc()))
            os.write(wfd, data)
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    os.close(wfd)
    chunks = []
    deadline = time.monotonic() + timeout
    with os.fdopen(rfd, "rb", buffering=0) as f:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([f], [], [], max(left, 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return ChildResult(error=f"child timed out after {timeout:.0f}s")
            chunk = f.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return ChildResult(signal=os.WTERMSIG(status), status=status)
    if not data:
        return ChildResult(error=f"child exited with status {os.waitstatus_to_exitcode(status)} "
                                 "without a result", status=status)
    kind, value = pickle.loads(data)
    if kind == "error":
        return ChildResult(error=value, status=status)
    return ChildResult(value=value, status=status)


def open_fds() -> set[int]:
    """The open fds; without the fd listdir() itself used, which reuses a freed number."""
    listed = {int(n) for n in os.listdir("/proc/self/fd")}
    return {fd for fd in listed if _is_open(fd)}


def _is_open(fd: int) -> bool:
    try:
        fcntl.fcntl(fd, fcntl.F_GETFD)
    except OSError:
        return False
    return True
