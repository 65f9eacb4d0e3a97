"""Host memory of a spec's native loader stages, from their settings and the record sizes.

A decoded position in the loader is a compact frame (``lcpipe._native.loader.FRAME_BYTES``
plus 6 bytes per legal move, csrc/common/frame.h); a batch row is the tensors of
LC0_FORMATS.md section 5. Pools hold references to chunks, not their data.
"""

from __future__ import annotations

from dataclasses import dataclass

LEGAL_MOVES = 32  # legal moves per position, a little above the fixture games' average of 27
SLOT_OVERHEAD = 8 + 16  # the reservoir's pointer and allocator bookkeeping per position
CHUNK_REF_BYTES = 160  # a pooled chunk's reference: file, offsets, key (no data)
BATCH_ROW_BYTES = (112 * 64 + 1858 + 18) * 4 + 3 * 4  # inputs, policy, values; opp, next, format
OUT_BATCHES = 4  # the queue that hands batches to Python (lcpipe.loader.segment)


@dataclass
class Estimate:
    stage: str
    what: str
    bytes: float
    bound: bool = False  # an upper bound the stage may stay below (a cache's cap)


def frame_bytes(legal_moves: int = LEGAL_MOVES) -> int:
    from lcpipe import _native

    return int(_native.loader.FRAME_BYTES) + ((2 * legal_moves + 3) & ~3) + 4 * legal_moves


def _input_types(stage_type: str) -> list[str]:
    from lcpipe.loader.stages import lcpipe_stage_types

    decl = {st.name: st for st in lcpipe_stage_types()}
    return [p.type for p in decl[stage_type].inputs] if stage_type in decl else []


def loader_estimates(name: str, stage_type: str, config: dict) -> list[Estimate]:
    """What one loader stage holds at most, by its settings: its input queue, and its own buffer."""
    out = []
    capacity = int((config.get("queue") or {}).get("capacity", 0))
    if capacity and "frames" in _input_types(stage_type):  # queues of chunks hold references only
        out.append(Estimate(name, f"input queue of {capacity:,} positions", capacity * frame_bytes(), True))
    if stage_type == "loader.reservoir":
        n = int(config["size"])
        out.append(Estimate(name, f"{n:,} positions", n * (frame_bytes() + SLOT_OVERHEAD)))
    elif stage_type == "loader.unpack":
        out.append(
            Estimate(name, "cache of decoded positions (cache_mb)", float(config["cache_mb"]) * 2**20, True)
        )
    elif stage_type == "loader.chunk_pool":
        n = int(config["window"])
        out.append(Estimate(name, f"window of {n:,} chunk references", n * CHUNK_REF_BYTES, True))
    elif stage_type == "loader.batch":
        b = int(config["batch_size"])
        out.append(
            Estimate(
                name, f"{OUT_BATCHES} batches of {b} handed to Python", OUT_BATCHES * b * BATCH_ROW_BYTES
            )
        )
    return out
