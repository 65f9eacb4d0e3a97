"""Deterministic synthetic lc0 training games, for tests and demos.

Games are legal (python-chess), played by sampling from a made-up search
policy: peaked visit fractions over all legal moves (sum 1, -1 on illegal
moves), captures favoured so games end. A game still running after
``max_plies`` is adjudicated (invariance bits 5 and 4) on material: three
pawns ahead wins, else a draw. Values follow one latent
evaluation per game that drifts towards the final result, so q/d/m agree
from ply to ply and with the result; plies_left counts down. Frames are
encoded with ``encoder`` for any input format, as V6 or V7 records (V7 fills
q_st/d_st and the opponent/next move indices). Same seed, same bytes.

Games start from the standard position or from given FENs (``start_fen``,
or ``start_fens`` in ``generate_games``); ``random_endgame`` makes random
legal positions of a given material (e.g. "KRPvKR") for tablebase tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import chess
import numpy as np

from lcpipe.lc0 import frames as fr
from lcpipe.lc0.encoder import GameHistory, encode, fill_frames
from lcpipe.lc0.game_writer import GameWriter
from lcpipe.lc0.policy import TRANSFORM_INDEX, legal_move_indices

ADJUDICATED = 1 << 5
MAX_LENGTH = 1 << 4
SHORT_TERM_PLIES = 6
_MATERIAL = {chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9}


@dataclass
class SynthConfig:
    input_format: int = 1
    version: int = 6
    max_plies: int = 100
    capture_bias: float = 8.0
    alpha: float = 0.3  # Dirichlet concentration of the visit fractions
    start_fen: str | None = None  # None: the standard start position


_SYMBOLS = {
    "K": chess.KING,
    "Q": chess.QUEEN,
    "R": chess.ROOK,
    "B": chess.BISHOP,
    "N": chess.KNIGHT,
    "P": chess.PAWN,
}


def random_endgame(rng: np.random.Generator, material: str, tries: int = 10000) -> str:
    """FEN of a random legal position with ``material`` ("KQvKR": one side K+Q,
    the other K+R; which side is white and who moves are random too). No
    castling, no en passant; pawns never on the first or last rank; the side
    not to move is not in check; not already over (mate, stalemate)."""
    sides = material.upper().split("V")
    if (
        len(sides) != 2
        or any(s.count("K") != 1 for s in sides)
        or any(c not in _SYMBOLS for c in "".join(sides))
    ):
        raise ValueError(f"material must look like 'KQvKR', not {material!r}")
    for _ in range(tries):
        board = chess.Board.empty()
        first_white = bool(rng.integers(2))
        squares = rng.permutation(64)
        k = 0
        for side, pieces in enumerate(sides):
            color = chess.WHITE if (side == 0) == first_white else chess.BLACK
            for c in pieces:
                board.set_piece_at(int(squares[k]), chess.Piece(_SYMBOLS[c], color))
                k += 1
        board.turn = bool(rng.integers(2))
        if board.is_valid() and not board.is_game_over(claim_draw=False):
            return board.fen()
    raise RuntimeError(f"no legal {material} position found in {tries} tries")


def _play(rng: np.random.Generator, cfg: SynthConfig):
    game = GameHistory(chess.Board(cfg.start_fen) if cfg.start_fen else None)
    board = game.board
    policies: list[tuple[np.ndarray, np.ndarray]] = []  # (indices, fractions)
    played: list[int] = []
    best: list[int] = []
    while len(played) < cfg.max_plies:
        moves = list(board.legal_moves)
        if not moves or board.halfmove_clock >= 150 or board.is_insufficient_material():
            break
        idx = legal_move_indices(board, moves)
        # Dirichlet visit fractions (normalised gammas), captures favoured
        weights = rng.standard_gamma(cfg.alpha, len(moves)) + 1e-12
        theirs = board.occupied_co[not board.turn]
        weights *= np.array(
            [cfg.capture_bias if (theirs >> m.to_square) & 1 or m.promotion else 1.0 for m in moves]
        )
        weights /= weights.sum()
        choice = min(int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum())), len(moves) - 1)
        policies.append((idx, weights.astype(np.float32)))
        played.append(choice)
        best.append(int(np.argmax(weights)))
        game.push(moves[choice])
    return game, policies, played, best


def _outcome(board: chess.Board) -> tuple[float, int]:
    """(result from white's view, invariance bits)."""
    out = board.outcome(claim_draw=False)
    if out is None:  # stopped at max_plies: adjudicate on material (3 pawns or more wins)
        diff = sum(
            v * (len(board.pieces(pt, chess.WHITE)) - len(board.pieces(pt, chess.BLACK)))
            for pt, v in _MATERIAL.items()
        )
        return (float(np.sign(diff)) if abs(diff) >= 3 else 0.0), ADJUDICATED | MAX_LENGTH
    if out.winner is None:
        return 0.0, 0
    return (1.0 if out.winner == chess.WHITE else -1.0), 0


def generate_game(rng: np.random.Generator, cfg: SynthConfig | None = None) -> np.ndarray:
    """One synthetic game as an array of frames (V6 or V7)."""
    cfg = cfg or SynthConfig()
    game, policies, played, best = _play(rng, cfg)
    n = len(played)
    arr = fr.empty(n, cfg.version)
    if n == 0:
        return arr
    result_white, bits = _outcome(game.board)
    white_first = game.snapshots[0].black_to_move is False
    encoded = [encode(game.snapshots, t, cfg.input_format) for t in range(n)]
    fill_frames(arr, encoded, cfg.input_format)
    arr["invariance_info"] |= bits

    ply = np.arange(n)
    sign = np.where((ply % 2 == 0) == white_first, 1.0, -1.0)  # +1 where white is to move
    drift = np.cumsum(rng.normal(0.0, 0.08, n))
    lam = (ply / max(n - 1, 1)) ** 2
    q_white = np.clip((1 - lam) * np.tanh(drift) + lam * result_white, -1, 1)
    q = (q_white * sign).astype(np.float32)
    d = np.clip((1 - np.abs(q)) * (0.5 + 0.3 * lam), 0, 1 - np.abs(q)).astype(np.float32)
    m = (n - ply).astype(np.float32)

    probs = np.full((n, fr.NUM_MOVES), -1.0, dtype=np.float32)
    played_idx = np.empty(n, dtype=np.uint16)
    best_idx = np.empty(n, dtype=np.uint16)
    for t, (idx, w) in enumerate(policies):
        tr = int(encoded[t].transform)
        if tr:
            idx = TRANSFORM_INDEX[tr, idx]
        probs[t, idx] = w
        played_idx[t] = idx[played[t]]
        best_idx[t] = idx[best[t]]
    arr["probabilities"] = probs
    arr["played_idx"] = played_idx
    arr["best_idx"] = best_idx

    def noisy(x, s):
        return np.clip(x + rng.normal(0, s, n).astype(np.float32), -1, 1)

    arr["root_q"] = q
    arr["root_d"] = d
    arr["root_m"] = m
    # noisy copies for best / played / raw network values, d kept so that W, L >= 0
    for prefix, noise in (("best", 0.02), ("played", 0.05), ("orig", 0.1)):
        qx = noisy(q, noise)
        arr[f"{prefix}_q"] = qx
        arr[f"{prefix}_d"] = np.minimum(d, 1 - np.abs(qx))
        arr[f"{prefix}_m"] = m
    arr["orig_m"] = np.maximum(m + rng.normal(0, 3, n).astype(np.float32), 0)
    arr["plies_left"] = m
    arr["result_q"] = (result_white * sign).astype(np.float32)
    arr["result_d"] = np.float32(1.0 if result_white == 0 else 0.0)
    arr["visits"] = rng.integers(64, 800, n)
    arr["policy_kld"] = rng.gamma(2.0, 0.05, n).astype(np.float32)
    if cfg.version == 7:
        ahead = np.minimum(ply + SHORT_TERM_PLIES, n - 1)
        same_side = np.where((ahead - ply) % 2 == 0, 1.0, -1.0)
        arr["q_st"] = (q[ahead] * same_side).astype(np.float32)
        arr["d_st"] = d[ahead]
        nxt = np.full(n, fr.NO_MOVE, dtype=np.uint16)
        nxt2 = np.full(n, fr.NO_MOVE, dtype=np.uint16)
        nxt[:-1] = played_idx[1:]
        nxt2[:-2] = played_idx[2:]
        arr["opp_played_idx"] = nxt
        arr["next_played_idx"] = nxt2
    return arr


def iter_games(
    n: int,
    seed: int = 0,
    input_format: int = 1,
    version: int = 6,
    max_plies: int = 100,
    start_fens: list[str] | None = None,
) -> Iterator[tuple[str, np.ndarray]]:
    """``n`` games named ``game_{seed:06d}_{i:06d}.gz`` (sorted = generated order), one at a time.

    ``start_fens``: game i starts from ``start_fens[i % len(start_fens)]``.
    """
    rng = np.random.default_rng(seed)
    for i in range(n):
        fen = start_fens[i % len(start_fens)] if start_fens else None
        cfg = SynthConfig(input_format=input_format, version=version, max_plies=max_plies, start_fen=fen)
        yield f"game_{seed:06d}_{i:06d}.gz", generate_game(rng, cfg)


def generate_games(
    n: int,
    seed: int = 0,
    input_format: int = 1,
    version: int = 6,
    max_plies: int = 100,
    start_fens: list[str] | None = None,
) -> list[tuple[str, np.ndarray]]:
    """The games of ``iter_games`` in a list."""
    return list(iter_games(n, seed, input_format, version, max_plies, start_fens))


def write_games(
    out_dir: str | os.PathLike,
    n: int,
    seed: int = 0,
    input_format: int = 1,
    version: int = 6,
    tar: bool = False,
    max_plies: int = 100,
    tar_name: str | None = None,
    start_fens: list[str] | None = None,
    on_game: Callable[[str, np.ndarray], None] | None = None,
) -> list[Path]:
    """Generate ``n`` games into ``out_dir``: one .gz per game, or one .tar of them.

    Each game goes to disk as soon as it is made (a tar is streamed and renamed into place at the
    end); ``on_game(name, frames)`` is called after each, for progress.
    """
    name = (tar_name or f"games_{seed:06d}.tar") if tar else None
    with GameWriter(out_dir, name) as writer:
        for key, arr in iter_games(n, seed, input_format, version, max_plies, start_fens):
            writer.add(key, arr)
            if on_game is not None:
                on_game(key, arr)
    return writer.paths
