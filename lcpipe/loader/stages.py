"""Stage declarations of the native loader (imports nothing heavy).

Every loader stage is native: consecutive loader stages joined by stream
edges are fused into one C++ segment, run by ``lcpipe.loader.segment``.
"""

from __future__ import annotations

from lcpipe.lc0.limits import MAX_CHUNK_MB, MAX_FILE_MB  # bounded inputs, docs/run-integrity.md
from lcpipe.plugin import Port, Problem, StageType, field, group, hookimpl, settings
from lcpipe.settings import Field, Group

FACTORY = "lcpipe.loader.segment:LoaderSegment"
MAX_THREADS = 1024
SEED_MAX = 2**53 - 1  # the native side reads numbers as doubles: exact up to 2**53
MAX_ITEMS = 1_000_000_000  # counts of chunks, positions, passes


def _queue(capacity: int) -> Group:
    return group(
        "The bounded queue feeding this stage inside the native segment.",
        {
            "capacity": field(
                "integer",
                capacity,
                "Items the queue holds before writers wait (or drop, see overflow).",
                minimum=1,
                maximum=10_000_000,
            ),
            "overflow": field(
                "string",
                "block",
                "When full: wait (block), drop the new item (drop_newest), or drop "
                "the oldest (keep_newest). Use a dropping policy on test/validation streams so they "
                "never stall training.",
                enum=["block", "drop_newest", "keep_newest"],
            ),
        },
    )


def _threads(default: int, what: str) -> Field:
    return field("integer", default, f"Threads {what} (0: one per CPU core).", minimum=0, maximum=MAX_THREADS)


def _seed() -> Field:
    return field("integer", 0, "Seed of the random choices.", minimum=0, maximum=SEED_MAX)


def _gzip() -> dict:
    return {
        "inflater": field(
            "string",
            "native",
            "DEFLATE decoder: lcpipe's own (faster on whole chunks) or zlib. "
            "Damaged streams are always decoded again by zlib, so both keep the same bytes.",
            enum=["native", "zlib"],
        ),
        "check_crc": field(
            "boolean", True, "Verify each gzip member's CRC-32 (the length is always checked)."
        ),
        "max_chunk_mb": field(
            "number",
            MAX_CHUNK_MB,
            "Largest a chunk may inflate to; a bigger one (a gzip bomb) is "
            "counted bad, logged once and skipped. The default holds about 4,000 records of the "
            "largest version (V7, 8,396 bytes): longer than any real game.",
            exclusive_minimum=0,
            maximum=4096,
            unit="MiB",
        ),
        "max_file_mb": field(
            "number",
            MAX_FILE_MB,
            "Largest a chunk may be on disk (a .gz file or a member of a "
            ".tar; a tar itself may be larger); a bigger one is counted bad and skipped unread.",
            exclusive_minimum=0,
            maximum=4096,
            unit="MiB",
        ),
    }


# The few numbers that tell how a fused loader segment is doing (the console's line, the
# dashboard's row): games taken in, batches made per second.
SUMMARY = {
    "loader.chunk_pool": ("{stage}/games_seen",),
    "loader.batch": ("{stage}/items_per_s",),
}
COMMANDS = {"loader.chunk_pool": ("train_now",)}  # ends a wait_for_new wait now


def _stage(name: str, description: str, inputs, outputs, props: dict, checks=()) -> StageType:
    return StageType(
        name=name,
        factory=FACTORY,
        description=description,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        schema=settings(props),
        segment="loader",
        checks=tuple(checks),
        summary=SUMMARY.get(name, ()),
        commands=COMMANDS.get(name, ()),
        every_process=True,  # each process of a multi-process run loads its own share
    )


def check_window_holds_min_chunks(config: dict):
    if config["min_chunks"] > config["window"]:
        yield Problem(
            ("min_chunks",),
            f"min_chunks ({config['min_chunks']}) is larger than the window ({config['window']})",
            "the pool keeps only `window` chunks: raise window or lower min_chunks",
        )


def check_shard_exists(config: dict):
    if config["shards"] > 1 and config["shard"] >= config["shards"]:
        yield Problem(
            ("shard",),
            f"shard {config['shard']} of {config['shards']} does not exist",
            f"pick a shard from 0 to {config['shards'] - 1}",
        )


def check_some_split_weight(config: dict):
    if config["train"] + config["test"] + config["validation"] <= 0:
        yield Problem(
            ("train",),
            "every split weight is 0, so no chunk goes anywhere",
            "give train (or test, validation) a weight above 0",
        )


@hookimpl
def lcpipe_stage_types():
    return [
        _stage(
            "loader.watch",
            "Emits the data files (.gz chunks, .tar of chunks) of a directory tree: a first scan (newest "
            "first), then new files as they appear (inotify, or polling). Skips dotfiles and files still being "
            "written.",
            [],
            [Port("paths", "paths", doc="each data file, once")],
            {
                "dir": field("string", "games", "Directory to watch.", min_length=1),
                "recursive": field("boolean", True, "Also scan subdirectories."),
                "follow": field(
                    "boolean", True, "Keep watching for new files; false: finish after the first scan."
                ),
                "mode": field(
                    "string",
                    "inotify",
                    "How new files are noticed: inotify events (Linux; a file counts "
                    "as complete once closed after writing or renamed into place), falling back to "
                    "polling when inotify is unavailable or out of watches; or poll: scans every "
                    "poll_seconds.",
                    enum=["inotify", "poll"],
                ),
                "poll_seconds": field(
                    "number",
                    1.0,
                    "Seconds between scans when polling (and between looks at files still being written).",
                    exclusive_minimum=0,
                    maximum=86_400,
                    unit="s",
                ),
                "rescan_seconds": field(
                    "number",
                    60.0,
                    "With inotify: seconds between safety rescans of the tree "
                    "(files missed by events, such as hard links).",
                    exclusive_minimum=0,
                    maximum=86_400,
                    unit="s",
                ),
                "max_watches": field(
                    "integer",
                    100000,
                    "With inotify: most directories watched; beyond it (or the "
                    "system's limit) the stage polls instead.",
                    minimum=1,
                    maximum=MAX_ITEMS,
                ),
                "settle_seconds": field(
                    "number",
                    1.0,
                    "A file is taken once unchanged for this long (or between "
                    "two scans): partial writes are not read.",
                    minimum=0,
                    maximum=86_400,
                    unit="s",
                ),
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
                "newest_first": field("boolean", True, "Emit a tar's members newest first (by name)."),
                "queue": _queue(1024),
            },
        ),
        _stage(
            "loader.split",
            "Splits chunks into train/test/validation by a stable hash of the chunk name: the same game always "
            "lands in the same split, on every machine and run.",
            [Port("sources", "chunk_sources")],
            [
                Port("train", "chunk_sources"),
                Port("test", "chunk_sources"),
                Port("validation", "chunk_sources"),
            ],
            {
                "train": field("number", 0.9, "Weight of the train split.", minimum=0),
                "test": field("number", 0.1, "Weight of the test split.", minimum=0),
                "validation": field("number", 0.0, "Weight of the validation split.", minimum=0),
                "seed": field(
                    "integer",
                    0,
                    "Hash seed; changing it reshuffles which games go where.",
                    minimum=0,
                    maximum=MAX_ITEMS,
                ),
                "shards": field(
                    "integer",
                    0,
                    "Pass on only one shard of the games, by another stable hash of the chunk name: 0 = one "
                    "shard per process of a multi-process run (this process's; all games in a single "
                    "process), N = N shards (docs/scaling.md).",
                    minimum=0,
                    maximum=65536,
                ),
                "shard": field(
                    "integer",
                    0,
                    "The shard passed on when shards is N > 1 (0 .. N-1); with shards 0 it is the process index.",
                    minimum=0,
                    maximum=65535,
                ),
                "queue": _queue(4096),
            },
            checks=[check_some_split_weight, check_shard_exists],
        ),
        _stage(
            "loader.chunk_pool",
            "Keeps a sliding window of the newest chunks (by name) and emits them endlessly: every chunk once "
            "per pass in shuffled order ('pass'), or drawn with replacement favouring newer ones ('hanse'). "
            "Optionally waits for a number of new games since the last anchor, which survives restarts.",
            [Port("sources", "chunk_sources")],
            [Port("chunks", "chunks")],
            {
                "window": field(
                    "integer", 50000, "Number of newest chunks kept.", minimum=1, maximum=MAX_ITEMS
                ),
                "min_chunks": field(
                    "integer",
                    0,
                    "Chunks received before the first output (at most the window), a hard "
                    "floor while the input may still grow (a watched directory). 0: wait for a "
                    "full window (or see start_after_idle_seconds). An input that has ended "
                    "starts the pool on what it holds.",
                    minimum=0,
                    maximum=MAX_ITEMS,
                ),
                "start_after_idle_seconds": field(
                    "number",
                    1.0,
                    "Only with min_chunks 0: start below a full window "
                    "once no new chunk arrived for this long (a finished "
                    "directory smaller than the window). 0: never.",
                    minimum=0,
                    maximum=86_400,
                    unit="s",
                ),
                "sampling": field(
                    "string",
                    "pass",
                    "'pass': each chunk once per pass; 'hanse': with replacement, "
                    "weight growing exponentially with recency.",
                    enum=["pass", "hanse"],
                ),
                "hanse_ratio": field(
                    "number",
                    4.0,
                    "'hanse': how much likelier the newest chunk is than the oldest.",
                    minimum=1,
                    maximum=1e6,
                ),
                "shuffle": field(
                    "boolean", True, "Shuffle each pass; false: name order (for reproducible tests)."
                ),
                "passes": field(
                    "integer", 0, "Stop after this many passes (0: endless).", minimum=0, maximum=MAX_ITEMS
                ),
                "wait_for_new": field(
                    "integer",
                    0,
                    "Emit only once this many chunks newer than the anchor arrived; "
                    "then the anchor moves to the newest chunk (0: no waiting).",
                    minimum=0,
                    maximum=MAX_ITEMS,
                ),
                "chunks_per_anchor": field(
                    "integer",
                    0,
                    "After emitting this many chunks, wait for wait_for_new "
                    "new ones again (0: wait only once).",
                    minimum=0,
                    maximum=MAX_ITEMS,
                ),
                "anchor_file": field(
                    "string", "", "File keeping the anchor across restarts ('' : in memory only)."
                ),
                "seed": _seed(),
                "queue": _queue(4096),
            },
            checks=[check_window_holds_min_chunks],
        ),
        _stage(
            "loader.extract",
            "One pass over every chunk it receives, shuffled in a bounded buffer; finishes when its input ends.",
            [Port("sources", "chunk_sources")],
            [Port("chunks", "chunks")],
            {
                "buffer": field("integer", 10000, "Chunks held for shuffling.", minimum=1, maximum=MAX_ITEMS),
                "shuffle": field("boolean", True, "false: keep the input order."),
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
                "policy_temperature": field(
                    "number", 1.0, "Policy p -> p^(1/T), renormalised.", exclusive_minimum=0, maximum=100
                ),
                "policy_offset": field(
                    "number",
                    0.0,
                    "Subtracted from every legal move's probability (floored at 0) before the temperature.",
                    minimum=0,
                    maximum=1,
                ),
                "deblunder": field(
                    "boolean",
                    False,
                    "Positions before a blunder learn the best line's value instead of the game result.",
                ),
                "deblunder_threshold": field(
                    "number",
                    0.1,
                    "best_q - played_q above which a played move is a blunder.",
                    minimum=0,
                    maximum=2,
                ),
                "short_term": field(
                    "boolean", True, "Fill missing short-term values and opponent/next move indices."
                ),
                "short_term_lambda": field(
                    "number", 0.8, "Decay of the short-term value's look-ahead per ply.", minimum=0, maximum=1
                ),
                "overwrite_short_term": field(
                    "boolean", False, "Recompute them even where the data has them (V7)."
                ),
                "syzygy_paths": field(
                    "array",
                    [],
                    "Directories of Syzygy tables (*.rtbw, *.rtbz); empty: off. The "
                    "game result target is rescored from the tables' WDL value (docs/loader.md, "
                    "'Tablebase rescoring'). Relative paths are resolved from the pipeline's "
                    "directory; a directory that cannot be read stops the start.",
                    items=field("string", min_length=1),
                ),
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
                "sampling_rate": field(
                    "number",
                    1.0,
                    "Fraction of a game's positions emitted per visit.",
                    maximum=1,
                    exclusive_minimum=0,
                ),
                "positions_per_chunk": field(
                    "integer",
                    0,
                    "Positions per visit instead of a rate (0: use the rate).",
                    minimum=0,
                    maximum=MAX_ITEMS,
                ),
                "shuffle": field("boolean", True, "Pick positions at random; false: in game order."),
                "cache_mb": field(
                    "number",
                    1024,
                    "Memory for not-yet-used decoded positions (0: no cache).",
                    minimum=0,
                    maximum=1_048_576,
                    unit="MiB",
                ),
                "skip_marked": field("boolean", False, "Drop positions a rescorer marked for deletion."),
                **_gzip(),
                "surprise": group(
                    "Keep a position with probability min_keep + slope * (q_weight*|best_q - orig_q| + "
                    "policy_weight*policy_kld), clamped to [0, 1].",
                    {
                        "min_keep": field(
                            "number",
                            1.0,
                            "Keep probability of an unsurprising position (1: off).",
                            minimum=0,
                            maximum=1,
                        ),
                        "slope": field(
                            "number", 0.0, "Added keep probability per unit of surprise.", minimum=0
                        ),
                        "q_weight": field(
                            "number", 1.0, "Weight of the value surprise |best_q - orig_q|.", minimum=0
                        ),
                        "policy_weight": field(
                            "number", 0.0, "Weight of the policy surprise (policy_kld).", minimum=0
                        ),
                    },
                ),
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
                "size": field("integer", 200000, "Slots (frames).", minimum=1, maximum=MAX_ITEMS),
                "min_fill": field(
                    "number",
                    0.5,
                    "Fraction of the slots filled before the first frame leaves.",
                    minimum=0,
                    maximum=1,
                ),
                "shuffle": field("boolean", True, "false: pass frames straight on."),
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
                "batch_size": field("integer", 256, "Positions per batch.", minimum=1, maximum=1_048_576),
                "threads": _threads(1, "encoding batches"),
                "drop_last": field("boolean", False, "Drop a last partial batch when the input ends."),
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
