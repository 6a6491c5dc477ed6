"""Where things live, and the pinned versions of everything fetched from Debian."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HARNESS_DIR = Path(__file__).resolve().parents[2]
REPO_ROOT = HARNESS_DIR.parent
SERIES_DIR = HARNESS_DIR / "series"
PACKAGE_DIR = Path(__file__).resolve().parent
CONFIGS_DIR = PACKAGE_DIR / "configs"
GUEST_DIR = PACKAGE_DIR / "guest"


def build_root() -> Path:
    """The ignored directory that holds the kernel tree, downloads and build outputs."""
    return Path(os.environ.get("LUA_SYSCALL_BUILD_DIR", REPO_ROOT / "build")).resolve()


_lock_depth = 0


@contextmanager
def build_lock() -> Iterator[None]:
    """Serialise tree checkouts and builds between concurrent harness processes.

    Reentrant within one process: prepare() and build() nest inside the test job.
    """
    global _lock_depth
    if _lock_depth:
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
        return
    root = build_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _lock_depth = 1
        try:
            yield
        finally:
            _lock_depth = 0
            fcntl.flock(lock, fcntl.LOCK_UN)


def kernel_tree() -> Path:
    return build_root() / "linux"


def downloads_dir() -> Path:
    return build_root() / "downloads"


# The architectures the harness builds and boots; x86_64 is the default everywhere.
ARCHES = ("x86_64", "arm64")
DEFAULT_ARCH = "x86_64"


def variant_dir(variant: str, arch: str = DEFAULT_ARCH) -> Path:
    """Out-of-tree (O=) build directory of one config variant (arm64: arm64-<variant>)."""
    return build_root() / (variant if arch == DEFAULT_ARCH else f"{arch}-{variant}")


def runs_dir() -> Path:
    return build_root() / "runs"


@dataclass(frozen=True)
class DebianSource:
    package: str
    version: str
    # A suite other than the machine's own that apt must know the source package from
    # (a deb-src entry only: nothing is installed from it).
    source_suite: str | None = None


KERNEL = DebianSource(package="linux-source-6.12", version="6.12.117-1~deb12u1")
KERNEL_TARBALL = Path("/usr/src/linux-source-6.12.tar.xz")

# Lua 5.4.7 from trixie: 5.4.5-5.4.7 fix stack-reallocation, GC and code-generation bugs;
# bookworm has only 5.4.4-3+deb12u1.
LUA_UPSTREAM_VERSION = "5.4.7"
LUA = DebianSource(package="lua5.4", version=f"{LUA_UPSTREAM_VERSION}-1", source_suite="trixie")
LUA_ORIG_TARBALL = f"lua5.4_{LUA_UPSTREAM_VERSION}.orig.tar.gz"
# Same bytes as lua.org's lua-5.4.7.tar.gz: this sha256 is the one Debian's signed
# lua5.4_5.4.7-1.dsc lists for the orig tarball, and the one published for
# https://www.lua.org/ftp/lua-5.4.7.tar.gz.
LUA_ORIG_SHA256 = "9fbf5e28ef86c69858f6d3d34eccc32e911c1a28b4120ff3e84aaa70cfbf1e30"

# Git refs inside the kernel tree.
BASE_TAG = "lua-syscall-base"
LUA_IMPORT_TAG = "lua-syscall-lua-import"
SERIES_BRANCH = "lua-syscall"
