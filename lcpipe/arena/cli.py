"""`lcpipe match`, `lcpipe uci` and `lcpipe ladder`: parse arguments and hand over."""

from __future__ import annotations

import sys

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from lcpipe.plugin import hookimpl


def register(sub) -> None:
    p = sub.add_parser(
        "match",
        help="play two networks (or a network and a UCI engine) and rate them",
        description="Play A against B with paired openings (each opening once with each colour), "
        "fixed visits per move and no noise; print W/D/L and A's Elo difference with a "
        "95% interval. A and B are .pb.gz files, train.jax checkpoint directories, or "
        "builtin:uniform / builtin:material (the search without a network).",
    )
    p.add_argument("a", metavar="A", help="the player rated (its Elo difference to B is printed)")
    p.add_argument("b", metavar="B", nargs="?", help="its opponent (or give --opponent)")
    p.add_argument(
        "--opponent", metavar="uci:COMMAND", help="play against a UCI engine, e.g. uci:/usr/games/stockfish"
    )
    p.add_argument(
        "--opponent-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="UCI option of the opponent, e.g. UCI_LimitStrength=true UCI_Elo=1500 (repeatable)",
    )
    p.add_argument(
        "--opponent-nodes", type=int, help="nodes per move of the UCI opponent (default: --visits)"
    )
    p.add_argument(
        "--opponent-movetime", type=float, metavar="SECONDS", help="time per move of the UCI opponent"
    )
    p.add_argument("--games", type=int, default=20, help="games to play (even; default 20)")
    p.add_argument("--visits", type=int, default=64, help="visits per move of network players (default 64)")
    p.add_argument(
        "--engine",
        choices=["native", "python"],
        default="native",
        help="search of network players: the native engine (default) or the Python reference",
    )
    p.add_argument("--parallel", type=int, default=16, help="games played at once (default 16)")
    p.add_argument("--openings", metavar="FILE", help=".epd or .pgn openings (default: a built-in set)")
    p.add_argument(
        "--max-plies",
        type=int,
        default=300,
        help="plies after the opening before a game is adjudicated (default 300; 0: never)",
    )
    p.add_argument(
        "--adjudicate",
        choices=["material", "draw"],
        default="material",
        help="adjudication at --max-plies: 3 pawns ahead wins, or a draw (default material)",
    )
    p.add_argument(
        "--sprt", metavar="ELO0,ELO1", help="stop early when the SPRT of H0: elo0 vs H1: elo1 decides"
    )
    p.add_argument("--alpha", type=float, default=0.05, help="SPRT type I error (default 0.05)")
    p.add_argument("--beta", type=float, default=0.05, help="SPRT type II error (default 0.05)")
    p.add_argument("--pgn", metavar="OUT", help="save the games as PGN")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the final result")
    p.set_defaults(handler=cmd_match)

    p = sub.add_parser(
        "uci",
        help="serve a network as a UCI engine on standard input/output",
        description="Speak UCI on stdin/stdout with NET (.pb.gz, checkpoint directory or "
        "builtin:material), for chess GUIs and match tools.",
    )
    p.add_argument("net", metavar="NET")
    p.add_argument(
        "--engine",
        choices=["native", "python"],
        default="native",
        help="the search: the native engine (default) or the Python reference",
    )
    p.set_defaults(handler=cmd_uci)

    p = sub.add_parser(
        "ladder",
        help="print (and plot) the rating ladder an eval.gate stage keeps",
        description="Print the rating ladder (ladder.jsonl) of a run directory or file.",
    )
    p.add_argument("path", metavar="RUN_DIR|LADDER.jsonl")
    p.add_argument("--png", metavar="OUT", help="also draw the ratings with their intervals as a PNG")
    p.set_defaults(handler=cmd_ladder)


def _err(msg: str, code: int = EXIT_USAGE) -> int:
    print(f"lcpipe: {msg}", file=sys.stderr)
    return code


def cmd_match(args) -> int:
    from lcpipe.arena.match import MatchSettings, play_match, write_pgn
    from lcpipe.arena.networks import PlayerSpecError, open_player
    from lcpipe.arena.openings import OpeningsError, load_openings
    from lcpipe.arena.stats import Sprt
    from lcpipe.arena.uci_player import UciEngineError, parse_options

    if (args.b is None) == (args.opponent is None):
        return _err("match: give exactly one opponent: B or --opponent uci:COMMAND")
    if args.opponent is not None and not args.opponent.startswith("uci:"):
        return _err(f"match: --opponent must be uci:COMMAND, got {args.opponent!r}")
    if args.games < 2 or args.games % 2:
        return _err(
            f"match: --games must be even and at least 2 (openings are played in pairs), got {args.games}"
        )
    if args.visits < 1:
        return _err(f"match: --visits must be at least 1, got {args.visits}")
    try:
        sprt = Sprt.parse(args.sprt, args.alpha, args.beta) if args.sprt else None
        settings = MatchSettings(
            games=args.games,
            parallel=args.parallel,
            max_plies=args.max_plies,
            adjudicate=args.adjudicate,
            sprt=sprt,
        )
        openings = load_openings(args.openings)
        options = parse_options(args.opponent_option)
    except (ValueError, OpeningsError) as exc:
        return _err(f"match: {exc}")
    players = []
    try:
        players.append(open_player(args.a, args.visits, engine=args.engine))
        players.append(
            open_player(
                args.b or args.opponent,
                args.visits,
                uci_nodes=args.opponent_nodes,
                uci_movetime=args.opponent_movetime,
                uci_options=options,
                engine=args.engine,
            )
        )
    except (PlayerSpecError, UciEngineError, ValueError) as exc:
        for p in players:
            p.close()
        return _err(f"match: {exc}", EXIT_FAILED if isinstance(exc, UciEngineError) else EXIT_USAGE)
    a, b = players
    if a.name == b.name:
        a.name, b.name = f"{a.name} (A)", f"{b.name} (B)"

    finished = []  # every finished game, for the PGN even if the match ends on an error or Ctrl-C

    def progress(record, result):
        finished.append(record)
        if args.quiet:
            return
        t = result.tally
        line = (
            f"game {len(result.games)}/{args.games}: {record.result} ({record.termination})  "
            f"+{t.wins} ={t.draws} -{t.losses}"
        )
        if result.llr is not None:
            line += f"  LLR {result.llr:+.2f}"
        print(line, flush=True)

    try:
        result = play_match(a, b, openings, settings, on_game=progress)
    except UciEngineError as exc:
        return _err(f"match: {exc}", EXIT_FAILED)
    finally:
        for p in players:
            p.close()
        if args.pgn and finished:
            write_pgn(args.pgn, finished, a.name, b.name)
    _print_summary(result, a.name, b.name, sprt)
    if args.pgn:
        print(f"games saved to {args.pgn}")
    return EXIT_OK


def _print_summary(result, a_name: str, b_name: str, sprt) -> None:
    t = result.tally
    print(f"{a_name} vs {b_name}: {t.games} games, W/D/L {t.wins}/{t.draws}/{t.losses}")
    if sum(t.pairs):
        print(f"pentanomial (pairs worth 0, 1/2, 1, 3/2, 2): {list(t.pairs)}")
    est = t.elo()
    print(f"score {est.score:.3f}, Elo {est.format()} [{est.model}]")
    if sprt is not None:
        verdict = {"H1": f"H1 accepted (elo >= {sprt.elo1:g})", "H0": f"H0 accepted (elo <= {sprt.elo0:g})"}
        print(
            f"SPRT [{sprt.elo0:g}, {sprt.elo1:g}]: LLR {result.llr:+.2f} "
            f"(bounds {sprt.lower:+.2f}, {sprt.upper:+.2f}): "
            f"{verdict.get(result.decision, 'no decision')}"
        )


def cmd_uci(args) -> int:
    from lcpipe.arena.networks import PlayerSpecError, evaluator_for
    from lcpipe.arena.uci import serve_stdio

    try:
        evaluator, name = evaluator_for(args.net)
    except PlayerSpecError as exc:
        return _err(f"uci: {exc}")
    return serve_stdio(evaluator, f"lcpipe {name}", engine=args.engine)


def cmd_ladder(args) -> int:
    from lcpipe.arena.ladder import LadderError, format_ladder, ladder_path, plot_ladder, read_ladder

    try:
        entries = read_ladder(ladder_path(args.path))
    except LadderError as exc:
        return _err(f"ladder: {exc}")
    print(format_ladder(entries))
    if args.png:
        try:
            plot_ladder(entries, args.png)
        except LadderError as exc:
            return _err(f"ladder: {exc}", EXIT_FAILED)
        print(f"wrote {args.png}")
    return EXIT_OK


@hookimpl
def lcpipe_cli_commands(subparsers) -> None:
    """The built-in commands come in through the plugin hook, like a third-party plugin's."""
    register(subparsers)
