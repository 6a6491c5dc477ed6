"""The world every fuzz program runs in: fixed fds and memory, reset before each program.

lua_fuzz_exec.c (py-harness/stress/) sets it up; its FUZZ_* defines must equal these
values (a host test compares them), so that a program is reproducible from its text alone.
"""

from __future__ import annotations

DATA = 0x20000000
"""64 KiB read-write; bytes 0..255 hold 0..255, the rest zeros except the structs below."""
DATA_SIZE = 0x10000
HOLE = 0x20010000
"""Never mapped: the first byte after DATA."""
RO = 0x20011000
"""One PROT_READ page."""
NOACCESS = 0x20012000
"""One PROT_NONE page."""
AREA_END = 0x20013000
SCRIPT_END = 0x30000000
"""The script's copy ends here and a hole follows: a registration length past it faults."""

PATH_OFF = 0xF000
"""A NUL-terminated "/tmp/lua-fuzz-file"."""
IOV_OFF = 0xF100
"""Two struct iovec of 64 bytes each, at DATA and DATA + 128."""
TS_OFF = 0xF200
"""struct timespec { 0, 1000 }."""
POLL_OFF = 0xF300
"""Three struct pollfd (POLLIN): the pipe's read end, STREAM0, DGRAM0."""
SIGSET_OFF = 0xF400
"""Three 8-byte sigsets: empty, {SIGUSR1, SIGUSR2}, all ones (temporary masks only: a
script never makes it its lasting mask, so SIGALRM can always end a blocked call)."""
SIGSET_EMPTY = SIGSET_OFF
SIGSET_USR = SIGSET_OFF + 8
SIGSET_FULL = SIGSET_OFF + 16
SIGSET_OLD_OFF = 0xF420
"""8 bytes where rt_sigprocmask() may store the old mask."""
ZTS_OFF = 0xF440
"""struct timespec { 0, 0 }: ppoll/pselect6/epoll_pwait2 return at once."""
SIG6_OFF = 0xF480
"""pselect6's 6th argument, four { const sigset_t *ss; size_t ss_len; }: { empty, 8 },
{ all ones, 8 }, { {USR1, USR2}, 16 } (a wrong size), { HOLE, 8 } (a bad pointer)."""
SIG6_SIZE = 16
FDSET_OFF = 0xF500
"""A 128-byte fd_set with FD_PIPE_R, FD_STREAM0 and FD_DGRAM0 set."""
DEVNULL_OFF = 0xF600
"""A NUL-terminated "/dev/null": open/close loops."""
PIPEFD_OFF = 0xF700
"""Two ints where pipe2() loops store their fds."""

FD_PIPE_R = 200
"""A pipe holding PIPE_PRELOAD bytes; blocking read end."""
FD_PIPE_W = 201
FD_STREAM0 = 202
FD_STREAM1 = 203
FD_DGRAM0 = 204
FD_DGRAM1 = 205
FD_EVENT = 206
FD_MEMFD = 207
FD_NULL = 208
FD_FILE = 209
FD_EPOLL = 210
FD_LAST = 215
"""Scripts may dup to fds up to here; the executor closes every fd from 5 before a program."""
PIPE_PRELOAD = 16

ARG_SELF = "F"
"""In a program's args: the fd of its own state."""

FDS = (FD_PIPE_R, FD_PIPE_W, FD_STREAM0, FD_STREAM1, FD_DGRAM0, FD_DGRAM1, FD_EVENT,
       FD_MEMFD, FD_NULL, FD_FILE, FD_EPOLL)
BAD_FDS = (-1, 0x7FFFFFFF, (1 << 32) + FD_PIPE_R, FD_LAST, 1000)

# Addresses that fault in different ways.
KERNEL_ADDR = 0xFFFFFFFF81000000
NONCANONICAL = 0x8000000000000000
BAD_ADDRS = (0, 1, HOLE, HOLE - 1, HOLE - 3, NOACCESS, KERNEL_ADDR, NONCANONICAL, -1)

# name -> value, for comparing with lua_fuzz_exec.c's FUZZ_<NAME> defines.
C_DEFINES = {
    "DATA": DATA, "DATA_SIZE": DATA_SIZE, "HOLE": HOLE, "RO": RO, "NOACCESS": NOACCESS,
    "AREA_END": AREA_END, "SCRIPT_END": SCRIPT_END, "PATH_OFF": PATH_OFF,
    "IOV_OFF": IOV_OFF, "TS_OFF": TS_OFF, "POLL_OFF": POLL_OFF, "SIGSET_OFF": SIGSET_OFF,
    "SIGSET_OLD_OFF": SIGSET_OLD_OFF, "ZTS_OFF": ZTS_OFF, "SIG6_OFF": SIG6_OFF,
    "FDSET_OFF": FDSET_OFF, "DEVNULL_OFF": DEVNULL_OFF, "PIPEFD_OFF": PIPEFD_OFF,
    "FD_PIPE_R": FD_PIPE_R, "FD_PIPE_W": FD_PIPE_W, "FD_STREAM0": FD_STREAM0,
    "FD_STREAM1": FD_STREAM1, "FD_DGRAM0": FD_DGRAM0, "FD_DGRAM1": FD_DGRAM1,
    "FD_EVENT": FD_EVENT, "FD_MEMFD": FD_MEMFD, "FD_NULL": FD_NULL, "FD_FILE": FD_FILE,
    "FD_EPOLL": FD_EPOLL, "FD_LAST": FD_LAST, "PIPE_PRELOAD": PIPE_PRELOAD,
}
