"""Configuring and building the kernel variants out of tree, with ccache and progress."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
from pathlib import Path

from .layout import (
    ARCHES,
    CONFIGS_DIR,
    DEFAULT_ARCH,
    REPO_ROOT,
    build_lock,
    build_root,
    kernel_tree,
    variant_dir,
)
from .proc import HarnessError, Stopwatch, run, say

VARIANTS = ("debug", "stack16", "bench")
# The fragments of a variant on top of base.config, when not just <variant>.config.
VARIANT_FRAGMENTS = {"stack16": ("debug.config", "stack16.config")}
FEATURE_FRAGMENT = REPO_ROOT / "Kconfig.fragment"
PROGRESS_EVERY = 15.0
_OPTION = re.compile(r"^(?:(CONFIG_\w+)=(.*)|# (CONFIG_\w+) is not set)$")
# make's ARCH, the cross-compiler prefix and the boot image, per architecture.
MAKE_ARCH = {"x86_64": "x86_64", "arm64": "arm64"}
CROSS_COMPILE = {"x86_64": "", "arm64": "aarch64-linux-gnu-"}
IMAGE = {"x86_64": "arch/x86/boot/bzImage", "arm64": "arch/arm64/boot/Image"}


def _check_arch(arch: str) -> None:
    if arch not in ARCHES:
        raise HarnessError(f"unknown arch {arch!r}: expected one of {', '.join(ARCHES)}")


def fragments(variant: str, arch: str = DEFAULT_ARCH) -> list[Path]:
    """base.config, the variant's fragments and the feature's, for one architecture.

    Other architectures have their own base.config in configs/<arch>/, and may replace a
    variant fragment there (arm64's bench.config: the x86 one lists x86 mitigations).
    """
    if variant not in VARIANTS:
        raise HarnessError(f"unknown variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    _check_arch(arch)
    names = VARIANT_FRAGMENTS.get(variant, (f"{variant}.config",))
    if arch == DEFAULT_ARCH:
        return [CONFIGS_DIR / "base.config", *(CONFIGS_DIR / n for n in names),
                FEATURE_FRAGMENT]
    own = CONFIGS_DIR / arch
    return [own / "base.config",
            *((own / n) if (own / n).exists() else (CONFIGS_DIR / n) for n in names),
            FEATURE_FRAGMENT]


def requested_options(paths: list[Path]) -> dict[str, str]:
    """CONFIG_X -> value ('n' for 'is not set'); later fragments override earlier ones."""
    wanted: dict[str, str] = {}
    for path in paths:
        for line in path.read_text().splitlines():
            m = _OPTION.match(line.strip())
            if m:
                if m.group(1):
                    wanted[m.group(1)] = m.group(2)
                else:
                    wanted[m.group(3)] = "n"
    return wanted


def config_values(config: Path) -> dict[str, str]:
    return requested_options([config])


def unmet_options(wanted: dict[str, str], actual: dict[str, str]) -> list[str]:
    return [f"{k}={v} (got {actual.get(k, 'n')})"
            for k, v in wanted.items() if actual.get(k, "n") != v]


def make_args(variant: str, arch: str = DEFAULT_ARCH) -> list[str]:
    return make_args_for(kernel_tree(), variant_dir(variant, arch), arch)


def make_args_for(source: Path, out: Path, arch: str = DEFAULT_ARCH) -> list[str]:
    """make of the kernel tree at source, out of tree in out, with ccache."""
    _check_arch(arch)
    jobs = os.cpu_count() or 2
    cross = CROSS_COMPILE[arch]
    args = ["make", "-C", str(source), f"O={out}", f"ARCH={MAKE_ARCH[arch]}", f"-j{jobs + 1}",
            f"CC=ccache {cross}gcc", "HOSTCC=ccache gcc"]
    if cross:
        args.append(f"CROSS_COMPILE={cross}")
    return args


def image_path(variant: str, arch: str = DEFAULT_ARCH) -> Path:
    return variant_dir(variant, arch) / IMAGE[arch]


def ccache_env() -> dict[str, str]:
    return {
        "CCACHE_BASEDIR": str(build_root()),
        "CCACHE_NOHASHDIR": "true",
        "CCACHE_SLOPPINESS": "time_macros",
        "CCACHE_MAXSIZE": os.environ.get("CCACHE_MAXSIZE", "15G"),
    }


def configure(variant: str, arch: str = DEFAULT_ARCH) -> Path:
    """Write O=<variant>/.config from tinyconfig + fragments unless they are unchanged."""
    out = variant_dir(variant, arch)
    out.mkdir(parents=True, exist_ok=True)
    frags = fragments(variant, arch)
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in frags)).hexdigest()
    stamp = out / ".lua-syscall-config"
    config = out / ".config"
    if config.exists() and stamp.exists() and stamp.read_text() == digest:
        return config
    name = variant if arch == DEFAULT_ARCH else f"{arch} {variant}"
    say(f"configuring {name}: tinyconfig + "
        f"{', '.join(str(f.relative_to(REPO_ROOT)) for f in frags)}")
    env = ccache_env()
    run([*make_args(variant, arch), "tinyconfig"], env=env, capture=True)
    run([str(kernel_tree() / "scripts/kconfig/merge_config.sh"), "-m", "-O", str(out),
         str(config), *map(str, frags)], cwd=kernel_tree(), env=env, capture=True)
    run([*make_args(variant, arch), "olddefconfig"], env=env, capture=True)
    unmet = unmet_options(requested_options(frags), config_values(config))
    if unmet:
        raise HarnessError(f"{name} config: options not applied (missing dependency or "
                           f"typo in a fragment): {'; '.join(unmet)}")
    stamp.write_text(digest)
    return config


def build(variant: str, targets: tuple[str, ...] | None = None,
          arch: str = DEFAULT_ARCH) -> Path:
    with build_lock():
        return _build_locked(variant, targets, arch)


def _build_locked(variant: str, targets: tuple[str, ...] | None = None,
                  arch: str = DEFAULT_ARCH) -> Path:
    """Build the variant incrementally; return the boot image's path (bzImage, Image)."""
    targets = targets or (Path(IMAGE[arch]).name,)
    configure(variant, arch)
    out = variant_dir(variant, arch)
    if arch != DEFAULT_ARCH:
        variant = f"{arch} {variant}"
    log = out / "build.log"
    clock = Stopwatch()
    say(f"building {variant} kernel ({' '.join(targets)}); log: {log}")
    objects = 0
    last = time.monotonic()
    with log.open("w") as logf:
        proc = subprocess.Popen([*make_args_for(kernel_tree(), out, arch), *targets],
                                env={**os.environ, **ccache_env()}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            logf.write(line)
            if line.startswith("  CC ") or line.startswith("  AS "):
                objects += 1
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                say(f"  {variant}: {objects} objects compiled, {clock}")
        rc = proc.wait()
    if rc != 0:
        errors = [ln for ln in log.read_text().splitlines()
                  if "error" in ln.lower() or "Error " in ln][-15:]
        raise HarnessError(f"{variant} build failed (exit {rc}) after {clock}; see {log}\n"
                           + "\n".join(errors))
    image = out / IMAGE[arch]
    say(f"{variant} kernel built in {clock} ({objects} objects compiled): {image}")
    return image


def kernel_release(variant: str, arch: str = DEFAULT_ARCH) -> str:
    return (variant_dir(variant, arch) / "include/config/kernel.release").read_text().strip()


def kernel_version_string(variant: str, arch: str = DEFAULT_ARCH) -> str:
    """UTS_VERSION of the last link: '#N SMP PREEMPT_DYNAMIC <date>', unique per build."""
    text = (variant_dir(variant, arch) / "include/generated/utsversion.h").read_text()
    m = re.search(r'#define UTS_VERSION "(.*)"', text)
    if not m:
        raise HarnessError(f"no UTS_VERSION in {variant} build")
    return m.group(1)
