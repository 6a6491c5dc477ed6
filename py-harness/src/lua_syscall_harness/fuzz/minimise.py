"""Shrinking a failing program: delta debugging (ddmin) over lines, then over Lua tokens,
with a pass that drops whole blocks (`if ... end`, `function ... end`, bracketed
expressions) that ddmin's aligned chunks cannot take out in one piece.

The oracle takes a batch of candidate texts and says which still fail: every boot of the
guest is expensive, so each round tests all its candidates in one run. A candidate fails
when it shows the same symptom (a splat, a dead executor, an errno), so the result is a
small program that still does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

Oracle = Callable[[Sequence[str]], Sequence[bool]]

# A Lua token and the blanks after it; whatever Lua would not lex (an unterminated string of
# a near-valid program) falls to the last alternative, so the tokens always join back up.
_TOKEN = re.compile(r"""
    (?: --\[(?P<c>=*)\[.*?\](?P=c)\]      # long comment
      | --[^\n]*                          # comment
      | \[(?P<s>=*)\[.*?\](?P=s)\]        # long string
      | "(?:\\.|[^"\\\n])*"? | '(?:\\.|[^'\\\n])*'?
      | 0[xX][0-9a-fA-F]+ | \d+
      | [A-Za-z_]\w*
      | \.\.\. | \.\. | == | ~= | <= | >= | << | >> | // | ::
      | \S
    ) \s* | \s+
""", re.VERBOSE | re.DOTALL)
_OPENERS = {"function", "if", "do", "(", "{", "["}
_CLOSERS = {"end", ")", "}", "]"}
_LOOPS = {"while", "for"}


def tokens_of(text: str) -> list[str]:
    return [m.group(0) for m in _TOKEN.finditer(text)]


def blocks(tokens: list[str]) -> list[tuple[int, int]]:
    """(first, last) token index of every balanced block; a `do` of while/for shares their end."""
    words = [t.strip() for t in tokens]
    out, stack = [], []
    for i, word in enumerate(words):
        if word == "do" and stack and stack[-1][1] in _LOOPS:
            stack.append((i, "loop-do"))
        elif word in _OPENERS or word in _LOOPS:
            stack.append((i, word))
        elif word in _CLOSERS:
            while stack and stack[-1][1] == "loop-do":
                stack.pop()
            if stack:
                first, _ = stack.pop()
                out.append((first, i))
    return out


def drop_blocks(tokens: list[str], oracle: Oracle, max_rounds: int = 64) -> list[str]:
    """Remove the block whose removal leaves the smallest failing text, while one does."""
    for _ in range(max_rounds):
        candidates = [tokens[:a] + tokens[b + 1:] for a, b in blocks(tokens)]
        if not candidates:
            break
        failing = [c for c, bad in zip(candidates, oracle(["".join(c) for c in candidates]),
                                       strict=True) if bad]
        if not failing:
            break
        tokens = min(failing, key=len)
    return tokens


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
    """A smaller text that still fails: first whole lines go, then blocks, then tokens."""
    lines = text.splitlines(keepends=True)
    lines = ddmin(lines, "".join, oracle, max_rounds)
    tokens = drop_blocks(tokens_of("".join(lines)), oracle, max_rounds)
    tokens = ddmin(tokens, "".join, oracle, max_rounds)
    return "".join(drop_blocks(tokens, oracle, max_rounds))
