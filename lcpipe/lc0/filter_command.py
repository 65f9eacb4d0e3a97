"""``lcpipe data filter``: copy the games that match conditions to new files.

Matching games are copied as they are (their gzip bytes, untouched) into a
file of the same name as their input in --out, or all into one tar
(``--tar NAME``). Files are written atomically; an input with no match
yields no file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

FORMATS = (1, 2, 3, 4, 5, 132, 133)


def register(sub, add_limits) -> None:
    from lcpipe.lc0 import game_facts

    p = sub.add_parser(
        "filter",
        help="copy the games matching conditions (format, version, length, result, a predicate) to new files",
        description="Copy the games of .gz chunks and .tar files (a directory: every one under it) that match "
        "every condition given into --out, unchanged. --where takes a Python expression over the game's "
        "frames: each record field is an array with one value per frame (visits, result_q, invariance_info, "
        "probabilities, ...), plies is the number of frames, np is numpy.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=".gz chunks, .tar files or directories of them")
    p.add_argument("--out", required=True, help="output directory (must not hold the inputs)")
    p.add_argument("--tar", metavar="NAME", help="write every match into this one .tar in --out")
    p.add_argument("--format", type=int, action="append", choices=FORMATS, help="input format (repeatable)")
    p.add_argument(
        "--version", type=int, action="append", choices=(3, 4, 5, 6, 7), help="record version (repeatable)"
    )
    p.add_argument("--min-plies", type=int, default=0, help="at least this many frames")
    p.add_argument("--max-plies", type=int, default=0, help="at most this many frames (0: no bound)")
    p.add_argument("--result", action="append", choices=game_facts.RESULTS, help="who won (repeatable)")
    adj = p.add_mutually_exclusive_group()
    adj.add_argument(
        "--adjudicated", action="store_const", const=True, help="only resigned/adjudicated games"
    )
    adj.add_argument(
        "--played-out",
        dest="adjudicated",
        action="store_const",
        const=False,
        help="only games played to the end",
    )
    p.add_argument(
        "--where", default="", metavar="EXPR", help="keep games where EXPR is true, e.g. 'visits.min() >= 64'"
    )
    add_limits(p)
    p.set_defaults(handler=cmd_filter)


def _err(msg: str) -> None:
    print(f"lcpipe data filter: {msg}", file=sys.stderr)


def cmd_filter(args) -> int:
    from lcpipe.console_progress import Progress
    from lcpipe.lc0.data_files import check_output_dir, count_chunks, data_files
    from lcpipe.lc0.game_filter import FilterError, GameFilter
    from lcpipe.lc0.game_writer import TarStream
    from lcpipe.lc0.limits import InputLimits
    from lcpipe.lc0.report import ReadReport

    try:
        keep = GameFilter(
            formats=tuple(args.format or ()),
            versions=tuple(args.version or ()),
            results=tuple(args.result or ()),
            min_plies=args.min_plies,
            max_plies=args.max_plies,
            adjudicated=args.adjudicated,
            where=args.where,
        )
        if args.tar is not None and (not args.tar.endswith(".tar") or "/" in args.tar):
            raise ValueError(f"--tar {args.tar!r}: a file name ending in .tar")
        if not (args.max_chunk_mb > 0 and args.max_file_mb > 0):
            raise ValueError("--max-chunk-mb and --max-file-mb must be positive")
        limits = InputLimits.from_mb(args.max_chunk_mb, args.max_file_mb)
        files = data_files(args.inputs)
        out = check_output_dir(args.out, files)
        total = count_chunks(files)
    except ValueError as exc:
        _err(str(exc))
        return EXIT_USAGE
    report = ReadReport()
    counts = {"kept": 0, "seen": 0}
    written: list[Path] = []
    one_tar = TarStream(out / args.tar) if args.tar else None
    try:
        with Progress("filter", total=total, unit="games") as progress:
            for f in files:
                written += _filter_file(f, out, keep, one_tar, report, limits, progress, counts)
        if one_tar is not None:
            written.append(one_tar.commit())
    except BaseException as exc:
        if one_tar is not None:
            one_tar.abandon()
        if isinstance(exc, FilterError):
            _err(str(exc))
            return EXIT_USAGE
        raise
    kept, seen = counts["kept"], counts["seen"]
    for p in report.problems[:20]:
        _err(str(p))
    rejected = ", ".join(f"{n} by {reason}" for reason, n in keep.rejected.most_common())
    print(
        f"{kept} of {seen} games kept"
        + (f" ({rejected})" if rejected else "")
        + f" -> {len(written)} files in {out}"
    )
    return EXIT_OK if report.ok else EXIT_FAILED


def _filter_file(f, out: Path, keep, one_tar, report, limits, progress, counts: dict) -> list[Path]:
    """Copy the matching games of one input; the files written (none without a match)."""
    from lcpipe.lc0 import chunks
    from lcpipe.lc0.game_writer import GameWriter

    writer = None
    try:
        for key, member, gz in chunks.iter_raw_chunks(f.path, report, limits):
            frames = chunks.parse_chunk(gz, str(f.path), member, report, limits)
            counts["seen"] += 1
            progress.update(1, note=f"{counts['kept']} kept")
            if not len(frames) or not keep.keep(frames):
                continue
            counts["kept"] += 1
            if one_tar is not None:
                one_tar.add(member or key, gz)
                continue
            if writer is None:  # a file only for inputs with a match
                tar_name = f.relative.name if f.is_tar else None
                writer = GameWriter(out / f.relative.parent, tar_name)
            writer.add_gz(member or key if f.is_tar else f.relative.name, gz)
    except BaseException:
        if writer is not None:
            writer.abandon()
        raise
    return writer.close() if writer is not None else []
