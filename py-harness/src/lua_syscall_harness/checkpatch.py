"""checkpatch --strict on the project's patches, with every accepted finding named and justified.

The gate is "no finding without a reason": each exemption below names the checkpatch type, where
it may occur and why the code stays as it is. Anything else fails `lua-syscall patches --check`
and `b4 prep --check`, which runs this module as its per-patch check command:

    git config b4.prep-perpatch-check-cmd "python3 -m lua_syscall_harness.checkpatch"

(the patch on standard input, findings on standard output in checkpatch's terse form).
The generated Lua import (upstream Lua, byte for byte) is not checked: it keeps Lua's style.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .layout import kernel_tree
from .proc import run


@dataclass(frozen=True)
class Exemption:
    type: str
    file: str          # regex on the file name
    message: str       # regex on the message
    reason: str


# The imported Lua core files that the series' own Lua patch changes (upstream style).
LUA_CORE_PATCHED = r"^kernel/lua/(lvm|ldo)\.c$"

EXEMPTIONS = (
    Exemption("CAMELCASE", r"^(kernel/lua/|include/linux/lua_runtime\.h)",
              r"<(lua[A-Z]?_\w+|l_\w+|getCcalls)>",
              "identifiers of the imported Lua core's C API (lua.h, lauxlib.h, luaconf.h)"),
    Exemption("CAMELCASE", r"^kernel/lua/lua_chunk_check\.c$",
              r"<(TString|Proto|OpCode|Instruction|TValue|Upvaldesc|testAMode|ttisLclosure|clLvalue)>",
              "the registration lint reads the imported core's compiled functions through "
              "its internal types and macros (lobject.h, lopcodes.h), by their upstream names"),
    Exemption("CAMELCASE",
              r"^kernel/lua/(lua_inplace\.h|lua_syslib\.c|luaconf\.h|lua_runtime\.c)$",
              r"<(TValue|clCvalue|StkId|StackValue|ttisCclosure)>",
              "the hot paths read the Lua stack in place, make sys.NAME() calls for the "
              "VM's CALL opcode and set up lua_syscall()'s call, through the imported core's "
              "internal types and macros (lobject.h), by their upstream names"),
    Exemption("MACRO_ARG_REUSE", r"^tools/lib/lua_syscall/lua_syscall\.c$", r"'(opts|field)'",
              "OPT(opts, field) reads a field of a caller's sized options struct only when the "
              "caller's struct has it (libbpf's OPTS_GET); both arguments are names"),
    Exemption("FILE_PATH_CHANGES", r"", r"",
              "MAINTAINERS comes last in the series, as the series plan orders; "
              "its entry covers every file the earlier patches add"),
    Exemption("ENOSYS", r"^(kernel/lua/lua_syslib\.c|kernel/lua/lua_nested\.c|"
              r"arch/x86/kernel/lua_syscall_64\.c|arch/arm64/kernel/lua_syscall\.c|"
              r"arch/(x86|arm64)/include/asm/lua_syscall\.h|"
              r"tools/testing/selftests/lua_syscall/)", r".",
              "the value does mean an invalid system call number: a script's sys.call() of "
              "an unknown number, a nested frame's return register before dispatch (as the "
              "entry code sets it), and the selftests' probe for a kernel without the syscalls"),
    Exemption("ENOSYS", r"^kernel/seccomp\.c$", r".",
              "upstream's own value for SECCOMP_RET_TRACE with no tracer attached, which "
              "__seccomp_filter() returns for a direct call: the nested call must get the same"),
    *(Exemption(kind, LUA_CORE_PATCHED, r".",
                "a change to an imported Lua core file keeps upstream Lua's style (2-space "
                "indents, Lua's names), as the rest of the file: see patch 1's reason")
      for kind in ("LEADING_SPACE", "SUSPECT_CODE_INDENT", "CODE_INDENT", "CAMELCASE",
                   "BLOCK_COMMENT_STYLE", "MACRO_ARG_UNUSED", "LINE_SPACING", "SPACING",
                   "MACRO_ARG_PRECEDENCE", "TRAILING_STATEMENTS", "ELSE_AFTER_BRACE")),
    Exemption("COMPLEX_MACRO", r"^kernel/lua/luaconf\.h$", r".",
              "LUAI_DDEC(dec) wraps a whole declaration (the core writes "
              "LUAI_DDEC(const lu_byte x[N];)): it cannot be parenthesised"),
    Exemption("AVOID_BUG", r"^kernel/lua/luaconf\.h$", r".",
              "the core's abort(): an error raised outside every protected call, which the "
              "runtime never makes; there is no state to recover to"),
)

# "-:12: WARNING:TYPE: message" or "file:12: CHECK:TYPE: message" (--terse --show-types)
_LINE = re.compile(r"^(?P<where>.*?):(?P<line>\d+): (?P<level>ERROR|WARNING|CHECK):"
                   r"(?P<type>[A-Z0-9_]+): (?P<msg>.*)$")
_FILE_OF_LINE = re.compile(r"^\+\+\+ b/(\S+)")


@dataclass(frozen=True)
class Finding:
    level: str
    type: str
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.level}:{self.type}: {self.message}"


def _file_at(patch: str, line: int) -> str:
    """The file a line number of the patch belongs to ('' for the commit message)."""
    current = ""
    for n, text in enumerate(patch.splitlines(), 1):
        if n > line:
            break
        m = _FILE_OF_LINE.match(text)
        if m:
            current = m.group(1)
    return current


def findings(patch: str, ktree: Path | None = None) -> list[Finding]:
    ktree = ktree or kernel_tree()
    res = run(["perl", str(ktree / "scripts/checkpatch.pl"), "--strict", "--terse",
               "--no-summary", "--show-types", "--mailback", "-"],
              cwd=ktree, input_text=patch, capture=True, check=False)
    out = []
    for text in res.stdout.splitlines():
        m = _LINE.match(text.strip())
        if m:
            line = int(m.group("line"))
            out.append(Finding(m.group("level"), m.group("type"), _file_at(patch, line), line,
                               m.group("msg")))
        elif text.strip():
            out.append(Finding("ERROR", "UNPARSED", "", 0, text.strip()))
    return out


def exemption_for(f: Finding) -> Exemption | None:
    for e in EXEMPTIONS:
        if e.type == f.type and re.search(e.file, f.file) and re.search(e.message, f.message):
            return e
    return None


def unexplained(found: list[Finding]) -> list[Finding]:
    return [f for f in found if exemption_for(f) is None]


def main() -> int:
    """b4's per-patch check: patch on stdin; prints only the findings no exemption covers."""
    for f in unexplained(findings(sys.stdin.read())):
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
