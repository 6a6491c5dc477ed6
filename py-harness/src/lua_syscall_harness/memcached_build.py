"""memcached for the benchmark: Debian's source package, our UDP-batching patch, a local build.

Also builds the C load generator and the microbenchmarks in py-harness/loadgen. Everything
lands under build/memcached and build/loadgen (the guest sees them through the shared root).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from .layout import HARNESS_DIR, REPO_ROOT, DebianSource, build_root, downloads_dir
from .lua_source import verify_sha256
from .proc import HarnessError, run, say

# The pinned source package (bookworm-security) and its upstream tarball's sha256.
MEMCACHED = DebianSource(package="memcached", version="1.6.18-1+deb12u1")
MEMCACHED_ORIG_SHA256 = "35872bd25f8d29d7cc2072d23e74344530891bfd0aa4f4f64184a8ae7291164b"

PATCH_DIR = HARNESS_DIR / "memcached"
# bumped when the configure line changes, so that the stamp forces a rebuild
CONFIGURE_VERSION = b"configure-2: LIBS=-luring"
LUA_SCRIPT = PATCH_DIR / "udp_batch.lua"
# LD_PRELOAD shim for memaslap: no SO_REUSEADDR on its UDP sockets (see the source)
NOREUSE_SOURCE = PATCH_DIR / "udp_noreuse.c"
LOADGEN_DIR = HARNESS_DIR / "loadgen"
# tools/lib/lua_syscall of the series: memcached's lua path and the load tools link it
LIB_DIR = REPO_ROOT / "tools" / "lib" / "lua_syscall"
LOADGEN_PROGRAMS = ("mc_loadgen", "syscall_micro", "syscount", "tsc_khz", "io_micro",
                    "null_syscall", "chain_micro")


def build_dir() -> Path:
    return build_root() / "memcached"


def binary() -> Path:
    return build_dir() / "src" / "memcached"


def noreuse_shim() -> Path:
    return build_root() / "memaslap" / "udp_noreuse.so"


def build_noreuse_shim() -> Path:
    """Compile the memaslap LD_PRELOAD shim (when its source is newer)."""
    out = noreuse_shim()
    if out.exists() and out.stat().st_mtime >= NOREUSE_SOURCE.stat().st_mtime:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    run(["gcc", "-O2", "-Wall", "-Werror", "-shared", "-fPIC", "-o", str(out),
         str(NOREUSE_SOURCE), "-ldl"], capture=True)
    return out


def loadgen_dir() -> Path:
    return build_root() / "loadgen"


def loadgen_binary(name: str) -> Path:
    return loadgen_dir() / name


def patch_series() -> list[Path]:
    names = (PATCH_DIR / "series").read_text().split()
    return [PATCH_DIR / n for n in names if not n.startswith("#")]


def fetch() -> Path:
    """apt-get source (download only) the pinned memcached; verify its upstream tarball."""
    dest = downloads_dir() / "memcached"
    dest.mkdir(parents=True, exist_ok=True)
    dsc = dest / f"{MEMCACHED.package}_{MEMCACHED.version}.dsc"
    orig = dest / f"{MEMCACHED.package}_{MEMCACHED.version.split('-')[0]}.orig.tar.xz"
    if not (dsc.exists() and orig.exists()):
        say(f"fetching Debian source package {MEMCACHED.package}={MEMCACHED.version}")
        run(["apt-get", "source", "--download-only", "-o", "APT::Sandbox::User=root",
             f"{MEMCACHED.package}={MEMCACHED.version}"], cwd=dest, capture=True)
    verify_sha256(orig, MEMCACHED_ORIG_SHA256)
    return dsc


def _stamp_text(dsc: Path) -> str:
    h = hashlib.sha256(dsc.read_bytes())
    h.update(CONFIGURE_VERSION)
    for p in [*patch_series(), *sorted(LIB_DIR.glob("*"))]:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def build_library(out: Path) -> Path:
    """liblua_syscall.a from the series' tools/lib/lua_syscall, built into out/."""
    out.mkdir(parents=True, exist_ok=True)
    run(["make", "-s", "-C", str(LIB_DIR), f"OUTPUT={out}/"], capture=True)
    return out / "liblua_syscall.a"


def build() -> Path:
    """Extract (with Debian's patches), apply our series, configure and make; idempotent."""
    dsc = fetch()
    out = build_dir()
    stamp = out / ".stamp"
    digest = _stamp_text(dsc)
    if binary().exists() and stamp.exists() and stamp.read_text() == digest:
        return binary()
    src = out / "src"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    say(f"building memcached {MEMCACHED.version} + {len(patch_series())} patch(es)")
    run(["dpkg-source", "-x", str(dsc), str(src)], capture=True)
    for p in patch_series():
        run(["patch", "-p1", "--forward", "--batch", "-i", str(p)], cwd=src, capture=True)
    # SASL and TLS off: the benchmark needs neither, and UDP refuses SASL anyway.
    # liburing (liburing-dev) for the udp_io=uring path, liblua_syscall for the lua path.
    lib = build_library(out / "liblua_syscall")
    run(["./configure", "--disable-sasl", "--disable-tls", "--disable-dependency-tracking",
         f"CPPFLAGS=-I{LIB_DIR.parent}", f"LIBS=-luring {lib}"], cwd=src, capture=True)
    run(["make", "-j2", "memcached"], cwd=src, capture=True)
    if not binary().exists():
        raise HarnessError(f"memcached build produced no {binary()}")
    stamp.write_text(digest)
    return binary()


def build_loadgen() -> Path:
    """Compile the load generator and microbenchmarks (make, incremental)."""
    out = loadgen_dir()
    out.mkdir(parents=True, exist_ok=True)
    run(["make", "-s", "-C", str(LOADGEN_DIR), f"OUT={out}", f"LIBLUA_SYSCALL={LIB_DIR}"],
        capture=True)
    for name in LOADGEN_PROGRAMS:
        if not loadgen_binary(name).exists():
            raise HarnessError(f"loadgen build produced no {loadgen_binary(name)}")
    return out


def build_all() -> None:
    build()
    build_noreuse_shim()
    build_loadgen()
    say(f"memcached: {binary()}; load generator: {loadgen_dir()}")
