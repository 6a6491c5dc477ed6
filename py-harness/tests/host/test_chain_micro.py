"""chain_micro in the benchmark report: its table and plot, the native-clock table (host
measurements for direct and io_uring, a labelled model for lua), the native clock's inputs,
and the program itself on the host (the paths that need no lua_syscall)."""

import json
import subprocess
from pathlib import Path

import pytest

from lua_syscall_harness import bench_guest, bench_report, native_clock

LOADGEN = Path(bench_report.__file__).resolve().parents[2] / "loadgen"

TREE = {"dirs": 17, "files": 320, "bytes": 651139, "entries": 336, "dirs_made": 8,
        "files_per_dir": 32}
SMALL = {"files": 64, "bytes": 135095, "batch": 16, "fnv1a": "eb0ed485339b14b0"}
GUEST = {"iterations": 30, "rounds": 3, "tree": TREE, "small": SMALL,
         "dirwalk": {"direct": {"ns": 400000.0, "crossings": 404.0},
                     "uring": {"ns": 600000.0, "crossings": 85.0, "uring_workers": 1},
                     "lua_dir": {"ns": 500000.0, "crossings": 17.0, "nested": 404.0},
                     "lua_tree": {"ns": 480000.0, "crossings": 1.0, "nested": 404.0}},
         "smallfiles": {"direct": {"ns": 200000.0, "crossings": 256.0},
                        "uring": {"ns": 300000.0, "crossings": 4.0, "uring_workers": 1},
                        "lua": {"ns": 180000.0, "crossings": 4.0, "nested": 256.0},
                        "lua_all": None},
         "checksum": "eb0ed485339b14b0", "uring_workers": 1, "checked": True}
HOST = {**GUEST, "checked": True, "host_kernel": "6.18.0",
        "dirwalk": {"direct": {"ns": 200000.0, "crossings": 404.0},
                    "uring": {"ns": 390000.0, "crossings": 85.0, "uring_workers": 1},
                    "lua_dir": None, "lua_tree": None},
        "smallfiles": {"direct": {"ns": 75000.0, "crossings": 256.0},
                       "uring": {"ns": 197000.0, "crossings": 4.0, "uring_workers": 1},
                       "lua": None, "lua_all": None}}
NATIVE = {"crossing_ns": 70.0, "nested_call_ns": 60.0, "empty_kernel_ns": 80.0,
          "cpu_model": "Test CPU", "utc": "20261207T000000Z"}
# Xg 200, Eg 900 - 200 = 700, Ng (39300 - 900) / 64 = 600
MICRO = {"null_syscall_ns": 200.0, "null_lua_syscall_ns": 900.0,
         "getppid_lua_64_ns": 900.0 + 64 * 600.0}


def doc(**extra):
    return {"kernel": "6.12", "cpus": 2, "runs": [], "micro": dict(MICRO),
            "chain_micro": json.loads(json.dumps(GUEST)), **extra}


def test_chain_micro_per_operation_and_unit():
    cm = bench_report.chain_micro(GUEST)
    walk = cm["workloads"]["dirwalk"]
    assert (walk["op"], walk["unit"], walk["units"]) == ("walk", "entry", 336)
    assert walk["paths"]["lua_dir"]["vs_direct"] == 1.25
    assert walk["paths"]["lua_dir"]["unit_ns"] == pytest.approx(500000 / 336)
    assert walk["paths"]["lua_tree"]["nested"] == 404.0
    assert walk["paths"]["uring"]["uring_workers"] == 1
    small = cm["workloads"]["smallfiles"]
    assert small["paths"]["lua"]["vs_direct"] == 0.9
    assert small["paths"]["lua"]["unit_ns"] == 180000 / 64
    assert small["paths"]["lua_all"] is None  # not run: kept, never made up
    assert bench_report.chain_micro(None) is None


def test_chain_native_model_a_and_b():
    d = doc(host={"chain_micro": HOST, "chain_native_clock": NATIVE})
    cn = bench_report.chain_native(d)
    walk = cn["workloads"]["dirwalk"]["paths"]
    # measured on the host for direct and uring, no model for them
    assert walk["direct"]["host_ns"] == 200000.0 and walk["direct"]["model_ns"] is None
    assert walk["uring"]["host_ns"] == 390000.0 and walk["uring"]["vs_direct"] == 1.95
    # A: host direct - crossings saved x X + lua_syscall() calls x Te + nested x Tn
    a = 200000 - (404 - 17) * 70 + 17 * 80 + 404 * 60
    assert walk["lua_dir"]["host_ns"] is None
    assert walk["lua_dir"]["model_ns"] == pytest.approx(a)
    # B: the script's instructions beyond its calls, at the direct path's ns per insn
    k = (200000 - 404 * 70) / (400000 - 404 * 200)
    resid = 500000 - 400000 + 404 * 200 - 17 * (200 + 700) - 404 * 600
    assert cn["workloads"]["dirwalk"]["ns_per_insn"] == pytest.approx(k)
    assert walk["lua_dir"]["script_insns"] == pytest.approx(resid)
    assert walk["lua_dir"]["model_vm_ns"] == pytest.approx(a + k * resid)
    assert walk["lua_dir"]["vs_direct"] == pytest.approx((a + k * resid) / 200000)
    small = cn["workloads"]["smallfiles"]["paths"]
    assert small["lua"]["model_ns"] == pytest.approx(75000 - 252 * 70 + 4 * 80 + 256 * 60)
    assert "lua_all" not in small


def test_chain_native_needs_the_host_run_and_the_native_clock():
    assert bench_report.chain_native(doc()) is None
    assert bench_report.chain_native(doc(host={"chain_micro": HOST})) is None
    failed = {"chain_micro": {"error": "boom"}, "chain_native_clock": NATIVE}
    assert bench_report.chain_native(doc(host=failed)) is None
    # without syscall_micro: model A only
    d = doc(host={"chain_micro": HOST, "chain_native_clock": NATIVE})
    del d["micro"]
    lua = bench_report.chain_native(d)["workloads"]["dirwalk"]["paths"]["lua_dir"]
    assert lua["model_ns"] is not None and lua["model_vm_ns"] is None


def test_chain_tables_and_plot_from_a_micro_only_run(tmp_path):
    """A --micro-only document (no memcached runs) still writes every output."""
    d = doc(host=None)
    d["host"] = None
    bench_report.write(d, tmp_path)
    md = (tmp_path / "summary.md").read_text()
    assert "| dirwalk | lua_tree | 480000 | 1429 | 1.20 | 1.00 | 404 | n/a |" in md
    assert "| smallfiles | uring | 300000 | 4688 | 1.50 | 4.00 | n/a | 1 |" in md
    assert "| smallfiles | lua_all | not run |" in md
    assert "a model, not a measurement" not in md.split("Chains (`chain_micro`")[1]
    assert (tmp_path / "chain-micro.png").read_bytes()[:4] == b"\x89PNG"


def test_chain_native_table_is_separate_and_labelled():
    d = doc(host={"chain_micro": HOST, "chain_native_clock": NATIVE})
    md = bench_report.markdown(bench_report.summarize(d))
    measured, model = md.split("**Chains on the native clock")
    assert "| dirwalk | lua_dir | 500000 |" in measured
    assert "the lua paths a model, not a measurement.**" in model
    assert "| dirwalk | uring | 600000 | 390000 | n/a | n/a | n/a | 1.95 |" in model
    a = 200000 - (404 - 17) * 70 + 17 * 80 + 404 * 60
    assert f"| dirwalk | lua_dir | 500000 | n/a | {a:.0f} |" in model
    assert "Test CPU" in model and "kernel 6.18.0" in model


def native_json(variants):
    summary = {"crossing_ns": {"median": 66.0}, "nested_call_ns": {"median": 62.0},
               "empty_kernel_ns": {"median": 86.0}}
    return {"utc": "x", "environment": {"cpu_model": "CPU"},
            "variants": {v: {"summary": summary} for v in variants}}


def test_newest_native_inputs_skips_runs_without_the_kernel_flags(tmp_path, monkeypatch):
    kernel = native_clock.Variant().name
    for stamp, variants in (("20260101T000000Z", [kernel]),
                            ("20260102T000000Z", ["noretpoline-noret-jumptables"])):
        (tmp_path / stamp).mkdir()
        (tmp_path / stamp / "native.json").write_text(json.dumps(native_json(variants)))
    monkeypatch.setattr(native_clock, "results_root", lambda: tmp_path)
    got = bench_report.newest_native_inputs()
    assert got["file"].endswith("20260101T000000Z/native.json")
    assert got["crossing_ns"] == 66.0 and got["nested_call_ns"] == 62.0
    monkeypatch.setattr(native_clock, "results_root", lambda: tmp_path / "none")
    assert bench_report.newest_native_inputs() is None


def test_guest_options():
    args = bench_guest.parser().parse_args(["--out", "x", "--micro-only",
                                            "--chain-micro-ops", "5"])
    assert args.micro_only and args.chain_micro_ops == 5
    assert bench_guest.parser().parse_args(["--out", "x"]).chain_micro_ops > 0


def test_chain_micro_on_the_host(tmp_path):
    """The program builds warning-free, and its direct and io_uring paths check themselves
    and make the calls a walk of its tree needs."""
    subprocess.run(["make", "-s", "-C", str(LOADGEN), f"OUT={tmp_path}",
                    f"{tmp_path}/chain_micro"], check=True)
    guest = {"tree": {"dirs_made": 2, "files_per_dir": 8}, "small": {"files": 16, "batch": 4}}
    out = bench_report.host_chain_micro(guest, tmp_path)
    assert out.get("checked") is True, out
    tree = out["tree"]
    assert (tree["dirs"], tree["files"], tree["entries"]) == (5, 20, 24)
    # open and close the root; per directory two getdents64 (the last returns 0); a
    # newfstatat per entry; open and close per subdirectory
    assert out["dirwalk"]["direct"]["crossings"] == 2 + 2 * 5 + 24 + 2 * 4
    assert out["dirwalk"]["lua_dir"] is None and out["smallfiles"]["lua"] is None
    assert out["smallfiles"]["direct"]["crossings"] == 4 * 16
    assert out["smallfiles"]["uring"]["crossings"] == 16 / 4
    assert out["smallfiles"]["uring_all"]["crossings"] == 1
    assert out["checksum"] == out["small"]["fnv1a"]


def test_chain_micro_refuses_a_batch_that_does_not_divide(tmp_path):
    subprocess.run(["make", "-s", "-C", str(LOADGEN), f"OUT={tmp_path}",
                    f"{tmp_path}/chain_micro"], check=True)
    res = subprocess.run([str(tmp_path / "chain_micro"), "-L", "-N", "10", "-B", "4"],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 2 and "usage" in res.stderr
