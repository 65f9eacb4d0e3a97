"""``lcpipe uci NET``: a network served as a UCI engine, for chess GUIs and match tools.

The main thread reads commands; ``go`` starts the search in a worker thread
so that ``stop``, ``isready`` and ``quit`` are answered while it runs. The
worker prints ``info`` lines about twice a second (depth = length of the
principal variation, nodes, nps, score cp, wdl in permille, pv) and
``bestmove`` when a limit is reached or ``stop`` arrives; ``go infinite``
(and plain ``go``) searches until ``stop``. Pondering and multipv > 1 are
not supported (``go ponder`` searches like ``go infinite``).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import IO

import chess

from lcpipe.arena.python_search import SearchSession, play_config

ENGINES = ("native", "python")

INFO_EVERY = 0.5  # seconds between info lines
MOVE_OVERHEAD = 0.05  # seconds kept back from every clock-based budget


@dataclass
class Limits:
    nodes: int | None = None
    seconds: float | None = None  # movetime, or the budget taken from the clock
    infinite: bool = False


def parse_go(tokens: list[str], white_to_move: bool) -> Limits:
    """Limits of a ``go`` command's arguments (unknown ones are ignored, as UCI asks)."""
    values: dict[str, int] = {}
    flags = set()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("infinite", "ponder"):
            flags.add(tok)
        elif tok in ("nodes", "movetime", "wtime", "btime", "winc", "binc", "movestogo", "depth", "mate"):
            if i + 1 >= len(tokens):
                raise ValueError(f"go {tok} needs a number")
            try:
                values[tok] = int(tokens[i + 1])
            except ValueError:
                raise ValueError(f"go {tok} needs a number, got {tokens[i + 1]!r}") from None
            i += 1
        i += 1
    if flags:
        return Limits(infinite=True)
    limits = Limits(nodes=values.get("nodes"))
    if "movetime" in values:
        limits.seconds = max(values["movetime"] / 1000.0 - MOVE_OVERHEAD, 0.001)
    clock = values.get("wtime" if white_to_move else "btime")
    if clock is not None:
        inc = values.get("winc" if white_to_move else "binc", 0)
        moves_to_go = max(values.get("movestogo", 20), 1)
        budget = clock / moves_to_go + inc * 0.75
        limits.seconds = max(min(budget, clock / 2.0) / 1000.0 - MOVE_OVERHEAD, 0.001)
    if limits.nodes is None and limits.seconds is None:
        limits.infinite = True  # plain "go" (or depth/mate only): until stop, as lc0 does
    return limits


def _float_option(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"option {name} needs a number, got {value!r}") from None


class UciEngine:
    """The protocol state machine; ``handle`` one line at a time, or ``serve`` a stream."""

    def __init__(self, evaluator, name: str = "lcpipe", out: IO[str] | None = None, engine: str = "native"):
        if engine not in ENGINES:
            raise ValueError(f"unknown search engine {engine!r}; choose one of {', '.join(ENGINES)}")
        self.engine = engine
        self.evaluator = evaluator
        self.name = name
        self.out = out or sys.stdout
        self.cfg = play_config(1, input_format=int(getattr(evaluator, "input_format", None) or 1))
        self.show_wdl = True
        self.board = chess.Board()
        self._print_lock = threading.Lock()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._warm = False

    # -- output ---------------------------------------------------------------------
    def send(self, line: str) -> None:
        with self._print_lock:
            self.out.write(line + "\n")
            self.out.flush()

    # -- input ----------------------------------------------------------------------
    def serve(self, lines: Iterable[str]) -> None:
        for line in lines:
            if not self.handle(line):
                return
        self._stop_search()

    def handle(self, line: str) -> bool:
        """Act on one command line; False after ``quit``."""
        tokens = line.split()
        if not tokens:
            return True
        cmd, args = tokens[0], tokens[1:]
        try:
            if cmd == "uci":
                self.send(f"id name {self.name}")
                self.send("id author lcpipe")
                self.send("option name UCI_ShowWDL type check default true")
                self.send("option name MultiPV type spin default 1 min 1 max 1")
                self.send(f"option name CPuct type string default {self.cfg.cpuct}")
                self.send(f"option name FpuReduction type string default {self.cfg.fpu_reduction}")
                self.send("uciok")
            elif cmd == "isready":
                self._warm_up()
                self.send("readyok")
            elif cmd == "ucinewgame":
                self._stop_search()
                self.board = chess.Board()
            elif cmd == "setoption":
                self._setoption(args)
            elif cmd == "position":
                self._stop_search()
                self.board = self._position(args)
            elif cmd == "go":
                self._stop_search()
                self._go(parse_go(args, self.board.turn == chess.WHITE))
            elif cmd == "stop":
                self._stop_search()
            elif cmd == "ponderhit":
                pass  # pondering is not supported: "go ponder" already searches until stop
            elif cmd == "quit":
                self._stop_search()
                return False
            elif cmd in ("debug", "register"):
                pass
            else:
                self.send(f"info string unknown command {cmd}")
        except ValueError as exc:
            self.send(f"info string error: {exc}")
        return True

    def _warm_up(self) -> None:
        """Evaluate one position so the network is compiled before the first ``go``."""
        if not self._warm:
            self._session(chess.Board()).playout()
            self._warm = True

    def _session(self, board: chess.Board):
        """A fresh search of ``board`` on the chosen engine (same settings, same reports)."""
        if self.engine == "native":
            from lcpipe.arena.native_search import NativeSession, native_settings

            return NativeSession(board, self.evaluator, native_settings(self.cfg))
        return SearchSession(board, self.evaluator, self.cfg)

    def _setoption(self, args: list[str]) -> None:
        text = " ".join(args)
        if not text.startswith("name "):
            raise ValueError("setoption name <id> [value <x>]")
        name, _, value = text[5:].partition(" value ")
        name, value = name.strip(), value.strip()
        key = name.lower()
        if key == "uci_showwdl":
            self.show_wdl = value.lower() == "true"
        elif key == "multipv":
            if value != "1":
                raise ValueError("only MultiPV 1 is supported")
        elif key == "cpuct":
            self.cfg = replace(self.cfg, cpuct=_float_option(name, value))
        elif key == "fpureduction":
            v = _float_option(name, value)
            self.cfg = replace(self.cfg, fpu_reduction=v, fpu_reduction_root=v)
        else:
            self.send(f"info string unknown option {name}")

    @staticmethod
    def _position(args: list[str]) -> chess.Board:
        if not args:
            raise ValueError("position startpos|fen <fen> [moves ...]")
        if "moves" in args:
            k = args.index("moves")
            head, moves = args[:k], args[k + 1 :]
        else:
            head, moves = args, []
        if head[0] == "startpos":
            board = chess.Board()
        elif head[0] == "fen":
            try:
                board = chess.Board(" ".join(head[1:]))
            except ValueError as exc:
                raise ValueError(f"bad fen: {exc}") from None
        else:
            raise ValueError(f"position startpos|fen, not {head[0]!r}")
        for uci in moves:
            try:
                move = chess.Move.from_uci(uci)
            except ValueError:
                raise ValueError(f"bad move {uci!r}") from None
            if move not in board.legal_moves:
                raise ValueError(f"illegal move {uci} in {board.fen()}")
            board.push(move)
        return board

    # -- search ---------------------------------------------------------------------
    def _go(self, limits: Limits) -> None:
        if not any(self.board.legal_moves):
            self.send("bestmove 0000")
            return
        self._stop.clear()
        session = self._session(self.board)
        self._worker = threading.Thread(
            target=self._search, args=(session, limits), name="uci-search", daemon=True
        )
        self._worker.start()

    def _stop_search(self) -> None:
        worker = self._worker
        if worker is not None:
            self._stop.set()
            worker.join()
            self._worker = None

    def _search(self, session: SearchSession, limits: Limits) -> None:
        try:
            self._run_search(session, limits)
        except Exception as exc:  # a GUI waits for bestmove: never leave it hanging
            self.send(f"info string error: search failed: {type(exc).__name__}: {exc}")
            self.send(f"bestmove {next(iter(session.board.legal_moves)).uci()}")

    def _run_search(self, session: SearchSession, limits: Limits) -> None:
        start = time.monotonic()
        deadline = start + limits.seconds if limits.seconds is not None else None
        next_info = start + INFO_EVERY
        while not self._stop.is_set():
            if limits.nodes is not None and session.nodes >= limits.nodes:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            session.playout()
            now = time.monotonic()
            if now >= next_info:
                self._info(session, now - start)
                next_info = now + INFO_EVERY
        best = session.best_move()
        self._info(session, time.monotonic() - start)
        self.send(f"bestmove {best.uci()}")

    def _info(self, session: SearchSession, elapsed: float) -> None:
        pv = session.pv()
        nodes = session.nodes
        parts = [
            f"info depth {max(len(pv), 1)} nodes {nodes} nps {int(nodes / max(elapsed, 1e-6))}",
            f"time {int(elapsed * 1000)} score cp {session.score_cp()}",
        ]
        if self.show_wdl:
            w, d, l = session.wdl()
            wp, lp = int(round(w * 1000)), int(round(l * 1000))
            parts.append(f"wdl {wp} {1000 - wp - lp} {lp}")
        if pv:
            parts.append("pv " + " ".join(m.uci() for m in pv))
        self.send(" ".join(parts))


def serve_stdio(evaluator, name: str, engine: str = "native") -> int:
    uci = UciEngine(evaluator, name, engine=engine)
    uci.serve(sys.stdin)
    return 0
