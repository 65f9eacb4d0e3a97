"""Spec errors: where (file:line:col and the path inside the document), what
was expected, and a hint such as "did you mean ...". Never a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Path_ = tuple  # a path inside the document: ("stages", "train", "with", "lr")


@dataclass(frozen=True)
class Mark:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class SpecError:
    message: str
    mark: Mark | None = None
    path: Path_ = ()
    hint: str = ""

    def format(self) -> str:
        where = f"{self.mark}: " if self.mark else ""
        inside = f" (at {format_path(self.path)})" if self.path else ""
        text = f"{where}error: {self.message}{inside}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.format()


class SpecErrors(Exception):
    """One or more mistakes in a spec, reported together."""

    def __init__(self, errors: Sequence[SpecError]):
        self.errors = list(errors)
        super().__init__("\n".join(e.format() for e in self.errors))


def format_path(path: Iterable) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def did_you_mean(word: str, choices: Iterable[str], what: str = "") -> str:
    """A hint naming the closest choice(s), or listing the valid ones."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        # also try a suffix match: "jsonl" for "sink.jsonl"
        close = [c for c in choices if c.split(".")[-1] == word][:1]
    if close:
        return f"did you mean {close[0]!r}?"
    if not choices:
        return ""
    shown = ", ".join(repr(c) for c in choices[:12])
    more = ", ..." if len(choices) > 12 else ""
    return f"valid {what or 'names'}: {shown}{more}"
