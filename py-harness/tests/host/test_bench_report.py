"""The benchmark report: ratios against stock, pooled syscall rates, the outputs, the
I/O bursts, the hardware projection; memaslap's checks."""

import subprocess
from pathlib import Path

import pytest

from lua_syscall_harness import bench_guest, bench_report
from lua_syscall_harness.proc import HarnessError

LOADGEN = Path(bench_report.__file__).resolve().parents[2] / "loadgen"


def run(variant, size, tps, mean_us, syscalls, sent=1000, **extra):
    return {"variant": variant, "size": size, "rep": 0, "tps": tps, "mean_us": mean_us,
            "p99_us": 2 * mean_us, "sent": sent, "rx_datagrams": sent, "lost": 0, "misses": 0,
            "cpu_frac": 0.5, "server_cpu_frac": 1.0, "throttled": 0, "offered_rps": 0,
            "syscount": {"syscalls": syscalls}, **extra}


DOC = {"kernel": "6.12", "cpus": 2, "loadavg_before": "0", "loadavg_after": "0", "runs": [
    run("stock", 64, 100.0, 1000.0, 3000), run("stock", 64, 300.0, 1000.0, 3000),
    run("lua", 64, 400.0, 500.0, 100), run("lua", 64, 400.0, 500.0, 100),
    run("lua", 64, 50.0, 100.0, 50, load_fraction=0.5),
]}


def test_ratios_and_rates():
    s = bench_report.summarize(DOC)
    assert s["table"]["stock"]["64"]["tps"] == 200.0
    ratios = s["ratios"]["lua"]["64"]
    assert (ratios["tps_ratio"], ratios["mean_latency_ratio"]) == (2.0, 0.5)
    # memcached CPU per request: mean(1/100, 1/300) s for stock, 1/400 s for lua
    assert abs(ratios["server_cpu_per_request_ratio"] - 0.375) < 1e-9
    assert s["table"]["lua"]["64"]["syscalls_per_request"] == 0.1
    assert s["table"]["lua"]["64"]["datagrams_per_crossing"] == 20.0
    assert s["table"]["lua"]["64"]["reps"] == 2  # the fixed-rate run is not a saturation run
    assert [r["load_fraction"] for r in s["offered_loads"]] == [0.5]


def test_outputs_written(tmp_path):
    bench_report.write(DOC, tmp_path)
    md = (tmp_path / "summary.md").read_text()
    assert "| 64 | lua | 2 | 400 ± 0 | 2.000 ± 12.706 | 500.0 ± 0.0 | 0.500 ± 0.000 |" in md
    assert (tmp_path / "memcached-udp.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "summary.json").exists() and (tmp_path / "raw.json").exists()


def test_nested_lua_calls_are_not_crossings():
    doc = {"runs": [run("lua", 64, 400.0, 500.0, 300)]}
    doc["runs"][0]["syscount"]["lua_nested"] = 200
    cell = bench_report.summarize(doc)["table"]["lua"]["64"]
    assert cell["syscalls_per_request"] == 0.1
    assert cell["nested_per_request"] == 0.2


IO_RAW = {"burst": 16, "len": 64, "iterations": 10, "rounds": 1, "pread_direct_ns": 3200.0,
          "pread_lua_ns": 1600.0, "pread_uring_ns": 6400.0, "sendto_direct_ns": 80000.0,
          "sendto_lua_ns": 60000.0, "sendto_uring_ns": 70000.0, "datagrams_sent": 480,
          "datagrams_received": 480, "checked": True}


def full_doc(**extra):
    runs = [run("stock", 64, 100.0, 1000.0, 3000, server_insns_per_get=10000.0),
            run("lua", 64, 150.0, 800.0, 300, server_insns_per_get=8000.0),
            run("uring", 64, 140.0, 900.0, 200)]
    runs[1]["syscount"]["lua_nested"] = 200
    return {"kernel": "6.12", "cpus": 2, "params": {"load_size": 64}, "runs": runs,
            "micro": {"null_syscall_ns": 200.0}, "io_micro": dict(IO_RAW), **extra}


def test_io_micro_ratios_and_table(tmp_path):
    s = bench_report.write(full_doc(), tmp_path)
    pread = s["io_micro"]["ops"]["pread"]
    assert pread["lua"]["vs_direct"] == 0.5 and pread["uring"]["vs_direct"] == 2.0
    assert pread["direct"]["call_ns"] == 200.0
    md = (tmp_path / "summary.md").read_text()
    assert "| 16 x pread | 3200 | 1600 | 6400 | 0.50 | 2.00 | 0.25 | 200 / 100 / 400 |" in md
    assert "480 of 480 datagrams" in md
    assert (tmp_path / "io-micro.png").read_bytes()[:4] == b"\x89PNG"
    # the fourth variant is in the measured table and the plot
    assert "| 64 | uring | 1 | 140 | 1.400 |" in md


def test_projection_formula_and_separate_table():
    host = {"crossing": {"null_syscall_ns": 100.0,
                         "io_micro": {"burst": 16, "sendto_direct_ns": 16 * 600.0}}}
    doc = full_doc(host=host)
    # the lead's plugin numbers, per variant, override the per-run ones
    doc["server_insns_per_get"] = {"uring": {"64": 9000}}
    p = bench_report.summarize(doc)["projection"]
    # k = (600 - 100) ns / (80000 / 16 - 200) insns
    k = 500 / 4800
    assert abs(p["ns_per_insn"] - k) < 1e-12
    assert p["ns_per_insn_source"].endswith("(measured)")
    stock, lua = p["variants"]["stock"], p["variants"]["lua"]
    assert stock["crossings_per_get"] == 3.0 and lua["crossings_per_get"] == 0.1
    assert p["variants"]["uring"]["insns_source"] == "plugin"
    assert p["variants"]["uring"]["insns_per_get"] == 9000
    t_stock = k * (10000 - 3 * 200) + 3 * 700
    t_lua = k * (8000 - 0.1 * 200) + 0.1 * 700
    assert abs(stock["at"]["700 ns"]["ns_per_get"] - t_stock) < 1e-9
    assert abs(lua["at"]["700 ns"]["vs_stock"] - t_stock / t_lua) < 1e-9
    assert set(stock["at"]) == {"host", "70 ns", "200 ns", "700 ns"}
    md = bench_report.markdown(bench_report.summarize(doc))
    head, proj = md.split("**Hardware projection: a model, not a measurement.**")
    assert "| 64 | stock |" in head and "| 64 | stock |" not in proj
    assert "| lua | 8000 | plugin | 0.100 |" in proj


def test_projection_without_plugin_uses_cpu_time_and_assumed_k():
    p = bench_report.summarize(full_doc())["projection"]
    assert p["variants"]["uring"]["insns_source"] == "cpu time"
    assert p["variants"]["uring"]["insns_per_get"] == pytest.approx(1e6 / 140 * 1000)
    assert p["ns_per_insn"] == bench_report.DEFAULT_NS_PER_INSN
    assert "host" not in p["crossing_ns"]


def test_memaslap_failure_fails_the_bench_after_writing(tmp_path):
    doc = full_doc(memaslap=[{"variant": "stock", "size": 64, "tps": 45000.0,
                              "mean_us_littles_law": 2844.0},
                             {"variant": "lua-b1", "size": 64,
                              "error": "exit status 134: ms_sort_udp_packet: Assertion"}])
    with pytest.raises(HarnessError, match="lua-b1: exit status 134"):
        bench_report.write(doc, tmp_path)
    md = (tmp_path / "summary.md").read_text()
    assert "| lua-b1 | FAILED | exit status 134" in md and "| stock | 45000 | 2844 | 1 |" in md


DEAD_SERVER = """servers: 127.0.0.1:1
cmd_get: 0
cmd_set: 16
get_misses: 0

Run time: 1.0s Ops: 16 TPS: 16 Net_rate: 0.0M/s
"""


def test_memaslap_output_checked():
    with pytest.raises(bench_guest.MemaslapFailed, match="no GETs"):
        bench_guest.parse_memaslap(0, DEAD_SERVER, "", 128)
    with pytest.raises(bench_guest.MemaslapFailed, match="exit status 1"):
        bench_guest.parse_memaslap(1, "", "Could not create default configure file", 128)
    good = DEAD_SERVER.replace("cmd_get: 0", "cmd_get: 40000").replace(
        "Ops: 16 TPS: 16", "Ops: 45000 TPS: 45000")
    m = bench_guest.parse_memaslap(0, good, "", 128)
    assert m["tps"] == 45000 and m["cmd_get"] == 40000 and "error" not in m


def test_memaslap_config_file(tmp_path):
    path = bench_guest.memaslap_config(tmp_path, 64)
    assert path.read_text().split("\n")[:4] == ["key", "64 64 1", "value", "64 64 1"]


def test_io_micro_and_null_syscall_on_the_host(tmp_path):
    """The C programs build, and the paths that need no lua_syscall check themselves."""
    subprocess.run(["make", "-s", "-C", str(LOADGEN), f"OUT={tmp_path}"], check=True)
    host = bench_report.host_crossing(tmp_path)
    assert host["null_syscall_ns"] > 0
    io = host["io_micro"]
    assert io["checked"] and io["datagrams_received"] == io["datagrams_sent"] > 0
    assert io["pread_lua_ns"] is None and io["sendto_uring_ns"] > 0


def test_task_clock_is_the_server_cost_when_counted():
    doc = full_doc()
    for r, ns in zip(doc["runs"], (12_000_000, 6_000_000, 7_000_000), strict=True):
        r["syscount"]["task_clock_ns"] = ns  # 1000 requests each
    s = bench_report.summarize(doc)
    assert s["table"]["lua"]["64"]["server_task_us_per_request"] == 6.0
    assert s["ratios"]["lua"]["64"]["server_cpu_per_request_ratio"] == 0.5
    p = s["projection"]["variants"]
    assert p["uring"]["insns_source"] == "task clock" and p["uring"]["insns_per_get"] == 7000
    assert p["lua"]["insns_source"] == "plugin"  # the plugin's number still wins


def test_plugin_instructions_in_the_measured_tables():
    doc = full_doc()
    doc["runs"].append(run("lua", 64, 50.0, 100.0, 50, load_fraction=0.5,
                           server_insns_per_get=9000.0))
    md = bench_report.markdown(bench_report.summarize(doc))
    assert "| 64 | lua | 1 | 150 | 1.500 | 800.0 | 0.800 | 1600 | 8000 | 0.800 | 0 |" in md
    assert "| 64 | lua | 1 | 0.100 | n/a | 0.200 | 20.0 |" in md
    assert "| 6666.67 | 1.00 | 0.50 |" in md
    assert "| 50% | 0 | lua | 1 | 50 | 100.0 | 200 | 9000 | 0.05 |" in md


def test_confidence_intervals():
    # t(0.975, 2) = 4.303; sd 1 over 3 samples
    assert bench_report.ci95([1.0, 2.0, 3.0]) == pytest.approx(4.303 / 3 ** 0.5)
    assert bench_report.ci95([5.0]) is None
    assert bench_report.t975(10) == 2.228 and bench_report.t975(500) == 1.980
    # two samples of equal relative spread: sqrt(2) x the relative half-width of one
    num, den = [9.0, 11.0], [4.5, 5.5]
    rel = 12.706 * 2 ** 0.5 / 2 ** 0.5 / 10  # t * sd / sqrt(n) / mean
    assert bench_report.ratio_ci95(num, den) == pytest.approx(2.0 * rel * 2 ** 0.5)
    assert bench_report.ratio_ci95([1.0], den) is None


def counting(variant, size, tps, syscalls, **extra):
    r = run(variant, size, tps, 1.0, syscalls, counting=True, **extra)
    return r


def test_counting_runs_count_and_are_not_measured(tmp_path):
    """Runs with syscount attached give the system calls and nothing else; the measured
    runs give throughput, latency and instructions, and memcached's own counters."""
    stats = {"udp_batch_exchanges": 100, "udp_batch_waits": 50, "udp_batch_wait_first": 40,
             "udp_batch_nested": 250, "udp_batch_rx_datagrams": 1000}
    measured = [run("stock", 64, 100.0, 10.0, 0, server_insns_per_get=1000.0),
                run("stock", 64, 110.0, 11.0, 0, server_insns_per_get=1100.0),
                run("lua", 64, 150.0, 8.0, 0, server_insns_per_get=800.0,
                    server_stats_delta=stats),
                run("lua", 64, 160.0, 7.0, 0, server_insns_per_get=820.0,
                    server_stats_delta=stats)]
    for r in measured:
        del r["syscount"]
    counts = [counting("stock", 64, 50.0, 3000, server_insns_per_get=2000.0),
              counting("lua", 64, 60.0, 500, server_insns_per_get=1600.0)]
    counts[1]["syscount"]["lua_nested"] = 400
    counts[1]["syscount"]["epoll_wait"] = 30
    doc = {"runs": measured + counts}
    s = bench_report.summarize(doc)
    lua = s["table"]["lua"]["64"]
    assert lua["reps"] == 2 and lua["tps"] == 155.0 and lua["counted_runs"] == 1
    assert lua["server_insns_per_get"] == 810.0  # the counting run's 1600 is not in it
    assert lua["syscalls_per_request"] == 0.1 and lua["nested_per_request"] == 0.4
    assert lua["epoll_wait_per_request"] == 0.03
    assert lua["waits_per_exchange"] == 0.5 and lua["wait_first_per_exchange"] == 0.4
    assert lua["nested_per_exchange"] == 2.5 and lua["rx_per_exchange"] == 10.0
    assert lua["exchanges_per_request"] == 0.1
    assert lua["attached"] == {"reps": 1, "tps": 60.0, "mean_us": 1.0,
                               "server_insns_per_get": 1600.0}
    assert s["table"]["stock"]["64"]["waits_per_exchange"] is None
    r = s["ratios"]["lua"]["64"]
    assert r["tps_ratio"] == pytest.approx(155 / 105)
    assert r["tps_ratio_ci95"] == pytest.approx(
        bench_report.ratio_ci95([150.0, 160.0], [100.0, 110.0]))
    md = bench_report.markdown(s)
    assert "| 64 B saturation | lua | 155 | 60 | 0.387 | 810 | 1600 | 1.975 |" in md
    assert "| 64 | lua | 1 | 0.100 | 0.030 | 0.400 |" in md
    assert "| 2.50 | n/a |" in md  # nested per exchange, no mmsg receive skipped


def test_offered_loads_are_aggregated_per_variant_and_load():
    doc = {"runs": [run("lua", 64, 100.0, 50.0, 0, load_fraction=0.25, offered_rps=100.0),
                    run("lua", 64, 100.0, 70.0, 0, load_fraction=0.25, offered_rps=100.0),
                    counting("lua", 64, 90.0, 110, load_fraction=0.25, offered_rps=100.0),
                    run("lua", 64, 300.0, 90.0, 0, load_fraction=0.75, offered_rps=300.0)]}
    for r in doc["runs"]:
        if not r.get("counting"):
            del r["syscount"]
    loads = bench_report.summarize(doc)["offered_loads"]
    assert [(x["load_fraction"], x["reps"]) for x in loads] == [(0.25, 2), (0.75, 1)]
    assert loads[0]["mean_us"] == 60.0
    assert loads[0]["mean_us_ci95"] == pytest.approx(12.706 * 200 ** 0.5 / 2 ** 0.5)
    assert loads[0]["syscalls_per_request"] == 0.11 and loads[1]["syscalls_per_request"] is None
    assert loads[0]["attached"]["tps"] == 90.0


def test_measured_runs_attach_no_perf_counters(monkeypatch, tmp_path):
    """syscount (perf counters on the syscall tracepoints) runs only in counting runs."""
    started: list[list[str]] = []

    class FakeCounter:
        def __init__(self, argv, **kw):
            started.append(argv)
            self.stdout = iter_lines(["ready\n"])
            self.stdin = object()

        def communicate(self, _):
            return '{"syscalls": 7, "lua_nested": 2}\n', ""

    class iter_lines:
        def __init__(self, lines):
            self.lines = lines

        def readline(self):
            return self.lines.pop(0)

    class FakeServer:
        pid, port = 1, 2
        n = 0

        def stats(self):
            self.n += 10
            return {"cmd_get": str(self.n), "udp_batch_nested": str(2 * self.n)}

    gen = '{"tps": 1.0, "mean_us": 1.0, "p99_us": 1, "sent": 5, "lost": 0}'
    monkeypatch.setattr(bench_guest.subprocess, "Popen", FakeCounter)
    monkeypatch.setattr(bench_guest.subprocess, "run",
                        lambda argv, **kw: subprocess.CompletedProcess(argv, 0, gen, ""))
    monkeypatch.setattr(bench_guest, "cpu_seconds", lambda pid: 0.0)
    args = bench_guest.parser().parse_args(["--out", str(tmp_path / "x")])
    r = bench_guest.measured_run(FakeServer(), tmp_path, args, None)  # type: ignore[arg-type]
    assert started == [] and "syscount" not in r and not r.get("counting")
    assert r["server_stats_delta"] == {"cmd_get": 10, "udp_batch_nested": 20}
    r = bench_guest.measured_run(FakeServer(), tmp_path, args, None, count=True)  # type: ignore[arg-type]
    assert len(started) == 1 and started[0][0].endswith("syscount")
    assert r["counting"] and r["syscount"] == {"syscalls": 7, "lua_nested": 2}
    assert args.reps >= 10 and args.load_reps >= 10
