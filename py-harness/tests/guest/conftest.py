"""Guest tests run inside the booted test kernel (`lua-syscall test` boots it)."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("LUA_SYSCALL_GUEST") == "1":
        return
    skip = pytest.mark.skip(reason="runs inside the test guest: use `lua-syscall test`")
    for item in items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def expected() -> dict[str, str]:
    return {k: os.environ[k] for k in (
        "LUA_SYSCALL_EXPECT_RELEASE", "LUA_SYSCALL_EXPECT_VERSION", "LUA_SYSCALL_SERIES_HEAD")}


@pytest.fixture(scope="module")
def lua_available() -> None:
    """Skip the module on a kernel without register_lua_syscall() (ENOSYS)."""
    from lua_syscall_harness import binding

    if not binding.available():
        pytest.skip("register_lua_syscall() is not supported by this kernel (ENOSYS)")


@pytest.fixture
def lua_sysctl():
    """set(name, value): write a lua_syscall sysctl for this test; restored afterwards."""
    from lua_syscall_harness import binding

    saved: dict[str, int] = {}

    def set_(name: str, value: int) -> None:
        if name not in saved:
            saved[name] = binding.read_sysctl(name)
        binding.write_sysctl(name, value)

    yield set_
    for name, value in saved.items():
        binding.write_sysctl(name, value)


@pytest.fixture(scope="module")
def lua_memory():
    """Addresses that fault in different ways (lua_util.Memory)."""
    from lua_util import Memory

    mem = Memory.create()
    yield mem
    mem.close()
