import os
from pathlib import Path

import pytest

from lua_syscall_harness import vm


@pytest.fixture(scope="session")
def variant() -> str:
    return os.environ.get("LUA_SYSCALL_VARIANT", "debug")


@pytest.fixture(scope="session")
def kernel(variant) -> Path:
    """The built kernel; tests that boot it fail (not skip) when it is missing."""
    image = vm.kernel_image(variant)
    return image
