"""Python side of the native self-play engine (``lcpipe._native.SelfPlayEngine``).

The engine searches many games on native threads and gathers the leaves of a
group of games into one batch; Python evaluates each batch with an evaluator
of ``lcpipe.selfplay.evaluator``. With two groups (``network_batches: 2``)
the evaluation of one group's batch (JAX dispatches asynchronously) overlaps
the native search of the other's; the search runs without the GIL.

``NativePool`` has the surface of ``lcpipe.selfplay.game.GamePool`` that the
stage uses (``step``, ``stats``, ``started``, ``can_start``, ``allow_new``,
``running``), so the stage drives either engine the same way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lcpipe.lc0 import chunks
from lcpipe.lc0 import frames as fr
from lcpipe.selfplay.game import PoolStats


def engine_settings(settings: dict) -> dict:
    """``settings`` over the selfplay.mcts stage's declared defaults (their one source), plus the
    engine's own inputs (numbering, evaluators of a match) at their neutral values."""
    from lcpipe.selfplay.stages import SETTINGS
    from lcpipe.settings import defaults

    out = {**defaults(SETTINGS), "first_game": 0, "evaluators": 1, "paired": False, **settings}
    out["threads"] = int(out["threads"]) or max(1, min(os.cpu_count() or 1, 8))  # 0: one per core, at most 8
    return out


_CHUNK_NAME = re.compile(r"^(?P<prefix>.+)-\d{20}-\d{6}-(?P<game>\d{8,})\.gz$")


@dataclass
class NativeGame:
    """A game finished by the native engine: its V6 frames and what was played."""

    game_id: int
    frames: np.ndarray  # V6 records, one per position where a move was played
    moves: list[str]  # UCI from start_fen, the opening's moves first
    start_fen: str
    opening_plies: int
    result_white: int
    termination: str
    flags: int
    white_slot: int = 0
    black_slot: int = 0
    network_steps: set = field(default_factory=set)

    @property
    def records(self) -> list:
        """One entry per recorded position (empty: resigned before its first move)."""
        return list(range(len(self.frames)))

    @property
    def ply(self) -> int:
        return len(self.moves) - self.opening_plies


def _game(d: dict) -> NativeGame:
    frames = np.frombuffer(d["frames"], dtype=fr.DTYPES[6]).copy()
    return NativeGame(
        int(d["id"]),
        frames,
        list(d["moves"]),
        d["start_fen"],
        int(d["opening_plies"]),
        int(d["result_white"]),
        d["termination"],
        int(d["flags"]),
        int(d["white_slot"]),
        int(d["black_slot"]),
    )


def first_game_in(out_dir: str | os.PathLike, prefix: str) -> int:
    """The next game number after the games already in ``out_dir`` (0 if none).

    A restarted run continues numbering (and so each game's random stream,
    drawn from (seed, game number)) instead of replaying games it wrote.
    """
    d = Path(out_dir)
    if not d.is_dir():
        return 0
    last = -1
    for entry in os.scandir(d):
        m = _CHUNK_NAME.match(entry.name)
        if m and m.group("prefix") == prefix:
            last = max(last, int(m.group("game")))
    return last + 1


def read_openings(path: str | os.PathLike) -> list[tuple[str, list[str]]]:
    """Start positions from an EPD file (one FEN per line) or a PGN file (each game's start and moves).

    Returns (FEN, UCI moves) pairs; a clear ValueError names the file and
    the line (EPD) or game (PGN) that cannot be read.
    """
    import chess
    import chess.pgn

    path = Path(path)
    out: list[tuple[str, list[str]]] = []
    if path.suffix.lower() == ".pgn":
        with open(path, encoding="utf-8", errors="replace") as f:
            k = 0
            while True:
                game = chess.pgn.read_game(f)
                if game is None:
                    break
                k += 1
                if game.errors:
                    raise ValueError(f"{path}: game {k}: {game.errors[0]}")
                board = game.board()
                out.append((board.fen(), [m.uci() for m in game.mainline_moves()]))
    else:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                fields = line.split()
                if not fields or fields[0].startswith("#"):
                    continue
                if len(fields) < 4:
                    raise ValueError(
                        f"{path}:{lineno}: expected an EPD line (4 FEN fields), got {line.strip()!r}"
                    )
                fen = " ".join(fields[:4]) + " 0 1"
                try:
                    board = chess.Board(fen)
                except ValueError as exc:
                    raise ValueError(f"{path}:{lineno}: bad position: {exc}") from None
                if not board.is_valid() or not any(board.legal_moves):
                    raise ValueError(f"{path}:{lineno}: the position is not playable")
                out.append((fen, []))
    if not out:
        raise ValueError(f"{path}: no start positions in the file")
    return out


class NativePool:
    """Games played by the native engine, evaluated batch by batch from Python.

    ``settings`` are the stage's settings (the same names), plus
    ``first_game``, ``threads``, ``openings`` ((FEN, UCI moves) pairs),
    ``evaluators`` (1, or 2 for a match) and ``paired``.
    """

    def __init__(self, settings: dict):
        import lcpipe._native as _native

        self.settings = engine_settings(settings)
        self.engine = _native.SelfPlayEngine(self.settings)
        self.groups = self.engine.groups
        self.first_game = int(self.settings["first_game"])
        self.max_games = int(self.settings["stop_after_games"])
        self.stats = PoolStats()
        self._inflight: list[tuple | None] = [None] * self.groups
        self._allow_new = True

    # -- the GamePool surface the stage uses -------------------------------------------
    @property
    def started(self) -> int:
        return self.engine.games_started

    @property
    def running(self) -> int:
        return self.engine.running_games

    @property
    def allow_new(self) -> bool:
        return self._allow_new

    @allow_new.setter
    def allow_new(self, value: bool) -> None:
        self._allow_new = bool(value)
        self.engine.allow_new_games(self._allow_new)

    def can_start(self) -> bool:
        return self._allow_new and (not self.max_games or self.started < self.max_games)

    @property
    def exhausted(self) -> bool:
        return self.engine.idle and all(f is None or f[0] == 0 for f in self._inflight)

    def step(self, evaluator, network_step: int = -1) -> list[NativeGame]:
        """One batch per group; returns the games that finished."""
        return self.step_slots([evaluator], network_step)

    def step_slots(self, evaluators: Sequence, network_step: int = -1) -> list[NativeGame]:
        """As ``step``, with one evaluator per slot (a match: slot 0 and slot 1)."""
        for g in range(self.groups):
            outputs = self._collect(g, evaluators)
            counts = self.engine.step(g, *outputs)
            self._launch(g, counts, evaluators)
        self.stats.plies = self.engine.plies
        done = [_game(d) for d in self.engine.drain_finished()]
        for game in done:
            game.network_steps.add(network_step)
            s = self.stats
            s.games += 1
            s.game_plies += game.ply
            r = game.result_white
            s.results["white" if r > 0 else "black" if r < 0 else "draw"] += 1
            s.terminations[game.termination] = s.terminations.get(game.termination, 0) + 1
        return done

    def play(self, evaluator, network_step: int = -1):
        """Yield finished games until ``stop_after_games`` are done (forever if 0)."""
        while not self.exhausted:
            yield from self.step(evaluator, network_step)

    def restart_search(self, input_format: int) -> None:
        """A network of another input format: drop every tree and every batch in flight."""
        self.engine.reset_search(input_format)
        self._inflight = [None] * self.groups

    # -- batches ------------------------------------------------------------------------
    def _launch(self, g: int, counts: list[int], evaluators: Sequence) -> None:
        total = sum(counts)
        if total == 0:
            self._inflight[g] = (0, [])
            return
        planes = self.engine.inputs(g, total)  # a view of the engine's buffer
        handles = []
        start = 0
        for slot, n in enumerate(counts):
            if n:
                handles.append(
                    (n, evaluators[slot], evaluators[slot].submit_planes(planes[start : start + n]))
                )
                self.stats.evals += n
                self.stats.calls += 1
            start += n
        self._inflight[g] = (total, handles)

    def _collect(self, g: int, evaluators: Sequence) -> tuple:
        flight = self._inflight[g]
        if flight is None or flight[0] == 0:
            return None, None, None
        _, handles = flight
        outs = [ev.result(h) for _, ev, h in handles]
        if len(outs) == 1:
            return outs[0]
        return tuple(np.concatenate([o[k] for o in outs]) for k in range(3))


def write_native_game(
    out_dir: str | os.PathLike, game: NativeGame, prefix: str = "selfplay"
) -> tuple[Path, np.ndarray]:
    """Write a finished native game as one chunk (atomically); returns (path, frames)."""
    from lcpipe.selfplay.writer import chunk_name

    path = chunks.write_chunk(Path(out_dir) / chunk_name(game.game_id, prefix), game.frames)
    return path, game.frames


def search_position(
    evaluator,
    settings: dict,
    fen: str = "",
    moves: Sequence[str] = (),
    visits: int | None = None,
    seed: int = 0,
    stop=None,
):
    """Search one position (``moves`` played from ``fen``) natively until ``visits`` root visits.

    One leaf is evaluated at a time with ``evaluator.evaluate_planes``;
    ``stop()`` returning True ends the search early (a UCI ``stop``).
    Returns the ``lcpipe._native.PositionSearch`` (best_move, pv, edges, value).
    """
    import lcpipe._native as _native

    settings = engine_settings(settings)
    search = _native.PositionSearch(settings, fen, list(moves), seed)
    budget = int(visits if visits is not None else settings["visits"])
    outputs = (None, None, None)
    while search.step(budget, *outputs):
        if stop is not None and stop():
            break
        evaluator.evals += 1
        evaluator.calls += 1
        outputs = evaluator.evaluate_planes(search.inputs())
    return search
