"""Paired openings: each opening once with each colour; EPD/PGN files; errors name the place."""

from __future__ import annotations

import chess
import pytest

from lcpipe.arena.match import MatchSettings, play_match
from lcpipe.arena.openings import OpeningsError, builtin_openings, load_openings, paired_schedule
from lcpipe.arena.player import MoveRequest


class FirstMove:
    """A deterministic player: the first legal move in UCI order; remembers which games it moved in."""

    def __init__(self, name):
        self.name = name
        self.seen: list[tuple[int, str, bool]] = []  # (game, fen after the opening, colour it played)

    def choose_moves(self, requests):
        out = []
        for r in requests:
            self.seen.append((r.game, r.board.turn == chess.WHITE))
            out.append(min(r.board.legal_moves, key=lambda m: m.uci()))
        return out

    def close(self):
        pass


def test_builtin_openings_are_legal_and_distinct():
    openings = builtin_openings()
    assert len(openings) >= 16
    fens = {o.board().fen() for o in openings}
    assert len(fens) == len(openings)
    assert all(len(o.board().move_stack) >= 4 for o in openings)


def test_schedule_pairs_each_opening_with_both_colours():
    openings = builtin_openings()[:3]
    sched = paired_schedule(openings, 10)
    assert [p.game for p in sched] == list(range(10))
    for pair in range(5):
        first, second = sched[2 * pair], sched[2 * pair + 1]
        assert first.pair == second.pair == pair
        assert first.opening == second.opening == openings[pair % 3]
        assert first.a_white and not second.a_white
    with pytest.raises(ValueError, match="even"):
        paired_schedule(openings, 7)


def test_colours_really_swap_in_a_match():
    a, b = FirstMove("a"), FirstMove("b")
    openings = builtin_openings()[:2]
    result = play_match(a, b, openings, MatchSettings(games=4, parallel=4, max_plies=6))
    # A moved as white in games 0 and 2 and as black in games 1 and 3; B the other way round
    colours_a = {g: white for g, white in a.seen}
    colours_b = {g: white for g, white in b.seen}
    assert colours_a == {0: True, 1: False, 2: True, 3: False}
    assert colours_b == {0: False, 1: True, 2: False, 3: True}
    by_game = {r.pairing.game: r for r in result.games}
    for pair in range(2):
        g1, g2 = by_game[2 * pair], by_game[2 * pair + 1]
        start = openings[pair].board()
        assert g1.board.move_stack[: len(start.move_stack)] == start.move_stack  # both games start from it
        assert g2.board.move_stack[: len(start.move_stack)] == start.move_stack
        # both sides play the same deterministic rule, so the two games are the same moves with names swapped
        assert g1.board.move_stack == g2.board.move_stack and g1.result == g2.result
        assert g1.a_score + g2.a_score == 1.0
    assert sum(result.tally.pairs) == 2 and result.tally.pairs[2] == 2


def test_epd_and_pgn_files(tmp_path):
    epd = tmp_path / "o.epd"
    epd.write_text(
        "# two positions\n"
        'rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - id "open game";\n'
        "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3\n"
    )
    got = load_openings(epd)
    assert [o.name for o in got] == ["open game", "o.epd:3"]
    assert got[1].board().fen().startswith("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/")
    pgn = tmp_path / "o.pgn"
    pgn.write_text(
        '[Event "x"]\n[Opening "Sicilian"]\n\n1. e4 c5 2. Nf3 *\n\n'
        '[Event "y"]\n[FEN "4k3/8/8/8/8/8/4P3/4K3 w - - 0 1"]\n[SetUp "1"]\n\n1. e4 *\n'
    )
    got = load_openings(pgn)
    assert got[0].name == "Sicilian" and got[0].moves == ("e2e4", "c7c5", "g1f3")
    assert got[1].fen == "4k3/8/8/8/8/8/4P3/4K3 w - - 0 1" and got[1].board().move_stack == [
        chess.Move.from_uci("e2e4")
    ]


def test_bad_openings_files_are_named(tmp_path):
    with pytest.raises(OpeningsError, match="no such"):
        load_openings(tmp_path / "missing.epd")
    bad = tmp_path / "bad.epd"
    bad.write_text("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq -\nnot a position\n")
    with pytest.raises(OpeningsError, match=r"bad\.epd:2"):
        load_openings(bad)
    mate = tmp_path / "mate.epd"
    mate.write_text("rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq -\n")
    with pytest.raises(OpeningsError, match="already over"):
        load_openings(mate)
    other = tmp_path / "o.txt"
    other.write_text("x")
    with pytest.raises(OpeningsError, match=".epd or a .pgn"):
        load_openings(other)
    pgn = tmp_path / "bad.pgn"
    pgn.write_text("1. e4 e5 2. Ke3 *\n")
    with pytest.raises(OpeningsError, match="game 1"):
        load_openings(pgn)
    assert MoveRequest(0, chess.Board()).game == 0
