"""Games -> chunks: read back with the lc0 readers, decoded to the positions played."""

from __future__ import annotations

import chess
import numpy as np
import pytest

from lcpipe.lc0 import chunks
from lcpipe.lc0.decoder import decode_frame
from lcpipe.lc0.frames import bad_frame_reason
from lcpipe.lc0.policy import legal_move_indices
from lcpipe.lc0.tensors import frames_to_batch
from lcpipe.selfplay.evaluator import MaterialEvaluator
from lcpipe.selfplay.game import ADJUDICATED, MAX_LENGTH, GameConfig, GamePool, SelfPlayGame
from lcpipe.selfplay.mcts import SearchConfig, run_simulations
from lcpipe.selfplay.writer import game_frames, write_game


def play_from(board: chess.Board, search: SearchConfig, cfg: GameConfig, seed: int = 0) -> SelfPlayGame:
    game = SelfPlayGame(0, seed, search, cfg, board)
    ev = MaterialEvaluator()
    while game.result is None:
        run_simulations([game.tree], ev, search)
        if game.search_done:
            game.make_move()
    return game


def check_game_chunk(path, game: SelfPlayGame, fmt: int) -> np.ndarray:
    games = list(chunks.iter_games(path))
    assert len(games) == 1
    key, arr = games[0]
    assert key == path.name and len(arr) == len(game.moves) > 0
    assert all(r is None for r in bad_frame_reason(arr))
    board = game.history.board.root()
    for t, move in enumerate(game.moves):
        f = arr[t]
        assert f["version"] == 6 and f["input_format"] == fmt
        dec = decode_frame(f)
        assert dec.board.board_fen() == board.board_fen() and dec.board.turn == board.turn
        assert dec.board.castling_rights == board.clean_castling_rights()
        tr = dec.transform
        legal = legal_move_indices(board, None, tr)
        probs = f["probabilities"]
        assert set(np.flatnonzero(probs >= 0)) == set(legal.tolist())  # exactly the legal moves
        assert np.all(probs[probs < 0] == -1)
        assert probs[legal].sum() == pytest.approx(1.0, abs=1e-5)
        assert int(f["played_idx"]) == legal_move_indices(board, [move], tr)[0]
        assert probs[int(f["best_idx"])] == probs[legal].max()
        assert f["visits"] >= 2 and f["plies_left"] == len(game.moves) - t
        assert -1 <= f["root_q"] <= 1 and 0 <= f["root_d"] <= 1
        board.push(move)
    res = arr["result_q"]
    if game.result.result_white != 0:
        assert np.all(res[1:] == -res[:-1]) and np.all(np.abs(res) == 1)  # alternates with the side to move
        assert np.all(arr["result_d"] == 0)
    else:
        assert np.all(res == 0) and np.all(arr["result_d"] == 1)
    assert np.all(np.diff(arr["plies_left"]) == -1) and arr["plies_left"][-1] == 1
    batch = frames_to_batch(arr)  # the trainer's reference path accepts them
    assert np.all(np.isfinite(batch.values[:, :5]))
    return arr


@pytest.mark.parametrize("fmt", [1, 3])
def test_chunks_decode_to_the_positions_played(tmp_path, fmt):
    search = SearchConfig(visits=12, input_format=fmt)
    pool = GamePool(search, GameConfig(max_plies=40, temp_cutoff_ply=10), parallel=3, seed=5, max_games=3)
    games = list(pool.play(MaterialEvaluator()))
    assert sorted(g.game_id for g in games) == [0, 1, 2]
    paths = []
    for g in games:
        path, _ = write_game(tmp_path, g)
        arr = check_game_chunk(path, g, fmt)
        paths.append(path)
        if g.result.termination == "max_plies":
            assert np.all(arr["invariance_info"] & (ADJUDICATED | MAX_LENGTH) == ADJUDICATED | MAX_LENGTH)
    # names sort in writing order
    assert sorted(p.name for p in paths) == [p.name for p in paths]
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_canonical_format_transforms_policy_indices(tmp_path):
    # a pawnless ending with the king on the wrong half: format 3 must flip/mirror/transpose
    board = chess.Board("8/8/8/8/8/5k2/8/1K2Q3 w - - 0 1")
    search = SearchConfig(visits=10, input_format=3)
    game = play_from(board, search, GameConfig(max_plies=6, temperature=0.0))
    path, _ = write_game(tmp_path, game)
    arr = check_game_chunk(path, game, 3)
    assert np.any(arr["invariance_info"] & 7)


@pytest.mark.parametrize(
    "fen,white_result",
    [
        ("6k1/5ppp/8/8/8/8/8/4R1K1 w - - 0 1", 1.0),  # Re8#
        ("4r1k1/8/8/8/8/8/5PPP/6K1 b - - 0 1", -1.0),  # ...Re1#
    ],
)
def test_checkmate_result_from_both_sides(tmp_path, fen, white_result):
    search = SearchConfig(visits=120, noise_epsilon=0.0)
    game = play_from(chess.Board(fen), search, GameConfig(temperature=0.0, max_plies=3))
    assert game.result.termination == "checkmate" and game.result.result_white == white_result
    arr = check_game_chunk(write_game(tmp_path, game)[0], game, 1)
    assert list(arr["result_q"]) == [1.0]  # the mating side's frame is a win
    assert arr["best_q"][0] == pytest.approx(1.0) and arr["played_q"][0] == pytest.approx(1.0)
    assert arr["best_idx"][0] == arr["played_idx"][0]


def test_resign_ends_a_lost_game_and_playthrough_keeps_some(tmp_path):
    board = chess.Board("4k3/8/8/8/8/8/8/QQQ1K3 b - - 0 1")  # black is hopelessly lost
    cfg = GameConfig(resign_q=0.5, resign_earliest_ply=0, resign_playthrough=0.0, max_plies=10)
    game = play_from(board, SearchConfig(visits=8), cfg)
    assert game.result.termination == "resign" and game.result.result_white == 1.0
    assert game.ply == 0 and game_frames(game).shape == (0,)
    cfg.resign_playthrough = 1.0  # never resign
    game = play_from(board, SearchConfig(visits=8), cfg)
    assert game.result.termination != "resign"
