"""The search: exact terminal scoring, PUCT details, finding mates, avoiding blunders."""

from __future__ import annotations

import math

import chess
import numpy as np
import pytest

from lcpipe.selfplay.evaluator import MaterialEvaluator, UniformEvaluator
from lcpipe.selfplay.mcts import (
    TERMINAL_DRAW,
    TERMINAL_MATE,
    TERMINAL_NONE,
    SearchConfig,
    cpuct_at,
    search,
    terminal_state,
    terminal_value,
)


def _state(fen: str, reps: int = 0, in_tree: bool = True) -> int:
    board = chess.Board(fen)
    return terminal_state(board, list(board.legal_moves), reps, in_tree)


def test_terminal_positions_are_scored_exactly():
    assert _state("7k/6Q1/6K1/8/8/8/8/8 b - - 0 1") == TERMINAL_MATE  # black is mated
    assert terminal_value(TERMINAL_MATE) == (-1.0, 0.0, 0.0)  # lost for the side to move
    assert _state("7k/8/6QK/8/8/8/8/8 b - - 0 1") == TERMINAL_DRAW  # stalemate
    assert _state("7k/8/8/8/8/8/8/R5K1 b - - 100 80") == TERMINAL_DRAW  # 50-move rule
    assert _state("7k/8/8/8/8/8/8/R5K1 b - - 99 80") == TERMINAL_NONE
    assert _state("7k/8/8/8/8/8/8/B5K1 b - - 0 1") == TERMINAL_DRAW  # insufficient material
    assert terminal_value(TERMINAL_DRAW) == (0.0, 1.0, 0.0)
    # a repetition: twofold inside the tree, threefold in the played game
    assert _state("7k/8/8/8/8/8/8/R5K1 b - - 0 1", reps=1, in_tree=True) == TERMINAL_DRAW
    assert _state("7k/8/8/8/8/8/8/R5K1 b - - 0 1", reps=1, in_tree=False) == TERMINAL_NONE
    assert _state("7k/8/8/8/8/8/8/R5K1 b - - 0 1", reps=2, in_tree=False) == TERMINAL_DRAW


def test_cpuct_grows_with_lc0s_log_formula():
    cfg = SearchConfig()
    assert cpuct_at(cfg, 0) == pytest.approx(1.745)
    assert cpuct_at(cfg, 38739) == pytest.approx(1.745 + 3.894 * math.log(2))


@pytest.mark.parametrize("evaluator", [UniformEvaluator(), MaterialEvaluator()], ids=["uniform", "material"])
def test_finds_mate_in_one(evaluator):
    board = chess.Board("6k1/5ppp/8/8/8/8/8/4R1K1 w - - 0 1")  # Re8#
    tree = search(board, evaluator, SearchConfig(visits=200, noise_epsilon=0))
    root = tree.root
    best = root.best_edge()
    assert root.moves[best] == chess.Move.from_uci("e1e8")
    assert root.edge_values(best)[0] == pytest.approx(1.0)  # every visit of the mate scores a win
    assert root.n == 200 and root.n_edge.sum() == 199


def test_mated_side_sees_a_lost_position():
    # black to move, every move allows Qg7# or similar; at least the value must be strongly negative
    board = chess.Board("7k/8/6QK/8/8/8/8/8 w - - 0 1")  # white mates in one (Qg7#)
    tree = search(board, UniformEvaluator(), SearchConfig(visits=300, noise_epsilon=0))
    assert tree.root.moves[tree.root.best_edge()] in (
        chess.Move.from_uci("g6g7"),
        chess.Move.from_uci("g6h7"),
    )
    assert tree.root.q() > 0.5


def test_takes_a_hanging_queen_and_avoids_a_blunder():
    take = chess.Board("4k3/8/8/3q4/8/8/8/3QK3 w - - 0 1")  # Qxd5 wins the queen for free
    tree = search(take, MaterialEvaluator(), SearchConfig(visits=150, noise_epsilon=0))
    assert tree.root.moves[tree.root.best_edge()] == chess.Move.from_uci("d1d5")
    # Qxd5?? exd5 loses the queen for a pawn: the search must see the recapture
    blunder = chess.Board("4k3/8/4p3/3p4/8/8/8/3QK3 w - - 0 1")
    tree = search(blunder, MaterialEvaluator(), SearchConfig(visits=150, noise_epsilon=0))
    root = tree.root
    bad = root.moves.index(chess.Move.from_uci("d1d5"))
    assert root.best_edge() != bad
    assert root.edge_values(bad)[0] < root.q()
    assert root.n_edge[bad] < root.n_edge.max()


def test_visits_and_values_are_consistent():
    board = chess.Board()
    board.push_uci("e2e4")
    tree = search(board, MaterialEvaluator(), SearchConfig(visits=64), seed=3)
    root = tree.root
    assert root.n == 64 == root.n_edge.sum() + 1
    assert len(root.moves) == board.legal_moves.count()
    assert np.isclose(root.prior.sum(), 1.0) and np.isclose(root.prior_raw.sum(), 1.0)
    # noise changed the priors the search used, not the network's
    assert not np.allclose(root.prior, root.prior_raw)
    assert np.allclose(root.prior_raw, 1 / len(root.moves))
    # q of the node = average over its own evaluation and every visit below
    own = root.eval[0]
    assert root.q() == pytest.approx((own + root.w_edge.sum()) / root.n)


def test_search_is_deterministic_under_a_seed():
    board = chess.Board()
    a = search(board, MaterialEvaluator(), SearchConfig(visits=48), seed=7).root.n_edge
    b = search(board, MaterialEvaluator(), SearchConfig(visits=48), seed=7).root.n_edge
    c = search(board, MaterialEvaluator(), SearchConfig(visits=48), seed=8).root.n_edge
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)  # noise depends on the seed


def test_temperature_schedule_and_move_choice():
    from lcpipe.selfplay.game import GameConfig, SelfPlayGame

    cfg = GameConfig(temperature=1.0, temp_decay_plies=10, temp_cutoff_ply=8, temp_endgame=0.0)
    game = SelfPlayGame(0, 0, SearchConfig(visits=8), cfg)
    assert game.temperature() == 1.0
    game.moves = [None] * 5  # only the ply count matters here
    assert game.temperature() == pytest.approx(0.5)
    game.moves = [None] * 8
    assert game.temperature() == 0.0
    # at T = 0 the most visited move is played; at T > 0 only visited moves can be drawn
    tree = search(chess.Board(), MaterialEvaluator(), SearchConfig(visits=40), seed=1)
    root = tree.root
    assert game.choose(root) == root.best_edge() and root.n_edge[root.best_edge()] == root.n_edge.max()
    game.moves = []
    picks = {game.choose(root) for _ in range(200)}
    assert len(picks) > 1 and all(root.n_edge[i] > 0 for i in picks)
