"""The arm64 parts of the harness that need no arm64 kernel: configs, initramfs, QEMU line."""

import gzip
from pathlib import Path

import pytest

from lua_syscall_harness import arm64, build, kselftest, suite
from lua_syscall_harness.layout import variant_dir


def test_arm64_fragments_use_their_own_base_and_share_debug():
    frags = build.fragments("debug", "arm64")
    assert frags[0] == build.CONFIGS_DIR / "arm64" / "base.config"
    assert build.CONFIGS_DIR / "debug.config" in frags
    assert frags[-1] == build.FEATURE_FRAGMENT
    assert build.fragments("debug") == [build.CONFIGS_DIR / "base.config",
                                        build.CONFIGS_DIR / "debug.config",
                                        build.FEATURE_FRAGMENT]


def test_arm64_bench_has_no_x86_options_and_no_debug():
    bench = build.requested_options(build.fragments("bench", "arm64"))
    assert not any("MITIGATION_RETPOLINE" in k or "IA32" in k for k in bench)
    for opt in ("CONFIG_KASAN", "CONFIG_PROVE_LOCKING", "CONFIG_UBSAN", "CONFIG_KUNIT"):
        assert bench.get(opt, "n") == "n"


def test_arm64_base_holds_no_feature_option():
    wanted = build.requested_options([build.FEATURE_FRAGMENT])
    base = build.requested_options([build.CONFIGS_DIR / "arm64" / "base.config"])
    assert not set(wanted) & set(base)


def test_make_args_cross_compile_only_for_arm64():
    x86 = build.make_args("debug")
    assert "ARCH=x86_64" in x86 and not any(a.startswith("CROSS_COMPILE") for a in x86)
    a64 = build.make_args("debug", "arm64")
    assert "ARCH=arm64" in a64 and "CROSS_COMPILE=aarch64-linux-gnu-" in a64
    assert "CC=ccache aarch64-linux-gnu-gcc" in a64
    assert str(variant_dir("debug", "arm64")).endswith("/arm64-debug")


def test_unknown_arch_is_refused():
    with pytest.raises(build.HarnessError, match="unknown arch"):
        build.fragments("debug", "riscv")


def _cpio_names(data: bytes) -> dict[str, int]:
    raw, names, pos = gzip.decompress(data), {}, 0
    while True:
        assert raw[pos:pos + 6] == b"070701"
        fields = [int(raw[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = raw[pos + 110:pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        pos += size + (-size % 4)
        if name == "TRAILER!!!":
            return names
        names[name] = mode


def test_initramfs_holds_init_busybox_and_the_kselftests(tmp_path: Path):
    init, busybox, ksft = tmp_path / "init.sh", tmp_path / "busybox", tmp_path / "ksft"
    init.write_text("#!/bin/busybox sh\n")
    busybox.write_bytes(b"\x7fELF")
    busybox.chmod(0o755)
    (ksft / "lua_syscall").mkdir(parents=True)
    (ksft / "run_kselftest.sh").write_text("#!/bin/sh\n")
    (ksft / "run_kselftest.sh").chmod(0o755)
    (ksft / "lua_syscall" / "settings").write_text("timeout=300\n")
    names = _cpio_names(arm64.initramfs_bytes(init, busybox, ksft))
    assert names["init"] & 0o777 == 0o755 and names["bin/busybox"] & 0o777 == 0o755
    assert names["ksft/run_kselftest.sh"] & 0o111
    assert names["ksft/lua_syscall/settings"] & 0o777 == 0o644
    assert names["ksft/lua_syscall"] & 0o170000 == 0o040000
    assert {"dev", "proc", "sys", "tmp"} <= set(names)
    assert names["dev/console"] & 0o170000 == 0o020000


def test_qemu_line_is_virt_tcg_with_pauth_and_9p(tmp_path: Path):
    argv = arm64.qemu_command(Path("/k/Image"), Path("/k/initrd"), tmp_path, memory_mb=2048,
                              cpus=2)
    line = " ".join(argv)
    assert argv[0] == "qemu-system-aarch64"
    assert "virt,gic-version=3" in line and "tcg" in line and "max,pauth-impdef=on" in line
    assert "-initrd /k/initrd" in line and "console=ttyAMA0" in line
    assert "virtio-9p-device,fsdev=lsout,mount_tag=lsout" in line


def test_extra_arches_come_from_the_environment(monkeypatch):
    monkeypatch.delenv(suite.ARCHES_ENV, raising=False)
    assert suite.extra_arches() == ["arm64"]
    monkeypatch.setenv(suite.ARCHES_ENV, "x86_64")
    assert suite.extra_arches() == []
    monkeypatch.setenv(suite.ARCHES_ENV, "x86_64, arm64 arm64")
    assert suite.extra_arches() == ["arm64"]
    monkeypatch.setenv(suite.ARCHES_ENV, "mips")
    with pytest.raises(suite.HarnessError, match="unknown arch"):
        suite.extra_arches()


def test_tap_totals_sum_every_test_program():
    tap = ("# # Totals: pass:3 fail:0 xfail:0 xpass:0 skip:1 error:0\n"
           "# # Totals: pass:2 fail:1 xfail:0 xpass:0 skip:0 error:0\n")
    assert kselftest.tap_totals(tap) == {"pass": 5, "fail": 1, "xfail": 0, "xpass": 0,
                                         "skip": 1, "error": 0}
