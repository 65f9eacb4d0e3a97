"""Gather indices from the raw policy outputs to lc0's 1858-move list.

``attention_gather()[m]`` is the position in the 4288-vector (64x64 from-to
logits, then 8x24 promotion logits) of move m; ``conv_gather()[m]`` the
position in the 5120-vector (80 planes x 64 from-squares). Both come from the
one move index, lcpipe.lc0.policy, imported directly: a second definition
here could silently disagree with it (and train a wrong policy head).
"""

from __future__ import annotations

import numpy as np

from lcpipe.lc0.policy import ATTENTION_GATHER, CONV_GATHER


def attention_gather() -> np.ndarray:
    return ATTENTION_GATHER


def conv_gather() -> np.ndarray:
    return CONV_GATHER
