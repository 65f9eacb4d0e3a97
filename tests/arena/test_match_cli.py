"""`lcpipe match`: two networks from lc0 files, PGN, SPRT early stop, a UCI opponent, usage errors."""

from __future__ import annotations

import chess.pgn
import pytest

from lcpipe.cli.main import main

# The material network's policy is uniform: with a handful of visits its search never reaches the
# captures (every root move is tried a few times first), and all games are draws; 64 visits win.
QUICK = ["--visits", "64", "--max-plies", "40"]


def _games(path):
    with open(path) as f:
        out = []
        while (g := chess.pgn.read_game(f)) is not None:
            out.append(g)
        return out


def test_material_network_beats_uniform_network(nets, tmp_path, capsys):
    pgn = tmp_path / "games.pgn"
    code = main(
        [
            "match",
            str(nets["material"]),
            str(nets["uniform"]),
            "--games",
            "4",
            "--parallel",
            "4",
            "--pgn",
            str(pgn),
            *QUICK,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "material vs uniform: 4 games, W/D/L" in out and "pentanomial" in out
    summary = next(line for line in out.splitlines() if line.startswith("score "))
    score = float(summary.split()[1].rstrip(","))
    assert score > 0.5 and "Elo +" in summary
    games = _games(pgn)
    assert len(games) == 4
    for k, g in enumerate(games):
        assert g.headers["Round"] == str(k + 1)
        white, black = ("material", "uniform") if k % 2 == 0 else ("uniform", "material")
        assert (g.headers["White"], g.headers["Black"]) == (white, black)
        assert g.headers["Result"] in ("1-0", "0-1", "1/2-1/2")
        assert g.end().board().is_valid()
    # each pair starts from the same opening
    assert list(games[0].mainline_moves())[:6] == list(games[1].mainline_moves())[:6]


def test_sprt_stops_a_lopsided_match_early(nets, capsys):
    code = main(
        [
            "match",
            str(nets["material"]),
            str(nets["uniform"]),
            "--games",
            "60",
            "--parallel",
            "2",
            "--sprt",
            "0,150",
            *QUICK,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "H1 accepted (elo >= 150)" in out
    played = int(out.split("material vs uniform: ")[1].split(" games")[0])
    assert played < 60 and played % 2 == 0


def test_uci_opponent_is_lcpipe_serving_a_network(nets, lcpipe_command, capsys):
    opponent = f"uci:{lcpipe_command} uci {nets['uniform']}"
    code = main(
        [
            "match",
            str(nets["material"]),
            "--opponent",
            opponent,
            "--games",
            "2",
            "--parallel",
            "2",
            "--opponent-option",
            "CPuct=2.0",
            *QUICK,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "material vs lcpipe uniform: 2 games" in out


def test_unknown_uci_option_is_a_clear_error(nets, lcpipe_command, capsys):
    opponent = f"uci:{lcpipe_command} uci builtin:uniform"
    code = main(
        ["match", str(nets["material"]), "--opponent", opponent, "--opponent-option", "UCI_Elo=1500", *QUICK]
    )
    assert code == 1
    assert "has no option 'UCI_Elo'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["A"], "exactly one opponent"),
        (["A", "B", "--opponent", "uci:x"], "exactly one opponent"),
        (["A", "--opponent", "stockfish"], "uci:COMMAND"),
        (["A", "B", "--games", "5"], "even"),
        (["A", "B", "--sprt", "10"], "elo0,elo1"),
        (["missing.pb.gz", "builtin:uniform"], "no such network file"),
        (["builtin:uniform", "builtin:nonsense"], "unknown evaluator"),
    ],
)
def test_usage_errors(args, message, capsys):
    assert main(["match", *args]) == 2
    assert message in capsys.readouterr().err


def test_builtin_players_play_without_networks(capsys):
    assert main(["match", "builtin:material", "builtin:uniform", "--games", "2", *QUICK]) == 0
    assert "builtin:material vs builtin:uniform: 2 games" in capsys.readouterr().out


DYING_ENGINE = """
import sys, chess
board = chess.Board()
gos = 0
for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "uci":
        print("id name dying"); print("uciok", flush=True)
    elif cmd[0] == "isready":
        print("readyok", flush=True)
    elif cmd[0] == "position":
        board = chess.Board() if cmd[1] == "startpos" else chess.Board(" ".join(cmd[2:8]))
        for m in cmd[cmd.index("moves") + 1:] if "moves" in cmd else []:
            board.push_uci(m)
    elif cmd[0] == "go":
        gos += 1
        if gos == 3:
            sys.exit(3)  # dies in the middle of the second game
        print("bestmove " + min(m.uci() for m in board.legal_moves), flush=True)
    elif cmd[0] == "quit":
        break
"""


def test_engine_that_dies_ends_the_match_and_keeps_the_finished_games(tmp_path, capsys):
    import sys

    script = tmp_path / "dying.py"
    script.write_text(DYING_ENGINE)
    pgn = tmp_path / "partial.pgn"
    code = main(
        [
            "match",
            "builtin:uniform",
            "--opponent",
            f"uci:{sys.executable} {script}",
            "--games",
            "2",
            "--parallel",
            "1",
            "--max-plies",
            "4",
            "--visits",
            "2",
            "--pgn",
            str(pgn),
        ]
    )
    assert code == 1
    assert "UCI engine 'dying' failed" in capsys.readouterr().err
    games = _games(pgn)
    assert len(games) == 1 and games[0].headers["Black"] == "dying"
