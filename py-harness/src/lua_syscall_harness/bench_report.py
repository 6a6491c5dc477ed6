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


# Student's t, two-sided 95 %, by degrees of freedom (beyond the table: its last entry
# is within 1 % of the normal's 1.96 from 60 on)
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
    if df < 1:
        raise ValueError("a confidence interval needs two samples")
    if df <= len(T975):
        return T975[df - 1]
    return 2.021 if df < 60 else 2.000 if df < 120 else 1.980


def ci95(xs: list[float]) -> float | None:
    """Half-width of the 95 % confidence interval of the mean of xs (Student's t)."""
    if len(xs) < 2:
        return None
    return t975(len(xs) - 1) * statistics.stdev(xs) / len(xs) ** 0.5


def ratio_ci95(num: list[float], den: list[float]) -> float | None:
    """Half-width of the 95 % interval of mean(num) / mean(den) (delta method).

    The two samples are taken as independent, which over-states the interval when
    interleaved repetitions share drifts; t with the smaller sample's degrees of freedom.
    """
    if len(num) < 2 or len(den) < 2:
        return None
    mn, md = statistics.mean(num), statistics.mean(den)
    if not md or not mn:
        return None
    rel = (statistics.variance(num) / len(num) / mn ** 2
           + statistics.variance(den) / len(den) / md ** 2) ** 0.5
    return t975(min(len(num), len(den)) - 1) * rel * mn / md


def is_counting(r: dict[str, Any]) -> bool:
    """A run with syscount attached: it counts system calls and is not measured."""
    return bool(r.get("counting"))


def _sat_runs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc["runs"] if "load_fraction" not in r and not is_counting(r)]


def _counting(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc["runs"] if is_counting(r)]


def _per_exchange(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    """memcached's own counters (stats), pooled: per exchange (batched crossing) and per
    request. Waits: exchanges that waited for a request inside the crossing (lua: the
    script's epoll_wait; uring: io_uring_enter with a timeout); wait_first: of those, the
    ones made before any receive, as the last receive had drained the socket; nested: the
    lua script's system calls; rx_skipped: mmsg's receives left to libevent's epoll_wait
    by the same rule."""
    sent = sum(r["sent"] for r in runs)
    d = [r.get("server_stats_delta", {}) for r in runs]
    tot = {k: sum(x.get(k, 0) for x in d) for k in (
        "udp_batch_exchanges", "udp_batch_waits", "udp_batch_wait_first", "udp_batch_nested",
        "udp_batch_rx_skipped", "udp_batch_rx_datagrams")}
    have = {k for x in d for k in x}
    ex = tot["udp_batch_exchanges"]

    def per(key: str, n: float) -> float | None:
        return tot[key] / n if key in have and n else None

    return {"exchanges_per_request": ex / sent if "udp_batch_exchanges" in have and sent
            else None,
            "rx_per_exchange": per("udp_batch_rx_datagrams", ex),
            "waits_per_exchange": per("udp_batch_waits", ex),
            "wait_first_per_exchange": per("udp_batch_wait_first", ex),
            "nested_per_exchange": per("udp_batch_nested", ex),
            "rx_skipped_per_exchange": per("udp_batch_rx_skipped", ex)}


def _syscall_rates(counts: list[dict[str, Any]]) -> dict[str, Any]:
    """System calls per request from the runs that counted them (pooled)."""
    sent = sum(r["sent"] for r in counts)
    calls = [crossings(r["syscount"]) for r in counts]
    syscalls = sum(c for c in calls if c is not None) if calls and None not in calls else None
    datagrams = sent + sum(r["rx_datagrams"] for r in counts)
    clocks = [r["syscount"].get("task_clock_ns") for r in counts]

    def per(key: str) -> float | None:
        vals = [r["syscount"].get(key) for r in counts]
        return sum(vals) / sent if sent and vals and None not in vals else None

    return {
        "counted_runs": len(counts),
        # user/kernel crossings per request (a lua script's nested calls are not crossings)
        "syscalls_per_request": syscalls / sent if syscalls is not None and sent else None,
        "nested_per_request": sum(r["syscount"].get("lua_nested") or 0 for r in counts) / sent
        if sent else None,
        "io_uring_enter_per_request": per("io_uring_enter"),
        "epoll_wait_per_request": per("epoll_wait"),
        "datagrams_per_crossing": datagrams / syscalls if syscalls else None,
        # memcached's time per request from perf's task clock (counting runs only): under
        # icount the other vCPU's instructions advance the clock too; an upper bound
        "server_task_us_per_request": sum(clocks) / sent / 1000
        if sent and clocks and None not in clocks else None,
    }


def _attached(counts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What the counting runs themselves measured, perf counters attached."""
    if not counts:
        return None
    insns = [r.get("server_insns_per_get") for r in counts]
    return {"reps": len(counts), "tps": statistics.mean(r["tps"] for r in counts),
            "mean_us": statistics.mean(r["mean_us"] for r in counts),
            "server_insns_per_get": statistics.mean(insns) if None not in insns else None}


def _cell(runs: list[dict[str, Any]],
          counts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Mean and 95 % interval over repetitions; counts pooled over all runs.

    System calls come from counts (runs with syscount attached); without any, from the
    measured runs themselves if they carry syscount (documents of older benches).
    """
    if not counts:
        counts = [r for r in runs if "syscount" in r]
    sent = sum(r["sent"] for r in runs)
    insns = [r.get("server_insns_per_get") for r in runs]
    have_insns = bool(insns) and None not in insns
    tps = [r["tps"] for r in runs]
    means = [r["mean_us"] for r in runs]
    deltas = [r.get("server_stats_delta", {}) for r in runs]
    exchanges = sum(d.get("udp_batch_exchanges", 0) for d in deltas)
    batched = sum(d.get("udp_batch_rx_datagrams", 0) + d.get("udp_batch_tx_datagrams", 0)
                  for d in deltas)
    cell: dict[str, Any] = {
        "reps": len(runs),
        "tps": statistics.mean(tps),
        "tps_stdev": statistics.stdev(tps) if len(tps) > 1 else 0.0,
        "tps_ci95": ci95(tps),
        "mean_us": statistics.mean(means),
        "mean_us_ci95": ci95(means),
        "p99_us": statistics.mean(r["p99_us"] for r in runs),
        # memcached's own instructions per GET (QEMU plugin), when the run has them
        "server_insns_per_get": statistics.mean(insns) if have_insns else None,  # type: ignore[arg-type]
        "server_insns_per_get_ci95": ci95(insns) if have_insns else None,  # type: ignore[arg-type]
        # memcached's own count: datagrams moved per batched crossing (mmsg, lua, uring)
        "datagrams_per_batch_call": batched / exchanges if exchanges else None,
        "lost": sum(r["lost"] for r in runs),
        "misses": sum(r["misses"] for r in runs),
        "loadgen_cpu_frac": statistics.mean(r["cpu_frac"] for r in runs),
        # memcached's own CPU time per request (tick-sampled): under icount, its instructions
        "server_us_per_request": statistics.mean(r["server_cpu_frac"] / r["tps"] * 1e6
                                                 for r in runs if r["tps"]) if any(
                                                     r["tps"] for r in runs) else None,
        "server_cpu_frac": statistics.mean(r["server_cpu_frac"] for r in runs),
        "attached": _attached([r for r in counts if r not in runs]),
    }
    cell.update(_syscall_rates(counts) if counts else {
        "counted_runs": 0, "syscalls_per_request": None, "nested_per_request": None,
        "io_uring_enter_per_request": None, "epoll_wait_per_request": None,
        "datagrams_per_crossing": None, "server_task_us_per_request": None})
    cell.update(_per_exchange(runs))
    cell["sent"] = sent
    return cell


def _server_us(cell: dict[str, Any]) -> float | None:
    """memcached's µs per GET: the task clock if counted, else /proc's tick-sampled time."""
    task = cell.get("server_task_us_per_request")
    return task if task is not None else cell.get("server_us_per_request")


def _ratio(cell: dict[str, Any], base: dict[str, Any], runs: list[dict[str, Any]],
           base_runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tps_ratio": cell["tps"] / base["tps"],
        "tps_ratio_ci95": ratio_ci95([r["tps"] for r in runs], [r["tps"] for r in base_runs]),
        "mean_latency_ratio": cell["mean_us"] / base["mean_us"],
        "mean_latency_ratio_ci95": ratio_ci95([r["mean_us"] for r in runs],
                                              [r["mean_us"] for r in base_runs])}
    if cell.get("server_insns_per_get") and base.get("server_insns_per_get"):
        out["server_insns_per_get_ratio"] = (
            cell["server_insns_per_get"] / base["server_insns_per_get"])
        if all(r.get("server_insns_per_get") for r in runs + base_runs):
            out["server_insns_per_get_ratio_ci95"] = ratio_ci95(
                [r["server_insns_per_get"] for r in runs],
                [r["server_insns_per_get"] for r in base_runs])
    mine, theirs = _server_us(cell), _server_us(base)
    if mine and theirs:
        out["server_cpu_per_request_ratio"] = mine / theirs
    return out


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    runs = _sat_runs(doc)
    counting = _counting(doc)
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    sizes = sorted({r["size"] for r in runs})
    table: dict[str, dict[str, Any]] = {}
    cell_runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for v in variants:
        table[v] = {}
        for s in sizes:
            cell = [r for r in runs if r["variant"] == v and r["size"] == s]
            counts = [r for r in counting if r["variant"] == v and r["size"] == s
                      and "load_fraction" not in r]
            if cell:
                table[v][str(s)] = _cell(cell, counts)
                cell_runs[v, str(s)] = cell
    ratios: dict[str, dict[str, Any]] = {}
    if BASELINE in table:
        for v in variants:
            ratios[v] = {}
            for s, c in table[v].items():
                base = table[BASELINE].get(s)
                if base:
                    ratios[v][s] = _ratio(c, base, cell_runs[v, s], cell_runs[BASELINE, s])
    _doc_insns(doc, table)
    return {"table": table, "ratios": ratios, "offered_loads": offered_loads(doc),
            "micro": doc.get("micro"), "io_micro": io_micro(doc.get("io_micro")),
            "chain_micro": chain_micro(doc.get("chain_micro")),
            "chain_native": chain_native(doc),
            "projection": projection(doc, table),
            "native_projection": native_projection(doc, table),
            "memaslap": doc.get("memaslap", []),
            "context": {k: doc.get(k) for k in ("kernel", "cpus", "loadavg_before",
                                                "loadavg_after", "params", "host")}}


def offered_loads(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Per load fraction and variant: the fixed-rate runs' means and intervals."""
    fixed = [r for r in doc["runs"] if "load_fraction" in r]
    out = []
    for frac in sorted({r["load_fraction"] for r in fixed}):
        for v in dict.fromkeys(r["variant"] for r in fixed):
            measured = [r for r in fixed if r["load_fraction"] == frac and r["variant"] == v
                        and not is_counting(r)]
            counts = [r for r in fixed if r["load_fraction"] == frac and r["variant"] == v
                      and is_counting(r)]
            if not measured:
                continue
            c = _cell(measured, counts)
            out.append({"variant": v, "size": measured[0]["size"], "load_fraction": frac,
                        "offered_rps": statistics.mean(r["offered_rps"] for r in measured),
                        "throttled": sum(r.get("throttled", 0) for r in measured)}
                       | {k: c[k] for k in (
                           "reps", "tps", "tps_ci95", "mean_us", "mean_us_ci95", "p99_us",
                           "lost", "syscalls_per_request", "nested_per_request",
                           "epoll_wait_per_request", "server_insns_per_get",
                           "server_insns_per_get_ci95", "exchanges_per_request",
                           "rx_per_exchange", "waits_per_exchange", "wait_first_per_exchange",
                           "nested_per_exchange", "rx_skipped_per_exchange", "attached")})
    return out


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


# chain_micro (issue 20 item 4): chains of calls whose next call depends on the last result.
# The unit each workload's operation is also reported per: a walk stats every entry of the
# tree; a pass reads every small file.
CHAIN_UNITS = {"dirwalk": ("walk", "entry"), "smallfiles": ("pass", "file")}
CHAIN_PLURAL = {"entry": "entries", "file": "files"}
CHAIN_COLOURS = {"direct": "tab:gray", "uring": "tab:green", "uring_all": "tab:olive",
                 "uring_nostat": "tab:cyan", "lua_dir": "tab:orange", "lua_tree": "tab:red",
                 "lua_tree_unpack": "tab:pink",
                 "lua": "tab:orange", "lua_all": "tab:red"}


def chain_micro(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """chain_micro's paths per workload: ns per operation (under icount: instructions),
    per entry or file, against direct, with crossings and nested calls per operation.

    A path chain_micro did not run (-L: no lua_syscall) is kept as None.
    """
    if not raw:
        return None
    units = {"dirwalk": (raw.get("tree") or {}).get("entries"),
             "smallfiles": (raw.get("small") or {}).get("files")}
    out: dict[str, Any] = {"tree": raw.get("tree"), "small": raw.get("small"),
                           "checked": raw.get("checked"), "checksum": raw.get("checksum"),
                           "iterations": raw.get("iterations"), "rounds": raw.get("rounds"),
                           "workloads": {}}
    for w, (op, unit) in CHAIN_UNITS.items():
        rows = raw.get(w)
        if not rows:
            continue
        direct = (rows.get("direct") or {}).get("ns")
        n = units[w]
        paths: dict[str, Any] = {}
        for p, r in rows.items():
            if r is None:
                paths[p] = None
                continue
            ns = r["ns"]
            paths[p] = {"ns": ns, "unit_ns": ns / n if n else None,
                        "vs_direct": ns / direct if direct else None,
                        "crossings": r["crossings"], "nested": r.get("nested"),
                        "uring_workers": r.get("uring_workers")}
        out["workloads"][w] = {"op": op, "unit": unit, "units": n, "paths": paths}
    return out


def chain_native(doc: dict[str, Any]) -> dict[str, Any] | None:
    """chain_micro on the native clock: the direct and io_uring paths measured on the host
    (chain_micro -L, the host's kernel), the lua paths a model (the host has no
    lua_syscall()):

      A:  T = H_direct - (C_direct - C_lua) * X + C_lua * Te + N * Tn
      B:  A + k * R,  R = I_lua - I_direct + C_direct * Xg - C_lua * (Xg + Eg) - N * Ng,
                      k = (H_direct - C_direct * X) / (I_direct - C_direct * Xg)

    H: host ns per operation; I: guest instructions per operation (icount); C: crossings
    and N: nested calls per operation (chain_micro's counts); X, Tn, Te: the native clock's
    ns per host crossing, per nested call and per empty lua_syscall()'s in-kernel part (the
    replica built with the kernel's flags); Xg, Ng, Eg: the guest's instructions per null
    syscall, per nested getppid and per empty lua_syscall() beyond its crossing
    (syscall_micro). A charges the crossings saved and the nested calls made; B adds the
    script's own work beyond its calls (parsing records with mem.get*, the VM's loop; less
    the direct path's user-space code), R guest instructions at the ns per instruction of
    the direct path's kernel work. None without the host run or the native clock.
    """
    host = doc.get("host") or {}
    guest, native = doc.get("chain_micro"), host.get("chain_native_clock")
    hraw = host.get("chain_micro") or {}
    if not guest or not native or not hraw.get("checked"):
        return None
    x, tn, te = native["crossing_ns"], native["nested_call_ns"], native["empty_kernel_ns"]
    micro = doc.get("micro") or {}
    xg, lua0 = micro.get("null_syscall_ns"), micro.get("null_lua_syscall_ns")
    lua64 = micro.get("getppid_lua_64_ns")
    have_guest_calls = None not in (xg, lua0, lua64)
    out: dict[str, Any] = {"native": native, "host_kernel": hraw.get("host_kernel"),
                           "workloads": {}}
    if have_guest_calls:
        out["guest_nested_insns"] = (lua64 - lua0) / 64
        out["guest_empty_lua_insns"] = lua0 - xg
    for w, (op, _unit) in CHAIN_UNITS.items():
        g, h = guest.get(w) or {}, hraw.get(w) or {}
        gd, hd = g.get("direct"), h.get("direct")
        if not gd or not hd:
            continue
        rows: dict[str, Any] = {}
        k = None
        if have_guest_calls and gd["ns"] > gd["crossings"] * xg:
            k = (hd["ns"] - gd["crossings"] * x) / (gd["ns"] - gd["crossings"] * xg)
        for p, r in g.items():
            if r is None:
                continue
            row: dict[str, Any] = {"guest_insns": r["ns"], "crossings": r["crossings"],
                                   "nested": r.get("nested"),
                                   "host_ns": (h.get(p) or {}).get("ns"),
                                   "model_ns": None, "model_vm_ns": None, "script_insns": None}
            if r.get("nested") is not None:
                c, n = r["crossings"], r["nested"]
                row["model_ns"] = hd["ns"] - (gd["crossings"] - c) * x + c * te + n * tn
                if k is not None:
                    ng, eg = out["guest_nested_insns"], out["guest_empty_lua_insns"]
                    resid = (r["ns"] - gd["ns"] + gd["crossings"] * xg - c * (xg + eg)
                             - n * ng)
                    row["script_insns"] = resid
                    row["model_vm_ns"] = row["model_ns"] + k * resid
            ns = row["host_ns"] if row["host_ns"] is not None else row["model_vm_ns"] \
                if row["model_vm_ns"] is not None else row["model_ns"]
            row["vs_direct"] = ns / hd["ns"] if ns is not None and hd["ns"] else None
            rows[p] = row
        out["workloads"][w] = {"op": op, "ns_per_insn": k, "paths": rows}
    return out


def chain_micro_markdown(cm: dict[str, Any] | None) -> list[str]:
    if not cm or not cm["workloads"]:
        return []
    tree, small = cm.get("tree") or {}, cm.get("small") or {}
    lines = ["", "Chains (`chain_micro`, issue 20 item 4: each call depends on the last one's "
             f"result). dirwalk: a du -b of a tmpfs tree of {tree.get('dirs')} directories and "
             f"{tree.get('files')} files ({tree.get('bytes')} bytes; {tree.get('entries')} "
             "entries stat'ed per walk): getdents64, newfstatat of every entry, openat of "
             f"every subdirectory. smallfiles: {small.get('files')} files of 100-4000 bytes "
             f"({small.get('bytes')} in all) read whole per pass: openat, fstat, read, close; "
             f"batches of {small.get('batch')}. direct: every call from user space; uring: "
             "dirwalk one io_uring_enter() for a directory's statx (getdents64 and the "
             "subdirectories' openat/close direct), smallfiles a linked chain per file, statx "
             "-> openat (fixed slot) -> read (the slot's capacity: the chain cannot pass the "
             "size on) => close, one io_uring_enter() per batch (uring_all: per pass); "
             "uring_nostat: openat -> read (size known beforehand) => close; lua_dir: one "
             "lua_syscall() per directory, lua_tree: the whole walk in one (both read each "
             "record's and stat's fields with mem.get*), lua_tree_unpack: as lua_tree with "
             "string.unpack over one mem.read per getdents64 chunk and per stat; lua: one "
             "lua_syscall() per batch, lua_all: per pass. Best of "
             f"{cm.get('rounds')} rounds of {cm.get('iterations')} operations; every "
             "operation checked (totals, lengths, bytes; checksum "
             f"{cm.get('checksum')}); nested calls equal the direct path's calls. io-wq: "
             "io_uring worker threads after the path (statx always runs in one).", "",
             "| workload | path | ns/op (icount: instructions) | per entry or file "
             "| vs direct | crossings/op | nested/op | io-wq |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for w, wl in cm["workloads"].items():
        for p, r in wl["paths"].items():
            if r is None:
                lines.append(f"| {w} | {p} | not run | | | | | |")
                continue
            lines.append(f"| {w} | {p} | {r['ns']:.0f} | {_fmt(r['unit_ns'], '.0f')} "
                         f"| {_fmt(r['vs_direct'], '.2f')} | {r['crossings']:.2f} "
                         f"| {_fmt(r['nested'], '.0f')} "
                         f"| {_fmt(r['uring_workers'], 'd')} |")
    return lines


def chain_native_markdown(cn: dict[str, Any] | None) -> list[str]:
    if not cn or not cn["workloads"]:
        return []
    nat = cn["native"]
    lines = ["", "**Chains on the native clock: direct and io_uring measured on the host, the "
             "lua paths a model, not a measurement.** Host: `chain_micro -L` on "
             f"{nat.get('cpu_model', 'the host CPU')}, kernel {cn.get('host_kernel') or '?'} "
             "(no lua_syscall there). Model A: host direct ns - crossings saved x X + "
             "lua_syscall() calls x Te + nested calls x Tn, with the native clock's "
             f"({nat.get('utc', '?')}, kernel flags) X = {nat['crossing_ns']:.1f} ns per "
             f"crossing, Tn = {nat['nested_call_ns']:.1f} ns per nested call, Te = "
             f"{nat['empty_kernel_ns']:.1f} ns per lua_syscall()'s in-kernel part. Model B: A "
             "plus the script's own work beyond its calls (guest instructions of the lua path "
             "less the direct path's, less crossings, lua_syscall() and nested calls at the "
             "guest's own cost per call; negative when the script's work is less than the "
             "direct path's user-space code) at k ns per instruction of the direct path's "
             "kernel work (host direct ns - crossings x X over guest instructions - crossings "
             "x the guest's null syscall). vs direct: host ns (B for lua) over host direct.",
             "", "| workload | path | guest insns/op (icount) | host ns/op (measured) "
             "| model A ns/op | script insns beyond calls | model B ns/op | vs direct |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for w, wl in cn["workloads"].items():
        for p, r in wl["paths"].items():
            lines.append(f"| {w} | {p} | {r['guest_insns']:.0f} | {_fmt(r['host_ns'], '.0f')} "
                         f"| {_fmt(r['model_ns'], '.0f')} | {_fmt(r['script_insns'], '.0f')} "
                         f"| {_fmt(r['model_vm_ns'], '.0f')} | {_fmt(r['vs_direct'], '.2f')} |")
    ks = ", ".join(f"{w} {_fmt(wl['ns_per_insn'], '.3f')}" for w, wl in cn["workloads"].items())
    lines += ["", f"k (ns per guest instruction of the direct path's kernel work): {ks}. The "
              "host's kernel and configuration differ from the guest's; the model ignores "
              "caches and branch predictors."]
    return lines


def plot_chain_micro(cm: dict[str, Any], path: Path) -> None:
    """chain_micro: instructions (= guest ns) per operation, one panel per workload."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wls = list(cm["workloads"].items())
    fig, axes = plt.subplots(1, len(wls), figsize=(5.5 * len(wls), 4), squeeze=False)
    for ax, (w, wl) in zip(axes[0], wls, strict=True):
        paths = [(p, r) for p, r in wl["paths"].items() if r is not None]
        bars = ax.bar(range(len(paths)), [r["ns"] / 1000 for _, r in paths],
                      color=[CHAIN_COLOURS.get(p, "tab:purple") for p, _ in paths])
        for b, (_, r) in zip(bars, paths, strict=True):
            ax.annotate(f"{r['crossings']:g} x", (b.get_x() + b.get_width() / 2,
                                                  b.get_height()),
                        ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(paths)), [p for p, _ in paths], rotation=20)
        ax.set_ylabel(f"µs per {wl['op']} (icount: k instructions)")
        ax.set_title(f"{w}: {wl['units']} {CHAIN_PLURAL.get(wl['unit'], wl['unit'])} "
                     f"per {wl['op']}")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Dependent chains: direct vs io_uring vs lua_syscall (labels: crossings)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def host_chain_micro(guest: dict[str, Any], loadgen: Path | None = None) -> dict[str, Any]:
    """chain_micro's direct and io_uring paths natively on the host (-L: no lua_syscall
    there), with the guest run's tree and batch; {"error": ...} if it failed."""
    import platform

    if loadgen is None:
        from .memcached_build import loadgen_dir

        loadgen = loadgen_dir()
    tree, small = guest.get("tree") or {}, guest.get("small") or {}
    argv = [str(loadgen / "chain_micro"), "-L", "-n", "200", "-r", "10",
            "-D", str(tree.get("dirs_made", 8)), "-F", str(tree.get("files_per_dir", 32)),
            "-N", str(small.get("files", 64)), "-B", str(small.get("batch", 16))]
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([*argv, "-d", tmp], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return {"error": res.stderr.strip()[-300:]}
    out: dict[str, Any] = json.loads(res.stdout)
    out["host_kernel"] = platform.release()
    return out


def newest_native_inputs() -> dict[str, Any] | None:
    """The newest native-clock run that timed the kernel's own flags (a later run may have
    timed other flags only): its projection inputs and file."""
    from .native_clock import projection_inputs, results_root

    root = results_root()
    for path in sorted(root.glob("*/native.json"), reverse=True) if root.is_dir() else []:
        inputs = projection_inputs(json.loads(path.read_text()))
        if inputs:
            return {**inputs, "file": str(path)}
    return None


def attach_chain_host(doc: dict[str, Any]) -> None:
    """doc["host"]: chain_micro natively on the host and the native clock's figures."""
    doc["host"]["chain_micro"] = host_chain_micro(doc["chain_micro"])
    native = newest_native_inputs()
    if native:
        doc["host"]["chain_native_clock"] = native


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


def _lua_calls_per_request(doc: dict[str, Any], variant: str, size: str) -> float:
    """lua_syscall() crossings per request (syscount's "lua_syscall"), counting runs."""
    counts = [r for r in _counting(doc) if r["variant"] == variant and str(r["size"]) == size
              and "load_fraction" not in r]
    sent = sum(r["sent"] for r in counts)
    calls = sum(r["syscount"].get("lua_syscall") or 0 for r in counts)
    return calls / sent if sent else 0.0


def native_projection(doc: dict[str, Any], table: dict[str, dict[str, Any]]
                      ) -> dict[str, Any] | None:
    """The hardware projection with the native clock's measured ns (a model, not a
    measurement), when the host's native.json (`lua-syscall native-clock`) is attached:

    T = k * (I - C * Xg - N * Ng - L * Eg) + C * X + N * Tn + L * Te   ns per GET, where
      N, L = nested calls and lua_syscall() crossings per GET (syscount),
      Ng   = guest instructions per nested getppid ((getppid_lua_64 - null_lua) / 64),
      Eg   = guest instructions of an empty lua_syscall() beyond its crossing
             (null_lua - null_syscall),
      Tn, Te, X = the native clock's ns per nested call, per empty lua_syscall()'s
             in-kernel part and per host crossing (the replica built with the kernel's
             flags, timed on the host CPU),
    and k, I, C, Xg as in projection(): only the rest of the work keeps one ns-per-
    instruction factor.
    """
    native = (doc.get("host") or {}).get("native_clock")
    base = projection(doc, table)
    micro = doc.get("micro") or {}
    xg, lua0 = micro.get("null_syscall_ns"), micro.get("null_lua_syscall_ns")
    lua64 = micro.get("getppid_lua_64_ns")
    if not native or not base or None in (xg, lua0, lua64):
        return None
    ng, eg = (lua64 - lua0) / 64, lua0 - xg
    tn, te, x = native["nested_call_ns"], native["empty_kernel_ns"], native["crossing_ns"]
    k = base["ns_per_insn"]
    size = str(base["size"])
    rows: dict[str, Any] = {}
    for v, r in base["variants"].items():
        c = table[v][size]
        n = c.get("nested_per_request") or 0.0
        calls = _lua_calls_per_request(doc, v, size) if n else 0.0
        cross = r["crossings_per_get"]
        work = max(r["insns_per_get"] - cross * xg - n * ng - calls * eg, 0.0)
        t = k * work + cross * x + n * tn + calls * te
        rows[v] = {"nested_per_get": n, "lua_calls_per_get": calls, "work_insns_per_get": work,
                   "ns_per_get": t, "gets_per_s": 1e9 / t if t else None}
    stock = rows.get(BASELINE)
    for r in rows.values():
        r["vs_stock"] = stock["ns_per_get"] / r["ns_per_get"] if stock and r["ns_per_get"] \
            else None
    return {"size": base["size"], "ns_per_insn": k, "ns_per_insn_source":
            base["ns_per_insn_source"], "guest_nested_insns": ng, "guest_empty_lua_insns": eg,
            "native": native, "variants": rows}


def native_projection_markdown(proj: dict[str, Any] | None) -> list[str]:
    if not proj or not proj["variants"]:
        return []
    nat = proj["native"]
    lines = ["", "**Hardware projection with the native clock: a model, not a measurement.** "
             "As above, but crossings, nested calls and lua_syscall()'s own work at the ns "
             f"the native clock measured on {nat.get('cpu_model', 'the host')} "
             f"({nat.get('utc', '?')}; a user-space replica built with the kernel's flags): "
             f"X = {nat['crossing_ns']:.0f} ns per crossing, Tn = {nat['nested_call_ns']:.0f} "
             f"ns per nested call (guest: {proj['guest_nested_insns']:.0f} instructions), "
             f"Te = {nat['empty_kernel_ns']:.0f} ns per lua_syscall() beyond its crossing "
             f"(guest: {proj['guest_empty_lua_insns']:.0f}); the rest at k = "
             f"{proj['ns_per_insn']:.3f} ns per instruction.", "",
             "| variant | nested/GET | lua_syscall/GET | rest insns/GET | ns/GET "
             "| k GET/s | vs stock |", "|---|---:|---:|---:|---:|---:|---:|"]
    for v, r in proj["variants"].items():
        lines.append(f"| {v} | {r['nested_per_get']:.2f} | {r['lua_calls_per_get']:.2f} "
                     f"| {r['work_insns_per_get']:.0f} | {r['ns_per_get']:.0f} "
                     f"| {_fmt(_k(r['gets_per_s']), '.0f')} | {_fmt(r['vs_stock'], '.2f')} |")
    return lines


def attach_native_clock(doc: dict[str, Any]) -> None:
    """Put the newest native clock figures (if `lua-syscall native-clock` ran) in doc."""
    from .native_clock import latest_results, projection_inputs

    path = latest_results()
    if path is not None and doc.get("host") is not None:
        inputs = projection_inputs(json.loads(path.read_text()))
        if inputs:
            doc["host"]["native_clock"] = {**inputs, "file": str(path)}


def _fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def _pm(x: float | None, ci: float | None, spec: str) -> str:
    """x ± its 95 % half-width (x alone with fewer than two repetitions)."""
    if x is None:
        return "n/a"
    return format(x, spec) if ci is None else f"{format(x, spec)} ± {format(ci, spec)}"


def _pmk(d: dict[str, Any], key: str, spec: str) -> str:
    return _pm(d.get(key), d.get(f"{key}_ci95"), spec)


def markdown(summary: dict[str, Any]) -> str:
    lines = ["Saturation (128 outstanding): mean ± 95 % confidence interval over the "
             "repetitions (Student's t; for a ratio, the delta method on the two means). "
             "Measured runs have no perf counter attached.", "",
             "| value size | variant | reps | TPS | vs stock | mean µs | vs stock | p99 µs "
             "| server insns/GET | vs stock | lost |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    table, ratios = summary["table"], summary["ratios"]
    sizes = sorted({int(s) for v in table.values() for s in v})
    for s in sizes:
        for v, cells in table.items():
            c = cells.get(str(s))
            if not c:
                continue
            r = ratios.get(v, {}).get(str(s), {})
            lines.append(
                f"| {s} | {v} | {c['reps']} | {_pmk(c, 'tps', '.0f')} "
                f"| {_pmk(r, 'tps_ratio', '.3f')} "
                f"| {_pmk(c, 'mean_us', '.1f')} "
                f"| {_pmk(r, 'mean_latency_ratio', '.3f')} "
                f"| {c['p99_us']:.0f} "
                f"| {_pmk(c, 'server_insns_per_get', '.0f')} "
                f"| {_pmk(r, 'server_insns_per_get_ratio', '.3f')} "
                f"| {c['lost']} |")
    lines += ["", "server insns/GET: instructions of memcached's vCPU per GET it served (QEMU "
              "plugin, exact, between two markers around each run)."]
    lines += counts_markdown(summary)
    lines += attached_markdown(summary)
    if summary["offered_loads"]:
        lines += ["", "Offered load (fixed rate; mean ± 95 % interval; counts as above):", "",
                  "| load | offered/s | variant | reps | TPS | mean µs | p99 µs "
                  "| server insns/GET | crossings/GET | epoll_wait/GET | exchanges/GET "
                  "| waits/exchange | wait-first/exchange | nested/exchange |",
                  "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in summary["offered_loads"]:
            lines.append(
                f"| {r['load_fraction']:.0%} | {r['offered_rps']:.0f} | {r['variant']} "
                f"| {r['reps']} | {_pmk(r, 'tps', '.0f')} "
                f"| {_pmk(r, 'mean_us', '.1f')} | {r['p99_us']:.0f} "
                f"| {_pmk(r, 'server_insns_per_get', '.0f')} "
                f"| {_fmt(r.get('syscalls_per_request'), '.2f')} "
                f"| {_fmt(r.get('epoll_wait_per_request'), '.2f')} "
                f"| {_fmt(r.get('exchanges_per_request'), '.2f')} "
                f"| {_fmt(r.get('waits_per_exchange'), '.2f')} "
                f"| {_fmt(r.get('wait_first_per_exchange'), '.2f')} "
                f"| {_fmt(r.get('nested_per_exchange'), '.2f')} |")
    micro = summary.get("micro")
    if micro:
        lines += ["", "Microbenchmarks (ns per operation, best of rounds):", "",
                  "| operation | ns |", "|---|---:|"]
        lines += [f"| {k.removesuffix('_ns')} | {v:.0f} |" for k, v in micro.items()
                  if k.endswith("_ns")]
    lines += io_micro_markdown(summary.get("io_micro"))
    lines += chain_micro_markdown(summary.get("chain_micro"))
    lines += chain_native_markdown(summary.get("chain_native"))
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
    lines += native_projection_markdown(summary.get("native_projection"))
    ctx = summary["context"]
    host = ctx.get("host") or {}
    lines += ["", f"Guest kernel {ctx.get('kernel')}, {ctx.get('cpus')} vCPUs "
              f"({host.get('accel', '?')}); host CPU {host.get('before', {}).get('cpu', '?')}; "
              f"host /proc/loadavg before {host.get('before', {}).get('host_loadavg', '?')}, "
              f"after {host.get('after', {}).get('host_loadavg', '?')}."]
    return "\n".join(lines) + "\n"


def counts_markdown(summary: dict[str, Any]) -> list[str]:
    """System calls (counting runs) and memcached's own counters (measured runs)."""
    lines = ["", "Counts at saturation. crossings, epoll_wait and nested lua calls per GET: "
             "perf counters on the syscall tracepoints (`syscount`), in separate runs "
             "(crossings exclude the lua scripts' nested calls, epoll_wait/GET includes "
             "them); "
             "exchanges (batched crossings), waits, wait-first and nested calls per exchange: "
             "memcached's own counters in the measured runs (wait: the exchange waited for a "
             "request inside the crossing; wait-first: it waited before receiving, as the "
             "last receive had drained the socket; rx skipped: mmsg left that receive to "
             "libevent's epoll_wait).", "",
             "| value size | variant | counted runs | crossings/GET | epoll_wait/GET "
             "| nested/GET | datagrams/crossing | exchanges/GET | datagrams/exchange "
             "| waits/exchange | wait-first/exchange | nested/exchange | rx skipped/exchange "
             "| server µs/GET | server CPU | loadgen CPU |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    table = summary["table"]
    sizes = sorted({int(s) for v in table.values() for s in v})
    for s in sizes:
        for v, cells in table.items():
            c = cells.get(str(s))
            if not c:
                continue
            lines.append(
                f"| {s} | {v} | {c.get('counted_runs', 0)} "
                f"| {_fmt(c['syscalls_per_request'], '.3f')} "
                f"| {_fmt(c.get('epoll_wait_per_request'), '.3f')} "
                f"| {_fmt(c.get('nested_per_request'), '.3f')} "
                f"| {_fmt(c['datagrams_per_crossing'], '.1f')} "
                f"| {_fmt(c.get('exchanges_per_request'), '.3f')} "
                f"| {_fmt(c['datagrams_per_batch_call'], '.1f')} "
                f"| {_fmt(c.get('waits_per_exchange'), '.2f')} "
                f"| {_fmt(c.get('wait_first_per_exchange'), '.2f')} "
                f"| {_fmt(c.get('nested_per_exchange'), '.2f')} "
                f"| {_fmt(c.get('rx_skipped_per_exchange'), '.2f')} "
                f"| {_fmt(_server_us(c), '.2f')} "
                f"| {c['server_cpu_frac']:.2f} | {c['loadgen_cpu_frac']:.2f} |")
    lines += ["", "server µs/GET: perf's task clock in the counting runs (else /proc's "
              "tick-sampled CPU time): under icount both vCPUs share one instruction clock, "
              "so it includes the load generator's turns; an upper bound."]
    return lines


def attached_markdown(summary: dict[str, Any]) -> list[str]:
    """The counting runs against the measured ones: what attaching perf counters costs."""
    rows = []
    for v, cells in summary["table"].items():
        for s, c in cells.items():
            rows.append((f"{s} B saturation", v, c))
    for r in summary["offered_loads"]:
        rows.append((f"{r['size']} B {r['load_fraction']:.0%} load", r["variant"], r))
    rows = [(w, v, c) for w, v, c in rows if c.get("attached")]
    if not rows:
        return []
    lines = ["", "syscount attached (counting runs) against detached (measured runs, the "
             "tables above):", "",
             "| run | variant | TPS detached | attached | attached / detached "
             "| server insns/GET detached | attached | attached / detached |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for what, v, c in rows:
        a = c["attached"]
        det_i, att_i = c.get("server_insns_per_get"), a.get("server_insns_per_get")
        lines.append(
            f"| {what} | {v} | {c['tps']:.0f} | {a['tps']:.0f} "
            f"| {_fmt(a['tps'] / c['tps'] if c['tps'] else None, '.3f')} "
            f"| {_fmt(det_i, '.0f')} | {_fmt(att_i, '.0f')} "
            f"| {_fmt(att_i / det_i if det_i and att_i else None, '.3f')} |")
    return lines


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
    if doc.get("host") is not None and "native_clock" not in doc["host"]:
        attach_native_clock(doc)
    if doc.get("host") is not None and doc.get("chain_micro") and "chain_micro" not in doc["host"]:
        attach_chain_host(doc)
    summary = summarize(doc)
    (out_dir / "raw.json").write_text(json.dumps(doc, indent=1))
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    (out_dir / "summary.md").write_text(markdown(summary))
    plot(summary, out_dir / "memcached-udp.png")
    if summary.get("io_micro"):
        plot_io_micro(summary["io_micro"], out_dir / "io-micro.png")
    if summary.get("chain_micro"):
        plot_chain_micro(summary["chain_micro"], out_dir / "chain-micro.png")
    failed = memaslap_failures(summary)
    if failed:
        raise HarnessError(f"memaslap did not run (results in {out_dir}): " + "; ".join(failed))
    return summary
