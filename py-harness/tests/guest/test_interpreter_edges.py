"""The interpreter's edges (issue 19): no kernel address leaks, and a budget bounds time.

- Lua hashes pointer keys, and next() visits a table in hash order: the order of a table's keys
  must not tell a script the address of a function it can reach (/proc/kallsyms has them), and
  neither may tostring() or string.format("%p").
- Byte loops in C (string comparison, string.find, utf8.*) are charged to the instruction
  budget: at a small budget, each ends within a small multiple of a plain spin loop's time.
"""

from __future__ import annotations

import errno
import re
import time
from pathlib import Path

import pytest
from lua_util import in_child

from lua_syscall_harness.binding import LuaState

pytestmark = pytest.mark.usefixtures("lua_available")

# The light C functions behind these globals, by their kernel symbol.
REACHABLE = {"print": "luak_print", "string.len": "str_len", "pairs": "luaB_pairs"}

# A table of 8,192 node slots whose only live keys are the function and integers that land in
# known slots: the integer k + 8191 * m hashes to slot k.  next() visits slots in order, so the
# function's slot is the count of keys before it.  The integer that collides with the function
# moves to slot 8191, which no key hashes to.
SLOT_PROBE = """
local MOD, BASE = 8191, 8191 * 2000
return function(which)
  local f = ({print, string.len, pairs})[which]
  local t = {}
  for j = 0, 4999 do t[BASE + MOD + j] = true end
  for j = 0, 4999 do t[BASE + MOD + j] = nil end
  t[f] = true
  for j = 0, MOD - 1 do t[BASE + j] = true end
  local n = 0
  for k in next, t do
    if k == f then return n end
    n = n + 1
  end
  return -1
end
"""


def kallsyms(names: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in Path("/proc/kallsyms").read_text().splitlines():
        addr, _, name = line.split()[:3]
        if name in names and name not in found:
            found[name] = int(addr, 16)
    return found


def test_table_order_carries_no_address_bits(lua_sysctl):
    lua_sysctl("mem_limit", 4 << 20)
    symbols = kallsyms(set(REACHABLE.values()))
    assert set(symbols) == set(REACHABLE.values()), "symbols missing from /proc/kallsyms"
    assert all(symbols.values()), "/proc/kallsyms hides addresses (kptr_restrict)"
    with LuaState(SLOT_PROBE) as st:
        slots = {name: st.call(i) for i, name in enumerate(REACHABLE, 1)}
    predicted = {name: (symbols[sym] & 0xFFFFFFFF) % 8191 for name, sym in REACHABLE.items()}
    assert all(0 <= slot < 8191 for slot in slots.values()), slots
    # The probe works: a table of 8,192 slots was built and the function found in it.  With the
    # raw address as hash, every slot is the predicted one; with a keyed hash each matches with
    # a chance of 1/8191.
    matches = [name for name in REACHABLE if slots[name] == predicted[name]]
    assert len(matches) < len(REACHABLE), f"slots are addresses mod 8191: {slots}"


@pytest.mark.parametrize("expression", ["tostring(f)", 'string.format("%p", f)'])
def test_printed_identities_are_not_addresses(expression: str):
    symbols = kallsyms(set(REACHABLE.values()))
    script = ("return function(which)\n"
              "  local f = ({print, string.len, pairs})[which]\n"
              f"  local s = {expression}\n"
              "  local hex = s:match('(%x%x%x%x%x%x%x%x+)$')\n"
              "  if not hex then return -1 end\n"
              "  return tonumber(hex:sub(-8), 16)\n"
              "end\n")
    with LuaState(script) as st:
        for i, name in enumerate(REACHABLE, 1):
            low = st.call(i)
            assert low != -1, f"{expression} of {name} printed no identity"
            assert low != symbols[REACHABLE[name]] & 0xFFFFFFFF, \
                f"{expression} of {name} shows its address"


# Each loops over a C byte loop with one or two VM instructions per round.  `s` and `t` are equal
# strings of 256 KiB (distinct objects), `u` differs from `s` in its last byte.
BYTE_LOOPS = {
    "spin": "while true do end",
    "equal": "while true do local x = (s == t) end",
    "less": "while true do local x = (s < u) end",
    "less_equal": "while true do local x = (s <= t) end",
    "find_char": "while true do local x = s:find('z', 1, true) end",
    "find_pattern_char": "while true do local x = s:find('z') end",
    "find_two": "while true do local x = s:find('zz', 1, true) end",
    "find_class": "while true do local x = s:find('[z]') end",
    "match_anchor": "while true do local x = s:match('a*z') end",
    "utf8_len": "while true do local x = utf8.len(s) end",
    "utf8_offset": "while true do local x = utf8.offset(s, #s) end",
    "utf8_codepoint": "while true do local x = select('#', utf8.codepoint(s, 1, 4096)) end",
}

SETUP = """
local s = string.rep('a', 256 * 1024)
local t = string.rep('a', 256 * 1024)
local u = string.rep('a', 256 * 1024 - 1) .. 'b'
return function() {loop} end
"""


def timed_budget_call(loop: str) -> tuple[int, float]:
    """errno and seconds of one call of `loop` at the test's budget (in a child: it may hang)."""
    def run() -> tuple[int, float]:
        with LuaState(SETUP.replace("{loop}", loop)) as st:
            start = time.monotonic()
            try:
                st.call()
                err = 0
            except OSError as e:
                err = e.errno
            return err, time.monotonic() - start
    return in_child(run, timeout=45).get()


def test_a_budget_bounds_the_time_of_byte_loops(lua_sysctl):
    lua_sysctl("mem_limit", 8 << 20)
    lua_sysctl("insn_limit", 200_000)
    spin_err, spin = timed_budget_call(BYTE_LOOPS["spin"])
    assert spin_err == errno.ETIME
    slow = {}
    for name, loop in BYTE_LOOPS.items():
        err, seconds = timed_budget_call(loop)
        assert err == errno.ETIME, f"{name}: {errno.errorcode.get(err, err)}"
        # generous: TCG and KASAN make C loops and the VM slow in different ways
        if seconds > 10 * spin + 1.0:
            slow[name] = round(seconds / spin, 1)
    assert not slow, f"spin loop {spin:.3f}s at the budget; slower by: {slow}"


def test_insn_limit_maximum_is_defensible():
    text = (Path("/proc/sys/kernel/lua_syscall/insn_limit")).read_text()
    assert re.fullmatch(r"\d+\n", text)
    from lua_syscall_harness import binding

    saved = binding.read_sysctl("insn_limit")
    try:
        with pytest.raises(OSError) as e:
            binding.write_sysctl("insn_limit", 10_000_000_000)
        assert e.value.errno == errno.EINVAL
        binding.write_sysctl("insn_limit", 1_000_000_000)
    finally:
        binding.write_sysctl("insn_limit", saved)
