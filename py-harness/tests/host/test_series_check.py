"""`series check` without building a kernel: its arches, its smoke program, its report."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lua_syscall_harness import arm64, build, series_check, vm
from lua_syscall_harness.layout import kernel_tree, variant_dir
from lua_syscall_harness.proc import HarnessError


def test_every_arch_has_a_table_a_timeout_and_a_smoke_command():
    for arch in build.ARCHES:
        assert (kernel_tree() / series_check.SYSCALL_TABLE[arch]).exists()
        assert series_check.BOOT_TIMEOUT[arch] > 0
        assert series_check._SMOKE_COMMAND[arch]


def test_each_table_numbers_the_calls_as_the_smoke_programs_do():
    source = series_check.SMOKE_SOURCE.read_text()
    for arch in build.ARCHES:
        table = (kernel_tree() / series_check.SYSCALL_TABLE[arch]).read_text().splitlines()
        numbers = {f[2]: f[0] for f in (line.split() for line in table) if len(f) >= 3}
        assert numbers["register_lua_syscall"] == "463", arch
        assert numbers["lua_syscall"] == "464", arch
    assert "#define NR_REGISTER_LUA_SYSCALL 463" in source
    assert "#define NR_LUA_SYSCALL 464" in source
    assert "syscall(463" in series_check._SMOKE_PY and "syscall(464" in series_check._SMOKE_PY


def test_out_dirs_sit_where_ccache_hits_the_variant_builds():
    wt = series_check.work_dir() / "linux"
    for arch in build.ARCHES:
        assert os.path.relpath(wt, series_check.out_dir(arch)) == \
            os.path.relpath(kernel_tree(), variant_dir("debug", arch))
    assert series_check.out_dir("x86_64") != series_check.out_dir("arm64")


def test_unknown_or_no_arch_is_refused_before_any_build():
    with pytest.raises(HarnessError, match="unknown arch riscv"):
        series_check.check(arches=["riscv"])
    with pytest.raises(HarnessError, match="unknown arch"):
        series_check.check(arches=[])


def test_an_x86_guest_takes_no_initrd(tmp_path: Path):
    with pytest.raises(HarnessError, match="takes no initrd"):
        vm.run("true", kernel=tmp_path / "bzImage", initrd=tmp_path / "initrd")


def test_smoke_program_fails_cleanly_without_the_system_calls(tmp_path: Path):
    """The host kernel has no lua_syscall: the program must say so and exit 1, not print 42."""
    binary = tmp_path / "lua_smoke"
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-o", str(binary),
                    str(series_check.SMOKE_SOURCE)], check=True)
    res = subprocess.run([str(binary)], capture_output=True, text=True)
    assert res.returncode == 1
    assert res.stdout.startswith("register_lua_syscall: ")
    assert series_check.SMOKE_OUTPUT not in res.stdout


@pytest.mark.skipif(not shutil.which("aarch64-linux-gnu-gcc"), reason="no arm64 cross gcc")
def test_smoke_program_cross_builds_static_for_arm64(tmp_path: Path):
    binary = tmp_path / "lua_smoke"
    subprocess.run(["aarch64-linux-gnu-gcc", "-static", "-O2", "-Wall", "-Werror", "-o",
                    str(binary), str(series_check.SMOKE_SOURCE)], check=True)
    header = binary.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and header[18] == 183  # e_machine EM_AARCH64
    assert arm64.GUEST_MOUNT in series_check._SMOKE_COMMAND["arm64"]


def test_table_has_a_column_per_arch_and_counts_problems():
    ok = series_check.ArchBuild("x86_64", 61.0, ["LUA"], [])
    bad = series_check.ArchBuild("arm64", 90.0, [], ["make exited 2", "boot: timed out"])
    result = series_check.CommitBuild("0123456789abcdef", "lua: a step", [ok, bad])
    text = series_check.table([result])
    assert "x86_64: build + boot" in text and "arm64: build + boot" in text
    assert "ok, 0 warnings, clean boot (61 s); LUA" in text
    assert "2 problems (90 s); -" in text
    assert result.problems == ["arm64: make exited 2", "arm64: boot: timed out"]
