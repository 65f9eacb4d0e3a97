"""Facts about one game read from its frames: the result from white's side, its length,
whether it was adjudicated. ``data stats`` counts them and ``data filter`` selects on them."""

from __future__ import annotations

import numpy as np

from lcpipe.lc0.decoder import frame_black_to_move

RESULTS = ("white", "black", "draw")
ADJUDICATED_BIT = 1 << 5


def result(frames: np.ndarray) -> str:
    """ "white", "black" or "draw": the first frame's result_q seen from white's side."""
    q = float(frames["result_q"][0])
    if frame_black_to_move(frames[0]):
        q = -q
    return "white" if q > 0 else "black" if q < 0 else "draw"


def adjudicated(frames: np.ndarray) -> bool:
    """Ended by resignation or adjudication (invariance bit 5 on the last frame)."""
    return bool(int(frames["invariance_info"][-1]) & ADJUDICATED_BIT)
