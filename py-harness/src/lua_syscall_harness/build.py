"""Configuring and building the kernel variants out of tree, with ccache and progress."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
from pathlib import Path

from .layout import CONFIGS_DIR, REPO_ROOT, build_lock, build_root, kernel_tree, variant_dir
from .proc import HarnessError, Stopwatch, run, say

VARIANTS = ("debug", "stack16", "bench")
# The fragments of a variant on top of base.config, when not just <variant>.config.
VARIANT_FRAGMENTS = {"stack16": ("debug.config", "stack16.config")}
FEATURE_FRAGMENT = REPO_ROOT / "Kconfig.fragment"
PROGRESS_EVERY = 15.0
_OPTION = re.compile(r"^(?:(CONFIG_\w+)=(.*)|# (CONFIG_\w+) is not set)$")


def fragments(variant: str) -> list[Path]:
    if variant not in VARIANTS:
        raise HarnessError(f"unknown variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    names = VARIANT_FRAGMENTS.get(variant, (f"{variant}.config",))
    return [CONFIGS_DIR / "base.config", *(CONFIGS_DIR / n for n in names), FEATURE_FRAGMENT]


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


def make_args(variant: str) -> list[str]:
    return make_args_for(kernel_tree(), variant_dir(variant))


def make_args_for(source: Path, out: Path) -> list[str]:
    """make of the kernel tree at source, out of tree in out, with ccache."""
    jobs = os.cpu_count() or 2
    return ["make", "-C", str(source), f"O={out}", "ARCH=x86_64", f"-j{jobs + 1}",
            "CC=ccache gcc", "HOSTCC=ccache gcc"]


def ccache_env() -> dict[str, str]:
    return {
        "CCACHE_BASEDIR": str(build_root()),
        "CCACHE_NOHASHDIR": "true",
        "CCACHE_SLOPPINESS": "time_macros",
        "CCACHE_MAXSIZE": os.environ.get("CCACHE_MAXSIZE", "15G"),
    }


def configure(variant: str) -> Path:
    """Write O=<variant>/.config from tinyconfig + fragments unless they are unchanged."""
    out = variant_dir(variant)
    out.mkdir(parents=True, exist_ok=True)
    frags = fragments(variant)
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in frags)).hexdigest()
    stamp = out / ".lua-syscall-config"
    config = out / ".config"
    if config.exists() and stamp.exists() and stamp.read_text() == digest:
        return config
    say(f"configuring {variant}: tinyconfig + {', '.join(f.name for f in frags)}")
    env = ccache_env()
    run([*make_args(variant), "tinyconfig"], env=env, capture=True)
    run([str(kernel_tree() / "scripts/kconfig/merge_config.sh"), "-m", "-O", str(out),
         str(config), *map(str, frags)], cwd=kernel_tree(), env=env, capture=True)
    run([*make_args(variant), "olddefconfig"], env=env, capture=True)
    unmet = unmet_options(requested_options(frags), config_values(config))
    if unmet:
        raise HarnessError(f"{variant} config: options not applied (missing dependency or "
                           f"typo in a fragment): {'; '.join(unmet)}")
    stamp.write_text(digest)
    return config


def build(variant: str, targets: tuple[str, ...] = ("bzImage",)) -> Path:
    with build_lock():
        return _build_locked(variant, targets)


def _build_locked(variant: str, targets: tuple[str, ...] = ("bzImage",)) -> Path:
    """Build the variant incrementally; return the bzImage path."""
    configure(variant)
    out = variant_dir(variant)
    log = out / "build.log"
    clock = Stopwatch()
    say(f"building {variant} kernel ({' '.join(targets)}); log: {log}")
    objects = 0
    last = time.monotonic()
    with log.open("w") as logf:
        proc = subprocess.Popen([*make_args(variant), *targets],
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
    image = out / "arch/x86/boot/bzImage"
    say(f"{variant} kernel built in {clock} ({objects} objects compiled): {image}")
    return image


def kernel_release(variant: str) -> str:
    return (variant_dir(variant) / "include/config/kernel.release").read_text().strip()


def kernel_version_string(variant: str) -> str:
    """UTS_VERSION of the last link: '#N SMP PREEMPT_DYNAMIC <date>', unique per build."""
    text = (variant_dir(variant) / "include/generated/utsversion.h").read_text()
    m = re.search(r'#define UTS_VERSION "(.*)"', text)
    if not m:
        raise HarnessError(f"no UTS_VERSION in {variant} build")
    return m.group(1)
