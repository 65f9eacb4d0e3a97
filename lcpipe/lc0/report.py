"""Counting and describing bad input while reading lc0 data.

Readers never crash on bad bytes: they record what was wrong and where
(file, tar member, frame, game) here and skip only the broken part.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Problem:
    source: str
    message: str
    member: str = ""
    frame: int | None = None
    game: int | None = None

    def __str__(self) -> str:
        where = self.source or "<input>"
        if self.member:
            where += f" [{self.member}]"
        if self.game is not None:
            where += f" game {self.game}"
        if self.frame is not None:
            where += f" frame {self.frame}"
        return f"{where}: {self.message}"


@dataclass
class ReadReport:
    """Counters of one read: what was read, what was skipped and why.

    ``problems`` keeps the first ``max_kept`` problems in full; ``skipped``
    counts all of them.
    """

    files: int = 0
    chunks: int = 0
    frames: int = 0
    games: int = 0
    skipped: int = 0
    skipped_members: int = 0
    problems: list[Problem] = field(default_factory=list)
    max_kept: int = 1000

    def bad(
        self,
        source: str,
        message: str,
        *,
        member: str = "",
        frame: int | None = None,
        game: int | None = None,
    ) -> None:
        """Record one skipped piece of input."""
        self.skipped += 1
        if len(self.problems) < self.max_kept:
            self.problems.append(Problem(source, message, member, frame, game))

    @property
    def ok(self) -> bool:
        return self.skipped == 0

    def merge(self, other: ReadReport) -> None:
        self.files += other.files
        self.chunks += other.chunks
        self.frames += other.frames
        self.games += other.games
        self.skipped += other.skipped
        self.skipped_members += other.skipped_members
        room = self.max_kept - len(self.problems)
        self.problems.extend(other.problems[: max(room, 0)])

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.chunks} chunks, {self.frames} frames, "
            f"{self.skipped} problems, {self.skipped_members} non-chunk members skipped"
        )
