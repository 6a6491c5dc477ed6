"""`lua-syscall setup`: idempotent install of everything the harness needs on Debian 12."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .layout import HARNESS_DIR, KERNEL, LUA, REPO_ROOT
from .proc import HarnessError, Stopwatch, run, say, sudo_prefix

APT_PACKAGES = (
    "build-essential", "flex", "bison", "bc", "libelf-dev", "libssl-dev", "cpio", "kmod",
    "xz-utils", "rsync", "git", "ccache", "dpkg-dev", "qemu-system-x86", "iproute2", "strace",
    "man-db", "groff-base",
    # checkpatch.pl's SPDX check (scripts/spdxcheck.py) imports ply and git
    "python3-ply", "python3-git",
    # the memcached benchmark: memcached's build dependency, patch(1), memaslap (memcaslap)
    "libevent-dev", "patch", "libmemcached-tools",
    # io_micro's io_uring path (and memcached's uring variant): liburing
    "liburing-dev",
)
DEB_SRC_FILE = Path("/etc/apt/sources.list.d/lua-syscall-deb-src.sources")
SOURCES_DIR = Path("/etc/apt/sources.list.d")
SOURCES_LIST = Path("/etc/apt/sources.list")


def deb_src_stanzas(sources_files: list[Path], sources_list: Path | None,
                    extra_suites: tuple[str, ...] = ()) -> list[str]:
    """deb822 deb-src stanzas mirroring every active `deb` entry (same URIs, suites, keys).

    Each of extra_suites (a newer release's suite, for one source package) gets a deb-src
    stanza of its own on the mirror of the first entry that carries the machine's release
    (a suite without a `-updates`/`-security` part), with that entry's components and key.
    Only deb-src: apt then has no binary package index of that suite, so nothing can be
    installed from it.
    """
    stanzas = []
    for path in sources_files:
        for block in re.split(r"\n\s*\n", path.read_text()):
            fields = {}
            for line in block.splitlines():
                if ":" in line and not line.startswith(("#", " ")):
                    key, _, value = line.partition(":")
                    fields[key.strip()] = value.strip()
            if "deb" not in fields.get("Types", "").split() or fields.get("Enabled") == "no":
                continue
            lines = ["Types: deb-src"] + [f"{k}: {fields[k]}" for k in
                                          ("URIs", "Suites", "Components", "Signed-By")
                                          if k in fields]
            stanzas.append("\n".join(lines))
    if sources_list and sources_list.exists():
        for line in sources_list.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb":
                opts = []
                if parts[1].startswith("["):
                    opts = [parts.pop(1).strip("[]")]
                uri, suite, *components = parts[1:]
                stanza = f"Types: deb-src\nURIs: {uri}\nSuites: {suite}"
                if components:
                    stanza += f"\nComponents: {' '.join(components)}"
                for opt in opts:
                    key, _, value = opt.partition("=")
                    if key == "signed-by":
                        stanza += f"\nSigned-By: {value}"
                stanzas.append(stanza)
    return stanzas + _extra_suite_stanzas(stanzas, extra_suites)


def _extra_suite_stanzas(stanzas: list[str], extra_suites: tuple[str, ...]) -> list[str]:
    have = {s for stanza in stanzas for s in _field(stanza, "Suites").split()}
    wanted = [s for s in extra_suites if s not in have]
    if not wanted:
        return []
    for stanza in stanzas:
        if any("-" not in s for s in _field(stanza, "Suites").split()):
            lines = [line if not line.startswith("Suites:") else f"Suites: {' '.join(wanted)}"
                     for line in stanza.splitlines()]
            return ["\n".join(lines)]
    raise HarnessError(f"no `deb` entry for the machine's release in /etc/apt: cannot add "
                       f"deb-src entries for {' '.join(wanted)}")


def _field(stanza: str, key: str) -> str:
    for line in stanza.splitlines():
        if line.startswith(f"{key}:"):
            return line.partition(":")[2].strip()
    return ""


def ensure_deb_src() -> bool:
    """Write the deb-src entry file; True when it changed (apt-get update needed)."""
    files = sorted(p for p in SOURCES_DIR.glob("*.sources") if p != DEB_SRC_FILE)
    extra = tuple(s for s in (LUA.source_suite,) if s)
    stanzas = deb_src_stanzas(files, SOURCES_LIST, extra)
    if not stanzas:
        raise HarnessError("no active `deb` entries in /etc/apt: cannot add deb-src entries")
    header = ("# Written by `lua-syscall setup`: source entries for the machine's suites,\n"
              "# so that `apt-get source lua5.4 memcached` works.\n")
    if extra:
        header += (f"# {' '.join(extra)}: for {LUA.package} {LUA.version} only; deb-src alone, so "
                   "no binary\n# package can be installed from it.\n")
    text = header + "\n" + "\n\n".join(stanzas) + "\n"
    if DEB_SRC_FILE.exists() and DEB_SRC_FILE.read_text() == text:
        return False
    run([*sudo_prefix(), "tee", str(DEB_SRC_FILE)], input_text=text, capture=True)
    return True


def missing_packages(wanted: dict[str, str | None]) -> list[str]:
    """apt-get arguments for the packages not installed at the wanted version."""
    res = run(["dpkg-query", "-W", "-f=${Package} ${Version} ${db:Status-Abbrev}\n",
               *wanted], capture=True, check=False)
    installed = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2].startswith("ii"):
            installed[parts[0]] = parts[1]
    out = []
    for pkg, version in wanted.items():
        if pkg not in installed or (version and installed[pkg] != version):
            out.append(f"{pkg}={version}" if version else pkg)
    return out


def have_source(package: str, version: str) -> bool:
    res = run(["apt-cache", "showsrc", package], capture=True, check=False)
    return f"Version: {version}" in res.stdout


def setup() -> None:
    clock = Stopwatch()
    apt_env = {"DEBIAN_FRONTEND": "noninteractive"}
    changed_sources = ensure_deb_src()
    wanted: dict[str, str | None] = dict.fromkeys(APT_PACKAGES)
    wanted[KERNEL.package] = KERNEL.version
    missing = missing_packages(wanted)
    if changed_sources or missing or not have_source(LUA.package, LUA.version):
        say("apt-get update")
        run([*sudo_prefix(), "apt-get", "update", "-q"], env=apt_env, capture=True)
    if missing:
        say(f"installing Debian packages: {' '.join(missing)}")
        run([*sudo_prefix(), "apt-get", "install", "-y", "-q", "--no-install-recommends",
             *missing], env=apt_env, capture=True)
    if not have_source(LUA.package, LUA.version):
        raise HarnessError(f"apt has no source package {LUA.package} {LUA.version}; "
                           f"check {DEB_SRC_FILE}")
    say("installing Python dependencies (pip)")
    # the applications' package (python/) too: the harness and its guest tests import it
    run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "-e", str(REPO_ROOT / "python"), "-e", f"{HARNESS_DIR}[test]"], capture=True)
    run(["ccache", "--max-size=15G"], capture=True)
    say(f"set-up complete in {clock}")
