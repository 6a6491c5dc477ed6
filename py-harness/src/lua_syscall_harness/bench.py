"""`lua-syscall bench`: build the bench kernel and memcached, run the benchmark in one guest boot.

Results go to build/bench-results/<UTC time>/: raw.json (every run), summary.json,
summary.md and memcached-udp.png.
"""

from __future__ import annotations

import json
import platform
import shlex
import shutil
import sys
import time
from pathlib import Path

from . import bench_report, build, logscan, memcached_build, profile, tree, vm
from .layout import REPO_ROOT, build_root
from .proc import HarnessError, Stopwatch, say
from .proc import run as run_cmd

VARIANT = "bench"


def results_dir() -> Path:
    return build_root() / "bench-results" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def host_info() -> dict[str, str]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"cpu": model, "host_kernel": platform.release(),
            "host_loadavg": Path("/proc/loadavg").read_text().strip()}


def add_server_instructions(doc: dict, snaps: list[profile.Snapshot]) -> None:
    """Each measured run's vCPU 0 (memcached's) instructions, and per GET it served."""
    for r in doc["runs"]:
        if "snapshots" not in r:
            continue
        first, last = (snaps[i] for i in r["snapshots"])
        insns = sum(last.totals[0]) - sum(first.totals[0])
        gets = r.get("server_stats_delta", {}).get("cmd_get", 0)
        r["server_insns"] = insns
        if gets:
            r["server_insns_per_get"] = insns / gets


def run(guest_args: list[str], *, timeout: float, skip_build: bool = False,
        wall_clock: bool = False) -> int:
    total = Stopwatch()
    if not skip_build:
        tree.prepare()
        say("building the bench kernel (no debug options, mitigations on)")
        build.build(VARIANT)
        memcached_build.build_all()
    # memcached's own instructions per GET: the insn_profile plugin counts vCPU 0's
    # instructions; the guest runner marks each measured run's start and end.
    plugin, marker = profile.build_tools()
    out = results_dir()
    out.mkdir(parents=True)
    counts = out / "counts.txt"
    command = (f"{shlex.quote(sys.executable)} -m lua_syscall_harness.bench_guest "
               f"--out /run/lsout/bench.json --marker {shlex.quote(str(marker))} "
               f"{shlex.join(guest_args)}")
    host_before = host_info()
    say(f"booting the bench kernel; the run streams its progress (timeout {timeout:.0f}s)")
    # The guest cannot calibrate its TSC under TCG (no HPET/PM timer, PIT too slow) and would
    # time everything in jiffies: tell it the frequency. Default: QEMU's icount, where guest
    # time is executed instructions (1 ns each) and the host's load does not matter; the TSC
    # then ticks at 1 GHz. --wall-clock: multi-threaded TCG, the guest TSC is the host's.
    icount_shift = None if wall_clock else 0
    if wall_clock:
        khz = run_cmd([str(memcached_build.loadgen_binary("tsc_khz"))],
                      capture=True).stdout.strip()
    else:
        khz = "1000000"
    res = vm.run(command, variant=VARIANT, timeout=timeout, stream=True, cpus=2,
                 append=f"tsc_early_khz={khz} tsc=reliable", icount_shift=icount_shift,
                 smp_sockets=True, qemu_extra=("-plugin", f"{plugin},out={counts}"))
    if res.returncode != 0:
        raise HarnessError(f"bench guest: {res.failure_reason()}; serial log {res.serial_log}")
    splats = logscan.splats(res.serial)
    if splats:
        raise HarnessError("kernel log of the bench run: " + "; ".join(splats[:5]))
    doc = json.loads((res.run_dir / "bench.json").read_text())
    add_server_instructions(doc, profile.parse_snapshots(counts))
    doc["host"] = {"before": host_before, "after": host_info(), "accel": res.accel,
                   "tsc_khz": int(khz), "clock": "wall (MTTCG)" if wall_clock
                   else "icount: 1 instruction = 1 ns",
                   "guest_seconds": round(res.seconds)}
    bench_report.write(doc, out)
    # The README shows the latest full run's plots from here (committed with its numbers);
    # a --micro-only run leaves them alone.
    if "--micro-only" not in guest_args:
        shown = REPO_ROOT / "docs" / "benchmark"
        shown.mkdir(parents=True, exist_ok=True)
        for name in ("memcached-udp.png", "io-micro.png", "chain-micro.png", "summary.md"):
            if (out / name).exists():
                shutil.copy2(out / name, shown / name)
    print((out / "summary.md").read_text(), flush=True)
    say(f"results in {out} ({res.accel}; total {total})")
    return 0
