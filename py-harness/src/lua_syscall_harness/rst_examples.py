"""The C programs of Documentation/userspace-api/lua_syscall.rst.

A program is a literal block marked as C and named after its file, as Sphinx and docutils
both read it::

    .. code-block:: c
       :name: udp_echo.c

They are extracted with docutils (what the text renders as, not a regex over the markup) and
compiled as manpages.py compiles the man pages' examples.
"""

from __future__ import annotations

from pathlib import Path

import docutils.core
import docutils.nodes
import docutils.utils

from . import manpages
from .layout import REPO_ROOT, build_root

RST = REPO_ROOT / "Documentation" / "userspace-api" / "lua_syscall.rst"


def _doctree(path: Path = RST) -> docutils.nodes.document:
    return docutils.core.publish_doctree(
        path.read_text(), source_path=str(path),
        settings_overrides={"halt_level": docutils.utils.Reporter.SEVERE_LEVEL,
                            "report_level": docutils.utils.Reporter.SEVERE_LEVEL})


def c_blocks(path: Path = RST) -> list[tuple[list[str], str]]:
    """(names, text) of every literal block marked as C."""
    return [(list(node["names"]), node.astext() + "\n")
            for node in _doctree(path).findall(docutils.nodes.literal_block)
            if "c" in node["classes"]]


def example_sources(path: Path = RST) -> dict[str, str]:
    """name.c -> source of every C block named after a C file."""
    out: dict[str, str] = {}
    for names, text in c_blocks(path):
        for name in names:
            if name.endswith(".c"):
                if name in out:
                    raise ValueError(f"{path.name}: two programs named {name}")
                out[name] = text
    return out


def examples_dir() -> Path:
    return build_root() / "rst-examples"


def build_examples(variant: str = "debug") -> list[Path]:
    """Compile every program of the document; return the binaries."""
    return [manpages.compile_example(name, text, examples_dir(), variant)
            for name, text in example_sources().items()]
