"""The man pages in man/man2: rendering, and the EXAMPLES program they carry."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .layout import REPO_ROOT, build_root, variant_dir

MAN_DIR = REPO_ROOT / "man" / "man2"
_SRC = re.compile(r'^\.\\" SRC BEGIN \((?P<name>[^)]+)\)\n(?P<body>.*?)^\.\\" SRC END$',
                  re.MULTILINE | re.DOTALL)
# The roff escapes man-pages uses in program listings.
_ROFF = (("\\[aq]", "'"), ("\\-", "-"), ("\\&", ""), ("\\e", "\\"))


def pages() -> list[Path]:
    return sorted(MAN_DIR.glob("*.2"))


def render(page: Path) -> tuple[str, str]:
    """(text, warnings) of `man -l` on page, 80 columns."""
    res = subprocess.run(["man", "--warnings=w", "-l", str(page)], capture_output=True,
                         text=True, env={"MANWIDTH": "80", "LC_ALL": "C.UTF-8",
                                         "PATH": "/usr/bin:/bin", "MAN_KEEP_FORMATTING": ""})
    return res.stdout, res.stderr


def example_sources(page: Path) -> dict[str, str]:
    """C sources between SRC BEGIN/END markers, roff escapes undone."""
    out = {}
    for m in _SRC.finditer(page.read_text()):
        lines = [ln for ln in m.group("body").splitlines() if ln not in (".EX", ".EE")]
        text = "\n".join(lines) + "\n"
        for escaped, plain in _ROFF:
            text = text.replace(escaped, plain)
        out[m.group("name")] = text
    return out


def examples_dir() -> Path:
    return build_root() / "man-examples"


def build_examples(variant: str = "debug") -> list[Path]:
    """Compile every example against the variant's uapi headers; return the binaries."""
    headers = variant_dir(variant) / "usr" / "include"
    dest = examples_dir()
    dest.mkdir(parents=True, exist_ok=True)
    built = []
    for page in pages():
        for name, text in example_sources(page).items():
            src = dest / name
            src.write_text(text)
            binary = dest / Path(name).stem
            subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", "-O2", "-isystem",
                            str(headers), "-o", str(binary), str(src)],
                           check=True, capture_output=True, text=True)
            built.append(binary)
    return built
