"""The arm64 guest: a cross-built kernel in qemu-system-aarch64 (virt machine, TCG).

The x86-64 guest runs the host's own root, Python included, over 9p; an arm64 guest cannot.
Its user space is an initramfs made from Debian packages: busybox-static:arm64 as /bin and
/init (guest/init-arm64.sh), and the lua_syscall kselftests, cross-compiled and statically
linked against the arm64 build's uapi headers, in /ksft. The run directory (command, output,
exit status) is shared over virtio-mmio 9p as on x86, so vm.run() works for both; KUnit runs
at boot and shows in the serial log.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import stat
from pathlib import Path

from .build import CROSS_COMPILE, ccache_env, make_args
from .layout import GUEST_DIR, build_lock, downloads_dir, kernel_tree, variant_dir
from .proc import HarnessError, run, say, sudo_prefix

ARCH = "arm64"
# Cross compiler and C library, qemu-system-aarch64 (Debian's qemu-system-arm package).
APT_PACKAGES = ("gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross", "qemu-system-arm")
BUSYBOX_PACKAGE = "busybox-static:arm64"
KSELFTEST_TARGET = "lua_syscall"
GUEST_MOUNT = "/ksft"
"""Where the kselftest install lives in the guest."""


def setup() -> None:
    """Install the cross tools and QEMU; enable arm64 as a foreign dpkg architecture
    (for `apt-get download` of the guest's busybox only: nothing arm64 is installed)."""
    sudo = sudo_prefix()
    foreign = run(["dpkg", "--print-foreign-architectures"], capture=True).stdout.split()
    if ARCH not in foreign:
        say("adding arm64 as a foreign dpkg architecture (for busybox-static:arm64)")
        run([*sudo, "dpkg", "--add-architecture", ARCH])
        run([*sudo, "apt-get", "update", "-q"], capture=True)
    missing = [p for p in APT_PACKAGES if run(["dpkg-query", "-W", "-f=${Status}", p],
                                               capture=True, check=False).stdout
               != "install ok installed"]
    if missing:
        say(f"installing {' '.join(missing)}")
        run([*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
             *missing], capture=True)
    busybox()


def tools_installed() -> bool:
    return all(shutil.which(tool) for tool in (f"{CROSS_COMPILE[ARCH]}gcc",
                                               "qemu-system-aarch64"))


def busybox() -> Path:
    """Debian's statically linked arm64 busybox, downloaded (not installed) and unpacked."""
    dest = downloads_dir() / "arm64-busybox"
    binary = dest / "bin" / "busybox"
    if binary.exists():
        return binary
    debs = downloads_dir() / "arm64-debs"
    debs.mkdir(parents=True, exist_ok=True)
    for old in debs.glob("busybox-static_*_arm64.deb"):
        old.unlink()
    say(f"downloading {BUSYBOX_PACKAGE}")
    run(["apt-get", "download", "-q", BUSYBOX_PACKAGE], cwd=debs, capture=True)
    found = sorted(debs.glob("busybox-static_*_arm64.deb"))
    if not found:
        raise HarnessError(f"apt-get download {BUSYBOX_PACKAGE} left no .deb in {debs}")
    run(["dpkg-deb", "-x", str(found[-1]), str(dest)])
    if not binary.exists():
        raise HarnessError(f"{found[-1].name} has no bin/busybox")
    return binary


def kselftest_dir(variant: str) -> Path:
    return variant_dir(variant, ARCH) / "kselftest_install"


def build_kselftests(variant: str) -> Path:
    """Cross-compile the lua_syscall kselftests, statically linked, against the variant's
    uapi headers; return the install directory (run_kselftest.sh and lua_syscall/)."""
    out = variant_dir(variant, ARCH)
    dest = kselftest_dir(variant)
    cross = CROSS_COMPILE[ARCH]
    say(f"cross-building kselftests ({KSELFTEST_TARGET}, static) into {dest}")
    with build_lock():
        run([*make_args(variant, ARCH), "headers"], env=ccache_env(), capture=True)
        run(["make", "-C", str(kernel_tree() / "tools/testing/selftests"),
             f"TARGETS={KSELFTEST_TARGET}", f"ARCH={ARCH}", f"CROSS_COMPILE={cross}",
             f"CC={cross}gcc", "LDFLAGS=-static",
             f"KHDR_INCLUDES=-isystem {out / 'usr/include'}",
             f"O={out / 'kselftest_build'}", f"KSFT_INSTALL_PATH={dest}", "install"],
            capture=True)
    return dest


def _cpio_entry(name: str, mode: int, data: bytes = b"", ino: int = 0,
                rdev: tuple[int, int] = (0, 0)) -> bytes:
    """One entry of a newc cpio archive (the initramfs format)."""
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, *rdev, len(name) + 1, 0]
    header = b"070701" + b"".join(f"{v:08x}".encode() for v in fields)
    blob = header + name.encode() + b"\0"
    blob += b"\0" * (-len(blob) % 4)
    blob += data + b"\0" * (-len(data) % 4)
    return blob


def initramfs_bytes(init: Path, busybox_path: Path, ksft: Path) -> bytes:
    """A gzipped newc cpio: /init, /bin/busybox, /ksft/... and the mount points."""
    out = io.BytesIO()
    ino = 1
    dirs = ["bin", "dev", "proc", "sys", "tmp", "run", "root", GUEST_MOUNT.strip("/")]
    for d in dirs:
        out.write(_cpio_entry(d, stat.S_IFDIR | 0o755, ino=ino))
        ino += 1
    # The kernel opens it for init's stdin/out/err before devtmpfs is mounted.
    out.write(_cpio_entry("dev/console", stat.S_IFCHR | 0o600, ino=ino, rdev=(5, 1)))
    ino += 1
    files = [("init", init), ("bin/busybox", busybox_path)]
    for path in sorted(ksft.rglob("*")):
        rel = f"{GUEST_MOUNT.strip('/')}/{path.relative_to(ksft)}"
        if path.is_dir():
            out.write(_cpio_entry(rel, stat.S_IFDIR | 0o755, ino=ino))
            ino += 1
        elif path.is_file():
            files.append((rel, path))
    for name, path in files:
        mode = 0o755 if os.access(path, os.X_OK) or name == "init" else 0o644
        out.write(_cpio_entry(name, stat.S_IFREG | mode, path.read_bytes(), ino=ino))
        ino += 1
    out.write(_cpio_entry("TRAILER!!!", 0))
    return gzip.compress(out.getvalue(), compresslevel=6, mtime=0)


def initramfs(variant: str) -> Path:
    """The guest's initramfs for the variant, rewritten only when its content changes."""
    ksft = kselftest_dir(variant)
    if not (ksft / "run_kselftest.sh").exists():
        build_kselftests(variant)
    data = initramfs_bytes(GUEST_DIR / "init-arm64.sh", busybox(), ksft)
    path = variant_dir(variant, ARCH) / "initramfs.cpio.gz"
    if not path.exists() or hashlib.sha256(path.read_bytes()).digest() != \
            hashlib.sha256(data).digest():
        path.write_bytes(data)
    return path


def qemu_command(kernel: Path, initrd: Path, run_dir: Path, *, memory_mb: int, cpus: int,
                 append: str = "") -> list[str]:
    """qemu-system-aarch64 on the virt machine under TCG (KVM cannot run arm64 on x86)."""
    cmdline = ["console=ttyAMA0", "rdinit=/init", "panic=-1", *append.split()]
    return [
        "qemu-system-aarch64", "-nodefaults", "-no-user-config", "-display", "none",
        "-no-reboot", "-machine", "virt,gic-version=3", "-accel", "tcg,thread=multi",
        # max: every feature QEMU emulates, pointer authentication included; the
        # implementation-defined PAC algorithm is much cheaper to emulate than QARMA.
        "-cpu", "max,pauth-impdef=on",
        "-smp", str(cpus), "-m", str(memory_mb),
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", " ".join(cmdline),
        "-fsdev", f"local,id=lsout,path={run_dir},security_model=none",
        "-device", "virtio-9p-device,fsdev=lsout,mount_tag=lsout",
        "-serial", f"file:{run_dir / 'serial.log'}",
    ]
