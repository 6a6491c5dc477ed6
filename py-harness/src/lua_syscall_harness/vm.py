"""Booting a built kernel in QEMU with the host's / as a read-only 9p root, running one command.

Each run gets a directory under build/runs/ shared with the guest as the 9p tag "lsout":
command.sh and cwd (written by the host), output and rc (written by the guest), serial.log
(the kernel console, written by QEMU). The guest's init (guest/init.sh) runs the command and
reboots; QEMU's -no-reboot turns that into its exit. A hard timeout kills QEMU.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import accel, arm64
from .build import image_path
from .layout import DEFAULT_ARCH, GUEST_DIR, REPO_ROOT, build_root, runs_dir
from .proc import HarnessError, say

DEFAULT_TIMEOUT = 900.0
ROOT_TAG = "/dev/root"


@dataclass(frozen=True)
class VmResult:
    returncode: int | None
    """The command's exit status; None when the guest never reported one."""
    output: str
    serial_log: Path
    run_dir: Path
    accel: str
    seconds: float
    timed_out: bool

    @property
    def serial(self) -> str:
        return self.serial_log.read_text(errors="replace") if self.serial_log.exists() else ""

    def failure_reason(self) -> str:
        if self.timed_out:
            return f"guest timed out after {self.seconds:.0f}s"
        if self.returncode is None:
            return "guest exited without reporting a status (kernel panic or init failure)"
        return f"guest command exited with status {self.returncode}"


def kernel_image(variant: str, arch: str = DEFAULT_ARCH) -> Path:
    image = image_path(variant, arch)
    if not image.exists():
        how = "" if arch == DEFAULT_ARCH else f" --arch {arch}"
        raise HarnessError(f"no {variant} kernel at {image}: run `lua-syscall build{how}` "
                           "first")
    return image


GUEST_TMPFS = ("/tmp", "/run", "/var/tmp", "/dev/shm")
"""Where the guest mounts a tmpfs over the host's directory (see guest/init.sh)."""


def guest_kept_paths(cwd: Path) -> list[str]:
    """Host directories the guest's command needs (the working directory, the repository with
    its venv, the build directory) that lie under one of GUEST_TMPFS: the guest holds them
    aside before it mounts its tmpfs and puts them back on top."""
    def under(path: str, top: str) -> bool:
        return path == top or path.startswith(top + "/")

    paths = sorted({str(p.resolve()) for p in (cwd, REPO_ROOT, build_root())})
    outer = [p for i, p in enumerate(paths) if not any(under(p, q) for q in paths[:i])]
    return [p for p in outer if any(under(p, top) for top in GUEST_TMPFS)]


def new_run_dir() -> Path:
    base = runs_dir()
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = base / f"{stamp}-{os.getpid()}-{time.monotonic_ns() % 100000:05d}"
    path.mkdir()
    return path


def qemu_command(kernel: Path, run_dir: Path, accel_name: str, *, memory_mb: int, cpus: int,
                 append: str = "", icount_shift: int | None = None,
                 smp_sockets: bool = False, qemu_extra: tuple[str, ...] = ()) -> list[str]:
    cmdline = [
        "console=ttyS0", f"root={ROOT_TAG}", "rootfstype=9p",
        "rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose", "ro",
        f"init={GUEST_DIR / 'init.sh'}", "panic=-1", *append.split(),
    ]
    cpu = ["-cpu", "host"] if accel_name == "kvm" else ["-cpu", "max"]
    accel_opt = "kvm" if accel_name == "kvm" else "tcg,thread=multi"
    icount = []
    if icount_shift is not None and accel_name != "kvm":
        # Guest time counts executed instructions (2^shift ns each), not host time: timing
        # inside the guest no longer depends on how busy the host is. Needs one TCG thread.
        accel_opt = "tcg,thread=single"
        icount = ["-icount", f"shift={icount_shift},sleep=off"]
    return [
        "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none",
        "-no-reboot", "-machine", "pc", "-accel", accel_opt, *icount, *cpu,
        # SeaBIOS's MP table lists one CPU per package and our kernels have no ACPI, so
        # `-smp N` (N cores of one socket) boots with ONE CPU; smp_sockets=True (N sockets)
        # really gives N. The default keeps the one-CPU guest the test suite was tuned on.
        "-smp", f"{cpus},sockets={cpus},cores=1,threads=1" if smp_sockets else str(cpus),
        "-m", str(memory_mb),
        "-kernel", str(kernel), "-append", " ".join(cmdline),
        "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap",
        "-device", f"virtio-9p-pci,fsdev=root,mount_tag={ROOT_TAG}",
        "-fsdev", f"local,id=lsout,path={run_dir},security_model=none",
        "-device", "virtio-9p-pci,fsdev=lsout,mount_tag=lsout",
        "-serial", f"file:{run_dir / 'serial.log'}",
        *qemu_extra,
    ]


class _OutputFollower(threading.Thread):
    """Copies the guest's output file to our stdout as it grows."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()

    def run(self) -> None:
        pos = 0
        while True:
            stopping = self.stop.is_set()
            if self.path.exists():
                with self.path.open("rb") as f:
                    f.seek(pos)
                    chunk = f.read()
                if chunk:
                    pos += len(chunk)
                    sys.stdout.write(chunk.decode(errors="replace"))
                    sys.stdout.flush()
            if stopping:
                return
            self.stop.wait(0.5)


def run(
    command: str,
    *,
    variant: str = "debug",
    kernel: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = 3072,
    cpus: int = 2,
    cwd: Path = REPO_ROOT,
    stream: bool = False,
    append: str = "",
    icount_shift: int | None = None,
    smp_sockets: bool = False,
    qemu_extra: tuple[str, ...] = (),
    arch: str = DEFAULT_ARCH,
    initrd: Path | None = None,
) -> VmResult:
    """Boot the kernel, run command (a shell command line) in the guest, return its result.

    arm64 (arch="arm64") boots under TCG with an initramfs user space (arm64.py): the
    command runs in busybox's sh, cwd defaults to the kselftests' directory there; initrd
    replaces the variant's initramfs (arm64 only: x86-64 guests run the host's root).
    """
    kernel = kernel or kernel_image(variant, arch)
    run_dir = new_run_dir()
    (run_dir / "command.sh").write_text(command + "\n")
    if arch == DEFAULT_ARCH:
        if initrd is not None:
            raise HarnessError("an x86-64 guest runs the host's root: it takes no initrd")
        accel_name = accel.choose(kernel, build_root() / "accel-probe.json")
        (run_dir / "cwd").write_text(str(cwd))
        (run_dir / "keep").write_text("".join(f"{path}\n" for path in guest_kept_paths(cwd)))
        argv = qemu_command(kernel, run_dir, accel_name, memory_mb=memory_mb, cpus=cpus,
                            append=append, icount_shift=icount_shift,
                            smp_sockets=smp_sockets, qemu_extra=qemu_extra)
    elif arch == arm64.ARCH:
        accel_name = "tcg"
        (run_dir / "cwd").write_text(str(cwd) if cwd != REPO_ROOT else arm64.GUEST_MOUNT)
        argv = arm64.qemu_command(kernel, initrd or arm64.initramfs(variant), run_dir,
                                  memory_mb=memory_mb, cpus=cpus, append=append)
    else:
        raise HarnessError(f"no guest for arch {arch!r}")
    (run_dir / "qemu.cmd").write_text(shlex.join(argv) + "\n")
    follower = _OutputFollower(run_dir / "output") if stream else None
    if follower:
        follower.start()
    start = time.monotonic()
    timed_out = False
    with (run_dir / "qemu.log").open("w") as qlog:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=qlog,
                                stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            proc.wait()
    seconds = time.monotonic() - start
    if follower:
        follower.stop.set()
        follower.join()
    rc_file = run_dir / "rc"
    rc_text = rc_file.read_text().strip() if rc_file.exists() else ""
    output_file = run_dir / "output"
    output = output_file.read_text(errors="replace") if output_file.exists() else ""
    return VmResult(
        returncode=int(rc_text) if rc_text.isdigit() else None,
        output=output,
        serial_log=run_dir / "serial.log",
        run_dir=run_dir,
        accel=accel_name,
        seconds=seconds,
        timed_out=timed_out,
    )


def run_checked(command: str, **kwargs: object) -> VmResult:
    res = run(command, **kwargs)  # type: ignore[arg-type]
    if res.returncode != 0:
        raise HarnessError(f"{res.failure_reason()}; serial log: {res.serial_log}")
    say(f"guest command passed in {res.seconds:.1f}s ({res.accel})")
    return res
