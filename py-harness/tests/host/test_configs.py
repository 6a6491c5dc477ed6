import pytest

from lua_syscall_harness import build
from lua_syscall_harness.layout import variant_dir


def test_feature_fragment_holds_only_feature_options():
    wanted = build.requested_options([build.FEATURE_FRAGMENT])
    generic = build.requested_options([build.CONFIGS_DIR / "base.config"])
    assert not set(wanted) & set(generic)


def test_bench_variant_has_no_debug_options():
    bench = build.requested_options(build.fragments("bench"))
    for opt in ("CONFIG_KASAN", "CONFIG_PROVE_LOCKING", "CONFIG_UBSAN", "CONFIG_KUNIT"):
        assert bench.get(opt, "n") == "n"
    assert bench["CONFIG_CPU_MITIGATIONS"] == "y"


def test_unknown_variant_is_refused():
    with pytest.raises(build.HarnessError, match="unknown variant"):
        build.fragments("fast")


def test_built_debug_config_has_every_requested_option(variant):
    config = variant_dir(variant) / ".config"
    actual = build.config_values(config)
    assert build.unmet_options(build.requested_options(build.fragments(variant)), actual) == []
    for opt in ("CONFIG_KASAN", "CONFIG_PROVE_LOCKING", "CONFIG_UBSAN", "CONFIG_KUNIT",
                "CONFIG_DEBUG_ATOMIC_SLEEP", "CONFIG_VMAP_STACK"):
        assert actual.get(opt) == "y", opt
