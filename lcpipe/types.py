"""Items that travel on edges between stages, one class per port type.

Port type names (the strings used in ``Port.type``) and what flows on them:

- ``paths``          pathlib.Path of a data file (.gz chunk or .tar of chunks)
- ``chunk_sources``  native-only handle, inside fused loader segments
- ``chunks``         ``Chunk`` (one game's raw frame bytes and its key)
- ``frames``         numpy structured array of frame records (lcpipe.lc0.frames)
- ``batches``        ``Batch``
- ``weights``        ``NetworkSnapshot`` (trained parameters and model config)
- ``trained_steps``  the trainer's weight stream on the device (lcpipe.train.weight_stream)
- ``network``        ``ExportedNetwork`` (a .pb.gz written to disk)
- ``games``          pathlib.Path of a chunk file written by self-play
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PORT_TYPES = {
    "paths": "path of a data file (.gz chunk or .tar of chunks)",
    "chunk_sources": "opened data sources inside a native loader segment",
    "chunks": "one game's raw frame records",
    "frames": "frame records (numpy structured array)",
    "batches": "training batches: inputs, policy and value targets",
    "weights": "trained network parameters with their model configuration",
    "trained_steps": "the trainer's weights and batches step by step, on the device (for averaging)",
    "network": "a network file in lc0's .pb.gz format",
    "games": "a chunk file of self-play games",
}


@dataclass
class Chunk:
    """One game: its key (base name, sorts by time) and its raw frame bytes."""

    key: str
    data: bytes
    source: str = ""


@dataclass
class Batch:
    """A training batch, in the layout of LC0_FORMATS.md section 5.

    inputs f32[B,112,8,8]; probabilities f32[B,1858] with -1 on illegal moves;
    values f32[B,6,3] (rows result, best, played, orig, root, short-term;
    columns q, d, m). opponent_idx / next_idx are int32[B] policy indices of
    the opponent's reply and our next move, -1 where unknown.
    ``input_formats`` int32[B] is each row's lc0 input format where the source knows it (the
    trainer refuses rows not in its model's format), else None.
    ``games_delivered`` is the source's live count of games taken in so far (a
    ``lcpipe.loader.progress.GamesDelivered`` shared by all its batches), or
    None when the source does not count games.
    ``seq`` is the batch's number in its source's stream and ``stream`` the
    source's ``lcpipe.loader.stream_position.BatchStream`` (None for a source
    that cannot be positioned): a resumed trainer continues the stream exactly.
    """

    inputs: np.ndarray
    probabilities: np.ndarray
    values: np.ndarray
    opponent_idx: np.ndarray | None = None
    next_idx: np.ndarray | None = None
    weights: np.ndarray | None = None
    games_delivered: Any = None
    seq: int | None = None
    stream: Any = None
    input_formats: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


@dataclass
class NetworkSnapshot:
    """Parameters of a trained network at a step, ready to export.

    ``model`` is the model configuration (the trainer's ``model`` settings,
    defaults filled); ``params`` a nested dict of numpy arrays (flax layout);
    ``kind`` says which weights these are: "raw", "swa" or "ema".
    """

    step: int
    model: dict[str, Any]
    params: Any
    kind: str = "raw"
    input_format: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExportedNetwork:
    """A network file written to disk by an exporter."""

    path: Path
    step: int
    kind: str = "raw"
