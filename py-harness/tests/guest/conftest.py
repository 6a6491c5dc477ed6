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
