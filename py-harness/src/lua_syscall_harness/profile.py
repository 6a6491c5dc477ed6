"""`lua-syscall profile`: where every instruction of the hot paths goes, per kernel function.

The bench kernel boots under QEMU icount with one vCPU and our TCG plugin
(py-harness/profiler/insn_profile.c), which counts executed instructions per kernel address
between markers the guest program executes (py-harness/profiler/profile_guest.c). The plugin
is built against qemu-plugin.h from Debian's qemu source package (the orig tarball of the
QEMU that runs the guest, sha256-pinned). Addresses map to functions through the bench
kernel's System.map (the guest boots with nokaslr).

Workloads, each n iterations between two markers: a direct getppid(), an empty lua_syscall(),
and one lua_syscall() whose script calls sys.getppid() 0 or 64 times (their difference / 64
is one nested call, the script's loop step included). A second boot (two vCPUs) counts
memcached's own vCPU per GET for each UDP path (profile_memcached.py runs in the guest).
Results: profile.md and profile.json (memcached.json) in build/profile-results/<UTC time>/.
"""

from __future__ import annotations

import bisect
import json
import shlex
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import build, memcached_build, vm
from .layout import HARNESS_DIR, build_root, downloads_dir, variant_dir
from .lua_source import verify_sha256
from .proc import HarnessError, Stopwatch, run, say

PROFILER_DIR = HARNESS_DIR / "profiler"
VARIANT = "bench"
# The upstream tarball of every Debian qemu 7.2 revision (bookworm), verified before use.
QEMU_ORIG = "qemu_7.2+dfsg.orig.tar.xz"
QEMU_ORIG_SHA256 = "91aca71520040edc40b8d437aa3004dae614f58e286cf653ee8996c07af2962f"
PLUGIN_HEADER = "qemu-7.2.0/include/qemu/qemu-plugin.h"

WORKLOADS = {"getppid": 20000, "null-lua": 5000, "lua-getppid-0": 2000,
             "lua-getppid-64": 300}
NESTED_CALLS = 64


def out_dir() -> Path:
    return build_root() / "profiler"


def qemu_source_version() -> str:
    return run(["dpkg-query", "-W", "-f=${source:Version}", "qemu-system-x86"],
               capture=True).stdout.strip()


def plugin_header() -> Path:
    """qemu-plugin.h from Debian's qemu source (only the orig tarball is needed)."""
    dest = downloads_dir() / "qemu"
    header = dest / PLUGIN_HEADER
    if header.exists():
        return header
    dest.mkdir(parents=True, exist_ok=True)
    orig = dest / QEMU_ORIG
    if not orig.exists():
        version = qemu_source_version()
        say(f"fetching Debian source package qemu={version} (for qemu-plugin.h)")
        run(["apt-get", "source", "--download-only", "-o", "APT::Sandbox::User=root",
             f"qemu={version}"], cwd=dest, capture=True)
    verify_sha256(orig, QEMU_ORIG_SHA256)
    run(["tar", "-xJf", str(orig), "-C", str(dest), PLUGIN_HEADER])
    return header


def build_tools() -> tuple[Path, Path]:
    """The plugin (a shared object for the host's QEMU) and the guest workload program."""
    out = out_dir()
    out.mkdir(parents=True, exist_ok=True)
    header = plugin_header()
    plugin, guest = out / "insn_profile.so", out / "profile_guest"
    cflags = ["-O2", "-g", "-Wall", "-Wextra", "-Werror", "-std=gnu11", "-D_GNU_SOURCE"]
    run(["gcc", *cflags, "-shared", "-fPIC", "-I", str(header.parent), "-o", str(plugin),
         str(PROFILER_DIR / "insn_profile.c")])
    lib = memcached_build.LIB_DIR
    run(["gcc", *cflags, f"-I{lib}", "-o", str(guest), str(PROFILER_DIR / "profile_guest.c"),
         str(lib / "lua_syscall.c")])
    return plugin, guest


@dataclass
class Snapshot:
    vcpu: int
    totals: dict[int, tuple[int, int]] = field(default_factory=dict)  # vcpu -> kernel, user
    pcs: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))


def parse_snapshots(path: Path) -> list[Snapshot]:
    snaps: list[Snapshot] = []
    cur: Snapshot | None = None
    with path.open() as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "snapshot":
                cur = Snapshot(vcpu=int(parts[3]))
            elif parts[0] == "total" and cur:
                cur.totals[int(parts[1])] = (int(parts[2]), int(parts[3]))
            elif parts[0] == "pc" and cur:
                cur.pcs[int(parts[1])][int(parts[2], 16)] = int(parts[3])
            elif parts[0] == "end" and cur:
                snaps.append(cur)
                cur = None
            elif parts[0] == "error":
                raise HarnessError(f"profiler plugin: {line.strip()}")
    return snaps


class Symbols:
    """Kernel text symbols from System.map: address -> function name."""

    def __init__(self, system_map: Path) -> None:
        entries = []
        for line in system_map.read_text().splitlines():
            addr, kind, name = line.split()[:3]
            if kind in "tTwW":
                entries.append((int(addr, 16), name))
        entries.sort()
        self.addrs = [a for a, _ in entries]
        self.names = [n for _, n in entries]

    def name(self, addr: int) -> str:
        i = bisect.bisect_right(self.addrs, addr) - 1
        return self.names[i] if i >= 0 else "?"


def window(before: Snapshot, after: Snapshot, vcpu: int, syms: Symbols,
           iterations: int) -> dict[str, object]:
    """Instructions per iteration between two snapshots on one vCPU, per kernel function."""
    k0, u0 = before.totals[vcpu]
    k1, u1 = after.totals[vcpu]
    per_fn: dict[str, int] = defaultdict(int)
    old = before.pcs.get(vcpu, {})
    for pc, count in after.pcs.get(vcpu, {}).items():
        delta = count - old.get(pc, 0)
        if delta:
            per_fn[syms.name(pc)] += delta
    return {"iterations": iterations, "kernel": (k1 - k0) / iterations,
            "user": (u1 - u0) / iterations,
            "functions": {fn: n / iterations for fn, n in
                          sorted(per_fn.items(), key=lambda kv: -kv[1])}}


def nested_call(with_calls: dict[str, object], without: dict[str, object]) -> dict[str, object]:
    """One nested call: the difference of the 64-call and 0-call scripts, / 64."""
    fa: dict[str, float] = with_calls["functions"]  # type: ignore[assignment]
    fb: dict[str, float] = without["functions"]  # type: ignore[assignment]
    diff = {fn: (fa.get(fn, 0.0) - fb.get(fn, 0.0)) / NESTED_CALLS for fn in set(fa) | set(fb)}
    return {"iterations": NESTED_CALLS,
            "kernel": (float(with_calls["kernel"]) - float(without["kernel"])) / NESTED_CALLS,  # type: ignore[arg-type]
            "user": (float(with_calls["user"]) - float(without["user"])) / NESTED_CALLS,  # type: ignore[arg-type]
            "functions": dict(sorted(diff.items(), key=lambda kv: -kv[1]))}


def guest_command(guest: Path, workloads: dict[str, int]) -> str:
    lines = ["set -e"] + [f"{shlex.quote(str(guest))} {name} {n}"
                          for name, n in workloads.items()]
    return "\n".join(lines)


def markdown(results: dict[str, dict[str, object]], top: int) -> str:
    out = []
    for name, res in results.items():
        fns: dict[str, float] = res["functions"]  # type: ignore[assignment]
        out.append(f"### {name}: {float(res['kernel']):.1f} kernel + "  # type: ignore[arg-type]
                   f"{float(res['user']):.1f} user instructions per iteration\n")  # type: ignore[arg-type]
        out.append("| kernel function | instructions |\n|---|---:|")
        shown = 0.0
        for fn, n in list(fns.items())[:top]:
            if abs(n) < 0.5:
                break
            out.append(f"| `{fn}` | {n:.1f} |")
            shown += n
        out.append(f"| (all others) | {float(res['kernel']) - shown:.1f} |\n")  # type: ignore[arg-type]
    return "\n".join(out)


def memcached_table(runs: list[dict[str, object]]) -> str:
    """Instructions of memcached's vCPU per GET, per variant and load."""
    loads = sorted({r.get("load_fraction") or 1.0 for r in runs}, reverse=True)  # type: ignore[misc]
    head = ["variant"] + [("saturation" if f == 1.0 else f"{f:.0%} load") for f in loads]
    out = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for variant in dict.fromkeys(str(r["variant"]) for r in runs):
        cells = [variant]
        for f in loads:
            match = [r for r in runs if r["variant"] == variant
                     and (r.get("load_fraction") or 1.0) == f]
            cells.append(f"{match[0]['per_get']:.0f}" if match else "")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def profile_memcached(plugin: Path, guest: Path, results_dir: Path, syms: Symbols,
                      timeout: float, top: int) -> str:
    """memcached's own instructions per GET (its vCPU only), by kernel function."""
    memcached_build.build_all()
    counts = results_dir / "counts-memcached.txt"
    command = (f"{shlex.quote(sys.executable)} -m lua_syscall_harness.profile_memcached "
               f"--out /run/lsout/memcached.json --marker {shlex.quote(str(guest))}")
    say("booting the bench kernel (2 vCPUs, icount) for memcached's instructions per GET")
    res = vm.run(command, variant=VARIANT, timeout=timeout, cpus=2, smp_sockets=True,
                 icount_shift=0, append="nokaslr tsc_early_khz=1000000 tsc=reliable",
                 qemu_extra=("-plugin", f"{plugin},out={counts},pcs=on"), stream=True)
    if res.returncode != 0:
        raise HarnessError(f"memcached profile guest: {res.failure_reason()}; serial log "
                           f"{res.serial_log}")
    runs = json.loads((res.run_dir / "memcached.json").read_text())
    snaps = parse_snapshots(counts)
    for r in runs:
        first, last = r["snapshots"]
        w = window(snaps[first], snaps[last], 0, syms, max(r["gets"], 1))
        r["per_get"] = float(w["kernel"]) + float(w["user"])  # type: ignore[arg-type]
        r["profile"] = w
    (results_dir / "memcached.json").write_text(json.dumps(runs, indent=1))
    text = ["## memcached: instructions of its vCPU per GET (64-byte values)\n",
            "Everything vCPU 0 executed between two markers (memcached, the kernel work it "
            "causes), divided by the GETs it served (its cmd_get); offered loads are "
            "fractions of the slowest variant's saturation rate in this boot.\n",
            memcached_table(runs), ""]
    for r in runs:
        if r.get("load_fraction"):
            continue
        text.append(f"### memcached {r['variant']}, saturated: per GET")
        text.append(markdown({r["variant"]: r["profile"]}, top).split("\n", 2)[2])
    return "\n".join(text)


def profile(*, skip_build: bool = False, top: int = 25, timeout: float = 1200,
            memcached: bool = True) -> int:
    clock = Stopwatch()
    if not skip_build:
        say("building the bench kernel")
        build.build(VARIANT)
    plugin, guest = build_tools()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    results_dir = build_root() / "profile-results" / stamp
    results_dir.mkdir(parents=True)
    counts = results_dir / "counts.txt"
    say(f"booting the bench kernel under icount with the profiler plugin ({len(WORKLOADS)} "
        "workloads)")
    res = vm.run(guest_command(guest, WORKLOADS), variant=VARIANT, timeout=timeout, cpus=1,
                 icount_shift=0, append="nokaslr tsc_early_khz=1000000 tsc=reliable",
                 qemu_extra=("-plugin", f"{plugin},out={counts},pcs=on"))
    if res.returncode != 0:
        raise HarnessError(f"profile guest: {res.failure_reason()}; output: "
                           f"{res.output[-500:]}; serial log {res.serial_log}")
    snaps = parse_snapshots(counts)
    # two markers per workload, then the plugin's own snapshot at exit
    if len(snaps) < 2 * len(WORKLOADS):
        raise HarnessError(f"expected {2 * len(WORKLOADS)} snapshots, got {len(snaps)}")
    syms = Symbols(variant_dir(VARIANT) / "System.map")
    results: dict[str, dict[str, object]] = {}
    for i, (name, n) in enumerate(WORKLOADS.items()):
        results[name] = window(snaps[2 * i], snaps[2 * i + 1], 0, syms, n)
    results["one nested sys.getppid()"] = nested_call(results["lua-getppid-64"],
                                                      results["lua-getppid-0"])
    kernel = build.kernel_version_string(VARIANT)
    doc = {"kernel": kernel, "clock": "icount, 1 vCPU", "results": results,
           "qemu": qemu_source_version()}
    (results_dir / "profile.json").write_text(json.dumps(doc, indent=1))
    text = (f"# Instruction profile ({kernel})\n\nExecuted instructions per iteration, "
            "counted by the insn_profile QEMU plugin (icount, one vCPU).\n\n"
            + markdown(results, top))
    if memcached:
        text += "\n" + profile_memcached(plugin, guest, results_dir, syms, timeout, top)
    (results_dir / "profile.md").write_text(text)
    print(text, flush=True)
    say(f"profile in {results_dir} (total {clock})")
    return 0

