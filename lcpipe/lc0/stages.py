"""Stage declarations of the lc0 data area (imports nothing heavy)."""

from __future__ import annotations

from lcpipe.plugin import Port, StageType, hookimpl, settings


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="data.generate",
            factory="lcpipe.lc0.generate_stage:GenerateStage",
            description="Writes deterministic synthetic lc0 games (.gz chunks or .tar files) and emits "
                        "each written file; once, or a new batch every `interval` seconds.",
            outputs=(Port("paths", "paths", doc="each data file written"),),
            schema=settings({
                "out_dir": {"type": "string", "default": "runs/games",
                            "description": "Directory the games are written to (created if missing)."},
                "games": {"type": "integer", "minimum": 1, "default": 50,
                          "description": "Games per batch."},
                "seed": {"type": "integer", "default": 0,
                         "description": "Seed of the first batch; batch k uses seed + k."},
                "input_format": {"enum": [1, 2, 3, 4, 5, 132, 133], "default": 1,
                                 "description": "lc0 input format of the planes."},
                "version": {"enum": [6, 7], "default": 6, "description": "Record version (V6 or V7)."},
                "per_file": {"enum": ["chunk", "tar"], "default": "chunk",
                             "description": "'chunk': one .gz per game; 'tar': one .tar of chunks per batch."},
                "max_plies": {"type": "integer", "minimum": 1, "default": 100,
                              "description": "Games longer than this are stopped and adjudicated drawn."},
                "interval": {"type": "number", "minimum": 0, "default": 0,
                             "description": "Seconds between batches; 0 writes one batch and finishes."},
                "batches": {"type": "integer", "minimum": 0, "default": 0,
                            "description": "Stop after this many batches when interval > 0 (0: until stopped)."},
            }),
        ),
        StageType(
            name="data.batches",
            factory="lcpipe.lc0.batches_stage:BatchesStage",
            description="Pure-Python reference loader: chunk files and tars -> shuffled training batches "
                        "(slow but simple; the native loader.* stages are the fast path).",
            inputs=(Port("paths", "paths", doc="data files (.gz chunks or .tar of chunks)"),),
            outputs=(Port("batches", "batches"),),
            schema=settings({
                "batch_size": {"type": "integer", "minimum": 1, "default": 256,
                               "description": "Positions per batch."},
                "sampling_rate": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 1.0,
                                  "description": "Fraction of each game's positions used per pass."},
                "shuffle": {"type": "boolean", "default": True,
                            "description": "Shuffle positions (off: file order, for checks)."},
                "shuffle_buffer": {"type": "integer", "minimum": 0, "default": 4096,
                                   "description": "Positions held back for shuffling before a batch is cut."},
                "passes": {"type": "integer", "minimum": 0, "default": 0,
                           "description": "Passes over the files once the input ends (0: forever)."},
                "seed": {"type": "integer", "default": 0, "description": "Seed of sampling and shuffling."},
            }),
        ),
    ]
