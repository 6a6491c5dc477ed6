"""A structural lint of syzkaller/lua_syscall.txt (syzkaller itself is not installable here).

syzkaller is in neither Debian nor PyPI, so syz-sysgen never checks the descriptions in
CI: they are documented as unchecked. This test checks what it can without it: every line
is a comment, include, resource, flags/string-flags definition, struct or syscall; brackets
balance; every type a syscall or struct uses is a syzkaller builtin or defined in the file;
the two syscalls take as many arguments as their uapi prototypes; their constants exist in
the uapi header; and the sample scripts are the language the kernel accepts (text, or the
binary-chunk signature on purpose).
"""

from __future__ import annotations

import re

from lua_syscall_harness.layout import REPO_ROOT

DESCRIPTIONS = REPO_ROOT / "syzkaller" / "lua_syscall.txt"
UAPI = REPO_ROOT / "include" / "uapi" / "linux" / "lua_syscall.h"
BUILTINS = {"int8", "int16", "int32", "int64", "intptr", "ptr", "ptr64", "string", "stringnoz",
            "array", "len", "bytesize", "flags", "const", "fd", "buffer", "in", "out", "inout"}
ARITY = {"register_lua_syscall": 2, "lua_syscall": 4, "read": 3, "pread64": 4}
_SYSCALL = re.compile(r"^(\w+)(\$\w+)?\((.*)\)\s*(\w+)?$")
_WORD = re.compile(r"[A-Za-z_]\w*")


def lines() -> list[str]:
    return [ln for ln in DESCRIPTIONS.read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]


def split_args(text: str) -> list[str]:
    args, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "[("
        depth -= ch in "])"
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        args.append(cur.strip())
    return args


def definitions() -> set[str]:
    shapes = (r"^resource (\w+)\[", r"^(\w+) = ", r"^(\w+) \{$")
    return {m.group(1) for ln in lines() for shape in shapes if (m := re.match(shape, ln))}


def syscalls() -> list[tuple[str, list[str], str | None]]:
    out = []
    for ln in lines():
        m = _SYSCALL.match(ln)
        if m:
            out.append((m.group(1), split_args(m.group(3)), m.group(4)))
    return out


def test_every_line_has_a_known_shape():
    in_struct = False
    for ln in lines():
        if in_struct:
            in_struct = ln != "}"
            assert ln == "}" or re.match(r"^\t\w+\t\S", ln), ln
            continue
        if re.match(r"^\w+ \{$", ln):
            in_struct = True
            continue
        assert (ln.startswith("include <") or ln.startswith("resource ")
                or re.match(r"^\w+ = ", ln) or _SYSCALL.match(ln)), ln
    assert not in_struct


def test_brackets_balance():
    for ln in lines():
        ln = re.sub(r'"[^"]*"', '""', ln)  # brackets in sample scripts do not count
        for open_, close in ("()", "[]", "{}"):
            assert ln.count(open_) == ln.count(close) or ln.endswith("{") or ln == "}", ln


def test_types_are_builtin_or_defined():
    known = BUILTINS | definitions()
    consts = set(re.findall(r"#define\s+(\w+)", UAPI.read_text()))
    for name, args, ret in syscalls():
        for arg in args:
            _, _, typ = arg.partition(" ")
            for word in _WORD.findall(re.sub(r"\[\w+,\s*|\b\d+\b", "[", typ)):
                assert word in known or word in consts or word in {a.split()[0] for a in args}, \
                    f"{name}: unknown type {word!r} in {arg!r}"
        if ret:
            assert ret in known | {"intptr"}, ret


def test_syscalls_match_the_uapi_prototypes():
    seen = set()
    for name, args, ret in syscalls():
        assert name in ARITY, name
        assert len(args) == ARITY[name], (name, args)
        seen.add(name)
        if name == "register_lua_syscall":
            assert ret == "fd_luastate"
    assert {"register_lua_syscall", "lua_syscall"} <= seen


def test_flags_name_uapi_constants():
    consts = set(re.findall(r"#define\s+(\w+)", UAPI.read_text()))
    for ln in lines():
        m = re.match(r"^(\w+_flags) = (.*)$", ln)
        if m:
            for value in m.group(2).split(","):
                assert value.strip() in consts, value


def test_sample_scripts_are_quoted_lua_or_the_binary_signature():
    samples = next(ln for ln in lines() if ln.startswith("lua_syscall_scripts = "))
    values = re.findall(r'"([^"]*)"|`([0-9a-f]+)`', samples.partition("=")[2])
    assert len(values) >= 15
    for text, hexed in values:
        assert text or hexed.startswith("1b4c7561")


def _struct_fields(text: str, start: str) -> list[str]:
    body = text.split(start, 1)[1].split("}", 1)[0]
    return [m.group(1) for ln in body.splitlines()
            if (m := re.match(r"^\s*(?:__\w+\s+)?(\w+)[\s;]", ln.strip() + " "))
            and not ln.strip().startswith(("/*", "*"))]


def test_registration_structs_follow_the_uapi_struct():
    uapi = _struct_fields(UAPI.read_text(), "struct lua_syscall_reg {")
    text = DESCRIPTIONS.read_text()
    assert uapi[:3] == ["script", "script_len", "flags"], uapi
    for name in ("lua_syscall_reg {", "lua_syscall_reg_random {"):
        fields = [ln.split("\t")[1] for ln in text.split("\n" + name, 1)[1].split("}", 1)[0]
                  .splitlines() if ln.startswith("\t")]
        assert fields == uapi, (name, fields, uapi)
