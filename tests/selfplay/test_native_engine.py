"""The native engine's games: chunks readable by the loader and `lcpipe data dump`, many threads,
openings, resignation, tablebase adjudication, two evaluator slots, restarts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import chess
import numpy as np
import pytest

from lcpipe import _native
from lcpipe.lc0 import chunks
from lcpipe.lc0.encoder import GameHistory, encode
from lcpipe.lc0.frames import bad_frame_reason
from lcpipe.lc0.policy import legal_move_indices
from lcpipe.selfplay.evaluator import MaterialEvaluator, UniformEvaluator, encoded_to_planes
from lcpipe.selfplay.game import ADJUDICATED, MAX_LENGTH
from lcpipe.selfplay.native import (
    NativePool,
    engine_settings,
    first_game_in,
    read_openings,
    write_native_game,
)

QUICK = dict(visits=8, max_plies=30, temp_cutoff_ply=10)


def play(settings: dict, games: int, evaluator=None) -> list:
    pool = NativePool({**QUICK, **settings, "stop_after_games": games})
    return sorted(pool.play(evaluator or MaterialEvaluator()), key=lambda g: g.game_id)


def replay(game) -> tuple[chess.Board, list[chess.Board]]:
    """python-chess boards before each recorded move (the opening's moves are not recorded)."""
    board = chess.Board(game.start_fen)
    for uci in game.moves[: game.opening_plies]:
        board.push_uci(uci)
    before = []
    for uci in game.moves[game.opening_plies :]:
        before.append(board.copy())
        board.push(chess.Move.from_uci(uci))
    return board, before


def check_chunk(path: Path, game, fmt: int) -> np.ndarray:
    """The chunk holds exactly the game: positions, legal-move policy, played moves, results."""
    ((key, arr),) = list(chunks.iter_games(path))
    assert key == path.name and len(arr) == game.ply > 0
    assert all(r is None for r in bad_frame_reason(arr))
    _, boards = replay(game)
    # the native loader decodes the chunk to the network inputs the Python encoder gives those positions
    (inputs, _, _, _, _), problems = _native.loader.decode_gz(path.read_bytes())
    assert problems == []
    history = GameHistory(chess.Board(game.start_fen))
    for uci in game.moves:
        history.push(chess.Move.from_uci(uci))
    expect = encoded_to_planes(
        [encode(history.snapshots, game.opening_plies + t, fmt) for t in range(len(arr))], fmt
    )
    np.testing.assert_array_equal(np.asarray(inputs).reshape(expect.shape), expect)
    for t, board in enumerate(boards):
        f = arr[t]
        tr = int(f["invariance_info"]) & 7 if fmt > 2 else 0
        legal = legal_move_indices(board, None, tr)
        assert set(np.flatnonzero(f["probabilities"] >= 0)) == set(legal.tolist())
        assert f["probabilities"][legal].sum() == pytest.approx(1.0, abs=1e-5)
        played = chess.Move.from_uci(game.moves[game.opening_plies + t])
        assert int(f["played_idx"]) == legal_move_indices(board, [played], tr)[0]
        assert f["visits"] >= 2 and f["plies_left"] == len(arr) - t
    res = arr["result_q"]
    if game.result_white:
        assert np.all(res[1:] == -res[:-1]) and np.all(np.abs(res) == 1)
    else:
        assert np.all(res == 0) and np.all(arr["result_d"] == 1)
    return arr


@pytest.mark.parametrize("fmt", [1, 3])
def test_chunks_decode_through_the_loader_and_data_dump(tmp_path, fmt):
    games = play(dict(parallel_games=3, threads=2, random_opening_plies=4, input_format=fmt), 3)
    assert [g.game_id for g in games] == [0, 1, 2]
    for game in games:
        path, _ = write_native_game(tmp_path, game)
        arr = check_chunk(path, game, fmt)
        if game.termination == "max_plies":
            assert np.all(arr["invariance_info"] & (ADJUDICATED | MAX_LENGTH) == ADJUDICATED | MAX_LENGTH)
        if game.game_id:
            continue  # one run of the command per format is enough (each takes seconds to start)
        lcpipe_cmd = str(Path(sys.executable).with_name("lcpipe"))  # the installed command, as a user runs it
        out = subprocess.run(
            [lcpipe_cmd, "data", "dump", str(path)], capture_output=True, text=True, check=True
        ).stdout
        played = [line.split("| played ")[1].split()[0] for line in out.splitlines() if "| played " in line]
        recorded = game.moves[game.opening_plies :]
        assert len(played) == len(recorded)
        _, boards = replay(game)
        for board, dumped, uci in zip(boards, played, recorded):
            assert chess.Move.from_uci(dumped) in board.legal_moves
            assert board.parse_uci(dumped) == board.parse_uci(uci)


def test_many_threads_and_games_give_valid_distinct_games(tmp_path):
    games = play(
        dict(parallel_games=24, network_batches=3, threads=4, random_opening_plies=2, visits=6, max_plies=24),
        30,
    )
    assert [g.game_id for g in games] == list(range(30))
    seen = set()
    for game in games:
        path, _ = write_native_game(tmp_path, game)
        check_chunk(path, game, 1)
        seen.add(path.read_bytes())
    assert len(seen) == 30  # no two games alike


def test_games_do_not_depend_on_threads_or_batching():
    a = play(dict(parallel_games=4, threads=1, network_batches=1, seed=5, temperature=1.0), 5)
    b = play(dict(parallel_games=2, threads=3, network_batches=2, seed=5, temperature=1.0), 5)
    assert [g.moves for g in a] == [g.moves for g in b]
    assert all(np.array_equal(x.frames, y.frames) for x, y in zip(a, b))
    c = play(dict(parallel_games=4, threads=1, network_batches=1, seed=6, temperature=1.0), 5)
    assert [g.moves for g in a] != [g.moves for g in c]


def test_openings_from_epd_and_pgn(tmp_path):
    epd = tmp_path / "book.epd"
    epd.write_text(
        '# two openings\nrnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - c0 "1.e4 e5"\n\n'
        "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq -\n"
    )
    openings = read_openings(epd)
    games = play(dict(openings=openings, parallel_games=2), 4)
    starts = [g.start_fen.split()[0] for g in games]
    assert starts == [openings[k % 2][0].split()[0] for k in range(4)]
    pgn = tmp_path / "book.pgn"
    pgn.write_text(
        '[Event "a"]\n\n1. d4 d5 2. c4 *\n\n[Event "b"]\n[FEN "4k3/8/8/8/8/8/4P3/4K3 w - - 0 1"]\n'
        '[SetUp "1"]\n\n1. e4 Kd7 *\n'
    )
    openings = read_openings(pgn)
    assert openings[0][1] == ["d2d4", "d7d5", "c2c4"] and openings[1][1] == ["e2e4", "e8d7"]
    games = play(dict(openings=openings, parallel_games=2, max_plies=6), 2)
    for game, (fen, moves) in zip(games, openings):
        assert game.moves[: game.opening_plies] == moves and game.opening_plies == len(moves)
        assert chess.Board(game.start_fen).board_fen() == chess.Board(fen).board_fen()
        assert len(game.frames) == game.ply  # the opening's moves are not training positions


def test_bad_opening_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.epd"
    bad.write_text("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq -\nnot a fen\n")
    with pytest.raises(ValueError, match="bad.epd:2"):
        read_openings(bad)
    empty = tmp_path / "empty.epd"
    empty.write_text("\n# nothing\n")
    with pytest.raises(ValueError, match="no start positions"):
        read_openings(empty)
    with pytest.raises(ValueError, match="not legal"):
        NativePool({"openings": [("", ["e2e5"])], "stop_after_games": 1}).step(MaterialEvaluator())


def test_resign_ends_lost_games_and_playthrough_keeps_some():
    # a queen up for white from the start: black's search sees a lost position
    fen = "rnb1kbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1"
    settings = dict(
        openings=[(fen, [])],
        resign_q=0.2,
        resign_earliest_ply=2,
        max_plies=40,
        visits=12,
        parallel_games=8,
        resign_playthrough=0.3,
    )
    games = play(settings, 24)
    resigned = [g for g in games if g.termination == "resign"]
    assert resigned and len(resigned) < 24  # some resign, the playthrough share plays on
    for g in resigned:
        assert g.result_white == (1 if len(g.moves) % 2 == 1 else -1)  # the side to move gave up
        assert not np.any(g.frames["invariance_info"] & ADJUDICATED)
    never = play({**settings, "resign_q": 0.0}, 8)
    assert all(g.termination != "resign" for g in never)


def test_syzygy_tables_adjudicate_endgames():
    tables = Path(sys.prefix) / "syzygy-test"
    assert tables.is_dir(), "make setup fetches the test tables"
    # K+R v K: in the 3-piece tables from the first position on
    settings = dict(
        openings=[("8/8/8/4k3/8/8/8/R3K3 w - - 0 1", [])], syzygy_paths=[str(tables)], parallel_games=2
    )
    games = play(settings, 2)
    for g in games:
        assert g.termination == "tablebase" and g.result_white == 1 and g.ply == 1
        assert np.all(g.frames["invariance_info"] & ADJUDICATED)
        assert g.frames["result_q"][0] == 1.0
    off = play({**settings, "syzygy_adjudicate": False, "max_plies": 4}, 1)
    assert off[0].termination == "max_plies"


def test_two_evaluator_slots_swap_colours_over_paired_games():
    """A match: slot 0 plays white in even games, black in odd ones, on the same openings."""
    calls = {0: [], 1: []}

    class Tagged(MaterialEvaluator):
        def __init__(self, slot):
            super().__init__()
            self.slot = slot

        def evaluate_planes(self, planes):
            # the side to move of every leaf this slot evaluates (plane 108: black to move, format 1)
            calls[self.slot].extend(planes[:, 108, 0, 0].tolist())
            return super().evaluate_planes(planes)

    pool = NativePool(
        {
            **QUICK,
            "evaluators": 2,
            "paired": True,
            "random_opening_plies": 3,
            "parallel_games": 4,
            "stop_after_games": 4,
            "max_plies": 6,
            "tree_reuse": False,
        }
    )
    games = []
    while not pool.exhausted:
        games += pool.step_slots([Tagged(0), Tagged(1)])
    games.sort(key=lambda g: g.game_id)
    assert [(g.white_slot, g.black_slot) for g in games] == [(0, 1), (1, 0), (0, 1), (1, 0)]
    assert games[0].moves[:3] == games[1].moves[:3] and games[2].moves[:3] == games[3].moves[:3]
    assert calls[0] and calls[1]


def test_first_game_continues_after_existing_chunks(tmp_path):
    assert first_game_in(tmp_path / "missing", "selfplay") == 0
    games = play(dict(parallel_games=2), 2)
    for g in games:
        write_native_game(tmp_path, g)
    (tmp_path / "other-00000000000000000001-000000-00000099.gz").write_bytes(b"")
    assert first_game_in(tmp_path, "selfplay") == 2
    more = play(dict(parallel_games=2, first_game=2), 2)
    assert [g.game_id for g in more] == [2, 3]
    assert all(
        not np.array_equal(a.frames, b.frames) for a in games for b in more if len(a.frames) == len(b.frames)
    )


def test_engine_rejects_bad_settings_and_outputs():
    with pytest.raises(ValueError, match="adjudicate"):
        _native.SelfPlayEngine(engine_settings({"adjudicate": "coin"}))
    with pytest.raises(ValueError, match="evaluators"):
        _native.SelfPlayEngine(engine_settings({"evaluators": 3}))
    for name in ("cpuct", "max_plies", "threads"):  # the engine has no defaults of its own
        incomplete = engine_settings({})
        del incomplete[name]
        with pytest.raises(ValueError, match=f"missing setting '{name}'"):
            _native.SelfPlayEngine(incomplete)
    eng = _native.SelfPlayEngine(engine_settings({"parallel_games": 2, "network_batches": 1, "visits": 4}))
    (n,) = eng.step(0)
    assert n == 2 and eng.inputs(0, n).shape == (2, 112, 8, 8)
    with pytest.raises(ValueError, match="outputs"):
        eng.step(0)  # the batch in flight needs its outputs
    with pytest.raises(ValueError, match="expected"):
        eng.step(0, np.zeros((1, 1858), np.float32), np.zeros((1, 3), np.float32), None)
    logits, wdl, ml = UniformEvaluator().evaluate_planes(eng.inputs(0, n))
    assert sum(eng.step(0, logits, wdl, ml)) == 2


def test_a_network_of_another_input_format_restarts_the_search():
    pool = NativePool({**QUICK, "parallel_games": 2, "stop_after_games": 2, "max_plies": 6})
    ev = MaterialEvaluator()
    pool.step(ev)
    pool.step(ev)  # games under way, leaves in flight, encoded in format 1
    pool.restart_search(3)  # what the stage does when a format-3 network arrives
    games = list(pool.play(ev))
    assert sorted(g.game_id for g in games) == [0, 1]
    for g in games:
        assert np.all(g.frames["input_format"] == 3)


def test_position_search_reports_best_move_value_and_pv():
    from lcpipe.selfplay.native import search_position

    settings = {"visits": 200, "noise_epsilon": 0.0}
    s = search_position(MaterialEvaluator(), settings, "6k1/5ppp/8/8/8/8/8/4R1K1 w - - 0 1")  # Re8#
    assert s.visits == 200 and s.best_move() == "e1e8" and s.pv()[0] == "e1e8"
    q, d, m = s.value()
    assert q > 0.8 and d == 0.0  # most visits go to the mate (q = 1)
    edges = {uci: (n, prior, eq) for uci, n, prior, eq, _, _ in s.edges()}
    assert edges["e1e8"][2] == 1.0 and sum(n for n, _, _ in edges.values()) == 199
    assert sum(p for _, p, _ in edges.values()) == pytest.approx(1.0)
    # history matters: after 1.Nf3 Nf6 2.Ng1 the reply Ng8 repeats the start position (a draw inside the tree)
    s = search_position(UniformEvaluator(), settings, "", ["g1f3", "g8f6", "f3g1"])
    draws = {e[0]: e[4] for e in s.edges()}  # d of each move: 1/3 from the uniform evaluator, 1 for a draw
    assert draws["f6g8"] == 1.0 and draws["e7e5"] == pytest.approx(1 / 3)
    assert s.fen.startswith("rnbqkb1r/pppppppp/5n2")
    # stopped early: fewer visits, still a move
    calls = []
    s = search_position(UniformEvaluator(), settings, stop=lambda: calls.append(1) or len(calls) > 10)
    assert 1 < s.visits < 200 and s.best_move()
    with pytest.raises(ValueError, match="FEN|fen"):
        search_position(UniformEvaluator(), settings, "not a fen")
    with pytest.raises(ValueError, match="no legal moves"):
        search_position(UniformEvaluator(), settings, "7k/7Q/6K1/8/8/8/8/8 b - - 0 1")
    with pytest.raises(ValueError, match="not legal"):
        search_position(UniformEvaluator(), settings, "", ["e2e5"])


def test_moves_left_utility_prefers_the_longest_loss():
    """Every child position is won for its side to move, only the plies left differ: once each root move
    has one visit, the next visit goes to the longest loss with the utility on, by edge order without."""

    class SameValue(UniformEvaluator):
        def evaluate_planes(self, planes):
            logits, _, _ = super().evaluate_planes(planes)
            weights = ((np.arange(12 * 64) * 37) % 101).astype(np.float32).reshape(12, 8, 8)
            m = (planes[:, 0:12] * weights).sum(axis=(1, 2, 3)) % 89  # plies left spread over the moves
            wdl = np.tile(np.array([0.75, 0.0, 0.25], np.float32), (len(planes), 1))
            return logits, wdl, m.astype(np.float32)

    from lcpipe.selfplay.native import search_position

    def second_visit(slope):
        # 20 root moves: the root's evaluation, one visit each, then one more
        s = search_position(
            SameValue(),
            {"visits": 22, "noise_epsilon": 0.0, "moves_left_slope": slope, "moves_left_max_effect": 0.2},
            "",
        )
        edges = s.edges()
        assert sorted(n for _, n, *_ in edges) == [1] * 19 + [2]
        return [u for u, n, *_ in edges if n == 2][0], {u: m for u, n, _, _, _, m in edges if n == 1}

    plain, m_plain = second_visit(0.0)
    chosen, _ = second_visit(0.002)  # small enough that no move's effect reaches the cap
    longest = max(m_plain, key=m_plain.get)
    assert list(m_plain.values()).count(m_plain[longest]) == 1
    assert chosen == longest and plain != chosen
