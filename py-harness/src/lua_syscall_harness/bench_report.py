"""Turning the guest's raw benchmark runs into a summary (JSON), a markdown table and a plot."""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .proc import HarnessError

BASELINE = "stock"
SEED = {"tps_ratio": 1.43, "mean_latency_ratio": 0.67}
# The hardware projection's crossing costs besides the host's own (ns per user/kernel
# crossing): a fast CPU without KPTI, a typical one with mitigations, the worst case.
PROJECTION_CROSSING_NS = (70.0, 200.0, 700.0)
# ns per instruction of kernel work when the host calibration (io_micro's sendto burst,
# natively on the host) is missing: ~3 GHz at one instruction per cycle. An assumption.
DEFAULT_NS_PER_INSN = 0.33
# Fixed colours, so a variant looks the same in every plot.
COLOURS = {"stock": "tab:gray", "mmsg": "tab:blue", "lua": "tab:orange",
           "lua-b1": "tab:brown", "uring": "tab:green"}


def crossings(syscount: dict[str, Any]) -> int | None:
    """User/kernel crossings: sys_enter events minus the lua scripts' nested calls.

    The nested calls are the task's own system calls and hit raw_syscalls:sys_enter too
    (syscount counts them separately as lua_nested).
    """
    calls = syscount.get("syscalls")
    if calls is None:
        return None
    return calls - (syscount.get("lua_nested") or 0)


def _sat_runs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc["runs"] if "load_fraction" not in r]


def _cell(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean over repetitions; syscall and datagram rates pooled over all runs."""
    sent = sum(r["sent"] for r in runs)
    calls = [crossings(r["syscount"]) for r in runs]
    syscalls = sum(c for c in calls if c is not None) if None not in calls else None
    nested = sum(r["syscount"].get("lua_nested") or 0 for r in runs)
    uring = sum(r["syscount"].get("io_uring_enter") or 0 for r in runs)
    insns = [r.get("server_insns_per_get") for r in runs]
    clocks = [r["syscount"].get("task_clock_ns") for r in runs]
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
        # user/kernel crossings per request (a lua script's nested calls are not crossings)
        "syscalls_per_request": syscalls / sent if syscalls is not None and sent else None,
        "nested_per_request": nested / sent if sent else None,
        "io_uring_enter_per_request": uring / sent if sent else None,
        # memcached's own instructions per GET (QEMU plugin), when the run has them
        "server_insns_per_get": statistics.mean(insns) if insns and None not in insns
        else None,
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
        # the same from perf's task clock over the whole load-generator run (syscount):
        # exact, but under icount the other vCPU's instructions advance the clock too
        "server_task_us_per_request": sum(clocks) / sent / 1000
        if sent and clocks and None not in clocks else None,
    }


def _server_us(cell: dict[str, Any]) -> float | None:
    """memcached's µs per GET: the task clock if counted, else /proc's tick-sampled time."""
    task = cell.get("server_task_us_per_request")
    return task if task is not None else cell.get("server_us_per_request")


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
                    if c.get("server_insns_per_get") and base.get("server_insns_per_get"):
                        ratios[v][s]["server_insns_per_get_ratio"] = (
                            c["server_insns_per_get"] / base["server_insns_per_get"])
                    mine, theirs = _server_us(c), _server_us(base)
                    if mine and theirs:
                        ratios[v][s]["server_cpu_per_request_ratio"] = mine / theirs
    loads = []
    for r in doc["runs"]:
        if "load_fraction" in r:
            loads.append({k: r[k] for k in ("variant", "size", "rep", "load_fraction",
                                            "offered_rps", "tps", "mean_us", "p99_us",
                                            "throttled", "lost")}
                         | {"syscalls_per_request": (crossings(r["syscount"]) or 0)
                            / max(r["sent"], 1),
                            "server_insns_per_get": r.get("server_insns_per_get")})
    _doc_insns(doc, table)
    return {"table": table, "ratios": ratios, "offered_loads": loads,
            "micro": doc.get("micro"), "io_micro": io_micro(doc.get("io_micro")),
            "projection": projection(doc, table),
            "memaslap": doc.get("memaslap", []),
            "context": {k: doc.get(k) for k in ("kernel", "cpus", "loadavg_before",
                                                "loadavg_after", "params", "host")}}


def _doc_insns(doc: dict[str, Any], table: dict[str, dict[str, Any]]) -> None:
    """doc["server_insns_per_get"]: {variant: n} or {variant: {size: n}} (QEMU plugin)."""
    for v, per in (doc.get("server_insns_per_get") or {}).items():
        for size, cell in table.get(v, {}).items():
            n = per.get(size, per.get(int(size))) if isinstance(per, dict) else per
            if n is not None:
                cell["server_insns_per_get"] = float(n)


IO_OPS = ("pread", "sendto")
IO_PATHS = ("direct", "lua", "uring")


def io_micro(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """Per burst and per call, and each path against direct, for pread and sendto."""
    if not raw:
        return None
    burst = raw.get("burst", 16)
    out: dict[str, Any] = {"burst": burst, "len": raw.get("len"), "checked": raw.get("checked"),
                           "datagrams_sent": raw.get("datagrams_sent"),
                           "datagrams_received": raw.get("datagrams_received"),
                           "uring_workers": raw.get("uring_workers"), "ops": {}}
    for op in IO_OPS:
        direct = raw.get(f"{op}_direct_ns")
        row: dict[str, Any] = {}
        for path in IO_PATHS:
            ns = raw.get(f"{op}_{path}_ns")
            row[path] = {"burst_ns": ns, "call_ns": ns / burst if ns is not None else None,
                         "vs_direct": ns / direct if ns is not None and direct else None}
        out["ops"][op] = row
    return out


def _ns_per_insn(doc: dict[str, Any]) -> tuple[float, str]:
    """ns per instruction of kernel work on the host: its sendto burst against the guest's.

    (host ns per sendto - host crossing) / (guest instructions per sendto - guest
    crossing): the UDP send and loopback receive path, a GET's main cost, natively and
    under icount. Falls back to DEFAULT_NS_PER_INSN (an assumption) without both.
    """
    host = ((doc.get("host") or {}).get("crossing")) or {}
    guest_io, host_io = doc.get("io_micro") or {}, host.get("io_micro") or {}
    x_host = host.get("null_syscall_ns")
    x_guest = (doc.get("micro") or {}).get("null_syscall_ns")
    g, h = guest_io.get("sendto_direct_ns"), host_io.get("sendto_direct_ns")
    if None not in (x_host, x_guest, g, h):
        burst_g, burst_h = guest_io.get("burst", 16), host_io.get("burst", 16)
        work_insns = g / burst_g - x_guest
        work_ns = h / burst_h - x_host
        if work_insns > 0 and work_ns > 0:
            return work_ns / work_insns, "host sendto burst vs guest (measured)"
    return DEFAULT_NS_PER_INSN, "assumed (no host calibration)"


def projection(doc: dict[str, Any], table: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """What each variant's server would do per GET on hardware: a model, not a measurement.

    T(X) = k * (I - C * Xg) + C * X   ns per GET for memcached alone, where
      I  = memcached's instructions per GET (server_insns_per_get, from the QEMU plugin;
           else its task clock per GET (syscount), else its tick-sampled CPU time, at
           1 us = 1000 instructions: upper bounds, the other vCPU's turns included),
      C  = user/kernel crossings per GET (syscount, nested lua calls excluded),
      Xg = instructions of one crossing in the guest (syscall_micro's null syscall),
      k  = ns per instruction of the rest on the host (see _ns_per_insn),
      X  = ns per crossing: the host's null syscall (null_syscall, native), 70, 200, 700.
    GET/s = 1e9 / T; ratio against stock = T(stock) / T(variant).
    """
    x_guest = (doc.get("micro") or {}).get("null_syscall_ns")
    size = str((doc.get("params") or {}).get("load_size", 64))
    if x_guest is None or not any(size in cells for cells in table.values()):
        return None
    k, k_source = _ns_per_insn(doc)
    host_x = (((doc.get("host") or {}).get("crossing")) or {}).get("null_syscall_ns")
    xs = ([("host", float(host_x))] if host_x else []) + [
        (f"{x:g} ns", x) for x in PROJECTION_CROSSING_NS]
    rows: dict[str, Any] = {}
    for v, cells in table.items():
        c = cells.get(size)
        if not c or c.get("syscalls_per_request") is None:
            continue
        if c.get("server_insns_per_get") is not None:
            insns, source = c["server_insns_per_get"], "plugin"
        elif c.get("server_task_us_per_request") is not None:
            insns, source = c["server_task_us_per_request"] * 1000, "task clock"
        elif c.get("server_us_per_request") is not None:
            insns, source = c["server_us_per_request"] * 1000, "cpu time"
        else:
            continue
        cross = c["syscalls_per_request"]
        work = max(insns - cross * x_guest, 0.0)
        rows[v] = {"insns_per_get": insns, "insns_source": source,
                   "crossings_per_get": cross, "work_insns_per_get": work,
                   "at": {name: {"ns_per_get": k * work + cross * x,
                                 "gets_per_s": 1e9 / (k * work + cross * x)
                                 if k * work + cross * x else None,
                                 "crossing_share": cross * x / (k * work + cross * x)
                                 if k * work + cross * x else None}
                          for name, x in xs}}
    base = rows.get(BASELINE)
    for r in rows.values():
        for name, at in r["at"].items():
            b = base["at"][name]["ns_per_get"] if base else None
            at["vs_stock"] = b / at["ns_per_get"] if b and at["ns_per_get"] else None
    return {"size": int(size), "ns_per_insn": k, "ns_per_insn_source": k_source,
            "guest_crossing_insns": x_guest, "host_crossing_ns": host_x,
            "crossing_ns": dict(xs), "variants": rows}


def _fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def markdown(summary: dict[str, Any]) -> str:
    lines = ["| value size | variant | TPS | vs stock | mean µs | vs stock | p99 µs "
             "| crossings/GET | datagrams/crossing | datagrams/batch call | lost | server CPU "
             "| loadgen CPU | server µs/GET | vs stock | server insns/GET | vs stock |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
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
                f"| {_fmt(_server_us(c), '.2f')} "
                f"| {_fmt(r.get('server_cpu_per_request_ratio'), '.2f')} "
                f"| {_fmt(c.get('server_insns_per_get'), '.0f')} "
                f"| {_fmt(r.get('server_insns_per_get_ratio'), '.2f')} |")
    lines += ["", "server insns/GET: instructions of memcached's vCPU per GET it served (QEMU "
              "plugin, exact). "
              "server µs/GET: memcached's time on a CPU per GET, from perf's task clock "
              "over each run (or /proc's tick-sampled CPU time where it was not counted). Under "
              "icount both vCPUs take turns on one TCG thread and share one instruction clock, "
              "so this includes what the load generator's vCPU executed meanwhile: an upper "
              "bound of memcached's own instructions (the QEMU plugin counts those exactly)."]
    if summary["offered_loads"]:
        lines += ["", "Offered load (fixed rate, 64-byte values):", "",
                  "| offered/s | variant | TPS | mean µs | p99 µs | crossings/GET "
                  "| server insns/GET |",
                  "|---:|---|---:|---:|---:|---:|---:|"]
        for r in summary["offered_loads"]:
            lines.append(f"| {r['offered_rps']:.0f} | {r['variant']} | {r['tps']:.0f} "
                         f"| {r['mean_us']:.0f} | {r['p99_us']} "
                         f"| {r['syscalls_per_request']:.2f} "
                         f"| {_fmt(r.get('server_insns_per_get'), '.0f')} |")
    micro = summary.get("micro")
    if micro:
        lines += ["", "Microbenchmarks (ns per operation, best of rounds):", "",
                  "| operation | ns |", "|---|---:|"]
        lines += [f"| {k.removesuffix('_ns')} | {v:.0f} |" for k, v in micro.items()
                  if k.endswith("_ns")]
    lines += io_micro_markdown(summary.get("io_micro"))
    if summary["memaslap"]:
        lines += ["", "memaslap (`memcaslap -U`, 1 thread, 128 concurrency, 64-byte values, "
                  "GET:SET 9:1 over UDP; attempts: runs until one completed, memaslap aborts on a "
                  "late reply):", "", "| variant | TPS | mean µs (Little) | attempts |",
                  "|---|---:|---:|---:|"]
        for m in summary["memaslap"]:
            if "error" in m:
                lines.append(f"| {m['variant']} | FAILED | {_one_line(m['error'])} "
                             f"| {m.get('attempts', 1)} |")
                continue
            lines.append(f"| {m['variant']} | {_fmt(m.get('tps'), '.0f')} "
                         f"| {_fmt(m.get('mean_us_littles_law'), '.0f')} "
                         f"| {m.get('attempts', 1)} |")
    lines += projection_markdown(summary.get("projection"))
    ctx = summary["context"]
    host = ctx.get("host") or {}
    lines += ["", f"Guest kernel {ctx.get('kernel')}, {ctx.get('cpus')} vCPUs "
              f"({host.get('accel', '?')}); host CPU {host.get('before', {}).get('cpu', '?')}; "
              f"host /proc/loadavg before {host.get('before', {}).get('host_loadavg', '?')}, "
              f"after {host.get('after', {}).get('host_loadavg', '?')}."]
    return "\n".join(lines) + "\n"


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else "..." + text[-limit:]


def io_micro_markdown(io: dict[str, Any] | None) -> list[str]:
    if not io:
        return []
    lines = ["", f"I/O bursts (`io_micro`: {io['burst']} calls of {io['len']} bytes per burst; "
             "direct = one syscall each, lua = one `lua_syscall()` making them all, uring = "
             "one `io_uring_enter()` for all the SQEs; ns per burst, best of rounds; bytes "
             f"read and datagrams received checked: {io['datagrams_received']} of "
             f"{io['datagrams_sent']} datagrams; io-wq workers {io.get('uring_workers')}, "
             "0 = every SQE completed inside the io_uring_enter()):", "",
             "| burst | direct ns | lua ns | uring ns | lua / direct | uring / direct "
             "| lua / uring | per call: direct / lua / uring |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for op, row in io["ops"].items():
        d, lu, ur = (row[p] for p in IO_PATHS)
        lua_uring = (lu["burst_ns"] / ur["burst_ns"]
                     if lu["burst_ns"] is not None and ur["burst_ns"] else None)
        lines.append(
            f"| {io['burst']} x {op} | {_fmt(d['burst_ns'], '.0f')} "
            f"| {_fmt(lu['burst_ns'], '.0f')} | {_fmt(ur['burst_ns'], '.0f')} "
            f"| {_fmt(lu['vs_direct'], '.2f')} | {_fmt(ur['vs_direct'], '.2f')} "
            f"| {_fmt(lua_uring, '.2f')} | {_fmt(d['call_ns'], '.0f')} / "
            f"{_fmt(lu['call_ns'], '.0f')} / {_fmt(ur['call_ns'], '.0f')} |")
    return lines


def projection_markdown(proj: dict[str, Any] | None) -> list[str]:
    if not proj or not proj["variants"]:
        return []
    names = list(proj["crossing_ns"])
    host = proj.get("host_crossing_ns")
    lines = ["", "**Hardware projection: a model, not a measurement.** memcached's own time "
             f"per {proj['size']}-byte GET, T = k x (I - C x Xg) + C x X, with I its "
             "instructions per GET and C its user/kernel crossings per GET (measured above), "
             f"Xg = {proj['guest_crossing_insns']:.0f} instructions per crossing in the guest, "
             f"k = {proj['ns_per_insn']:.3f} ns per instruction ({proj['ns_per_insn_source']}) "
             "and X the ns per crossing: "
             + (f"the host's null syscall ({host:.0f} ns, native), " if host else "")
             + "70, 200 and 700 ns. Server alone, the load generator elsewhere; k GET/s = "
             "1e6 / T(ns), and T(stock) / T(variant) beside it.", "",
             "| variant | I insns/GET | source | C crossings/GET | "
             + " | ".join(f"X = {n}: k GET/s (vs stock)" for n in names) + " |",
             "|---|---:|---|---:|" + "---:|" * len(names)]
    for v, r in proj["variants"].items():
        cells = " | ".join(f"{_fmt(_k(r['at'][n]['gets_per_s']), '.0f')}"
                           f" ({_fmt(r['at'][n]['vs_stock'], '.2f')})" for n in names)
        lines.append(f"| {v} | {r['insns_per_get']:.0f} | {r['insns_source']} "
                     f"| {r['crossings_per_get']:.3f} | {cells} |")
    return lines


def _k(x: float | None) -> float | None:
    return None if x is None else x / 1000


def memaslap_failures(summary: dict[str, Any]) -> list[str]:
    return [f"{m['variant']}: {_one_line(m['error'], 300)}" for m in summary["memaslap"]
            if "error" in m]


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
        ax_t.bar(xs, tps, width, label=v, color=COLOURS.get(v))
        ax_l.bar(xs, lat, width, label=v, color=COLOURS.get(v))
    for ax, title, unit in ((ax_t, "Throughput", "k requests/s"),
                            (ax_l, "Average response time", "µs")):
        ax.set_xticks(range(len(sizes)), [str(s) for s in sizes])
        ax.set_xlabel("value size (bytes)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = ax_t.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=max(len(variants), 1), frameon=False)
    fig.suptitle("memcached UDP GET, -t 1, 128 outstanding (QEMU TCG: compare ratios only)")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_io_micro(io: dict[str, Any], path: Path) -> None:
    """The I/O bursts: instructions (= guest ns) per burst, direct / lua / uring."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"direct": "tab:gray", "lua": "tab:orange", "uring": "tab:green"}
    ops = list(io["ops"])
    fig, ax = plt.subplots(figsize=(6, 4))
    width = 0.8 / len(IO_PATHS)
    for i, p in enumerate(IO_PATHS):
        xs = [j + (i - (len(IO_PATHS) - 1) / 2) * width for j in range(len(ops))]
        ns = [(io["ops"][op][p]["burst_ns"] or 0) / 1000 for op in ops]
        ax.bar(xs, ns, width, label=p, color=colours[p])
    ax.set_xticks(range(len(ops)), [f"{io['burst']} x {op}" for op in ops])
    ax.set_ylabel("µs per burst (icount: k instructions)")
    ax.set_title("One burst: direct vs one lua_syscall vs one io_uring_enter")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def host_crossing(loadgen: Path | None = None) -> dict[str, Any]:
    """The host's own costs, natively (outside the guest), for the hardware projection.

    null_syscall: ns per getppid() crossing; io_micro -L: the direct and io_uring bursts
    (no lua_syscall on the host), whose sendto burst calibrates ns per instruction.
    """
    if loadgen is None:
        from .memcached_build import loadgen_dir

        loadgen = loadgen_dir()
    out: dict[str, Any] = {}
    res = subprocess.run([str(loadgen / "null_syscall"), "-n", "200000", "-r", "10"],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise HarnessError(f"null_syscall on the host failed: {res.stderr.strip()}")
    out.update(json.loads(res.stdout))
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([str(loadgen / "io_micro"), "-L", "-n", "200", "-r", "10",
                              "-b", "16", "-l", "64", "-d", tmp],
                             capture_output=True, text=True, check=False)
    if res.returncode == 0:
        out["io_micro"] = json.loads(res.stdout)
    else:
        out["io_micro_error"] = res.stderr.strip()[-300:]
    return out


def write(doc: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """raw.json, summary.json, summary.md and the plots; then fail if memaslap did not run.

    A real run (doc["host"] set by `lua-syscall bench`) without the host's crossing cost
    gets it measured here, on the host, right after the guest.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if doc.get("host") is not None and "crossing" not in doc["host"]:
        doc["host"]["crossing"] = host_crossing()
    summary = summarize(doc)
    (out_dir / "raw.json").write_text(json.dumps(doc, indent=1))
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    (out_dir / "summary.md").write_text(markdown(summary))
    plot(summary, out_dir / "memcached-udp.png")
    if summary.get("io_micro"):
        plot_io_micro(summary["io_micro"], out_dir / "io-micro.png")
    failed = memaslap_failures(summary)
    if failed:
        raise HarnessError(f"memaslap did not run (results in {out_dir}): " + "; ".join(failed))
    return summary
