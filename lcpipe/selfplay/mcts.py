"""Batched PUCT Monte-Carlo tree search over python-chess boards, in numpy.

One ``Tree`` per game. ``run_simulations`` advances many trees by one
playout each and evaluates all their new leaves in ONE network call: no
virtual loss is needed because each tree contributes at most one leaf per
call (parallelism comes from the number of games, not from one tree).

Values are (q, d, m) from the side to move at a node: q = W - L, d the draw
probability, m the plies left. Edge statistics are kept on the parent, from
the parent's side to move, so selection reads them without flipping signs.
Terminal positions (mate, stalemate, 50-move rule, insufficient material, a
repetition inside the tree) are scored exactly and never evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import chess
import numpy as np

from lcpipe.lc0.encoder import Encoded, Snapshot, encode, position_key, snapshot
from lcpipe.lc0.policy import legal_move_indices

TERMINAL_NONE = 0
TERMINAL_MATE = 1
TERMINAL_DRAW = 2


# The search settings a stage's config, SearchConfig and the native engine (csrc/selfplay/bindings.cpp
# search_params) share by name.
SEARCH_SETTINGS = (
    "visits",
    "cpuct",
    "cpuct_base",
    "cpuct_factor",
    "fpu_reduction",
    "fpu_reduction_root",
    "noise_alpha",
    "noise_epsilon",
    "policy_temperature",
    "tree_reuse",
    "input_format",
)


@dataclass
class SearchConfig:
    """Search settings (lc0 names and defaults where they exist)."""

    visits: int = 32  # root visits per move, reused subtree visits included
    cpuct: float = 1.745  # lc0 --cpuct
    cpuct_base: float = 38739.0  # lc0 --cpuct-base
    cpuct_factor: float = 3.894  # lc0 --cpuct-factor
    fpu_reduction: float = 0.33  # lc0 --fpu-value (reduction strategy) below the root
    fpu_reduction_root: float = 0.0  # at the root: noise decides what gets explored there
    noise_alpha: float = 0.3
    noise_epsilon: float = 0.25  # 0 disables root noise
    policy_temperature: float = 1.0  # lc0 --policy-softmax-temp
    tree_reuse: bool = True
    input_format: int = 1


class Node:
    """A position in the tree. Children are created lazily, per edge."""

    __slots__ = (
        "moves",
        "idx",
        "prior",
        "prior_raw",
        "n_edge",
        "w_edge",
        "d_edge",
        "m_edge",
        "children",
        "n",
        "q_sum",
        "d_sum",
        "m_sum",
        "eval",
        "terminal",
        "transform",
    )

    def __init__(self) -> None:
        self.moves: list[chess.Move] = []
        self.idx = np.zeros(0, np.int64)  # policy indices (network view, after the canonical transform)
        self.prior = np.zeros(0, np.float64)  # priors used by selection (noise mixed in at the root)
        self.prior_raw = self.prior  # the network's priors
        self.n_edge = np.zeros(0, np.int64)
        self.w_edge = np.zeros(0, np.float64)
        self.d_edge = np.zeros(0, np.float64)
        self.m_edge = np.zeros(0, np.float64)
        self.children: list[Node | None] = []
        self.n = 0  # visits of this node (its own evaluation included)
        self.q_sum = self.d_sum = self.m_sum = 0.0
        self.eval = (math.nan, math.nan, math.nan)  # raw (q, d, m) of the evaluator
        self.terminal = TERMINAL_NONE
        self.transform = 0

    @property
    def expanded(self) -> bool:
        return bool(self.moves) or self.terminal != TERMINAL_NONE

    def q(self) -> float:
        return self.q_sum / self.n if self.n else 0.0

    def d(self) -> float:
        return self.d_sum / self.n if self.n else 0.0

    def m(self) -> float:
        return self.m_sum / self.n if self.n else 0.0

    def edge_values(self, i: int) -> tuple[float, float, float]:
        """(q, d, m) of edge i from this node's side to move (NaN if unvisited)."""
        n = self.n_edge[i]
        if n == 0:
            return math.nan, math.nan, math.nan
        return self.w_edge[i] / n, self.d_edge[i] / n, self.m_edge[i] / n

    def best_edge(self) -> int:
        """Most visited edge; ties broken by q, then by prior."""
        q = np.where(self.n_edge > 0, self.w_edge / np.maximum(self.n_edge, 1), -2.0)
        return int(np.lexsort((self.prior_raw, q, self.n_edge))[-1])


def terminal_state(board: chess.Board, moves: list[chess.Move], repetitions: int, in_tree: bool) -> int:
    """How a position ends the game, if it does.

    In the tree one earlier occurrence (a twofold repetition) already scores
    a draw, as in lc0; in the played game it takes a threefold one.
    """
    if not moves:
        return TERMINAL_MATE if board.is_check() else TERMINAL_DRAW
    if board.halfmove_clock >= 100 or board.is_insufficient_material():
        return TERMINAL_DRAW
    if repetitions >= (1 if in_tree else 2):
        return TERMINAL_DRAW
    return TERMINAL_NONE


def terminal_value(kind: int) -> tuple[float, float, float]:
    """(q, d, m) of a terminal position from its side to move (mated: lost)."""
    return (-1.0, 0.0, 0.0) if kind == TERMINAL_MATE else (0.0, 1.0, 0.0)


def cpuct_at(cfg: SearchConfig, n: int) -> float:
    """lc0's visit-dependent exploration constant."""
    return cfg.cpuct + cfg.cpuct_factor * math.log((n + cfg.cpuct_base) / cfg.cpuct_base)


def select_edge(node: Node, cfg: SearchConfig, is_root: bool) -> int:
    """PUCT: argmax of Q + cpuct * P * sqrt(children visits) / (1 + n)."""
    n_edge = node.n_edge
    visited = n_edge > 0
    children_visits = int(n_edge.sum())
    reduction = cfg.fpu_reduction_root if is_root else cfg.fpu_reduction
    # first-play urgency: unvisited moves look a bit worse than the parent; summed left to right
    # (not numpy's pairwise sum) so the native engine can round exactly the same way
    visited_policy = 0.0
    for p in node.prior[visited].tolist():
        visited_policy += p
    fpu = node.q() - reduction * math.sqrt(visited_policy)
    q = np.where(visited, node.w_edge / np.maximum(n_edge, 1), fpu)
    u = cpuct_at(cfg, node.n) * math.sqrt(max(children_visits, 1)) * node.prior / (1.0 + n_edge)
    return int(np.argmax(q + u))


@dataclass
class Leaf:
    """A position waiting for the evaluator, and what expands it afterwards."""

    tree: Tree
    path: list[tuple[Node, int]]
    node: Node
    moves: list[chess.Move]
    encoded: Encoded
    idx: np.ndarray


class Tree:
    """The search of one game: root position, history, root node.

    ``history`` are the game's encoder snapshots (the root is the last one)
    and ``seen`` counts its positions by key, for repetitions.
    """

    def __init__(
        self,
        board: chess.Board,
        history: list[Snapshot],
        seen: dict,
        rng: np.random.Generator,
        cfg: SearchConfig,
    ):
        self.board = board
        self.history = history
        self.seen = seen
        self.rng = rng
        self.cfg = cfg
        self.root = Node()
        self._noised = False

    # -- one playout ----------------------------------------------------------------
    def playout(self) -> Leaf | None:
        """Walk to a leaf. A terminal leaf is backed up at once (None returned)."""
        if not self.root.expanded:
            return self._leaf([], self.root, self.history)
        if not self._noised:
            self._add_noise()
        board = self.board
        node = self.root
        path: list[tuple[Node, int]] = []
        snaps: list[Snapshot] = []
        keys: list[tuple] = []
        try:
            while True:
                if node.terminal:
                    backup(path, node, terminal_value(node.terminal))
                    return None
                i = select_edge(node, self.cfg, not path)
                board.push(node.moves[i])
                path.append((node, i))
                key = position_key(board)
                reps = self.seen.get(key, 0) + keys.count(key)
                keys.append(key)
                snaps.append(snapshot(board, reps))
                child = node.children[i]
                if child is None:
                    child = node.children[i] = Node()
                    moves = list(board.legal_moves)
                    kind = terminal_state(board, moves, reps, in_tree=True)
                    if kind:
                        child.terminal = kind
                        child.eval = terminal_value(kind)
                        backup(path, child, child.eval)
                        return None
                    return self._leaf(path, child, self.history + snaps, moves)
                node = child
        finally:
            for _ in path:
                board.pop()

    def _leaf(
        self, path, node: Node, snaps: list[Snapshot], moves: list[chess.Move] | None = None
    ) -> Leaf | None:
        board = self.board
        if moves is None:  # the root: may already be over (the game loop checks this first)
            moves = list(board.legal_moves)
            if not moves:
                raise ValueError("search from a position without legal moves")
        enc = encode(snaps, -1, self.cfg.input_format)
        # edges in the order of their untransformed policy index: ties in selection then break the
        # same way whatever order a move generator lists the moves in (the native engine sorts too)
        idx0 = legal_move_indices(board, moves)
        order = np.argsort(idx0, kind="stable")
        moves = [moves[k] for k in order]
        idx = idx0[order] if enc.transform == 0 else legal_move_indices(board, moves, enc.transform)
        return Leaf(self, path, node, moves, enc, idx)

    def _add_noise(self) -> None:
        """Dirichlet noise on the root priors (once per search of a move)."""
        root = self.root
        self._noised = True
        eps = self.cfg.noise_epsilon
        if eps <= 0 or not root.moves:
            root.prior = root.prior_raw
            return
        noise = self.rng.dirichlet(np.full(len(root.moves), self.cfg.noise_alpha))
        root.prior = (1 - eps) * root.prior_raw + eps * noise

    def advance(self, i: int) -> None:
        """The game played root edge i: keep that subtree (tree reuse) or start afresh.

        The caller has already pushed the move and extended history/seen.
        """
        child = self.root.children[i] if self.cfg.tree_reuse else None
        if child is None or child.terminal:
            child = Node()
        else:
            child.prior = child.prior_raw
        self.root = child
        self._noised = False


def expand(leaf: Leaf, logits: np.ndarray, wdl: np.ndarray, m: float, policy_temperature: float) -> None:
    """Give a leaf its priors and evaluation, then back the value up."""
    node = leaf.node
    node.moves = leaf.moves
    node.idx = leaf.idx
    node.transform = leaf.encoded.transform
    # softmax with libm's exp and a left-to-right sum, as the native engine computes it
    x = (logits[leaf.idx].astype(np.float64) / max(policy_temperature, 1e-6)).tolist()
    top = max(x)
    e = [math.exp(v - top) for v in x]
    total = 0.0
    for v in e:
        total += v
    node.prior_raw = node.prior = np.array([v / total for v in e], np.float64)
    k = len(leaf.moves)
    node.n_edge = np.zeros(k, np.int64)
    node.w_edge = np.zeros(k, np.float64)
    node.d_edge = np.zeros(k, np.float64)
    node.m_edge = np.zeros(k, np.float64)
    node.children = [None] * k
    q, d = float(wdl[0] - wdl[2]), float(wdl[1])
    node.eval = (q, d, float(m))
    backup(leaf.path, node, node.eval)


def backup(path: list[tuple[Node, int]], leaf: Node, value: tuple[float, float, float]) -> None:
    """Add a leaf value to the leaf and every edge above it, flipping q per ply."""
    q, d, m = value
    leaf.n += 1
    leaf.q_sum += q
    leaf.d_sum += d
    leaf.m_sum += m
    for node, i in reversed(path):
        q = -q
        m += 1.0
        node.n_edge[i] += 1
        node.w_edge[i] += q
        node.d_edge[i] += d
        node.m_edge[i] += m
        node.n += 1
        node.q_sum += q
        node.d_sum += d
        node.m_sum += m


Evaluate = Callable[[list[Encoded], int], tuple[np.ndarray, np.ndarray, np.ndarray]]


def run_simulations(
    trees: list[Tree], evaluate: Evaluate, cfg: SearchConfig, groups: int = 1
) -> tuple[int, int]:
    """One playout in each tree; the new leaves go to the evaluator batched (one call per group).

    ``evaluate(encoded positions, input format) -> (logits f32[B,1858], wdl
    f32[B,3], m f32[B])``. With ``groups`` > 1 (and an evaluator with
    ``submit``/``result``) the trees are split into that many batches: while
    the network works on one batch, Python walks the trees of the next.
    Returns (positions evaluated, evaluator calls).
    """
    submit = getattr(evaluate, "submit", None)
    result = getattr(evaluate, "result", None)
    groups = max(1, min(groups, len(trees))) if submit is not None else 1
    size = -(-len(trees) // groups) if trees else 1
    inflight = []
    for g in range(0, len(trees), size):
        leaves = [leaf for leaf in (t.playout() for t in trees[g : g + size]) if leaf is not None]
        if not leaves:
            continue
        encoded = [leaf.encoded for leaf in leaves]
        call = submit if groups > 1 and submit is not None else evaluate
        inflight.append((leaves, call(encoded, cfg.input_format)))
    total = 0
    for leaves, out in inflight:
        logits, wdl, m = result(out) if groups > 1 and result is not None else out
        for k, leaf in enumerate(leaves):
            expand(leaf, logits[k], wdl[k], m[k], cfg.policy_temperature)
        total += len(leaves)
    return total, len(inflight)


def search(board: chess.Board, evaluate: Evaluate, cfg: SearchConfig | None = None, seed: int = 0) -> Tree:
    """Search one position (its move stack is the history) until ``cfg.visits``; returns the tree."""
    from lcpipe.lc0.encoder import GameHistory

    cfg = cfg or SearchConfig()
    game = GameHistory.from_board(board)
    seen: dict = {}
    replay = board.root()
    seen[position_key(replay)] = 1
    for mv in board.move_stack:
        replay.push(mv)
        key = position_key(replay)
        seen[key] = seen.get(key, 0) + 1
    tree = Tree(board.copy(), game.snapshots, seen, np.random.default_rng(seed), cfg)
    while tree.root.n < cfg.visits:
        run_simulations([tree], evaluate, cfg)
    return tree
