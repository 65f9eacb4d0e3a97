"""The trainer refuses data encoded in another input format than its model's.

A network learns one plane layout (LC0_FORMATS.md section 3): format 1's
full castling planes and side-to-move plane mean something else in the
canonical formats 3 and 5. Batches that know their rows' formats (the native
loader's, ``data.batches``') are checked against ``train.jax``'s
``input_format`` before a step is taken, so mixed data stops the run with a
message instead of being fed silently.
"""

from __future__ import annotations

import numpy as np

from lcpipe.types import Batch


class WrongInputFormat(ValueError):
    pass


def check_input_format(batch: Batch, expected: int, stage: str = "train", port: str = "train") -> None:
    """Raise WrongInputFormat when a row of ``batch`` is not in input format ``expected``."""
    formats = getattr(batch, "input_formats", None)
    if formats is None or not len(formats):
        return
    wrong = formats != expected
    if not wrong.any():
        return
    found, counts = np.unique(formats[wrong], return_counts=True)
    seen = ", ".join(f"format {int(f)} ({int(n)} of {len(formats)} positions)" for f, n in zip(found, counts))
    first = int(found[counts.argmax()])
    raise WrongInputFormat(
        f"a batch on {stage}'s {port!r} input holds data in input {seen}, but the model is trained for "
        f"input format {expected} (train.jax input_format): convert the data to format {expected} "
        f"(lc0's rescorer converts files), select it with `lcpipe data filter --format {expected}`, or, "
        f"for a new model meant for format {first}, set input_format: {first}"
    )
