"""Move generation speed: native perft (lcpipe._native.chess) vs python-chess, same positions, same run.

The six positions of the chessprogramming wiki's perft page, each at a depth
python-chess finishes in a second or so; both count leaves the same way
(legal move count at the last ply). Native is also timed deeper, where
per-call overhead no longer matters. Reported: nodes per CPU-second
(process time, the least of a few runs for native, so a loaded machine
slows both alike) and the ratio; for the
deep native run also positions expanded per second (a move made and the
legal moves of the result generated: a search's cost per node). A last
line times the input encoder on random games: native encode_game vs
lcpipe.lc0.encoder (format 1 and 3), per position.

Run: .venv/bin/python benchmarks/bench_movegen.py [--out FILE]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import chess

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from lcpipe._native import chess as native  # noqa: E402
from report import Report  # noqa: E402

from lcpipe.lc0 import encoder  # noqa: E402

POSITIONS = [  # name, FEN, depth for both, deeper depth for native alone
    ("start", "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", 4, 5),
    ("kiwipete", "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1", 3, 4),
    ("position 3", "8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1", 4, 6),
    ("position 4", "r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1", 3, 5),
    ("position 5", "rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8", 3, 4),
    ("position 6", "r4rk1/1pp1qppp/p1np1n2/2b1p1B1/2B1P1b1/P1NP1N2/1PP1QPPP/R4RK1 w - - 0 10", 3, 4),
]


def python_perft(board: chess.Board, depth: int) -> int:
    if depth == 1:
        return board.legal_moves.count()
    total = 0
    for move in board.legal_moves:
        board.push(move)
        total += python_perft(board, depth - 1)
        board.pop()
    return total


def timed(fn, repeats: int = 1):
    """Result and the least process time of `repeats` runs (a loaded machine only adds time)."""
    best = float("inf")
    for _ in range(repeats):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return out, max(best, 1e-9)


def random_game(rng: random.Random, plies: int) -> list[str]:
    board, moves = chess.Board(), []
    while len(moves) < plies and not board.is_game_over():
        move = rng.choice(list(board.legal_moves))
        moves.append(move.uci())
        board.push(move)
    return moves


def bench_encoder(out: Report) -> None:
    rng = random.Random(1)
    games = [random_game(rng, 160) for _ in range(20)]
    positions = sum(len(g) + 1 for g in games)
    for fmt in (1, 3):

        def run_native():
            for g in games:
                native.encode_game(chess.STARTING_FEN, g, fmt, "fen_only", network_inputs=True)

        def run_python():
            for g in games:
                h = encoder.GameHistory()
                for uci in g:
                    h.push(chess.Move.from_uci(uci))
                for t in range(len(h.snapshots)):
                    encoder.encode(h.snapshots, t, fmt)

        _, tn = timed(run_native, repeats=3)
        _, tp = timed(run_python)
        out(
            f"[encoder fmt {fmt}] {positions:,} positions of 20 random games: native {tn / positions * 1e6:.2f} us "
            f"per position (game replay, record fields and the f32 network input included), python "
            f"{tp / positions * 1e6:.1f} us (history and record fields only): {tp / tn:.0f}x"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()
    out = Report("bench_movegen")
    total_native = total_python = 0.0
    nodes_same = 0
    for name, fen, depth, deep in POSITIONS:
        py_nodes, tp = timed(lambda: python_perft(chess.Board(fen), depth))
        nat_nodes, tn = timed(lambda: native.perft(fen, depth), repeats=5)
        assert nat_nodes == py_nodes, (name, nat_nodes, py_nodes)
        deep_nodes, td = timed(lambda: native.perft(fen, deep), repeats=3)
        expanded = native.perft(fen, deep - 1)  # positions whose moves were generated at the last ply
        total_native += tn
        total_python += tp
        nodes_same += py_nodes
        out(
            f"[{name}] depth {depth}: {py_nodes:,} nodes, python-chess {py_nodes / tp:,.0f} nodes/s, native "
            f"{nat_nodes / tn:,.0f} nodes/s ({tp / tn:.0f}x); native depth {deep}: {deep_nodes:,} nodes, "
            f"{deep_nodes / td:,.0f} nodes/s, {expanded / td:,.0f} positions/s expanded (made + moves generated)"
        )
    out(
        f"[all] same depths: python-chess {nodes_same / total_python:,.0f} nodes/s, native "
        f"{nodes_same / total_native:,.0f} nodes/s: {total_python / total_native:.0f}x"
    )
    bench_encoder(out)
    out.save(args.out)


if __name__ == "__main__":
    main()
