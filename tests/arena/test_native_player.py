"""The arena on the native engine: the same games as the Python reference, leaves of all games batched."""

from __future__ import annotations

import chess
import pytest

from lcpipe.arena.match import MatchSettings, play_match
from lcpipe.arena.native_player import NativePlayer
from lcpipe.arena.native_search import NativeSession, native_play_settings
from lcpipe.arena.openings import builtin_openings
from lcpipe.arena.player import MctsPlayer, MoveRequest
from lcpipe.arena.python_search import SearchSession, play_config
from lcpipe.cli.main import main
from lcpipe.selfplay.evaluator import MaterialEvaluator, UniformEvaluator

SETTINGS = dict(games=6, parallel=6, max_plies=30)


def _moves(result):
    return {
        r.pairing.game: ([m.uci() for m in r.board.move_stack], r.result, r.termination) for r in result.games
    }


def test_native_and_python_engines_play_the_same_match():
    openings = builtin_openings()[:3]
    native = play_match(
        NativePlayer(MaterialEvaluator(), 12, name="material"),
        NativePlayer(UniformEvaluator(), 12, name="uniform"),
        openings,
        MatchSettings(**SETTINGS),
    )
    python = play_match(
        MctsPlayer(MaterialEvaluator(), 12, name="material"),
        MctsPlayer(UniformEvaluator(), 12, name="uniform"),
        openings,
        MatchSettings(**SETTINGS),
    )
    assert len(native.games) == 6
    assert _moves(native) == _moves(python)  # every move of every game
    assert native.tally.pairs == python.tally.pairs
    assert (native.tally.wins, native.tally.draws, native.tally.losses) == (
        python.tally.wins,
        python.tally.draws,
        python.tally.losses,
    )


class Recording(MaterialEvaluator):
    """The material evaluator, remembering the size of every batch it gets."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def evaluate_planes(self, planes):
        self.batches.append(len(planes))
        return super().evaluate_planes(planes)


def test_leaves_of_all_requests_share_batches():
    boards = []
    for opening in builtin_openings()[:5]:
        boards.append(opening.board())
    evaluator = Recording()
    player = NativePlayer(evaluator, 16)
    moves = player.choose_moves([MoveRequest(k, b) for k, b in enumerate(boards)])
    assert all(m in b.legal_moves for m, b in zip(moves, boards))
    assert len(evaluator.batches) <= 16  # one network call per round, not one per game
    assert max(evaluator.batches) == 5  # the first round: the five roots together
    assert evaluator.evals == sum(evaluator.batches) >= 5 * 15  # at most a few playouts end on terminal nodes
    # each position's move is what it would get searched alone
    for board, move in zip(boards, moves):
        assert NativePlayer(MaterialEvaluator(), 16).choose_moves([MoveRequest(0, board)]) == [move]


def test_native_player_takes_a_hanging_queen_and_rejects_bad_input():
    board = chess.Board("rnb1kbnr/pppp1ppp/8/8/3q4/4P3/PPPP1PPP/RNBQKBNR w KQkq - 0 3")
    # uniform priors spread 64 visits too thin to find it; 200 are enough
    assert NativePlayer(MaterialEvaluator(), 200).choose_moves([MoveRequest(0, board)]) == [
        chess.Move.from_uci("e3d4")
    ]
    with pytest.raises(ValueError, match="visits per move must be at least 1"):
        NativePlayer(MaterialEvaluator(), 0)
    mated = chess.Board("rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3")
    with pytest.raises(ValueError, match="no legal moves"):
        NativePlayer(MaterialEvaluator(), 4).choose_moves([MoveRequest(0, mated)])


def test_native_session_reports_like_the_python_session():
    board = chess.Board()
    for uci in ("e2e4", "e7e5", "g1f3"):
        board.push_uci(uci)
    native = NativeSession(board, MaterialEvaluator(), native_play_settings(1))
    python = SearchSession(board, MaterialEvaluator(), play_config(1))
    for _ in range(40):
        native.playout()
        python.playout()
    assert native.nodes == python.nodes == 40
    assert native.best_move() == python.best_move()
    assert native.pv() == python.pv()
    assert native.score_cp() == python.score_cp()
    assert native.wdl() == pytest.approx(python.wdl())


def test_match_command_gives_the_same_result_on_both_engines(capsys):
    args = [
        "match",
        "builtin:material",
        "builtin:uniform",
        "--games",
        "4",
        "--visits",
        "8",
        "--max-plies",
        "20",
        "--quiet",
    ]
    assert main([*args, "--engine", "native"]) == 0
    native = capsys.readouterr().out
    assert main([*args, "--engine", "python"]) == 0
    python = capsys.readouterr().out
    assert "builtin:material vs builtin:uniform: 4 games" in native
    assert native == python
