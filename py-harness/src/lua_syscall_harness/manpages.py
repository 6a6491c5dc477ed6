"""The man pages in man/man2: rendering, and the EXAMPLES programs they carry.

The examples are compiled as a reader would: with -Wall -Wextra -Werror against the kernel's
installed uapi headers (`make headers_install`, usr/include of a variant's build) and, for a
program that includes <lua_syscall/lua_syscall.h>, the library of tools/lib/lua_syscall built
with its own Makefile. rst_examples.py does the same for the userspace-api document.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from .layout import REPO_ROOT, build_root, kernel_tree, variant_dir

MAN_DIR = REPO_ROOT / "man" / "man2"
_SRC = re.compile(r'^\.\\" SRC BEGIN \((?P<name>[^)]+)\)\n(?P<body>.*?)^\.\\" SRC END$',
                  re.MULTILINE | re.DOTALL)
# The roff escapes man-pages uses in program listings.
_ROFF = (("\\[aq]", "'"), ("\\-", "-"), ("\\&", ""), ("\\e", "\\"))
LIBRARY_INCLUDE = "#include <lua_syscall/lua_syscall.h>"
LIB_DIR_ENV = "LUA_SYSCALL_LIB_DIR"


def pages() -> list[Path]:
    return sorted(MAN_DIR.glob("*.2"))


def render(page: Path) -> tuple[str, str]:
    """(text, warnings) of `man -l` on page, 80 columns."""
    res = subprocess.run(["man", "--warnings=w", "-l", str(page)], capture_output=True,
                         text=True, env={"MANWIDTH": "80", "LC_ALL": "C.UTF-8",
                                         "PATH": "/usr/bin:/bin", "MAN_KEEP_FORMATTING": ""})
    return res.stdout, res.stderr


def unescape(text: str) -> str:
    """Undo the roff escapes of a man-pages program listing."""
    for escaped, plain in _ROFF:
        text = text.replace(escaped, plain)
    return text


def example_sources(page: Path) -> dict[str, str]:
    """C sources between SRC BEGIN/END markers, roff escapes undone."""
    out = {}
    for m in _SRC.finditer(page.read_text()):
        lines = [ln for ln in m.group("body").splitlines() if ln not in (".EX", ".EE")]
        out[m.group("name")] = unescape("\n".join(lines) + "\n")
    return out


def examples_dir() -> Path:
    return build_root() / "man-examples"


def uapi_headers(variant: str = "debug") -> Path:
    """The variant's installed uapi headers (the kernel build runs headers_install)."""
    return variant_dir(variant) / "usr" / "include"


def reg_fields(variant: str = "debug") -> list[str]:
    """The fields of struct lua_syscall_reg, from the installed uapi header."""
    header = (uapi_headers(variant) / "linux" / "lua_syscall.h").read_text()
    body = header.split("struct lua_syscall_reg {", 1)[1].split("};", 1)[0]
    return re.findall(r"^\s*__(?:aligned_u64|u32)\s+(\w+);", body, re.MULTILINE)


def library_dir() -> Path:
    """tools/lib/lua_syscall: $LUA_SYSCALL_LIB_DIR, else this repository's copy, else the
    kernel tree's. Programs include <lua_syscall/lua_syscall.h>, so it is named lua_syscall
    and its parent goes on the include path."""
    override = os.environ.get(LIB_DIR_ENV)
    candidates = ([Path(override)] if override else
                  [REPO_ROOT / "tools" / "lib" / "lua_syscall",
                   kernel_tree() / "tools" / "lib" / "lua_syscall"])
    for path in candidates:
        if (path / "lua_syscall.h").exists() and (path / "Makefile").exists():
            if path.name != "lua_syscall":
                raise FileNotFoundError(f"{path}: the library's directory must be named "
                                        "lua_syscall (<lua_syscall/lua_syscall.h>)")
            return path.resolve()
    raise FileNotFoundError("no tools/lib/lua_syscall in " +
                            ", ".join(str(p) for p in candidates))


def uses_library(source: str) -> bool:
    return LIBRARY_INCLUDE in source


def build_library(dest: Path, variant: str = "debug") -> Path:
    """Build liblua_syscall.a with the library's own Makefile into dest; return dest."""
    dest.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CFLAGS=f"-O2 -isystem {uapi_headers(variant)}")
    subprocess.run(["make", "-s", "-C", str(library_dir()), f"OUTPUT={dest}/",
                    f"{dest}/liblua_syscall.a"],
                   check=True, capture_output=True, text=True, env=env)
    return dest


def compile_example(name: str, source: str, dest: Path, variant: str = "debug") -> Path:
    """Write source to dest/name and compile it as the documents say; return the binary.

    Raises subprocess.CalledProcessError (with gcc's stderr) when it does not compile."""
    dest.mkdir(parents=True, exist_ok=True)
    src = dest / name
    src.write_text(source)
    binary = dest / Path(name).stem
    argv = ["gcc", "-Wall", "-Wextra", "-Werror", "-O2", "-isystem",
            str(uapi_headers(variant)), "-o", str(binary), str(src)]
    if uses_library(source):
        lib = build_library(dest / "lib", variant)
        argv[1:1] = ["-I", str(library_dir().parent)]
        argv += ["-L", str(lib), "-llua_syscall"]
    subprocess.run(argv, check=True, capture_output=True, text=True)
    return binary


def build_examples(variant: str = "debug") -> list[Path]:
    """Compile every man page example; return the binaries."""
    return [compile_example(name, text, examples_dir(), variant)
            for page in pages() for name, text in example_sources(page).items()]
