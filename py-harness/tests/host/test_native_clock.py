"""native_clock: build command rewriting, generated stubs, statistics, report, projection."""

import json
import subprocess
from pathlib import Path

import pytest

from lua_syscall_harness import bench_report, native_clock
from lua_syscall_harness.native_clock import Variant
from lua_syscall_harness.proc import HarnessError

CMD = ("savedcmd_kernel/lua/lvm.o := ccache gcc -Wp,-MMD,kernel/lua/.lvm.o.d -nostdinc "
       "-I/k/arch/x86/include -I./arch/x86/include/generated -include /k/include/linux/kconfig.h "
       "-D__KERNEL__ -fmacro-prefix-map=/k/= -mcmodel=kernel -mindirect-branch=thunk-extern "
       "-mindirect-branch-register -mindirect-branch-cs-prefix -mfunction-return=thunk-extern "
       "-fno-jump-tables -O2 -I /k/kernel/lua/shim -Ikernel/lua -DKBUILD_BASENAME='\"lvm\"' "
       "-c -o kernel/lua/lvm.o /k/kernel/lua/lvm.c   ; ./tools/objtool/objtool --orc "
       "kernel/lua/lvm.o\n\nsource_kernel/lua/lvm.o := /k/kernel/lua/lvm.c\n")


def rewrite(tmp_path: Path, variant: Variant) -> list[str]:
    f = tmp_path / ".lvm.o.cmd"
    f.write_text(CMD)
    return native_clock.user_space_command(
        native_clock.saved_command(f), src_tree="/k", obj_tree="", src=tmp_path / "src",
        obj=tmp_path / "obj", out=tmp_path / "lvm.o", variant=variant)


def test_saved_command_stops_before_objtool(tmp_path):
    f = tmp_path / ".x.o.cmd"
    f.write_text(CMD)
    argv = native_clock.saved_command(f)
    assert argv[:2] == ["ccache", "gcc"]
    assert argv[-1] == "/k/kernel/lua/lvm.c"
    assert not any("objtool" in a for a in argv)
    f.write_text("nothing here\n")
    with pytest.raises(HarnessError):
        native_clock.saved_command(f)


def test_rewrite_kernel_flags(tmp_path):
    argv = rewrite(tmp_path, Variant())
    assert argv[0] == "gcc"
    assert "-mcmodel=small" in argv and "-mcmodel=kernel" not in argv
    assert not any(a.startswith(("-Wp,", "-fmacro-prefix-map")) for a in argv)
    assert f"-I{tmp_path}/src/arch/x86/include" in argv
    assert f"-I{tmp_path}/obj/arch/x86/include/generated" in argv
    assert f"-I{tmp_path}/obj/kernel/lua" in argv
    assert argv[argv.index("-I") + 1] == f"{tmp_path}/src/kernel/lua/shim"
    assert argv[argv.index("-include") + 1] == f"{tmp_path}/src/include/linux/kconfig.h"
    assert argv[argv.index("-o") + 1] == str(tmp_path / "lvm.o")
    assert argv[-1] == f"{tmp_path}/src/kernel/lua/lvm.c"
    for flag in ("-mindirect-branch=thunk-extern", "-mindirect-branch-register",
                 "-mfunction-return=thunk-extern", "-fno-jump-tables"):
        assert flag in argv


def test_rewrite_variant_switches(tmp_path):
    argv = rewrite(tmp_path, Variant(retpoline=False, rethunk=False, jump_tables=True))
    assert "-mindirect-branch=keep" in argv
    assert "-mindirect-branch=thunk-extern" not in argv
    assert "-mindirect-branch-register" not in argv
    assert "-mfunction-return=keep" in argv
    assert "-fno-jump-tables" not in argv


def test_variant_names_round_trip():
    assert Variant.parse("kernel") == Variant()
    assert Variant().name == "retpoline-rethunk-nojumptables"
    for v in (Variant(False, True, False), Variant(False, False, True), Variant(True, False, True)):
        assert Variant.parse(v.name) == v
    for bad in ("retpoline", "retpoline-noretpoline-jumptables", "fast-rethunk-jumptables"):
        with pytest.raises(HarnessError):
            Variant.parse(bad)


def test_generated_stubs():
    src, unreachable, data = native_clock.generated_stubs(
        ["memcpy", "__x64_sys_read", "fget_raw", "audit_log", "sysctl_vals",
         "__x86_return_thunk"])
    assert "memcpy:" not in src and "__x86_return_thunk:" not in src
    read = src.split("__x64_sys_read:")[1].splitlines()[1]
    assert "jmp __x64_sys_ni_syscall" in read
    assert unreachable == ["audit_log", "fget_raw"]
    assert data == ["sysctl_vals"]
    assert "sysctl_vals:\t.zero 256" in src
    assert src.index(".bss") < src.index("sysctl_vals:")


def test_median_ci_order_statistics():
    xs = [float(x) for x in range(1, 12)]          # n = 11: 95 % interval is [x(2), x(10)]
    assert native_clock.median_ci(xs) == (6.0, 2.0, 10.0)
    med, lo, hi = native_clock.median_ci([5.0, 1.0, 3.0])  # too few for 95 %: the range
    assert (med, lo, hi) == (3.0, 1.0, 5.0)
    med, lo, hi = native_clock.median_ci([1.0] * 50 + [1000.0])
    assert med == 1.0 and hi == 1.0               # one outlier does not reach the interval
    with pytest.raises(ValueError):
        native_clock.median_ci([])


def ns_doc(rounds=3):
    return {"crossing": [70.0] * rounds, "burst64": [64 * 66.0] * rounds,
            "dispatch": [6.0] * rounds, "empty": [90.0] * rounds,
            "nested0": [110.0] * rounds, "nested1": [190.0] * rounds,
            "nested64": [110.0 + 64 * 35.0] * rounds}


def test_derived_figures():
    d = native_clock.derived(ns_doc())
    assert d["nested_call_ns"][0] == pytest.approx(35.0)
    assert d["one_nested_ns"][0] == pytest.approx(80.0)
    assert d["crossing_only_ns"][0] == pytest.approx(64.0)
    assert d["lua_syscall_est_ns"][0] == pytest.approx(154.0)
    assert d["nested_over_crossing"][0] == pytest.approx(0.5)
    assert d["nested64_over_direct64"][0] == pytest.approx((64 + 110 + 64 * 35) / (64 * 66))


def native_doc():
    raw = {"ns_per_op": ns_doc(7), "burst": 64, "nested": 64}
    runs = [native_clock.summarize_run(raw)] * 2
    variant = {"flags": {}, "rounds": 7, "sample_us": 1, "runs": runs,
               "summary": native_clock.across_runs(runs),
               "standins_per_op": {"nested64": {"fget": 1, "__task_pid_nr_ns": 64}}}
    return {"utc": "20260101T000000Z", "source": {"kernel_commit": "0123456789abcdef",
                                                  "bench_build": "build/bench"},
            "environment": {"cpu_model": "Test CPU", "cpus": 2, "cpu_flags_of_note": ["smap"],
                            "mitigations": {"meltdown": "Not affected", "spectre_v2": "Retpolines"},
                            "kernel": "6.x", "compiler": "gcc", "loadavg": ["1", "1", "1"]},
            "variants": {Variant().name: variant}}


def test_markdown_labels_and_targets():
    md = native_clock.markdown(native_doc())
    assert "a replica, not the kernel" in md
    assert "Test CPU" in md and "spectre_v2: Retpolines" in md
    assert "meltdown" not in md                    # "Not affected" entries are left out
    assert "nested over crossing: 0.50 (target <= 0.5" in md and "met" in md
    assert "nested64 over direct64: 0.57" in md and "missed" in md
    assert "stand-in:" in md and "__task_pid_nr_ns 64" in md


def test_projection_inputs():
    inputs = native_clock.projection_inputs(native_doc())
    assert inputs is not None
    assert inputs["crossing_ns"] == 70.0
    assert inputs["nested_call_ns"] == pytest.approx(35.0)
    assert inputs["empty_kernel_ns"] == 90.0
    assert native_clock.projection_inputs({"variants": {}}) is None


def test_native_projection_formula():
    native = {"crossing_ns": 70.0, "nested_call_ns": 60.0, "empty_kernel_ns": 90.0}
    doc = {"micro": {"null_syscall_ns": 226.0, "null_lua_syscall_ns": 932.0,
                     "getppid_lua_64_ns": 932.0 + 64 * 595.0},
           "params": {"load_size": 64}, "host": {"native_clock": native},
           "runs": [{"counting": True, "variant": "lua", "size": 64, "sent": 1000,
                     "syscount": {"lua_syscall": 70}}]}
    table = {"stock": {"64": {"syscalls_per_request": 3.0, "server_insns_per_get": 14000.0,
                              "nested_per_request": 0.0}},
             "lua": {"64": {"syscalls_per_request": 0.07, "server_insns_per_get": 10000.0,
                            "nested_per_request": 2.0}}}
    p = bench_report.native_projection(doc, table)
    assert p is not None
    k = bench_report.DEFAULT_NS_PER_INSN
    stock = k * (14000 - 3 * 226) + 3 * 70
    lua = k * (10000 - 0.07 * 226 - 2 * 595 - 0.07 * 706) + 0.07 * 70 + 2 * 60 + 0.07 * 90
    assert p["variants"]["stock"]["ns_per_get"] == pytest.approx(stock)
    assert p["variants"]["lua"]["ns_per_get"] == pytest.approx(lua)
    assert p["variants"]["lua"]["vs_stock"] == pytest.approx(stock / lua)
    md = "\n".join(bench_report.native_projection_markdown(p))
    assert "a model, not a measurement" in md
    del doc["host"]["native_clock"]
    assert bench_report.native_projection(doc, table) is None


def test_replica_registers_and_runs(tmp_path):
    """The replica builds from build/linux and build/bench and its driver completes a
    round: it registers both scripts through the registration ABI the kernel has now."""
    from lua_syscall_harness.layout import variant_dir

    if not (variant_dir("bench") / "kernel/lua/.lvm.o.cmd").exists():
        pytest.skip("no bench kernel build")
    source = native_clock.snapshot(tmp_path)
    binary = native_clock.build_variant(Variant.parse("kernel"), tmp_path,
                                        source["kernel_tree"])
    res = subprocess.run([str(binary), "--rounds", "3", "--sample-us", "50"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = native_clock.summarize_run(json.loads(res.stdout))
    assert summary, res.stdout[:500]


def test_goto_variant_names():
    assert Variant.parse("kernel-goto") == Variant(goto_dispatch=True)
    v = Variant.parse("noretpoline-noret-jumptables-goto")
    assert (v.retpoline, v.rethunk, v.jump_tables, v.goto_dispatch) == (False, False, True, True)
    assert Variant.parse(v.name) == v
    with pytest.raises(HarnessError):
        Variant.parse("goto-noretpoline-noret-jumptables")


def test_goto_wrapper_overrides_only_the_dispatch_choice(tmp_path):
    (tmp_path / "kernel/lua").mkdir(parents=True)
    text = native_clock.goto_wrapper(tmp_path).read_text()
    # lvm.c's own defines come before luaconf.h, whose include guard keeps the override
    assert text.index("#define LUA_CORE") < text.index('#include "luaconf.h"')
    assert text.index("#define LUA_USE_JUMPTABLE 1") < text.index('#include "lvm.c"')
