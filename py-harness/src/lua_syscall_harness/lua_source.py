"""Fetching Lua 5.4 from Debian's source package and checking it is the pinned upstream."""

from __future__ import annotations

import hashlib
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from .layout import LUA, LUA_ORIG_SHA256, LUA_ORIG_TARBALL, downloads_dir
from .proc import HarnessError, run, say

# Upstream files that never enter the kernel: the stock configuration (ours replaces it),
# the stand-alone programs, and the libraries that need an OS (io, os, package).
NOT_IMPORTED = frozenset({
    "luaconf.h", "lua.c", "luac.c", "liolib.c", "loslib.c", "loadlib.c", "lua.hpp", "Makefile",
})

# Debian patches that fix the interpreter itself, applied in a second generated commit.
# lua5.4 5.4.7-1 has none: its debian/patches are 0001-build-system.patch (Makefiles) and
# 0002-lua-modules-paths.patch (luaconf.h), neither imported. (5.4.4-3+deb12u1's fixes for
# CVE-2022-28805 and CVE-2022-33099 are upstream since 5.4.5.)
SECURITY_PATCHES: tuple[str, ...] = ()


class ChecksumMismatch(HarnessError):
    pass


@dataclass(frozen=True)
class LuaSource:
    orig_tarball: Path
    debian_tarball: Path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumMismatch(
            f"{path.name}: sha256 mismatch: expected {expected}, got {actual}. "
            f"This is not the pinned Lua release; refusing to import it. "
            f"Delete {path} to download it again."
        )


def fetch(dest: Path | None = None) -> LuaSource:
    """Download lua5.4's source package (apt-get source) and verify the orig tarball."""
    dest = dest or downloads_dir() / "lua"
    dest.mkdir(parents=True, exist_ok=True)
    orig = dest / LUA_ORIG_TARBALL
    debian = dest / f"{LUA.package}_{LUA.version}.debian.tar.xz"
    if not (orig.exists() and debian.exists()):
        say(f"fetching Debian source package {LUA.package}={LUA.version}")
        run(["apt-get", "source", "--download-only", "-o", "APT::Sandbox::User=root",
             f"{LUA.package}={LUA.version}"], cwd=dest, capture=True)
    expected = os.environ.get("LUA_SYSCALL_LUA_SHA256", LUA_ORIG_SHA256)
    verify_sha256(orig, expected)
    return LuaSource(orig_tarball=orig, debian_tarball=debian)


def extract_core(src: LuaSource, dest: Path) -> list[str]:
    """Write the imported core files into dest; return their names, sorted."""
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    with tarfile.open(src.orig_tarball) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if len(parts) != 3 or parts[1] != "src" or not member.isfile():
                continue
            name = parts[2]
            if name in NOT_IMPORTED:
                continue
            data = tar.extractfile(member)
            assert data is not None
            (dest / name).write_bytes(data.read())
            names.append(name)
    if "lua.h" not in names:
        raise HarnessError(f"{src.orig_tarball}: no src/lua.h; not a Lua source tarball")
    return sorted(names)


def debian_patches(src: LuaSource) -> list[tuple[str, bytes]]:
    """Every patch of the Debian package, as (name, patch text) in debian/patches/series order."""
    with tarfile.open(src.debian_tarball) as tar:
        def read(name: str) -> bytes:
            data = tar.extractfile(f"debian/patches/{name}")
            assert data is not None
            return data.read()
        try:
            series = read("series").decode()
        except KeyError:  # a package without patches
            return []
        names = [line.split()[0] for line in series.splitlines()
                 if line.strip() and not line.startswith("#")]
        return [(name, read(name)) for name in names]


def security_patches(src: LuaSource) -> list[tuple[str, bytes]]:
    """Debian's fixes to the interpreter, as (name, patch text) in series order."""
    found = dict(debian_patches(src))
    missing = [p for p in SECURITY_PATCHES if p not in found]
    if missing:
        raise HarnessError(f"{src.debian_tarball}: missing Debian patches {missing}")
    return [(p, found[p]) for p in SECURITY_PATCHES]
