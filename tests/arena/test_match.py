"""play_match's rules: game end, adjudication, bad players, stopping."""

from __future__ import annotations

import chess
import pytest

from lcpipe.arena.match import MatchSettings, game_end, play_match
from lcpipe.arena.openings import Opening, builtin_openings


class Scripted:
    """Plays the first legal move in UCI order, or what ``pick`` says."""

    def __init__(self, name, pick=None):
        self.name = name
        self.pick = pick
        self.calls = 0

    def choose_moves(self, requests):
        self.calls += 1
        if self.pick is not None:
            return [self.pick(r.board) for r in requests]
        return [min(r.board.legal_moves, key=lambda m: m.uci()) for r in requests]

    def close(self):
        pass


def test_rules_end_games():
    s = MatchSettings(max_plies=0)
    mate = chess.Board("rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3")
    assert game_end(mate, 4, s) == ("0-1", "checkmate")
    assert game_end(chess.Board("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1"), 1, s) == ("1/2-1/2", "stalemate")
    assert game_end(chess.Board("8/8/4k3/8/8/4K3/8/8 w - - 0 1"), 1, s) == (
        "1/2-1/2",
        "insufficient_material",
    )
    assert game_end(chess.Board("8/8/4k3/8/8/4K3/4R3/8 w - - 100 80"), 1, s) == ("1/2-1/2", "fifty_moves")
    board = chess.Board()
    for uci in ["g1f3", "g8f6", "f3g1", "f6g8"] * 2:
        board.push_uci(uci)
    assert game_end(board, 8, s) == ("1/2-1/2", "repetition")  # the start position for the third time
    assert game_end(chess.Board(), 500, s) is None  # max_plies 0: never adjudicated


def test_adjudication_at_max_plies():
    up_a_rook = chess.Board("4k3/8/8/8/8/8/8/R3K3 w - - 0 1")
    up_a_pawn = chess.Board("4k3/8/8/8/8/8/P7/4K3 w - - 0 1")
    assert game_end(up_a_rook, 10, MatchSettings(max_plies=10)) == ("1-0", "adjudication")
    assert game_end(up_a_rook, 9, MatchSettings(max_plies=10)) is None
    assert game_end(up_a_rook.mirror(), 10, MatchSettings(max_plies=10)) == ("0-1", "adjudication")
    assert game_end(up_a_pawn, 10, MatchSettings(max_plies=10)) == ("1/2-1/2", "adjudication")
    assert game_end(up_a_rook, 10, MatchSettings(max_plies=10, adjudicate="draw")) == (
        "1/2-1/2",
        "adjudication",
    )
    with pytest.raises(ValueError, match="adjudicate"):
        MatchSettings(adjudicate="coin")


def test_scores_follow_colours():
    # A mates with black in two games: fool's mate from a position where white's f- and g-pawns are gone astray
    opening = Opening("fool", chess.STARTING_FEN, ("f2f3", "e7e5"))

    def fool(board):  # white plays g4, black mates with Qh4
        for uci in ("g2g4", "d8h4"):
            move = chess.Move.from_uci(uci)
            if move in board.legal_moves:
                return move
        return min(board.legal_moves, key=lambda m: m.uci())

    a, b = Scripted("a", fool), Scripted("b", fool)
    result = play_match(a, b, [opening], MatchSettings(games=2, max_plies=10))
    by_game = {r.pairing.game: r for r in result.games}
    assert by_game[0].result == "0-1" and by_game[0].a_score == 0.0  # A had white: mated
    assert by_game[1].result == "0-1" and by_game[1].a_score == 1.0  # A had black: mated white
    assert result.tally.pairs == (0, 0, 1, 0, 0) and (result.tally.wins, result.tally.losses) == (1, 1)


def test_illegal_move_names_the_player():
    bad = Scripted("broken", lambda board: chess.Move.from_uci("a1a8"))
    with pytest.raises(RuntimeError, match="player 'broken' chose illegal move a1a8"):
        play_match(bad, Scripted("b"), builtin_openings()[:1], MatchSettings(games=2))


def test_should_stop_ends_the_match_at_once():
    a, b = Scripted("a"), Scripted("b")
    rounds = []

    def stop():
        rounds.append(1)
        return len(rounds) > 3

    result = play_match(
        a, b, builtin_openings(), MatchSettings(games=8, parallel=8, max_plies=100), should_stop=stop
    )
    assert result.aborted and result.games == [] and a.calls == 3
