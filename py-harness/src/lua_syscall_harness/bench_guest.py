"""The benchmark's guest side: run inside the `bench` kernel by `lua-syscall bench`.

One memcached per variant (all `-t 1`, pinned to CPU 0, key set loaded over TCP), the
load generators pinned to CPU 1. Runs are interleaved: for every repetition the variants
take turns (in a rotated order), so slow drifts of the host hit all of them alike. Each
variant first serves an unrecorded warm-up run per value size.

Measured runs have no perf counter attached: memcached's system calls are counted in
separate runs (--count-reps per variant and load, marked "counting"), since perf events on
the syscall tracepoints put every system call of every task, and each nested lua call
twice, on the tracepoint slow path. memcached's own counters (exchanges, waits, nested
calls) come from its "stats" around every run. Writes one JSON document (raw runs +
microbenchmarks + context) to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import memcache_udp
from .bench_report import crossings
from .memcached_build import binary, loadgen_binary
from .memcached_server import (
    VALUE_SIZES,
    VARIANTS,
    Server,
    cpu_seconds,
    key,
    memaslap_env,
)

LOAD_CPU = "1"
BASE_PORT = 21000


def say(msg: str) -> None:
    print(f"[bench-guest {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def write_corpora(directory: Path, sizes: tuple[int, ...], keys: int) -> dict[int, Path]:
    rng = random.Random(5)
    out = {}
    for size in sizes:
        names = [key(size, i) for i in range(keys)]
        rng.shuffle(names)
        path = directory / f"corpus-{size}.bin"
        memcache_udp.write_corpus(path, memcache_udp.get_corpus(names))
        out[size] = path
    return out


def tune_network(rps_cpus: str) -> None:
    """Socket buffers for 128 outstanding multi-datagram replies; loopback RPS.

    On loopback the sender's CPU runs the receiver's whole UDP receive path, so the load
    generator's vCPU would do memcached's receive work (and memcached's the generator's).
    RPS on lo moves all of it to the CPUs in rps_cpus ("1": memcached's vCPU).
    """
    for name, val in (("rmem_max", "8388608"), ("wmem_max", "8388608"),
                      ("rmem_default", "4194304")):
        Path(f"/proc/sys/net/core/{name}").write_text(val)
    if rps_cpus != "0":
        Path("/sys/class/net/lo/queues/rx-0/rps_cpus").write_text(rps_cpus)


def warm_page_cache(paths: list[Path]) -> None:
    """Read the programs we will run, and their shared libraries, once, up front.

    The guest's root is the host's over 9p. Under icount with sleep=off an idle guest's
    clock jumps to its next timer, and while QEMU serves a 9p read the guest is idle: a
    program loaded from the host can cost seconds of guest time. With 9p's page cache
    warm, fewer host round trips are left (opens still are one each).
    """
    files = {p.resolve() for p in paths if p.exists()}
    for p in list(files):
        res = subprocess.run(["ldd", str(p)], capture_output=True, text=True, check=False)
        files.update(Path(m).resolve() for m in re.findall(r"(/\S+) \(0x", res.stdout))
    for p in sorted(files):
        with p.open("rb") as f:
            while f.read(1 << 20):
                pass


def microbenchmarks(iterations: int) -> dict[str, Any]:
    res = subprocess.run(["taskset", "-c", LOAD_CPU, str(loadgen_binary("syscall_micro")),
                          "-n", str(iterations), "-r", "3"],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"syscall_micro failed ({res.returncode}): {res.stderr.strip()}")
    return json.loads(res.stdout)


def io_microbenchmarks(bursts: int, workdir: Path) -> dict[str, Any]:
    """16 pread / 16 sendto per burst: direct, one lua_syscall, one io_uring_enter.

    io_micro checks every burst (bytes read, datagrams received) and exits non-zero on
    any mismatch, so a broken path fails the bench instead of reporting a fast time.
    """
    res = subprocess.run(["taskset", "-c", LOAD_CPU, str(loadgen_binary("io_micro")),
                          "-n", str(bursts), "-r", "3", "-b", "16", "-l", "64",
                          "-d", str(workdir)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"io_micro failed ({res.returncode}): {res.stderr.strip()}")
    out: dict[str, Any] = json.loads(res.stdout)
    if not out.get("checked") or out["datagrams_received"] != out["datagrams_sent"]:
        raise RuntimeError(f"io_micro: unchecked result {out}")
    return out


def chain_microbenchmarks(ops: int, workdir: Path) -> dict[str, Any]:
    """Dependent chains (a du-like walk, small files read whole): direct, io_uring, one
    lua_syscall() per directory / batch / everything.

    chain_micro checks every operation (the walk's totals against the tree it built, every
    file's length and bytes) and that the lua paths' nested calls are the direct path's
    calls, and exits non-zero on any mismatch.
    """
    res = subprocess.run(["taskset", "-c", LOAD_CPU, str(loadgen_binary("chain_micro")),
                          "-n", str(ops), "-r", "3", "-d", str(workdir)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"chain_micro failed ({res.returncode}): {res.stderr.strip()}")
    out: dict[str, Any] = json.loads(res.stdout)
    if not out.get("checked") or out["checksum"] != out["small"]["fnv1a"]:
        raise RuntimeError(f"chain_micro: unchecked result {out}")
    return out


def mark(args: argparse.Namespace) -> int | None:
    """A snapshot of the host's instruction counter plugin, taken on the generator's vCPU.

    Returns its number (the plugin numbers snapshots in order), None without --marker.
    """
    if not args.marker:
        return None
    subprocess.run(["taskset", "-c", LOAD_CPU, str(args.marker), "mark"], check=True)
    args.marks += 1
    return args.marks - 1


# memcached's own counters of the batched paths ("stats"), kept per run
SERVER_STATS = ("cmd_get", "get_hits", "udp_batch_exchanges", "udp_batch_rx_datagrams",
                "udp_batch_tx_datagrams", "udp_batch_tx_dropped", "udp_batch_waits",
                "udp_batch_wait_first", "udp_batch_nested", "udp_batch_rx_skipped")


def measured_run(server: Server, corpus: Path, args: argparse.Namespace,
                 rate: float | None, *, count: bool = False) -> dict[str, Any]:
    """One load-generator run against server.

    count: also count memcached's system calls with perf counters (syscount). Those put
    every system call of every task (and each nested lua call, twice) on the tracepoint
    slow path while they are attached, so a counting run is never a measured one: its
    throughput and instructions are kept only to show what counting would have cost.
    """
    before = server.stats()
    counter = None
    if count:
        counter = subprocess.Popen([str(loadgen_binary("syscount")), str(server.pid)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert counter.stdout is not None and counter.stdin is not None
        if counter.stdout.readline().strip() != "ready":
            raise RuntimeError("syscount did not start")
    cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
    argv = ["taskset", "-c", LOAD_CPU, str(loadgen_binary("mc_loadgen")), "-p",
            str(server.port), "-c", str(corpus), "-d", str(args.duration), "-w",
            str(args.warmup), "-o", str(args.outstanding)]
    if rate:
        argv += ["-r", str(rate)]
    first = mark(args)
    gen = subprocess.run(argv, capture_output=True, text=True, check=True)
    last = mark(args)
    cpu1, t1 = cpu_seconds(server.pid), time.monotonic()
    result: dict[str, Any] = json.loads(gen.stdout)
    if counter is not None:
        out, _ = counter.communicate("")
        result["syscount"] = json.loads(out.strip().splitlines()[-1])
        result["counting"] = True
    after = server.stats()
    if first is not None:
        result["snapshots"] = [first, last]
    result["server_cpu_frac"] = (cpu1 - cpu0) / (t1 - t0)
    result["server_stats_delta"] = {k: int(after[k]) - int(before[k])
                                    for k in SERVER_STATS if k in after and k in before}
    return result


def describe(r: dict[str, Any]) -> str:
    """One progress line's numbers: rates, and memcached's own counts per exchange."""
    d = r.get("server_stats_delta", {})
    ex = d.get("udp_batch_exchanges", 0)
    text = (f"{r['tps']:.0f} TPS, mean {r['mean_us']:.0f} us, p99 {r['p99_us']} us, "
            f"lost {r['lost']}")
    if ex:
        text += (f", {d.get('udp_batch_rx_datagrams', 0) / ex:.1f} rx/exchange, "
                 f"waits/exchange {d.get('udp_batch_waits', 0) / ex:.2f}, "
                 f"nested/exchange {d.get('udp_batch_nested', 0) / ex:.2f}")
    if "syscount" in r:
        text += (f", counted: {(crossings(r['syscount']) or 0) / max(r['sent'], 1):.2f} "
                 "crossings/req")
    return text


class MemaslapFailed(RuntimeError):
    """memaslap, the seed's own client, did not run: the bench must not print "n/a"."""


def memaslap_config(workdir: Path, size: int) -> Path:
    """memaslap's config file (-F), written where the guest can write.

    Without -F memaslap writes a default ~/.memslap.cnf into getpwuid()'s home (not
    $HOME), which the guest sees read-only. Same content as that default (key 64 bytes,
    GET:SET 9:1), with this run's value size.
    """
    path = workdir / f"memslap-{size}.cnf"
    path.write_text(f"key\n64 64 1\nvalue\n{size} {size} 1\ncmd\n0 0.1\n1 0.9\n")
    return path


def memaslap_run(server: Server, args: argparse.Namespace, size: int,
                 workdir: Path) -> dict[str, Any]:
    """memcaslap -U (UDP GET/SET 9:1, its own keys), the seed's client.

    Raises MemaslapFailed unless memaslap exited 0 and reported GETs and a throughput.
    """
    argv = ["taskset", "-c", LOAD_CPU, "memcaslap", "-s", f"127.0.0.1:{server.port}", "-U",
            "-t", f"{max(1, int(args.duration))}s", "-T", "1", "-c", str(args.outstanding),
            "-X", str(size), "-F", str(memaslap_config(workdir, size))]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + 60,
                         check=False, env=memaslap_env())
    return parse_memaslap(res.returncode, res.stdout, res.stderr, args.outstanding)


def parse_memaslap(returncode: int, stdout: str, stderr: str,
                   outstanding: int) -> dict[str, Any]:
    out: dict[str, Any] = {"returncode": returncode}
    m = re.search(r"Run time: ([\d.]+)s Ops: (\d+) TPS: (\d+)", stdout)
    for name in ("cmd_get", "get_misses", "packet_drop", "udp_timeout"):
        mm = re.search(rf"^{name}: (\d+)", stdout, re.M)
        if mm:
            out[name] = int(mm.group(1))
    if m:
        tps = float(m.group(3))
        out.update(seconds=float(m.group(1)), ops=int(m.group(2)), tps=tps,
                   # closed loop with c requests in flight: Little's law
                   mean_us_littles_law=outstanding / tps * 1e6 if tps else None)
    # memaslap exits 0 against a server that never answers (its first window of SETs
    # counted as done): want GETs, and more operations than one window
    why = (f"exit status {returncode}" if returncode != 0
           else "no throughput line" if not m
           else "no GETs, or not more operations than one window"
           if not out.get("cmd_get") or out.get("ops", 0) <= outstanding
           else None)
    if why:
        out["error"] = f"{why}: " + (stdout + stderr).strip()[-400:]
        raise MemaslapFailed(out["error"])
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    variants = [VARIANTS[v] for v in args.variants]
    sizes = tuple(args.sizes)
    doc: dict[str, Any] = {
        "kernel": os.uname().release, "cpus": os.cpu_count(), "loadavg_before": loadavg(),
        "params": {k: v for k, v in vars(args).items()
                   if k not in ("out", "marker", "marks")},
        "runs": [], "memaslap": [],
    }
    tune_network(args.rps_cpus)
    warm_page_cache([binary(), *(loadgen_binary(n) for n in ("mc_loadgen", "syscall_micro",
                                                             "io_micro", "syscount",
                                                             "chain_micro")),
                     *(Path(p) for p in map(shutil.which, ("memcaslap", "taskset")) if p)])
    # private: a fixed path could be the repository itself, which the guest sees read-only
    workdir = Path(tempfile.mkdtemp(prefix="lua-syscall-bench-"))
    corpora = write_corpora(workdir, sizes, args.keys)
    if args.micro:
        say("microbenchmarks")
        doc["micro"] = microbenchmarks(args.micro_iterations)
        say(f"micro: {doc['micro']}")
        doc["io_micro"] = io_microbenchmarks(args.io_micro_bursts, workdir)
        say(f"io micro: {doc['io_micro']}")
        if args.chain_micro_ops:
            doc["chain_micro"] = chain_microbenchmarks(args.chain_micro_ops, workdir)
            say(f"chain micro: {doc['chain_micro']}")
    if args.micro_only:
        doc["loadavg_after"] = loadavg()
        return doc
    servers = [Server(v, BASE_PORT + i) for i, v in enumerate(variants)]
    try:
        for s in servers:
            s.start()
            s.load(sizes, args.keys)
        say(f"{len(servers)} memcached running, {args.keys} keys x {len(sizes)} sizes loaded")
        for size in sizes:
            for s in servers:
                for _ in range(args.warm_runs):
                    r = measured_run(s, corpora[size], args, None)
                    say(f"size {size} warm-up {s.variant.name} (not kept): {describe(r)}")
            for rep in range(args.reps):
                order = servers[rep % len(servers):] + servers[:rep % len(servers)]
                for s in order:
                    r = measured_run(s, corpora[size], args, None)
                    r.update(variant=s.variant.name, size=size, rep=rep)
                    doc["runs"].append(r)
                    say(f"size {size} rep {rep} {s.variant.name}: {describe(r)}, "
                        f"loadgen cpu {r['cpu_frac']:.2f}, "
                        f"server cpu {r['server_cpu_frac']:.2f}")
            # system calls: counted in runs of their own, after the measured ones
            for rep in range(args.count_reps):
                for s in servers:
                    r = measured_run(s, corpora[size], args, None, count=True)
                    r.update(variant=s.variant.name, size=size, rep=rep)
                    doc["runs"].append(r)
                    say(f"size {size} counting {s.variant.name}: {describe(r)}")
        # offered loads: fractions of the slowest variant's saturation TPS for one size
        size = args.load_size
        sat = min(_mean([r["tps"] for r in doc["runs"] if not r.get("counting")
                         and r["variant"] == s.variant.name and r["size"] == size])
                  for s in servers)
        for frac in args.load_fractions:
            for rep in range(args.load_reps):
                order = servers[rep % len(servers):] + servers[:rep % len(servers)]
                for s in order:
                    r = measured_run(s, corpora[size], args, sat * frac)
                    r.update(variant=s.variant.name, size=size, rep=rep, load_fraction=frac)
                    doc["runs"].append(r)
                    say(f"offered {sat * frac:.0f}/s {s.variant.name}: {describe(r)}")
            for rep in range(args.count_reps):
                for s in servers:
                    r = measured_run(s, corpora[size], args, sat * frac, count=True)
                    r.update(variant=s.variant.name, size=size, rep=rep, load_fraction=frac)
                    doc["runs"].append(r)
                    say(f"offered {sat * frac:.0f}/s counting {s.variant.name}: "
                        f"{describe(r)}")
        if args.memaslap:
            # memaslap resolves with AI_ADDRCONFIG, which ignores 127.0.0.1: the guest has
            # no other address until we add one.
            subprocess.run(["ip", "addr", "add", "10.77.0.1/32", "dev", "lo"], check=False)
            for s in servers:
                if s.variant.name not in args.memaslap_variants:
                    continue
                failures: list[str] = []
                m = {}
                for _ in range(args.memaslap_attempts):
                    try:
                        m = memaslap_run(s, args, 64, workdir)
                        break
                    except MemaslapFailed as e:
                        failures.append(str(e))
                        say(f"memaslap {s.variant.name} FAILED: {e}")
                else:
                    # kept in the document; bench_report fails the bench after writing it
                    m = {"error": failures[-1]}
                m.update(variant=s.variant.name, size=64,
                         attempts=len(failures) + ("error" not in m), failed_attempts=failures)
                doc["memaslap"].append(m)
                if "error" not in m:
                    say(f"memaslap {s.variant.name}: {m}")
    finally:
        for s in servers:
            s.stop()
    doc["loadavg_after"] = loadavg()
    return doc


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--marker", type=Path, help="profile_guest: marks each measured run for "
                   "the host's insn_profile plugin (memcached's instructions per GET)")
    p.set_defaults(marks=0)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--sizes", nargs="+", type=int, default=list(VALUE_SIZES))
    p.add_argument("--keys", type=int, default=1000, help="keys per value size")
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--duration", type=float, default=1.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=0.2)
    p.add_argument("--outstanding", type=int, default=128)
    p.add_argument("--load-size", type=int, default=64)
    p.add_argument("--load-fractions", nargs="+", type=float, default=[0.25, 0.5, 0.75])
    p.add_argument("--load-reps", type=int, default=10)
    p.add_argument("--warm-runs", type=int, default=1,
                   help="unrecorded runs per variant and value size before the measured ones")
    p.add_argument("--count-reps", type=int, default=1,
                   help="runs per variant and load with syscount attached (perf counters on "
                   "the syscall tracepoints); they count system calls and are never measured")
    p.add_argument("--no-memaslap", dest="memaslap", action="store_false")
    p.add_argument("--no-micro", dest="micro", action="store_false")
    p.add_argument("--micro-iterations", type=int, default=2000)
    p.add_argument("--io-micro-bursts", type=int, default=500,
                   help="bursts per round of io_micro (16 pread / 16 sendto each)")
    p.add_argument("--chain-micro-ops", type=int, default=30,
                   help="operations per round of chain_micro (walks of its tree; passes over "
                   "its small files); 0: do not run it")
    p.add_argument("--micro-only", action="store_true",
                   help="run the microbenchmarks (syscall_micro, io_micro, chain_micro) and "
                   "no memcached")
    p.add_argument("--memaslap-variants", nargs="+", default=list(VARIANTS),
                   choices=list(VARIANTS),
                   help="variants memaslap runs against (any that fails fails the bench)")
    p.add_argument("--memaslap-attempts", type=int, default=3,
                   help="runs of memaslap per variant before it counts as failed (it aborts "
                   "on a late UDP reply, as after a stall of the guest's clock); every "
                   "failed attempt is kept in the results")
    p.add_argument("--rps-cpus", default="0",
                   help="hex CPU mask for loopback receive processing (0: off, sender's CPU)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    doc = run(args)
    args.out.write_text(json.dumps(doc, indent=1))
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
