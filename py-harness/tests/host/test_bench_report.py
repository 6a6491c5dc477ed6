"""The benchmark report: ratios against stock, pooled syscall rates, the three outputs."""

from lua_syscall_harness import bench_report


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
    assert "| 64 | lua | 400 | 2.00 | 500 | 0.50 |" in md
    assert (tmp_path / "memcached-udp.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "summary.json").exists() and (tmp_path / "raw.json").exists()
