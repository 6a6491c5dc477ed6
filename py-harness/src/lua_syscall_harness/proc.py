"""Running external commands with readable progress and errors."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


class HarnessError(RuntimeError):
    """A failure the user can act on; the CLI prints it without a traceback."""


def say(msg: str) -> None:
    print(f"[lua-syscall] {msg}", flush=True)


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = False,
    check: bool = True,
    input_text: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run cmd; on failure raise HarnessError naming the command and its output tail."""
    full_env = None if env is None else {**os.environ, **env}
    argv = [str(c) for c in cmd]
    try:
        res = subprocess.run(
            argv,
            cwd=cwd,
            env=full_env,
            text=True,
            input=input_text,
            capture_output=capture,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as e:
        raise HarnessError(f"{argv[0]}: not found; run `lua-syscall setup` first") from e
    except subprocess.TimeoutExpired as e:
        raise HarnessError(f"timed out after {timeout}s: {shlex.join(argv)}") from e
    if check and res.returncode != 0:
        tail = ""
        if capture:
            tail = "\n" + "\n".join((res.stdout + res.stderr).strip().splitlines()[-20:])
        raise HarnessError(f"command failed (exit {res.returncode}): {shlex.join(argv)}{tail}")
    return res


def git(tree: Path, *args: str, env: Mapping[str, str] | None = None, input_text: str | None = None
        ) -> str:
    """Run git in tree and return its stripped stdout."""
    return run(["git", "-C", str(tree), *args], capture=True, env=env,
               input_text=input_text).stdout.strip()


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def __str__(self) -> str:
        s = int(self.elapsed())
        return f"{s // 60}m{s % 60:02d}s"


def is_root() -> bool:
    return os.geteuid() == 0


def sudo_prefix() -> list[str]:
    return [] if is_root() else ["sudo"]


def stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
