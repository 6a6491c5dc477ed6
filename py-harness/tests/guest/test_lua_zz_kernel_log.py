"""Last of the lua_syscall guest tests: nothing above left a splat in the kernel log."""

from __future__ import annotations

import errno
import os
import subprocess

import pytest

from lua_syscall_harness.logscan import splats

pytestmark = pytest.mark.usefixtures("lua_available")


def read_kmsg() -> str:
    """The kernel log buffer, read from /dev/kmsg without blocking."""
    lines = []
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    try:
        while True:
            try:
                record = os.read(fd, 8192)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.EPIPE:  # records overwritten while reading: go on
                    continue
                raise
            if not record:
                break
            # "prio,seq,usec,flags;message\n" then " KEY=value" continuation lines
            header, _, text = record.decode(errors="replace").partition(";")
            lines.append(text.splitlines()[0] if text else header)
    finally:
        os.close(fd)
    return "\n".join(lines)


def kernel_log() -> str:
    try:
        return read_kmsg()
    except OSError:
        return subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout


def test_kernel_log_is_readable():
    marker = f"lua_syscall guest tests: log scan marker {os.getpid()}"
    with open("/dev/kmsg", "w") as f:
        f.write(marker + "\n")
    assert marker in kernel_log()


def test_no_kernel_splat():
    found = splats(kernel_log())
    assert found == [], "kernel log:\n" + "\n".join(found)
