"""The pure parts of lua_syscall.abi: argument packing, numbers, the struct's layout."""

import ctypes
import re
from pathlib import Path

import pytest

from lua_syscall import abi

UAPI = Path(__file__).resolve().parents[2] / "include" / "uapi" / "linux" / "lua_syscall.h"


@pytest.mark.parametrize("value, expected", [
    (0, 0),
    (5, 5),
    (-1, 2**64 - 1),
    (-4095, 2**64 - 4095),
    (2**63, 2**63),
    (2**64, 0),
    (2**64 + 7, 7),
    (True, 1),
])
def test_u64_is_modulo_2_64(value, expected):
    assert abi.u64(value) == expected


@pytest.mark.parametrize("value", [1.0, "1", None, b"\x01"])
def test_u64_refuses_non_integers(value):
    with pytest.raises(TypeError):
        abi.u64(value)


def test_pack_args_values_and_length():
    packed = abi.pack_args([1, -2, 2**64 + 3])
    assert list(packed) == [1, 2**64 - 2, 3]
    assert ctypes.sizeof(packed) == 3 * 8


def test_pack_args_empty_still_has_an_address():
    packed = abi.pack_args([])
    assert len(packed) == 1
    assert ctypes.addressof(packed) != 0


def test_pack_args_at_most_max_args():
    assert len(abi.pack_args(range(abi.MAX_ARGS))) == abi.MAX_ARGS
    with pytest.raises(ValueError, match="at most 16"):
        abi.pack_args(range(abi.MAX_ARGS + 1))


def test_pack_args_refuses_floats():
    with pytest.raises(TypeError):
        abi.pack_args([1, 2.5])


@pytest.mark.parametrize("machine, numbers", [
    ("x86_64", (463, 464)),
    ("aarch64", (463, 464)),
    ("riscv64", None),
    ("i686", None),
])
def test_syscall_numbers_per_machine(machine, numbers):
    assert abi.syscall_numbers(machine) == numbers


def test_raw_calls_refuse_a_machine_without_numbers(monkeypatch):
    monkeypatch.setattr(abi, "syscall_numbers", lambda machine=None: None)
    with pytest.raises(OSError) as exc:
        abi.raw_register(None, 0)
    assert exc.value.errno == 38  # ENOSYS
    with pytest.raises(OSError):
        abi.raw_call(-1, None, 0)


def test_reg_layout_is_the_uapi_struct():
    assert ctypes.sizeof(abi.Reg) == abi.REG_SIZE_VER0 == 72
    offsets = {name: getattr(abi.Reg, name).offset for name, _ in abi.Reg._fields_}
    assert offsets == {"script": 0, "script_len": 8, "flags": 16, "log_buf": 24,
                       "log_size": 32, "log_level": 36, "log_true_size": 40, "reserved": 44,
                       "name": 48, "insn_limit": 56, "mem_limit": 64}


@pytest.mark.skipif(not UAPI.exists(), reason="not in the lua_syscall repository")
def test_constants_match_the_uapi_header():
    header = UAPI.read_text()
    defines = dict(re.findall(r"#define\s+(LUA_SYSCALL_\w+)\s+(\w+)", header))
    assert int(defines["LUA_SYSCALL_CLOEXEC"], 0) == abi.CLOEXEC
    assert int(defines["LUA_SYSCALL_MAX_ARGS"], 0) == abi.MAX_ARGS
    assert int(defines["LUA_SYSCALL_LOG_ERRORS"], 0) == abi.LOG_ERRORS
    assert int(defines["LUA_SYSCALL_LOG_WARNINGS"], 0) == abi.LOG_WARNINGS
    assert int(defines["LUA_SYSCALL_NAME_MAX"], 0) == abi.NAME_MAX
    assert int(defines["LUA_SYSCALL_REG_SIZE_VER0"], 0) == abi.REG_SIZE_VER0
    fields = re.findall(r"^\s*(?:__aligned_u64|__u32)\s+(\w+);", header, re.M)
    assert fields == [name for name, _ in abi.Reg._fields_]


def test_is_luastate_of_other_descriptors(tmp_path):
    with open(tmp_path / "f", "w") as f:
        assert abi.is_luastate(f.fileno()) is False
    assert abi.is_luastate(10**6) is False
