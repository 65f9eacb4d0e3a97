"""Self-play games: move choice, game end, and many games searched together.

``SelfPlayGame`` owns one game (board, encoder history, search tree, the
per-ply search records the writer turns into frames). ``GamePool`` keeps
``parallel`` games running and advances all of them by one playout per
network call, starting new games as old ones finish.

Every game draws its randomness from its own generator seeded by
(seed, game number), so a game's moves do not depend on how many games run
beside it (exactly so with the stand-in evaluators; with a network, batch
composition can change float rounding).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import chess
import numpy as np

from lcpipe.lc0.encoder import GameHistory, position_key
from lcpipe.lc0.policy import legal_move_indices
from lcpipe.selfplay.mcts import (
    TERMINAL_MATE,
    Evaluate,
    Node,
    SearchConfig,
    Tree,
    run_simulations,
    terminal_state,
)

ADJUDICATED = 1 << 5  # invariance_info bits (LC0_FORMATS.md section 2)
MAX_LENGTH = 1 << 4
_MATERIAL = {chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9}


@dataclass
class GameConfig:
    max_plies: int = 200
    temperature: float = 1.0
    temp_decay_plies: int = 0  # > 0: temperature falls linearly to temp_endgame over these plies
    temp_cutoff_ply: int = 30  # from this ply on: temp_endgame
    temp_endgame: float = 0.0
    resign_q: float = 0.0  # > 0: resign when root q and best-move q are <= -resign_q (0: never)
    resign_earliest_ply: int = 20
    resign_playthrough: float = 0.2  # fraction of games that never resign (checks false resigns)
    adjudicate: str = "material"  # at max_plies: "material" (3 pawns ahead wins) or "draw"


@dataclass
class PlyRecord:
    """What the search said at one position, and what was played."""

    moves: list[chess.Move]
    idx0: np.ndarray  # policy indices without canonical transform
    visits_per_move: np.ndarray
    prior: np.ndarray
    root: tuple[float, float, float]
    orig: tuple[float, float, float]
    best: tuple[float, float, float]
    played: tuple[float, float, float]
    best_i: int
    played_i: int
    visits: int


@dataclass
class GameResult:
    result_white: float  # 1, 0, -1
    termination: (
        str  # checkmate, stalemate, fifty_moves, insufficient_material, repetition, resign, max_plies
    )
    flags: int = 0  # invariance_info bits to set on every frame


def material_balance(board: chess.Board) -> int:
    return sum(
        v * (len(board.pieces(pt, chess.WHITE)) - len(board.pieces(pt, chess.BLACK)))
        for pt, v in _MATERIAL.items()
    )


class SelfPlayGame:
    def __init__(
        self, game_id: int, seed: int, search: SearchConfig, cfg: GameConfig, board: chess.Board | None = None
    ):
        self.game_id = game_id
        self.cfg = cfg
        self.search = search
        self.rng = np.random.default_rng([seed, game_id])
        self.history = GameHistory(board)
        self.board = self.history.board
        self.seen: dict = {position_key(self.board): 1}
        self.tree = Tree(self.board, self.history.snapshots, self.seen, self.rng, search)
        self.records: list[PlyRecord] = []
        self.moves: list[chess.Move] = []
        self.result: GameResult | None = None
        self.may_resign = cfg.resign_q > 0 and self.rng.random() >= cfg.resign_playthrough
        self.network_steps: set[int] = set()
        if not list(self.board.legal_moves):
            raise ValueError("a self-play game needs a start position with legal moves")

    @property
    def ply(self) -> int:
        return len(self.moves)

    @property
    def search_done(self) -> bool:
        return self.tree.root.n >= max(self.search.visits, 2)

    def temperature(self) -> float:
        c = self.cfg
        if self.ply >= c.temp_cutoff_ply:
            return c.temp_endgame
        if c.temp_decay_plies > 0:
            frac = min(self.ply / c.temp_decay_plies, 1.0)
            return c.temperature + (c.temp_endgame - c.temperature) * frac
        return c.temperature

    def choose(self, root: Node) -> int:
        """The move to play: visits^(1/T) sampled, or the best move at T = 0."""
        t = self.temperature()
        if t <= 0:
            return root.best_edge()
        n = root.n_edge.astype(np.float64)
        w = np.power(n / n.max(), 1.0 / t)
        return int(self.rng.choice(len(w), p=w / w.sum()))

    def make_move(self) -> None:
        """Search is done at the root: maybe resign, record the position, play."""
        root = self.tree.root
        best = root.best_edge()
        best_v = root.edge_values(best)
        if (
            self.may_resign
            and self.ply >= self.cfg.resign_earliest_ply
            and root.q() <= -self.cfg.resign_q
            and best_v[0] <= -self.cfg.resign_q
        ):
            white_to_move = self.board.turn == chess.WHITE
            self.result = GameResult(-1.0 if white_to_move else 1.0, "resign")
            return
        i = self.choose(root)
        self.records.append(
            PlyRecord(
                moves=root.moves,
                idx0=legal_move_indices(self.board, root.moves),
                visits_per_move=root.n_edge.copy(),
                prior=root.prior_raw.copy(),
                root=(root.q(), root.d(), root.m()),
                orig=root.eval,
                best=best_v,
                played=root.edge_values(i),
                best_i=best,
                played_i=i,
                visits=root.n,
            )
        )
        move = root.moves[i]
        self.moves.append(move)
        self.history.push(move)  # pushes self.board too
        key = position_key(self.board)
        self.seen[key] = reps = self.seen.get(key, 0) + 1
        self.tree.advance(i)
        self._check_end(reps - 1)

    def _check_end(self, repetitions: int) -> None:
        board = self.board
        kind = terminal_state(board, list(board.legal_moves), repetitions, in_tree=False)
        if kind == TERMINAL_MATE:
            self.result = GameResult(-1.0 if board.turn == chess.WHITE else 1.0, "checkmate")
        elif kind:
            if not any(board.legal_moves):
                why = "stalemate"
            elif board.halfmove_clock >= 100:
                why = "fifty_moves"
            elif board.is_insufficient_material():
                why = "insufficient_material"
            else:
                why = "repetition"
            self.result = GameResult(0.0, why)
        elif self.ply >= self.cfg.max_plies:
            score = 0.0
            if self.cfg.adjudicate == "material":
                diff = material_balance(board)
                score = float(np.sign(diff)) if abs(diff) >= 3 else 0.0
            self.result = GameResult(score, "max_plies", ADJUDICATED | MAX_LENGTH)


@dataclass
class PoolStats:
    evals: int = 0
    calls: int = 0
    plies: int = 0  # moves played, running games included
    games: int = 0
    game_plies: int = 0  # moves of finished games
    results: dict = field(default_factory=lambda: {"white": 0, "draw": 0, "black": 0})
    terminations: dict = field(default_factory=dict)


class GamePool:
    """Keeps up to ``parallel`` games going; one playout per game per network call."""

    def __init__(
        self,
        search: SearchConfig,
        cfg: GameConfig,
        parallel: int = 16,
        seed: int = 0,
        max_games: int = 0,
        first_game: int = 0,
        groups: int = 1,
    ):
        self.search = search
        self.groups = groups  # network batches per round (> 1: search and network overlap)
        self.cfg = cfg
        self.parallel = max(1, parallel)
        self.seed = seed
        self.max_games = max_games  # 0: start games forever
        self.next_id = first_game
        self.first_game = first_game
        self.games: list[SelfPlayGame] = []
        self.stats = PoolStats()
        self.allow_new = True  # False: let running games finish, start none

    @property
    def started(self) -> int:
        return self.next_id - self.first_game

    @property
    def running(self) -> int:
        return len(self.games)

    def can_start(self) -> bool:
        return self.allow_new and (not self.max_games or self.started < self.max_games)

    def _fill(self) -> None:
        while len(self.games) < self.parallel and self.can_start():
            self.games.append(SelfPlayGame(self.next_id, self.seed, self.search, self.cfg))
            self.next_id += 1

    @property
    def exhausted(self) -> bool:
        self._fill()
        return not self.games

    def step(self, evaluate: Evaluate, network_step: int = -1) -> list[SelfPlayGame]:
        """One playout in every running game; returns the games that finished."""
        self._fill()
        if not self.games:
            return []
        n, calls = run_simulations([g.tree for g in self.games], evaluate, self.search, self.groups)
        self.stats.evals += n
        self.stats.calls += calls
        done = []
        for g in self.games:
            g.network_steps.add(network_step)
            if g.search_done:
                before = g.ply
                g.make_move()
                self.stats.plies += g.ply - before
                if g.result is not None:
                    done.append(g)
        if done:
            self.games = [g for g in self.games if g.result is None]
            for g in done:
                self.stats.games += 1
                self.stats.game_plies += g.ply
                r = g.result
                assert r is not None  # only finished games are in done
                self.stats.results[
                    "white" if r.result_white > 0 else "black" if r.result_white < 0 else "draw"
                ] += 1
                self.stats.terminations[r.termination] = self.stats.terminations.get(r.termination, 0) + 1
        return done

    def play(self, evaluate: Evaluate, network_step: int = -1):
        """Yield finished games until ``max_games`` are done (forever if 0)."""
        while not self.exhausted:
            yield from self.step(evaluate, network_step)


def play_game(
    evaluate: Evaluate, search: SearchConfig, cfg: GameConfig, seed: int = 0, game_id: int = 0
) -> SelfPlayGame:
    """One game, searched alone (the unbatched reference)."""
    pool = GamePool(search, cfg, parallel=1, seed=seed, max_games=1, first_game=game_id)
    return next(iter(pool.play(evaluate)))
