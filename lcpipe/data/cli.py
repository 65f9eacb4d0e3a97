"""``lcpipe data ...``: look at, convert and make lc0 training data.

dump FILE        every frame: FEN (white's view), top policy moves (UCI), values
pgn2chunks PGN   PGN games -> .gz chunks (or one .tar)
generate         synthetic games -> .gz chunks (or one .tar)
stats FILE...    counts: games, frames, versions, formats, problems; result and length distributions
startpos FILE... the average policy of the start position across games
rescore IN...    rewrite data through loader.rescore (lcpipe/data/rescore_command.py)
filter IN...     copy the games matching conditions (lcpipe/data/filter_command.py)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from lcpipe.plugin import hookimpl

if TYPE_CHECKING:
    from lcpipe.lc0.report import ReadReport

FORMATS = (1, 2, 3, 4, 5, 132, 133)


def _add_limits(p) -> None:
    from lcpipe.lc0.limits import MAX_CHUNK_MB, MAX_FILE_MB

    p.add_argument(
        "--max-chunk-mb",
        type=float,
        default=MAX_CHUNK_MB,
        help=f"skip a chunk inflating beyond this (a gzip bomb; default {MAX_CHUNK_MB:g})",
    )
    p.add_argument(
        "--max-file-mb",
        type=float,
        default=MAX_FILE_MB,
        help=f"skip a chunk larger than this on disk (default {MAX_FILE_MB:g})",
    )


def _limits(args):
    from lcpipe.lc0.limits import InputLimits

    if not (args.max_chunk_mb > 0 and args.max_file_mb > 0):
        raise ValueError("--max-chunk-mb and --max-file-mb must be positive")
    return InputLimits.from_mb(args.max_chunk_mb, args.max_file_mb)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "data",
        help="lc0 training data tools (dump, pgn2chunks, generate, stats, startpos, rescore, filter)",
        description="Inspect, convert and generate lc0 training data.",
    )
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    p.set_defaults(handler=lambda args: (p.print_help(sys.stderr), EXIT_USAGE)[1])

    d = sub.add_parser("dump", help="print every frame of a .gz chunk or .tar")
    d.add_argument("file")
    d.add_argument("--top", type=int, default=3, help="policy moves shown per frame (default 3)")
    d.add_argument("--limit", type=int, default=0, help="stop after this many frames (0: all)")
    _add_limits(d)
    d.set_defaults(handler=cmd_dump)

    g = sub.add_parser("pgn2chunks", help="convert PGN games to training chunks")
    g.add_argument("pgn", nargs="+")
    g.add_argument("--out", required=True, help="output directory")
    g.add_argument("--tar", action="store_true", help="write one .tar instead of one .gz per game")
    g.add_argument("--format", type=int, default=1, choices=FORMATS, help="input format (default 1)")
    g.add_argument("--version", type=int, default=6, choices=(6, 7), help="record version (default 6)")
    g.set_defaults(handler=cmd_pgn2chunks)

    s = sub.add_parser("generate", help="generate synthetic games (deterministic under --seed)")
    s.add_argument("--games", type=int, required=True)
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--format", type=int, default=1, choices=FORMATS, help="input format (default 1)")
    s.add_argument("--version", type=int, default=6, choices=(6, 7), help="record version (default 6)")
    s.add_argument("--max-plies", type=int, default=100)
    s.add_argument("--tar", action="store_true", help="write one .tar instead of one .gz per game")
    s.set_defaults(handler=cmd_generate)

    from lcpipe.data import (
        filter_command,
        rescore_command,  # the loader's own stage code does the work
    )

    rescore_command.register(sub)
    filter_command.register(sub, _add_limits)

    t = sub.add_parser(
        "stats", help="summarise data files: versions, formats, result and game-length distributions"
    )
    t.add_argument("files", nargs="+", metavar="INPUT", help=".gz chunks, .tar files or directories of them")
    _add_limits(t)
    t.set_defaults(handler=cmd_stats)

    sp = sub.add_parser(
        "startpos",
        help="the average policy of the start position across games",
        description="Average the first frame's policy over every game that starts from the standard start "
        "position: per move its mean, standard deviation and how often it was played.",
    )
    sp.add_argument("files", nargs="+", metavar="INPUT", help=".gz chunks, .tar files or directories of them")
    sp.add_argument("--top", type=int, default=0, help="show only the N most likely moves (0: all)")
    _add_limits(sp)
    sp.set_defaults(handler=cmd_startpos)


def _err(msg: str) -> None:
    print(f"lcpipe data: {msg}", file=sys.stderr)


def _print_problems(report) -> None:
    for p in report.problems[:20]:
        _err(str(p))
    if report.skipped > 20:
        _err(f"... {report.skipped - 20} more problems")


def cmd_dump(args) -> int:
    import numpy as np

    from lcpipe.lc0 import chunks, decoder, policy
    from lcpipe.lc0.report import ReadReport

    path = Path(args.file)
    if not path.is_file():
        _err(f"{path}: no such file")
        return EXIT_USAGE
    try:
        limits = _limits(args)
    except ValueError as exc:
        _err(str(exc))
        return EXIT_USAGE
    report = ReadReport()
    shown = 0
    for key, arr in chunks.iter_games(path, report, limits):
        print(
            f"# {key}: {len(arr)} frames, version {int(arr['version'][0])}, format {int(arr['input_format'][0])}"
        )
        for i, frame in enumerate(arr):
            d = decoder.decode_frame(frame)
            probs = frame["probabilities"]
            order = np.argsort(-probs)[: max(args.top, 0)]
            tops = []
            for idx in order:
                if probs[idx] < 0:
                    break
                try:
                    uci = policy.index_to_move(d.board, int(idx), d.transform).uci()
                except ValueError:
                    uci = f"?{policy.MOVES[idx]}"
                tops.append(f"{uci} {probs[idx]:.3f}")
            try:
                played = policy.index_to_move(d.board, int(frame["played_idx"]), d.transform).uci()
            except ValueError:
                played = f"?{int(frame['played_idx'])}"
            print(
                f"{i:4d} {d.board.fen()} | played {played} | top {', '.join(tops)} | "
                f"result q {frame['result_q']:+.2f} d {frame['result_d']:.2f} | "
                f"best q {frame['best_q']:+.3f} d {frame['best_d']:.3f} m {frame['best_m']:.1f} | "
                f"root q {frame['root_q']:+.3f} | plies_left {frame['plies_left']:.1f}"
            )
            shown += 1
            if args.limit and shown >= args.limit:
                _print_problems(report)
                return EXIT_OK
    _print_problems(report)
    return EXIT_OK if report.ok else EXIT_FAILED  # a bad input is an error, as in `data stats`


def cmd_pgn2chunks(args) -> int:
    from lcpipe.lc0 import chunks, pgn
    from lcpipe.lc0.report import ReadReport

    report = ReadReport()
    games: list = []
    for name in args.pgn:
        path = Path(name)
        if not path.is_file():
            _err(f"{path}: no such file")
            return EXIT_USAGE
        for _i, arr in enumerate(pgn.read_pgn_file(path, args.format, args.version, report)):
            games.append((f"{path.stem}_{len(games):06d}.gz", arr))
    out = Path(args.out)
    if args.tar:
        written = [chunks.write_tar(out / f"{Path(args.pgn[0]).stem}.tar", games)] if games else []
    else:
        written = [chunks.write_chunk(out / name, arr) for name, arr in games]
    _print_problems(report)
    frames = sum(len(a) for _, a in games)
    print(
        f"{len(games)} games, {frames} frames -> {len(written)} files in {out}"
        + (f" ({report.skipped} problems)" if report.skipped else "")
    )
    return EXIT_OK if games or report.ok else EXIT_FAILED


def cmd_generate(args) -> int:
    from lcpipe.console_progress import Progress
    from lcpipe.lc0 import synth

    if args.games < 0:
        _err("--games must be >= 0")
        return EXIT_USAGE
    if args.max_plies < 1:
        _err("--max-plies must be >= 1")
        return EXIT_USAGE
    frames = 0
    with Progress("generate", total=args.games, unit="games") as progress:

        def one_game(_name, arr) -> None:
            nonlocal frames
            frames += len(arr)
            progress.update(1, note=f"{frames} frames")

        paths = synth.write_games(
            args.out,
            args.games,
            seed=args.seed,
            input_format=args.format,
            version=args.version,
            tar=args.tar,
            max_plies=args.max_plies,
            on_game=one_game,
        )
    print(f"{args.games} games, {frames} frames -> {len(paths)} files in {args.out}")
    return EXIT_OK


def _read_games(args, title: str, add) -> tuple[list, ReadReport] | None:
    """Every game of the data files named in ``args`` handed to ``add`` (with a progress line):
    (files, report), or None after a usage error was printed."""
    from lcpipe.console_progress import Progress
    from lcpipe.lc0 import chunks
    from lcpipe.lc0.data_files import data_files
    from lcpipe.lc0.report import ReadReport

    try:
        limits = _limits(args)
        files = [f.path for f in data_files(args.files)]
    except ValueError as exc:
        _err(str(exc))
        return None
    report = ReadReport()
    with Progress(title, unit="games") as progress:
        for name in files:
            for _, arr in chunks.iter_games(name, report, limits):
                add(arr)
                progress.update(1)
    return files, report


def cmd_stats(args) -> int:
    from lcpipe.lc0.data_stats import GameStats

    stats = GameStats()
    read = _read_games(args, "stats", stats.add)
    if read is None:
        return EXIT_USAGE
    files, report = read
    print(f"files: {len(files)}  games: {stats.games}  frames: {stats.frames}")
    print("versions: " + ", ".join(f"{k}: {v}" for k, v in sorted(stats.versions.items())))
    print("input formats: " + ", ".join(f"{k}: {v}" for k, v in sorted(stats.formats.items())))
    for line in stats.result_lines() + stats.length_lines():
        print(line)
    print(f"problems: {report.skipped}  non-chunk members skipped: {report.skipped_members}")
    _print_problems(report)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_startpos(args) -> int:
    from lcpipe.lc0.startpos import StartPolicy

    start = StartPolicy()
    read = _read_games(args, "startpos", start.add)
    if read is None:
        return EXIT_USAGE
    _, report = read
    print(f"{start.games} games from the start position ({start.other_starts} from other positions)")
    rows = start.table()
    if rows:
        print(f"{'move':<6} {'policy':>7} {'stddev':>7} {'played':>7}")
        for uci, mean, std, played in rows[: args.top or None]:
            print(f"{uci:<6} {mean:7.4f} {std:7.4f} {100 * played:6.1f}%")
    _print_problems(report)
    if not start.games:
        _err("no game starts from the standard start position")
        return EXIT_FAILED
    return EXIT_OK if report.ok else EXIT_FAILED


@hookimpl
def lcpipe_cli_commands(subparsers) -> None:
    """The built-in commands come in through the plugin hook, like a third-party plugin's."""
    register(subparsers)
