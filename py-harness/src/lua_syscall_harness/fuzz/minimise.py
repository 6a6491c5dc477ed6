"""Shrinking a failing program: delta debugging (ddmin) over lines, then over tokens.

The oracle takes a batch of candidate texts and says which still fail: every boot of the
guest is expensive, so each round tests all its candidates in one run. A candidate fails
when it shows the same symptom (a splat, a dead executor, an errno), so the result is a
small program that still does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

Oracle = Callable[[Sequence[str]], Sequence[bool]]

_TOKEN = re.compile(r"\s+|[^\s]+")


def ddmin(units: list[str], join: Callable[[list[str]], str], oracle: Oracle,
          max_rounds: int = 64) -> list[str]:
    """The smallest failing sublist of units ddmin finds (units itself must fail)."""
    n = 2
    rounds = 0
    while len(units) >= 2 and rounds < max_rounds:
        rounds += 1
        chunk = -(-len(units) // n)  # ceil
        pieces = [(i, min(i + chunk, len(units))) for i in range(0, len(units), chunk)]
        subsets = [units[a:b] for a, b in pieces]
        complements = [units[:a] + units[b:] for a, b in pieces]
        candidates = subsets + complements if n > 2 else subsets
        verdicts = oracle([join(c) for c in candidates])
        failing = [c for c, bad in zip(candidates, verdicts, strict=True) if bad and c]
        if failing:
            best = min(failing, key=len)
            n = 2 if best in subsets else max(n - 1, 2)
            units = best
            continue
        if n >= len(units):
            break
        n = min(n * 2, len(units))
    return units


def minimise(text: str, oracle: Oracle, max_rounds: int = 64) -> str:
    """A smaller text that still fails: first whole lines go, then tokens."""
    lines = text.splitlines(keepends=True)
    lines = ddmin(lines, "".join, oracle, max_rounds)
    tokens = _TOKEN.findall("".join(lines))
    tokens = ddmin(tokens, "".join, oracle, max_rounds)
    return "".join(tokens)
