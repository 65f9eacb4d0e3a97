"""Stage declarations of the native loader (imports nothing heavy).

Every loader stage is native: consecutive loader stages joined by stream
edges are fused into one C++ segment, run by ``lcpipe.loader.segment``.
"""

from __future__ import annotations

from lcpipe.plugin import Port, StageType, hookimpl, settings

FACTORY = "lcpipe.loader.segment:LoaderSegment"


def _queue(capacity: int) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "The bounded queue feeding this stage inside the native segment.",
        "default": {"capacity": capacity, "overflow": "block"},
        "properties": {
            "capacity": {"type": "integer", "minimum": 1, "default": capacity,
                         "description": "Items the queue holds before writers wait (or drop, see overflow)."},
            "overflow": {"enum": ["block", "drop_newest", "keep_newest"], "default": "block",
                         "description": "When full: wait (block), drop the new item (drop_newest), or drop the "
                                        "oldest (keep_newest). Use a dropping policy on test/validation streams "
                                        "so they never stall training."},
        },
    }


def _threads(default: int, what: str) -> dict:
    return {"type": "integer", "minimum": 0, "default": default,
            "description": f"Threads {what} (0: one per CPU core)."}


def _seed() -> dict:
    return {"type": "integer", "minimum": 0, "default": 0, "description": "Seed of the random choices."}


def _gzip() -> dict:
    return {
        "inflater": {"enum": ["native", "zlib"], "default": "native",
                     "description": "DEFLATE decoder: lcpipe's own (faster on whole chunks) or zlib. Damaged "
                                    "streams are always decoded again by zlib, so both keep the same bytes."},
        "check_crc": {"type": "boolean", "default": True,
                      "description": "Verify each gzip member's CRC-32 (the length is always checked)."},
    }


def _stage(name: str, description: str, inputs, outputs, props: dict) -> StageType:
    return StageType(name=name, factory=FACTORY, description=description, inputs=tuple(inputs),
                     outputs=tuple(outputs), schema=settings(props), segment="loader")


@hookimpl
def lcpipe_stage_types():
    return [
        _stage(
            "loader.watch",
            "Emits the data files (.gz chunks, .tar of chunks) of a directory tree: a first scan (newest "
            "first), then new files as they appear (inotify, or polling). Skips dotfiles and files still being "
            "written.",
            [], [Port("paths", "paths", doc="each data file, once")],
            {
                "dir": {"type": "string", "default": "games", "description": "Directory to watch."},
                "recursive": {"type": "boolean", "default": True, "description": "Also scan subdirectories."},
                "follow": {"type": "boolean", "default": True,
                           "description": "Keep watching for new files; false: finish after the first scan."},
                "mode": {"enum": ["inotify", "poll"], "default": "inotify",
                         "description": "How new files are noticed: inotify events (Linux; a file counts as "
                                        "complete once closed after writing or renamed into place), falling "
                                        "back to polling when inotify is unavailable or out of watches; or "
                                        "poll: scans every poll_seconds."},
                "poll_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 1.0,
                                 "description": "Seconds between scans when polling (and between looks at files "
                                                "still being written)."},
                "rescan_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 60.0,
                                   "description": "With inotify: seconds between safety rescans of the tree (files "
                                                  "missed by events, such as hard links)."},
                "max_watches": {"type": "integer", "minimum": 1, "default": 100000,
                                "description": "With inotify: most directories watched; beyond it (or the "
                                               "system's limit) the stage polls instead."},
                "settle_seconds": {"type": "number", "minimum": 0, "default": 1.0,
                                   "description": "A file is taken once unchanged for this long (or between two "
                                                  "scans): partial writes are not read."},
            },
        ),
        _stage(
            "loader.read",
            "Opens data files: a .gz is one chunk, a .tar is indexed once (PAX, GNU long names, old-style "
            "headers; non-.gz members skipped) and its members are read later with pread by many threads.",
            [Port("paths", "paths", doc="data files")],
            [Port("sources", "chunk_sources", doc="one source per chunk (game)")],
            {
                "threads": _threads(1, "indexing files"),
                "newest_first": {"type": "boolean", "default": True,
                                 "description": "Emit a tar's members newest first (by name)."},
                "queue": _queue(1024),
            },
        ),
        _stage(
            "loader.split",
            "Splits chunks into train/test/validation by a stable hash of the chunk name: the same game always "
            "lands in the same split, on every machine and run.",
            [Port("sources", "chunk_sources")],
            [Port("train", "chunk_sources"), Port("test", "chunk_sources"), Port("validation", "chunk_sources")],
            {
                "train": {"type": "number", "minimum": 0, "default": 0.9, "description": "Weight of the train split."},
                "test": {"type": "number", "minimum": 0, "default": 0.1, "description": "Weight of the test split."},
                "validation": {"type": "number", "minimum": 0, "default": 0.0,
                               "description": "Weight of the validation split."},
                "seed": {"type": "integer", "minimum": 0, "default": 0,
                         "description": "Hash seed; changing it reshuffles which games go where."},
                "queue": _queue(4096),
            },
        ),
        _stage(
            "loader.chunk_pool",
            "Keeps a sliding window of the newest chunks (by name) and emits them endlessly: every chunk once "
            "per pass in shuffled order ('pass'), or drawn with replacement favouring newer ones ('hanse'). "
            "Optionally waits for a number of new games since the last anchor, which survives restarts.",
            [Port("sources", "chunk_sources")],
            [Port("chunks", "chunks")],
            {
                "window": {"type": "integer", "minimum": 1, "default": 50000,
                           "description": "Number of newest chunks kept."},
                "min_chunks": {"type": "integer", "minimum": 0, "default": 0,
                               "description": "Chunks received before the first output (0: a full window; more "
                                              "than the window starts on the newest of them); the pool also "
                                              "starts once its input has been idle for "
                                              "start_after_idle_seconds."},
                "start_after_idle_seconds": {"type": "number", "minimum": 0, "default": 1.0,
                                             "description": "Start emitting when no new chunk arrived for this "
                                                            "long, even below min_chunks."},
                "sampling": {"enum": ["pass", "hanse"], "default": "pass",
                             "description": "'pass': each chunk once per pass; 'hanse': with replacement, weight "
                                            "growing exponentially with recency."},
                "hanse_ratio": {"type": "number", "minimum": 1, "default": 4.0,
                                "description": "'hanse': how much likelier the newest chunk is than the oldest."},
                "shuffle": {"type": "boolean", "default": True,
                            "description": "Shuffle each pass; false: name order (for reproducible tests)."},
                "passes": {"type": "integer", "minimum": 0, "default": 0,
                           "description": "Stop after this many passes (0: endless)."},
                "wait_for_new": {"type": "integer", "minimum": 0, "default": 0,
                                 "description": "Emit only once this many chunks newer than the anchor arrived; "
                                                "then the anchor moves to the newest chunk (0: no waiting)."},
                "chunks_per_anchor": {"type": "integer", "minimum": 0, "default": 0,
                                      "description": "After emitting this many chunks, wait for wait_for_new new "
                                                     "ones again (0: wait only once)."},
                "anchor_file": {"type": "string", "default": "",
                                "description": "File keeping the anchor across restarts ('' : in memory only)."},
                "seed": _seed(),
                "queue": _queue(4096),
            },
        ),
        _stage(
            "loader.extract",
            "One pass over every chunk it receives, shuffled in a bounded buffer; finishes when its input ends.",
            [Port("sources", "chunk_sources")],
            [Port("chunks", "chunks")],
            {
                "buffer": {"type": "integer", "minimum": 1, "default": 10000,
                           "description": "Chunks held for shuffling."},
                "shuffle": {"type": "boolean", "default": True, "description": "false: keep the input order."},
                "seed": _seed(),
                "queue": _queue(4096),
            },
        ),
        _stage(
            "loader.rescore",
            "Rewrites targets of whole games: policy temperature/offset, Syzygy tablebase rescoring and "
            "deblunder of the result target, and the short-term value plus opponent/next move indices for V6 "
            "data.",
            [Port("chunks", "chunks")],
            [Port("chunks", "chunks")],
            {
                "threads": _threads(0, "rescoring games"),
                "policy_temperature": {"type": "number", "exclusiveMinimum": 0, "default": 1.0,
                                       "description": "Policy p -> p^(1/T), renormalised."},
                "policy_offset": {"type": "number", "minimum": 0, "default": 0.0,
                                  "description": "Subtracted from every legal move's probability (floored at 0) "
                                                 "before the temperature."},
                "deblunder": {"type": "boolean", "default": False,
                              "description": "Positions before a blunder learn the best line's value instead "
                                             "of the game result."},
                "deblunder_threshold": {"type": "number", "minimum": 0, "default": 0.1,
                                        "description": "best_q - played_q above which a played move is a blunder."},
                "short_term": {"type": "boolean", "default": True,
                               "description": "Fill missing short-term values and opponent/next move indices."},
                "short_term_lambda": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.8,
                                      "description": "Decay of the short-term value's look-ahead per ply."},
                "overwrite_short_term": {"type": "boolean", "default": False,
                                         "description": "Recompute them even where the data has them (V7)."},
                "syzygy_paths": {"type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
                                 "description": "Directories of Syzygy tables (*.rtbw, *.rtbz); empty: off. The "
                                                "game result target is rescored from the tables' WDL value "
                                                "(docs/loader.md, 'Tablebase rescoring'). Relative paths are "
                                                "resolved from the pipeline's directory; a directory that "
                                                "cannot be read stops the start."},
                **_gzip(),
                "queue": _queue(256),
            },
        ),
        _stage(
            "loader.unpack",
            "Decodes chunks into frames: a sampling rate or a count per chunk, optional surprise weighting. A "
            "game is inflated once; its unused frames stay cached (compact) for later visits.",
            [Port("chunks", "chunks")],
            [Port("frames", "frames")],
            {
                "threads": _threads(0, "decoding chunks"),
                "sampling_rate": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 1.0,
                                  "description": "Fraction of a game's positions emitted per visit."},
                "positions_per_chunk": {"type": "integer", "minimum": 0, "default": 0,
                                        "description": "Positions per visit instead of a rate (0: use the rate)."},
                "shuffle": {"type": "boolean", "default": True,
                            "description": "Pick positions at random; false: in game order."},
                "cache_mb": {"type": "number", "minimum": 0, "default": 1024,
                             "description": "Memory for not-yet-used decoded positions (0: no cache)."},
                "skip_marked": {"type": "boolean", "default": False,
                                "description": "Drop positions a rescorer marked for deletion."},
                **_gzip(),
                "surprise": {
                    "type": "object", "additionalProperties": False,
                    "description": "Keep a position with probability min_keep + slope * (q_weight*|best_q - "
                                   "orig_q| + policy_weight*policy_kld), clamped to [0, 1].",
                    "default": {"min_keep": 1.0, "slope": 0.0, "q_weight": 1.0, "policy_weight": 0.0},
                    "properties": {
                        "min_keep": {"type": "number", "minimum": 0, "maximum": 1, "default": 1.0,
                                     "description": "Keep probability of an unsurprising position (1: off)."},
                        "slope": {"type": "number", "minimum": 0, "default": 0.0,
                                  "description": "Added keep probability per unit of surprise."},
                        "q_weight": {"type": "number", "minimum": 0, "default": 1.0,
                                     "description": "Weight of the value surprise |best_q - orig_q|."},
                        "policy_weight": {"type": "number", "minimum": 0, "default": 0.0,
                                          "description": "Weight of the policy surprise (policy_kld)."},
                    },
                },
                "seed": _seed(),
                "queue": _queue(256),
            },
        ),
        _stage(
            "loader.reservoir",
            "Shuffle buffer of frames in compact form (policy sparse over legal moves): each new frame takes "
            "a random slot and the frame there moves on.",
            [Port("frames", "frames")],
            [Port("frames", "frames")],
            {
                "size": {"type": "integer", "minimum": 1, "default": 200000, "description": "Slots (frames)."},
                "min_fill": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
                             "description": "Fraction of the slots filled before the first frame leaves."},
                "shuffle": {"type": "boolean", "default": True, "description": "false: pass frames straight on."},
                "seed": _seed(),
                "queue": _queue(16384),
            },
        ),
        _stage(
            "loader.batch",
            "Frames -> training batches: inputs f32[B,112,8,8] (aux planes per input format), probabilities "
            "f32[B,1858] renormalised with -1 on illegal moves, values f32[B,6,3], opponent/next move indices.",
            [Port("frames", "frames")],
            [Port("batches", "batches")],
            {
                "batch_size": {"type": "integer", "minimum": 1, "default": 256, "description": "Positions per batch."},
                "threads": _threads(1, "encoding batches"),
                "drop_last": {"type": "boolean", "default": False,
                              "description": "Drop a last partial batch when the input ends."},
                "queue": _queue(16384),
            },
        ),
        _stage(
            "loader.merge",
            "Merges several frame streams into one.",
            [Port("frames", "frames", many=True)],
            [Port("frames", "frames")],
            {"queue": _queue(16384)},
        ),
    ]
