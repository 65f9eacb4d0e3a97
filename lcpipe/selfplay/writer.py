"""A finished self-play game -> V6 training frames -> one .gz chunk file.

One frame per position where a move was played (the final position, which
has no move, gets none, as in lc0). Values follow LC0_FORMATS.md: q = W - L
from the side to move of that frame; the result alternates sign with the
side to move; plies_left counts down to 1 on the last frame.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import numpy as np

from lcpipe.lc0 import chunks
from lcpipe.lc0 import frames as fr
from lcpipe.lc0.encoder import encode, fill_frames
from lcpipe.lc0.policy import TRANSFORM_INDEX
from lcpipe.selfplay.game import SelfPlayGame

_SEQ = itertools.count()


def _kld(visits: np.ndarray, prior: np.ndarray) -> float:
    """KL divergence of the visit distribution from the network prior."""
    p = visits / max(visits.sum(), 1)
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / np.maximum(prior[mask], 1e-12))))


def game_frames(game: SelfPlayGame) -> np.ndarray:
    """The V6 frames of a finished game."""
    if game.result is None:
        raise ValueError("game is not finished")
    fmt = game.search.input_format
    recs = game.records
    n = len(recs)
    arr = fr.empty(n, 6)
    if n == 0:
        return arr
    snaps = game.history.snapshots
    encoded = [encode(snaps, t, fmt) for t in range(n)]
    fill_frames(arr, encoded, fmt)
    arr["invariance_info"] |= game.result.flags

    probs = np.full((n, fr.NUM_MOVES), -1.0, np.float32)
    for t, (rec, enc) in enumerate(zip(recs, encoded)):
        idx = TRANSFORM_INDEX[enc.transform, rec.idx0] if enc.transform else rec.idx0
        total = rec.visits_per_move.sum()
        probs[t, idx] = rec.visits_per_move / total
        arr["played_idx"][t] = idx[rec.played_i]
        arr["best_idx"][t] = idx[rec.best_i]
        for name, vals in (
            ("root", rec.root),
            ("best", rec.best),
            ("played", rec.played),
            ("orig", rec.orig),
        ):
            for suffix, v in zip("qdm", vals):
                arr[f"{name}_{suffix}"][t] = v
        arr["visits"][t] = rec.visits
        arr["policy_kld"][t] = _kld(rec.visits_per_move, rec.prior)
    arr["probabilities"] = probs
    black = np.array([s.black_to_move for s in snaps[:n]])
    sign = np.where(black, -1.0, 1.0)
    arr["result_q"] = (game.result.result_white * sign).astype(np.float32)
    arr["result_d"] = np.float32(1.0 if game.result.result_white == 0 else 0.0)
    arr["plies_left"] = (n - np.arange(n)).astype(np.float32)
    return arr


def chunk_name(game_id: int, prefix: str = "selfplay") -> str:
    """``prefix-<ns since epoch, 20 digits>-<seq>-<game>.gz``: sorts by time of writing."""
    return f"{prefix}-{time.time_ns():020d}-{next(_SEQ):06d}-{game_id:08d}.gz"


def write_game(
    out_dir: str | os.PathLike, game: SelfPlayGame, prefix: str = "selfplay"
) -> tuple[Path, np.ndarray]:
    """Write a finished game as one chunk (atomically); returns (path, frames)."""
    arr = game_frames(game)
    path = chunks.write_chunk(Path(out_dir) / chunk_name(game.game_id, prefix), arr)
    return path, arr
