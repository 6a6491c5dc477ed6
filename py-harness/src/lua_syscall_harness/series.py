"""The patch series as this repository keeps it: py-harness/series/series.toml.

Each step names the repository paths it adds (new kernel files live in this repo at their
kernel paths) and the diffs it applies to existing kernel files (kept in series/diffs/).
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .layout import REPO_ROOT, SERIES_DIR
from .proc import HarnessError


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True)
class Step:
    subject: str
    body: str
    paths: tuple[str, ...]
    diffs: tuple[str, ...]

    def message(self, signer: Identity) -> str:
        body = self.body.strip()
        return f"{self.subject}\n\n{body}\n\nSigned-off-by: {signer}\n"


@dataclass(frozen=True)
class Series:
    author: Identity
    date: str
    cover_subject: str
    cover_body: str
    steps: tuple[Step, ...]

    def repo_files(self, step: Step) -> list[Path]:
        """Files (repo-relative) a step copies in: tracked or new, never ignored ones."""
        if not step.paths:
            return []
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others",
             "--exclude-standard", "--", *step.paths],
            capture_output=True, text=True, check=True,
        ).stdout
        files = sorted({Path(p) for p in out.split("\0") if p})
        existing = [f for f in files if (REPO_ROOT / f).is_file()]
        missing_roots = [p for p in step.paths if not (REPO_ROOT / p).exists()]
        if missing_roots:
            raise HarnessError(f"series step {step.subject!r}: missing paths {missing_roots}")
        return existing


def _identity(raw: dict[str, str]) -> Identity:
    override = os.environ.get("LUA_SYSCALL_AUTHOR")
    if override:
        name, _, email = override.partition("<")
        return Identity(name.strip(), email.rstrip(">").strip())
    return Identity(raw["name"], raw["email"])


def load(path: Path | None = None) -> Series:
    path = path or SERIES_DIR / "series.toml"
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise HarnessError(f"{path}: {e}") from e
    steps = []
    for raw in data.get("step", []):
        for diff in raw.get("diffs", []):
            if not (SERIES_DIR / "diffs" / diff).is_file():
                raise HarnessError(f"{path}: step {raw['subject']!r}: no diffs/{diff}")
        steps.append(Step(
            subject=raw["subject"],
            body=raw["body"],
            paths=tuple(raw.get("paths", [])),
            diffs=tuple(raw.get("diffs", [])),
        ))
    return Series(
        author=_identity(data["author"]),
        date=data["date"],
        cover_subject=data["cover"]["subject"],
        cover_body=data["cover"]["body"].strip(),
        steps=tuple(steps),
    )
