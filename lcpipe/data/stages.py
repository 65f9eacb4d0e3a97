"""Declaration of the data.* stages (imports nothing heavy)."""

from __future__ import annotations

from lcpipe.lc0.limits import MAX_CHUNK_MB, MAX_FILE_MB  # bounded inputs, docs/run-integrity.md
from lcpipe.plugin import Port, StageType, field, hookimpl, settings

SEED_MAX = 2**32 - 1  # seeds feed 32-bit generators

GENERATE = {
    "out_dir": field(
        "string", "runs/games", "Directory the games are written to (created if missing).", min_length=1
    ),
    "games": field("integer", 50, "Games per batch.", minimum=1, maximum=1_000_000),
    "seed": field(
        "integer", 0, "Seed of the first batch; batch k uses seed + k.", minimum=0, maximum=SEED_MAX
    ),
    "input_format": field("integer", 1, "lc0 input format of the planes.", enum=[1, 2, 3, 4, 5, 132, 133]),
    "version": field("integer", 6, "Record version (V6 or V7).", enum=[6, 7]),
    "per_file": field(
        "string",
        "chunk",
        "'chunk': one .gz per game; 'tar': one .tar of chunks per batch.",
        enum=["chunk", "tar"],
    ),
    "max_plies": field(
        "integer", 100, "Games longer than this are stopped and adjudicated drawn.", minimum=1, maximum=10_000
    ),
    "interval": field(
        "number",
        0,
        "Seconds between batches; 0 writes one batch and finishes.",
        minimum=0,
        maximum=86_400,
        unit="s",
    ),
    "batches": field(
        "integer",
        0,
        "Stop after this many batches when interval > 0 (0: until stopped).",
        minimum=0,
        maximum=1_000_000_000,
    ),
}

BATCHES = {
    "max_chunk_mb": field(
        "number",
        MAX_CHUNK_MB,
        "Largest a chunk may inflate to; a bigger one (a gzip bomb) is counted bad, logged once and skipped.",
        exclusive_minimum=0,
        maximum=4096,
        unit="MiB",
    ),
    "max_file_mb": field(
        "number",
        MAX_FILE_MB,
        "Largest a chunk may be on disk (a .gz file or a tar member); a "
        "bigger one is counted bad and skipped unread.",
        exclusive_minimum=0,
        maximum=4096,
        unit="MiB",
    ),
    "batch_size": field("integer", 256, "Positions per batch.", minimum=1, maximum=1_048_576),
    "sampling_rate": field(
        "number", 1.0, "Fraction of each game's positions used per pass.", exclusive_minimum=0, maximum=1
    ),
    "shuffle": field("boolean", True, "Shuffle positions (off: file order, for checks)."),
    "shuffle_buffer": field(
        "integer",
        4096,
        "Positions held back for shuffling before a batch is cut.",
        minimum=0,
        maximum=100_000_000,
    ),
    "passes": field(
        "integer",
        0,
        "Passes over the files once the input ends (0: forever).",
        minimum=0,
        maximum=1_000_000_000,
    ),
    "seed": field("integer", 0, "Seed of sampling and shuffling.", minimum=0, maximum=SEED_MAX),
}


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="data.generate",
            factory="lcpipe.data.generate:GenerateStage",
            description="Writes deterministic synthetic lc0 games (.gz chunks or .tar files) and emits "
            "each written file; once, or a new batch every `interval` seconds.",
            outputs=(Port("paths", "paths", doc="each data file written"),),
            schema=settings(GENERATE),
        ),
        StageType(
            name="data.batches",
            factory="lcpipe.data.batches:BatchesStage",
            description="Pure-Python reference loader: chunk files and tars -> shuffled training batches "
            "(slow but simple; the native loader.* stages are the fast path).",
            inputs=(Port("paths", "paths", doc="data files (.gz chunks or .tar of chunks)"),),
            outputs=(Port("batches", "batches"),),
            schema=settings(BATCHES),
        ),
    ]
