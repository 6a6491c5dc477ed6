"""The instruction budget covers the garbage collector; fdinfo shows any error message on one line.

Issue 12's smaller items: collections (explicit ones and the full collection a state at its
memory limit runs before each failed allocation) are charged to the instruction budget, and
fdinfo escapes every control byte of the last error, not only newlines and backslashes.
"""

from __future__ import annotations

import errno
from pathlib import Path

from lua_syscall_harness.binding import LuaState

# Keeps about 400 KiB of strings alive, then collects in a loop: a handful of VM instructions
# per round, but each round traverses the whole heap.
COLLECT_LOOP = """
local keep = {}
for i = 1, 400 do keep[i] = string.rep(string.char(65 + i % 26), 1000) .. i end
return function(rounds)
  for i = 1, rounds do collectgarbage() end
  return #keep
end
"""

# Fills the state up to its memory limit, then keeps allocating: every failed allocation makes
# Lua run a full collection before it gives up.  `failures` counts them across calls.
AT_THE_LIMIT = """
local failures = 0
return function(op)
  if op == 2 then return failures end
  local keep = {}
  for i = 1, 1000000 do
    local ok = pcall(function() keep[#keep + 1] = {i, i, i, i} end)
    if not ok then
      failures = failures + 1
      keep[#keep] = nil
    end
  end
  return #keep
end
"""


def call_errno(st: LuaState, *args: int) -> int:
    try:
        st.call(*args)
    except OSError as e:
        return e.errno
    return 0


def test_explicit_collections_are_charged(lua_sysctl):
    lua_sysctl("insn_limit", 200_000)
    with LuaState(COLLECT_LOOP) as st:
        # one round is cheap and fits the budget
        assert st.call(1) == 400
        # 1,000 rounds are ~10,000 VM instructions but 1,000 traversals of ~400 KiB
        assert call_errno(st, 1000) == errno.ETIME
        assert "budget" in st.last_error()


def test_collections_at_the_memory_limit_are_charged(lua_sysctl):
    lua_sysctl("mem_limit", 256 * 1024)
    lua_sysctl("insn_limit", 200_000)
    with LuaState(AT_THE_LIMIT) as st:
        assert call_errno(st, 1) == errno.ETIME
        # each failed allocation costs a collection of the ~256 KiB heap, 16,384 instructions
        # at 16 bytes an instruction: the budget allows a few dozen, not thousands
        assert 0 < st.call(2) < 100


def test_fdinfo_escapes_every_control_byte():
    script = "return function() error('a\\1b\\27[31mc\\127d\\n\\\\e', 0) end"
    with LuaState(script) as st:
        assert call_errno(st) == errno.ENOEXEC
        text = Path(f"/proc/self/fdinfo/{st.fd}").read_text()
        line = next(ln for ln in text.splitlines()
                    if ln.startswith("lua-last-error:"))
        value = line.split("\t", 1)[1]
        assert all(0x20 <= ord(ch) < 0x7f for ch in value), repr(value)
        # backslashes too, in the same octal form: the line reads back unambiguously
        assert value == "a\\001b\\033[31mc\\177d\\012\\134e"
