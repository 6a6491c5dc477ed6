"""Choosing QEMU's accelerator: KVM only when a guest is seen to run under it.

On some hosts /dev/kvm opens but a guest never makes progress. The probe boots a 64 KiB
firmware image whose reset vector writes to QEMU's isa-debug-exit port; QEMU then exits with
status (value << 1) | 1. A guest that hangs is killed after a short timeout.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from pathlib import Path

ACCEL_ENV = "LUA_SYSCALL_ACCEL"
ACCELS = ("kvm", "tcg")
PROBE_TIMEOUT = 8.0

_EXIT_PORT = 0xF4
_EXIT_VALUE = 0x31
PROBE_EXIT_STATUS = (_EXIT_VALUE << 1) | 1

# Real mode at the reset vector (CS:IP = F000:FFF0): mov al, 0x31; out 0xf4, al; hlt; jmp $-1
EXITING_CODE = bytes([0xB0, _EXIT_VALUE, 0xE6, _EXIT_PORT, 0xF4, 0xEB, 0xFD])
# jmp $: never exits.
HANGING_CODE = bytes([0xEB, 0xFE])


def firmware(code: bytes) -> bytes:
    """A 64 KiB BIOS image with code at the reset vector (16 bytes below its end)."""
    image = bytearray(b"\xf4" * 0x10000)
    image[0xFFF0:0xFFF0 + len(code)] = code
    return bytes(image)


def probe(accel: str, code: bytes = EXITING_CODE, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when a guest under accel runs code to completion within timeout."""
    if accel == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    with tempfile.TemporaryDirectory(prefix="lua-syscall-probe-") as tmp:
        bios = Path(tmp) / "probe.bin"
        bios.write_bytes(firmware(code))
        cmd = [
            "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none",
            "-machine", "pc", "-accel", accel, "-m", "16", "-bios", str(bios),
            "-device", f"isa-debug-exit,iobase={_EXIT_PORT:#x},iosize=0x04",
        ]
        try:
            res = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return False
        except FileNotFoundError:
            return False
    return res.returncode == PROBE_EXIT_STATUS


def decide(forced: str | None, kvm_runs: bool) -> str:
    """The accelerator to use, given an override (or None) and the KVM probe's verdict."""
    if forced:
        if forced not in ACCELS:
            raise ValueError(f"{ACCEL_ENV}={forced!r}: expected one of {', '.join(ACCELS)}")
        return forced
    return "kvm" if kvm_runs else "tcg"


@functools.cache
def choose() -> str:
    forced = os.environ.get(ACCEL_ENV) or None
    return decide(forced, kvm_runs=False if forced else probe("kvm"))
