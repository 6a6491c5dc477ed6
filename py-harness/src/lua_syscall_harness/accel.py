"""Choosing QEMU's accelerator: KVM only when a guest is seen to run under it.

On some hosts /dev/kvm opens but a guest never makes progress, or runs real-mode code and
then hangs in the kernel. Two probes, each killed after a short timeout:
- firmware: a 64 KiB BIOS image whose reset vector writes to QEMU's isa-debug-exit port
  (QEMU exits with status (value << 1) | 1): a fraction of a second;
- kernel: the kernel we are about to use boots until it panics for want of a root file system
  and reboots (-no-reboot): seconds under KVM, and the only probe that catches a nested KVM
  that hangs later in boot.
The verdict is kept for the host's boot (build/accel-probe.json, keyed by boot_id).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

ACCEL_ENV = "LUA_SYSCALL_ACCEL"
ACCELS = ("kvm", "tcg")
PROBE_TIMEOUT = 8.0
KERNEL_PROBE_TIMEOUT = 15.0

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


def kernel_boots(accel: str, kernel: Path, timeout: float = KERNEL_PROBE_TIMEOUT) -> bool:
    """True when kernel boots under accel as far as its no-root panic, then QEMU exits."""
    if accel == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    with tempfile.TemporaryDirectory(prefix="lua-syscall-probe-") as tmp:
        serial = Path(tmp) / "serial.log"
        cmd = [
            "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none",
            "-no-reboot", "-machine", "pc", "-accel", accel,
            "-cpu", "host" if accel == "kvm" else "max", "-smp", "2", "-m", "1024",
            "-kernel", str(kernel), "-serial", f"file:{serial}",
            "-append", "console=ttyS0 panic=-1 root=/dev/lua-syscall-no-such-root",
        ]
        try:
            res = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except (subprocess.TimeoutExpired, FileNotFoundError):
            return False
        log = serial.read_text(errors="replace") if serial.exists() else ""
    return res.returncode == 0 and "Kernel panic" in log


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def kvm_verdict(kernel: Path | None, cache: Path | None) -> bool:
    """Whether KVM really runs guests here; cached per host boot when cache is given."""
    key = _boot_id()
    if cache and cache.exists():
        try:
            saved = json.loads(cache.read_text())
            if saved.get("boot_id") == key and (kernel is None or saved.get("kernel_probe")):
                return bool(saved["kvm"])
        except (ValueError, KeyError):
            pass
    verdict = probe("kvm") and (kernel is None or kernel_boots("kvm", kernel))
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"boot_id": key, "kvm": verdict,
                                     "kernel_probe": kernel is not None}) + "\n")
    return verdict


def choose(kernel: Path | None = None, cache: Path | None = None) -> str:
    """The accelerator for booting kernel: the override, else KVM if it really runs here."""
    forced = os.environ.get(ACCEL_ENV) or None
    return decide(forced, kvm_runs=False if forced else kvm_verdict(kernel, cache))
