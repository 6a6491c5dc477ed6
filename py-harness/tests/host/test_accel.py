import time

import pytest

from lua_syscall_harness import accel


def test_tcg_probe_sees_a_guest_run():
    assert accel.probe("tcg")


def test_probe_gives_up_on_a_hanging_guest_within_its_timeout():
    start = time.monotonic()
    assert not accel.probe("tcg", accel.HANGING_CODE, timeout=3)
    assert time.monotonic() - start < 10


def test_firmware_puts_code_at_the_reset_vector():
    image = accel.firmware(accel.EXITING_CODE)
    assert len(image) == 0x10000
    assert image[0xFFF0:0xFFF0 + len(accel.EXITING_CODE)] == accel.EXITING_CODE


@pytest.mark.parametrize(("forced", "kvm_runs", "expected"), [
    (None, True, "kvm"),
    (None, False, "tcg"),
    ("tcg", True, "tcg"),
    ("kvm", False, "kvm"),
])
def test_decision(forced, kvm_runs, expected):
    assert accel.decide(forced, kvm_runs) == expected


def test_unknown_forced_accelerator_is_refused():
    with pytest.raises(ValueError, match="LUA_SYSCALL_ACCEL"):
        accel.decide("xen", True)


def test_forced_accelerator_skips_the_probes(monkeypatch):
    monkeypatch.setenv(accel.ACCEL_ENV, "tcg")
    monkeypatch.setattr(accel, "probe", lambda *a, **k: pytest.fail("probed"))
    assert accel.choose() == "tcg"


@pytest.mark.vm
def test_kernel_probe_sees_our_kernel_boot_under_tcg(kernel):
    # The question is whether it boots, not how fast: a busy 2-core host has taken 26 s.
    assert accel.kernel_boots("tcg", kernel, timeout=120)


@pytest.mark.vm
def test_choice_matches_what_really_boots_here(kernel, monkeypatch, tmp_path):
    """The runner picks KVM exactly when our kernel really boots under KVM on this host."""
    monkeypatch.delenv(accel.ACCEL_ENV, raising=False)
    kvm_boots = accel.kernel_boots("kvm", kernel)
    cache = tmp_path / "probe.json"
    assert accel.choose(kernel, cache) == ("kvm" if kvm_boots else "tcg")
    # The verdict is remembered for this host boot.
    assert accel.choose(kernel, cache) == ("kvm" if kvm_boots else "tcg")
    assert '"kernel_probe": true' in cache.read_text()
