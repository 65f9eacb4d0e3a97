"""Which games ``lcpipe data filter`` keeps: conditions on a game's frames.

Every condition given must hold. ``where`` is a Python expression over the
game's frames: each record field is an array with one entry per frame
(``visits``, ``result_d``, ``invariance_info``, ``probabilities`` [frames,
1858], ...), ``plies`` is the number of frames and ``np`` is numpy; the game
is kept when the expression is true for it (``visits.min() >= 64``,
``(invariance_info & 32).any()``). Of the builtins it sees only abs, min, max, len, sum, any
and all; names starting with an underscore are refused.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lcpipe.lc0 import game_facts

# numpy imports lazily while it works, so __import__ stays reachable for it; the expression itself
# cannot name it (no names or attributes starting with "_").
_BUILTINS = {"abs": abs, "min": min, "max": max, "len": len, "sum": sum, "any": any, "all": all}
_BUILTINS["__import__"] = __import__


class FilterError(ValueError):
    pass


def _compile_where(expr: str):
    try:
        tree = ast.parse(expr, "<--where>", mode="eval")
    except SyntaxError as exc:
        raise FilterError(f"--where {expr!r}: {exc.msg}") from None
    for node in ast.walk(tree):  # no dunder tricks out of the namespace
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
        if name.startswith("_"):
            raise FilterError(f"--where {expr!r}: the name {name!r} is not allowed")
    return compile(tree, "<--where>", "eval")


@dataclass
class GameFilter:
    formats: tuple[int, ...] = ()
    versions: tuple[int, ...] = ()
    results: tuple[str, ...] = ()
    min_plies: int = 0
    max_plies: int = 0  # 0: no bound
    adjudicated: bool | None = None
    where: str = ""
    rejected: Counter = field(default_factory=Counter)  # reason -> games

    def __post_init__(self) -> None:
        bad = sorted(set(self.results) - set(game_facts.RESULTS))
        if bad:
            raise FilterError(f"unknown result {bad[0]!r}: choose from {', '.join(game_facts.RESULTS)}")
        if self.min_plies < 0 or self.max_plies < 0:
            raise FilterError("--min-plies and --max-plies must be >= 0")
        if self.max_plies and self.min_plies > self.max_plies:
            raise FilterError(f"--min-plies {self.min_plies} is above --max-plies {self.max_plies}")
        self._where = _compile_where(self.where) if self.where else None

    def _why_not(self, frames: np.ndarray) -> str | None:
        if self.formats and not np.isin(frames["input_format"], self.formats).all():
            return "input format"
        if self.versions and not np.isin(frames["version"], self.versions).all():
            return "version"
        n = len(frames)
        if n < self.min_plies or (self.max_plies and n > self.max_plies):
            return "length"
        if self.results and game_facts.result(frames) not in self.results:
            return "result"
        if self.adjudicated is not None and game_facts.adjudicated(frames) != self.adjudicated:
            return "adjudicated" if self.adjudicated else "not adjudicated"
        if self._where is not None and not self._evaluate(frames):
            return "--where"
        return None

    def _evaluate(self, frames: np.ndarray) -> bool:
        names: dict[str, Any] = {name: frames[name] for name in frames.dtype.names or ()}
        names.update(plies=len(frames), np=np)
        assert self._where is not None
        try:
            # the user's own expression, run on their own data
            return bool(eval(self._where, {"__builtins__": _BUILTINS}, names))
        except Exception as exc:
            raise FilterError(f"--where {self.where!r}: {type(exc).__name__}: {exc}") from None

    def keep(self, frames: np.ndarray) -> bool:
        """True if every condition holds; a rejected game is counted under its first failed condition."""
        reason = self._why_not(frames)
        if reason is not None:
            self.rejected[reason] += 1
        return reason is None
