"""Input planes for a network whose input format differs from the data's.

A network only understands the input format it was trained on: lc0 encodes
positions for the net's format, never the data's. Data written in another
format (the fixtures' format 3/5 tars were converted by lc0's rescorer from
the format-1 games) must therefore be re-encoded before a net evaluates it.
Canonical formats drop history (castling change, en passant, rule50 reset;
format 5 keeps only repetitions), so we rebuild it from the game itself:
every frame's current position (block 0, transform undone) is a position of
the game, so a whole game's frames give back the full history.

Also: plane 109 as the engine feeds it (``engine_planes``), for evaluating a
file with lcpipe.nets.reference.
"""

from __future__ import annotations

import numpy as np

from lcpipe.nets.mapping import RULE50_PLANE, rule50_factor


def reencode_game(game: np.ndarray, input_format: int) -> np.ndarray:
    """A copy of one game's frames (in play order, from its first position)
    with planes and aux bytes re-encoded for ``input_format``."""
    from lcpipe.lc0 import decoder, encoder  # python-chess; imported on use

    if len(game) == 0:
        return game.copy()
    snaps = []
    for frame in game:
        dec = decoder.decode_frame(frame)
        reps = 1 if dec.repetitions and dec.repetitions[0] else 0
        snaps.append(encoder.snapshot(dec.board, reps))
    out = game.copy()
    encoded = [encoder.encode(snaps, t, input_format, fill="fen_only") for t in range(len(snaps))]
    encoder.fill_frames(out, encoded, input_format)
    if input_format not in (3, 4, 5, 132, 133):
        out["invariance_info"] &= 0x78  # transform bits and black-to-move bit mean nothing here
    return out


def engine_planes(inputs: np.ndarray, input_format: int) -> np.ndarray:
    """Our training tensors [B,112,8,8] -> the planes lc0 feeds its network."""
    x = np.array(inputs, dtype=np.float32, copy=True)
    x[:, RULE50_PLANE] *= np.float32(rule50_factor(input_format))
    return x
