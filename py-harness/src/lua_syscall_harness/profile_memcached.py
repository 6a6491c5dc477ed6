"""The memcached part of `lua-syscall profile`, run in the guest under the insn_profile plugin.

One memcached per UDP path pinned to vCPU 0, the load generator on vCPU 1. Around each
measured run a marker (a plugin snapshot) is executed on vCPU 1, so the plugin's counts of
vCPU 0 between the two markers are exactly memcached's CPU: its process, the kernel work
it causes (system calls, softirqs run on its vCPU) and nothing of the generator's. The GETs
served in that window come from memcached's own `cmd_get`, read outside it.

Writes a JSON list of runs: variant, offered rate (None: saturation), GETs, the snapshot
numbers of the window, and the load generator's result.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .bench_guest import LOAD_CPU, tune_network, write_corpora
from .memcached_build import loadgen_binary
from .memcached_server import VARIANTS, Server

BASE_PORT = 22000
SIZE = 64


class Marker:
    """Executes the plugin's marker on the load generator's vCPU; counts the snapshots."""

    def __init__(self, program: Path) -> None:
        self.program = program
        self.count = 0

    def mark(self) -> int:
        subprocess.run(["taskset", "-c", LOAD_CPU, str(self.program), "mark"], check=True)
        self.count += 1
        return self.count - 1


def one_run(server: Server, corpus: Path, marker: Marker, args: argparse.Namespace,
            rate: float | None) -> dict[str, Any]:
    gets0 = int(server.stats()["cmd_get"])
    argv = ["taskset", "-c", LOAD_CPU, str(loadgen_binary("mc_loadgen")), "-p",
            str(server.port), "-c", str(corpus), "-d", str(args.duration), "-w", "0",
            "-o", str(args.outstanding)]
    if rate:
        argv += ["-r", str(rate)]
    first = marker.mark()
    gen = subprocess.run(argv, capture_output=True, text=True, check=True)
    last = marker.mark()
    gets = int(server.stats()["cmd_get"]) - gets0
    return {"variant": server.variant.name, "rate": rate, "gets": gets,
            "snapshots": [first, last], "loadgen": json.loads(gen.stdout)}


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    tune_network("0")
    # private: a fixed path could be the repository itself, which the guest sees read-only
    workdir = Path(tempfile.mkdtemp(prefix="lua-syscall-profile-"))
    corpus = write_corpora(workdir, (SIZE,), args.keys)[SIZE]
    marker = Marker(args.marker)
    runs: list[dict[str, Any]] = []
    servers = [Server(VARIANTS[v], BASE_PORT + i) for i, v in enumerate(args.variants)]
    try:
        for s in servers:
            s.start()
            s.load((SIZE,), args.keys)
        for s in servers:
            runs.append(one_run(s, corpus, marker, args, None))
            print(f"[profile] {s.variant.name} saturated: {runs[-1]['gets']} GETs", flush=True)
        slowest = min(r["loadgen"]["tps"] for r in runs)
        for frac in args.load_fractions:
            for s in servers:
                runs.append(one_run(s, corpus, marker, args, slowest * frac))
                runs[-1]["load_fraction"] = frac
                print(f"[profile] {s.variant.name} at {frac:.0%}: {runs[-1]['gets']} GETs",
                      flush=True)
    finally:
        for s in servers:
            s.stop()
    return runs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--marker", type=Path, required=True, help="the profile_guest program")
    p.add_argument("--variants", nargs="+", default=["stock", "mmsg", "uring", "lua"])
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--duration", type=float, default=0.5)
    p.add_argument("--outstanding", type=int, default=128)
    p.add_argument("--load-fractions", nargs="*", type=float, default=[0.25, 0.5, 0.75])
    args = p.parse_args(argv)
    args.variants = [v for v in args.variants if v in VARIANTS]
    args.out.write_text(json.dumps(run(args), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
