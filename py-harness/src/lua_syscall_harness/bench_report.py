"""Turning the guest's raw benchmark runs into a summary (JSON), a markdown table and a plot."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

BASELINE = "stock"
SEED = {"tps_ratio": 1.43, "mean_latency_ratio": 0.67}


def _sat_runs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc["runs"] if "load_fraction" not in r]


def _cell(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean over repetitions; syscall and datagram rates pooled over all runs."""
    sent = sum(r["sent"] for r in runs)
    calls = [r["syscount"].get("syscalls") for r in runs]
    syscalls = sum(c for c in calls if c is not None) if None not in calls else None
    datagrams = sent + sum(r["rx_datagrams"] for r in runs)
    tps = [r["tps"] for r in runs]
    deltas = [r.get("server_stats_delta", {}) for r in runs]
    exchanges = sum(d.get("udp_batch_exchanges", 0) for d in deltas)
    batched = sum(d.get("udp_batch_rx_datagrams", 0) + d.get("udp_batch_tx_datagrams", 0)
                  for d in deltas)
    return {
        "reps": len(runs),
        "tps": statistics.mean(tps),
        "tps_stdev": statistics.stdev(tps) if len(tps) > 1 else 0.0,
        "mean_us": statistics.mean(r["mean_us"] for r in runs),
        "p99_us": statistics.mean(r["p99_us"] for r in runs),
        "syscalls_per_request": syscalls / sent if syscalls is not None and sent else None,
        "datagrams_per_crossing": datagrams / syscalls if syscalls else None,
        # memcached's own count: datagrams moved per batched crossing (mmsg, lua)
        "datagrams_per_batch_call": batched / exchanges if exchanges else None,
        "lost": sum(r["lost"] for r in runs),
        "misses": sum(r["misses"] for r in runs),
        "loadgen_cpu_frac": statistics.mean(r["cpu_frac"] for r in runs),
        # memcached's own CPU time per request (tick-sampled): under icount, its instructions
        "server_us_per_request": statistics.mean(r["server_cpu_frac"] / r["tps"] * 1e6
                                                 for r in runs if r["tps"]) if any(
                                                     r["tps"] for r in runs) else None,
        "server_cpu_frac": statistics.mean(r["server_cpu_frac"] for r in runs),
    }


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    runs = _sat_runs(doc)
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    sizes = sorted({r["size"] for r in runs})
    table: dict[str, dict[str, Any]] = {}
    for v in variants:
        table[v] = {}
        for s in sizes:
            cell = [r for r in runs if r["variant"] == v and r["size"] == s]
            if cell:
                table[v][str(s)] = _cell(cell)
    ratios: dict[str, dict[str, Any]] = {}
    if BASELINE in table:
        for v in variants:
            ratios[v] = {}
            for s, c in table[v].items():
                base = table[BASELINE].get(s)
                if base:
                    ratios[v][s] = {"tps_ratio": c["tps"] / base["tps"],
                                    "mean_latency_ratio": c["mean_us"] / base["mean_us"]}
                    if c.get("server_us_per_request") and base.get("server_us_per_request"):
                        ratios[v][s]["server_cpu_per_request_ratio"] = (
                            c["server_us_per_request"] / base["server_us_per_request"])
    loads = []
    for r in doc["runs"]:
        if "load_fraction" in r:
            loads.append({k: r[k] for k in ("variant", "size", "rep", "load_fraction",
                                            "offered_rps", "tps", "mean_us", "p99_us",
                                            "throttled", "lost")}
                         | {"syscalls_per_request": (r["syscount"].get("syscalls") or 0)
                            / max(r["sent"], 1)})
    return {"table": table, "ratios": ratios, "offered_loads": loads,
            "micro": doc.get("micro"), "memaslap": doc.get("memaslap", []),
            "context": {k: doc.get(k) for k in ("kernel", "cpus", "loadavg_before",
                                                "loadavg_after", "params", "host")}}


def _fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def markdown(summary: dict[str, Any]) -> str:
    lines = ["| value size | variant | TPS | vs stock | mean µs | vs stock | p99 µs "
             "| syscalls/GET | datagrams/crossing | datagrams/batch call | lost | server CPU "
             "| loadgen CPU | server µs/GET | vs stock |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    table, ratios = summary["table"], summary["ratios"]
    sizes = sorted({int(s) for v in table.values() for s in v})
    for s in sizes:
        for v, cells in table.items():
            c = cells.get(str(s))
            if not c:
                continue
            r = ratios.get(v, {}).get(str(s), {})
            lines.append(
                f"| {s} | {v} | {c['tps']:.0f} | {_fmt(r.get('tps_ratio'), '.2f')} "
                f"| {c['mean_us']:.0f} | {_fmt(r.get('mean_latency_ratio'), '.2f')} "
                f"| {c['p99_us']:.0f} | {_fmt(c['syscalls_per_request'], '.3f')} "
                f"| {_fmt(c['datagrams_per_crossing'], '.1f')} "
                f"| {_fmt(c['datagrams_per_batch_call'], '.1f')} | {c['lost']} "
                f"| {c['server_cpu_frac']:.2f} | {c['loadgen_cpu_frac']:.2f} "
                f"| {_fmt(c.get('server_us_per_request'), '.2f')} "
                f"| {_fmt(r.get('server_cpu_per_request_ratio'), '.2f')} |")
    if summary["offered_loads"]:
        lines += ["", "Offered load (fixed rate, 64-byte values):", "",
                  "| offered/s | variant | TPS | mean µs | p99 µs | syscalls/GET |",
                  "|---:|---|---:|---:|---:|---:|"]
        for r in summary["offered_loads"]:
            lines.append(f"| {r['offered_rps']:.0f} | {r['variant']} | {r['tps']:.0f} "
                         f"| {r['mean_us']:.0f} | {r['p99_us']} "
                         f"| {r['syscalls_per_request']:.2f} |")
    micro = summary.get("micro")
    if micro:
        lines += ["", "Microbenchmarks (ns per operation, best of rounds):", "",
                  "| operation | ns |", "|---|---:|"]
        lines += [f"| {k.removesuffix('_ns')} | {v:.0f} |" for k, v in micro.items()
                  if k.endswith("_ns")]
    if summary["memaslap"]:
        lines += ["", "memaslap (`memcaslap -U`, 1 thread, 128 concurrency, 64-byte values, "
                  "GET:SET 9:1 over UDP):", "", "| variant | TPS | mean µs (Little) |",
                  "|---|---:|---:|"]
        for m in summary["memaslap"]:
            lines.append(f"| {m['variant']} | {_fmt(m.get('tps'), '.0f')} "
                         f"| {_fmt(m.get('mean_us_littles_law'), '.0f')} |")
    ctx = summary["context"]
    host = ctx.get("host") or {}
    lines += ["", f"Guest kernel {ctx.get('kernel')}, {ctx.get('cpus')} vCPUs "
              f"({host.get('accel', '?')}); host CPU {host.get('before', {}).get('cpu', '?')}; "
              f"host /proc/loadavg before {host.get('before', {}).get('host_loadavg', '?')}, "
              f"after {host.get('after', {}).get('host_loadavg', '?')}."]
    return "\n".join(lines) + "\n"


def plot(summary: dict[str, Any], path: Path) -> None:
    """Throughput and mean response time by value size, one bar per variant (Fig. 1 style)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = summary["table"]
    sizes = sorted({int(s) for v in table.values() for s in v})
    variants = list(table)
    fig, (ax_t, ax_l) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / max(len(variants), 1)
    for i, v in enumerate(variants):
        xs = [j + (i - (len(variants) - 1) / 2) * width for j in range(len(sizes))]
        tps = [table[v].get(str(s), {}).get("tps", 0) / 1000 for s in sizes]
        lat = [table[v].get(str(s), {}).get("mean_us", 0) for s in sizes]
        ax_t.bar(xs, tps, width, label=v)
        ax_l.bar(xs, lat, width, label=v)
    for ax, title, unit in ((ax_t, "Throughput", "k requests/s"),
                            (ax_l, "Average response time", "µs")):
        ax.set_xticks(range(len(sizes)), [str(s) for s in sizes])
        ax.set_xlabel("value size (bytes)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    ax_t.legend()
    fig.suptitle("memcached UDP GET, -t 1, 128 outstanding (QEMU TCG: compare ratios only)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(doc: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(doc)
    (out_dir / "raw.json").write_text(json.dumps(doc, indent=1))
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    (out_dir / "summary.md").write_text(markdown(summary))
    plot(summary, out_dir / "memcached-udp.png")
    return summary
