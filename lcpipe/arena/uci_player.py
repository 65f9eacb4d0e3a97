"""Any UCI engine as a match player (a subprocess driven by python-chess's UCI client).

The engine gets ``ucinewgame`` at each new game, then ``position <start>
moves ...`` and ``go nodes N`` (or ``go movetime MS``) for every move, so it
sees the whole game. Games are asked one after another: a single engine
process plays at most one game at a time.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import chess
import chess.engine

from lcpipe.arena.player import MoveRequest


class UciEngineError(RuntimeError):
    """The engine could not be started, answered wrongly, or played an illegal move."""


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """["UCI_Elo=1500", "UCI_LimitStrength=true"] -> {"UCI_Elo": "1500", ...}."""
    out = {}
    for text in pairs:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"engine option must be NAME=VALUE, got {text!r}")
        out[name.strip()] = value.strip()
    return out


def _option_value(option: chess.engine.Option, value: str):
    if option.type == "check":
        if value.lower() not in ("true", "false"):
            raise ValueError(f"option {option.name} is true or false, got {value!r}")
        return value.lower() == "true"
    if option.type == "spin":
        return int(value)
    return value


class UciPlayer:
    """A UCI engine process; ``nodes`` or ``movetime`` (seconds) limits each move."""

    def __init__(
        self,
        command: str | Sequence[str],
        nodes: int | None = None,
        movetime: float | None = None,
        options: dict[str, str] | None = None,
        name: str | None = None,
        timeout: float = 120.0,
    ):
        if (nodes is None) == (movetime is None):
            raise ValueError("give the UCI engine exactly one limit: nodes or movetime")
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise ValueError("empty UCI engine command")
        self.limit = (
            chess.engine.Limit(nodes=nodes) if nodes is not None else chess.engine.Limit(time=movetime)
        )
        self.timeout = timeout
        try:
            self.engine = chess.engine.SimpleEngine.popen_uci(argv, timeout=timeout)
        except (OSError, chess.engine.EngineError, chess.engine.EngineTerminatedError, TimeoutError) as exc:
            raise UciEngineError(f"cannot start UCI engine {' '.join(argv)!r}: {exc}") from None
        self.name = name or self.engine.id.get("name") or argv[0]
        try:
            self._configure(options or {})
        except Exception:
            self.close()
            raise
        self._games: dict[int, object] = {}

    def _configure(self, options: dict[str, str]) -> None:
        known = {k.lower(): v for k, v in self.engine.options.items()}
        values = {}
        for name, value in options.items():
            opt = known.get(name.lower())
            if opt is None:
                raise UciEngineError(
                    f"the engine has no option {name!r} (it has: {', '.join(self.engine.options)})"
                )
            try:
                values[opt.name] = _option_value(opt, value)
            except ValueError as exc:
                raise UciEngineError(str(exc)) from None
        if values:
            self.engine.configure(values)

    def choose_moves(self, requests: Sequence[MoveRequest]) -> list[chess.Move]:
        moves = []
        for r in requests:
            key = self._games.setdefault(r.game, object())  # a new key object: python-chess sends ucinewgame
            try:
                result = self.engine.play(r.board, self.limit, game=key)
            except (chess.engine.EngineError, chess.engine.EngineTerminatedError, TimeoutError) as exc:
                raise UciEngineError(f"UCI engine {self.name!r} failed in {r.board.fen()}: {exc}") from None
            if result.move is None or result.move not in r.board.legal_moves:
                raise UciEngineError(f"UCI engine {self.name!r} played {result.move} in {r.board.fen()}")
            moves.append(result.move)
        return moves

    def close(self) -> None:
        try:
            self.engine.quit()
        except Exception:  # already gone: nothing left to release
            pass
