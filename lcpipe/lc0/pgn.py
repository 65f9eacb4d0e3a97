"""PGN games -> lc0 training frames (supervised data).

Per position before each mainline move:
- policy: one-hot on the played move; or, when the position has several
  continuations (multi-PV: variations) each carrying a ``[%eval]``, a
  softmax over their evaluations; or an explicit ``[%policy e2e4:0.6
  d2d4:0.4]`` comment (UCI or SAN moves) on the position's first move.
  Always renormalised over legal moves, -1 elsewhere.
- result targets from the Result header (games with "*" are skipped);
- plies_left counting down to the end of the game;
- root/best/played q and d from the ``[%eval]`` after the move (centipawns
  or #mate, white's view, converted to the side to move's view); without
  an eval they fall back to the game result. orig_* are NaN.
A game with an illegal or unparsable move is reported with its number and
skipped whole.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import chess
import chess.pgn
import numpy as np

from lcpipe.lc0 import frames as fr
from lcpipe.lc0.encoder import GameHistory, encode, fill_frames
from lcpipe.lc0.policy import legal_move_indices
from lcpipe.lc0.report import ReadReport

_POLICY_RE = re.compile(r"\[%policy\s+([^\]]*)\]")
_RESULTS = {"1-0": 1.0, "0-1": -1.0, "1/2-1/2": 0.0}
MULTIPV_TEMPERATURE = 0.1  # in q units: how sharply multi-PV evals pick a move


def eval_to_qd(score: chess.engine.PovScore | None, white: bool) -> tuple[float, float, float] | None:
    """(q, d, m) for the side to move (``white``) from a PGN eval, or None."""
    if score is None:
        return None
    s = score.pov(chess.WHITE if white else chess.BLACK)
    mate = s.mate()
    if mate is not None:
        return (1.0 if mate > 0 else -1.0), 0.0, float(max(2 * abs(mate) - (1 if mate > 0 else 0), 0))
    cp = s.score()
    assert cp is not None  # a score that is not a mate is in centipawns
    q = 2.0 / (1.0 + 10 ** (-cp / 400.0)) - 1.0
    d = 0.5 * (1.0 - abs(q))
    return q, d, float("nan")


def _explicit_policy(board: chess.Board, comment: str) -> dict[chess.Move, float] | None:
    m = _POLICY_RE.search(comment or "")
    if not m:
        return None
    out: dict[chess.Move, float] = {}
    for item in m.group(1).replace(",", " ").split():
        name, _, value = item.partition(":")
        try:
            move = (
                board.parse_uci(name)
                if re.fullmatch(r"[a-h][1-8][a-h][1-8][qrbn]?", name)
                else board.parse_san(name)
            )
            out[move] = float(value)
        except ValueError:
            return None
    return out or None


def _policy_for(node: chess.pgn.GameNode, board: chess.Board) -> dict[chess.Move, float]:
    played = node.variations[0]
    explicit = _explicit_policy(board, played.comment) or _explicit_policy(board, node.comment)
    if explicit:
        return explicit
    if len(node.variations) > 1:
        white = board.turn == chess.WHITE
        qs = {}
        for child in node.variations:
            qd = eval_to_qd(child.eval(), white)
            if qd is None:
                break
            qs[child.move] = qd[0]
        else:
            top = max(qs.values())
            return {m: math.exp((q - top) / MULTIPV_TEMPERATURE) for m, q in qs.items()}
    return {played.move: 1.0}


def game_to_frames(game: chess.pgn.Game, input_format: int = 1, version: int = 6) -> np.ndarray:
    """Frames of one parsed PGN game (raises ValueError for unusable games)."""
    if game.errors:
        raise ValueError(f"illegal or unparsable move: {game.errors[0]}")
    result = _RESULTS.get(game.headers.get("Result", "*"))
    if result is None:
        raise ValueError(f"no result (Result {game.headers.get('Result', '*')!r})")
    board = game.board()
    history = GameHistory(board)
    nodes = []
    node: chess.pgn.GameNode = game
    while node.variations:
        nodes.append(node)
        node = node.variations[0]
    n = len(nodes)
    arr = fr.empty(n, version)
    if n == 0:
        return arr
    encoded = []
    probs = np.full((n, fr.NUM_MOVES), -1.0, dtype=np.float32)
    values = np.empty((n, 3), dtype=np.float32)
    played_idx = np.empty(n, dtype=np.uint16)
    best_idx = np.empty(n, dtype=np.uint16)
    for t, node in enumerate(nodes):
        b = history.board
        move = node.variations[0].move
        if move not in b.legal_moves:
            raise ValueError(f"illegal move {move.uci()} at ply {t + 1}")
        enc = encode(history.snapshots, t, input_format)
        encoded.append(enc)
        moves = list(b.legal_moves)
        idx = legal_move_indices(b, moves, enc.transform)
        weights = _policy_for(node, b)
        w = np.array([max(weights.get(m, 0.0), 0.0) for m in moves], dtype=np.float64)
        if w.sum() <= 0:
            w = np.array([1.0 if m == move else 0.0 for m in moves])
        w /= w.sum()
        probs[t, idx] = w.astype(np.float32)
        played_idx[t] = idx[moves.index(move)]
        best_idx[t] = idx[int(np.argmax(w))]
        white = b.turn == chess.WHITE
        qd = eval_to_qd(node.variations[0].eval(), white)
        r = result if white else -result
        values[t] = qd if qd is not None else (r, 1.0 if result == 0 else 0.0, np.nan)
        history.push(move)
    fill_frames(arr, encoded, input_format)
    ply = np.arange(n)
    stm = np.where(np.array([not e.black_to_move for e in encoded]), 1.0, -1.0)
    m_left = (n - ply).astype(np.float32)
    arr["probabilities"] = probs
    arr["played_idx"] = played_idx
    arr["best_idx"] = best_idx
    m = np.where(np.isnan(values[:, 2]), m_left, values[:, 2]).astype(np.float32)
    for prefix in ("root", "best", "played"):
        arr[f"{prefix}_q"] = values[:, 0]
        arr[f"{prefix}_d"] = values[:, 1]
        arr[f"{prefix}_m"] = m
    for name in ("orig_q", "orig_d", "orig_m"):
        arr[name] = np.nan
    arr["result_q"] = (result * stm).astype(np.float32)
    arr["result_d"] = np.float32(1.0 if result == 0 else 0.0)
    arr["plies_left"] = m_left
    if version == 7:
        arr["q_st"] = values[:, 0]
        arr["d_st"] = values[:, 1]
        nxt = np.full(n, fr.NO_MOVE, dtype=np.uint16)
        nxt2 = np.full(n, fr.NO_MOVE, dtype=np.uint16)
        nxt[:-1] = played_idx[1:]
        nxt2[:-2] = played_idx[2:]
        arr["opp_played_idx"] = nxt
        arr["next_played_idx"] = nxt2
    return arr


class _QuietBuilder(chess.pgn.GameBuilder):
    """Collects move errors in ``game.errors`` without logging them."""

    def handle_error(self, error: Exception) -> None:
        self.game.errors.append(error)


def iter_pgn(
    handle: TextIO,
    input_format: int = 1,
    version: int = 6,
    report: ReadReport | None = None,
    source: str = "<pgn>",
) -> Iterator[np.ndarray]:
    """Frames of every usable game of a PGN stream; bad games reported and skipped."""
    number = 0
    while True:
        try:
            game = chess.pgn.read_game(handle, Visitor=_QuietBuilder)
        except Exception as exc:  # python-chess rarely raises; never crash on input
            if report is None:
                raise ValueError(f"{source}: game {number + 1}: {exc}") from exc
            report.bad(source, f"unreadable game: {exc}", game=number + 1)
            break
        if game is None:
            break
        number += 1
        try:
            arr = game_to_frames(game, input_format, version)
        except ValueError as exc:
            if report is None:
                raise ValueError(f"{source}: game {number}: {exc}") from None
            report.bad(source, str(exc), game=number)
            continue
        if report is not None:
            report.games += 1
            report.frames += len(arr)
        if len(arr):
            yield arr


def read_pgn_file(
    path: str | os.PathLike, input_format: int = 1, version: int = 6, report: ReadReport | None = None
) -> Iterator[np.ndarray]:
    """Frames of every usable game in a PGN file."""
    path = Path(path)
    if report is not None:
        report.files += 1
    with open(path, encoding="utf-8", errors="replace") as f:
        yield from iter_pgn(f, input_format, version, report, str(path))


def pgn_string_to_frames(
    text: str, input_format: int = 1, version: int = 6, report: ReadReport | None = None
) -> list[np.ndarray]:
    return list(iter_pgn(io.StringIO(text), input_format, version, report))
