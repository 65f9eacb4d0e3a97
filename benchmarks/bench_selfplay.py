"""Self-play throughput: games/s, plies/s and network evaluations/s.

Plays the same number of games (a) all at once, their leaves evaluated in
one network call per playout round, (a') all at once in two batches per
round (Python searches one while the network evaluates the other: the stage's
default), and (b) one game at a time (a batch of one per call), with a tiny
network, and prints the rates and their ratios. Also
reports where the time goes (search + encoding in Python vs the network).
Usage:

    python benchmarks/bench_selfplay.py [--games 16] [--visits 32] [--max-plies 40]
                                        [--body resnet|transformer] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from lcpipe.selfplay.evaluator import NetworkEvaluator, UniformEvaluator  # noqa: E402
from lcpipe.selfplay.game import GameConfig, GamePool  # noqa: E402
from lcpipe.selfplay.mcts import SearchConfig  # noqa: E402
from lcpipe.types import NetworkSnapshot  # noqa: E402

MODELS = {
    "resnet": dict(body="resnet", filters=16, blocks=2, se_ratio=2, value_channels=8, value_hidden=32,
                   moves_left_channels=4, moves_left_hidden=16, policy_type="conv"),
    "transformer": dict(body="transformer", d_model=32, heads=2, dff=64, encoder_layers=2, embedding_dense=8,
                        embedding_dff=32, smolgen_hidden_channels=4, smolgen_hidden_size=16, smolgen_gen_size=8,
                        value_channels=8, value_hidden=32, moves_left_channels=4, moves_left_hidden=16),
}


def random_snapshot(model: dict, seed: int = 0) -> NetworkSnapshot:
    """Random parameters in the trainer's variable layout (shapes from a traced init)."""
    from lcpipe.train.random_snapshot import random_snapshot as make

    return make(model, seed=seed, step=0)


def play(evaluator, games: int, parallel: int, visits: int, max_plies: int, groups: int = 1) -> dict:
    search = SearchConfig(visits=visits)
    pool = GamePool(search, GameConfig(max_plies=max_plies), parallel=parallel, seed=1, max_games=games,
                    groups=groups)
    net_time = 0.0
    inner = evaluator.evaluate_planes

    def timed(planes):
        nonlocal net_time
        t = time.perf_counter()
        out = inner(planes)
        net_time += time.perf_counter() - t
        return out

    evaluator.evaluate_planes = timed
    start = time.perf_counter()
    finished = list(pool.play(evaluator))
    wall = time.perf_counter() - start
    evaluator.evaluate_planes = inner
    s = pool.stats
    assert len(finished) == games
    return dict(wall=wall, games=s.games, plies=s.plies, evals=s.evals, calls=s.calls, net=net_time,
                games_s=s.games / wall, plies_s=s.plies / wall, evals_s=s.evals / wall)


def line(name: str, r: dict) -> str:
    return (f"{name:<26} {r['games']:>3} games {r['plies']:>5} plies {r['evals']:>6} evals in {r['wall']:6.1f} s | "
            f"{r['games_s']:6.3f} games/s {r['plies_s']:7.1f} plies/s {r['evals_s']:7.0f} evals/s | "
            f"batch {r['evals'] / max(r['calls'], 1):5.1f}, network {100 * r['net'] / r['wall']:4.1f}% of time")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=16)
    ap.add_argument("--sequential-games", type=int, default=4, help="games for the one-at-a-time run")
    ap.add_argument("--visits", type=int, default=32)
    ap.add_argument("--max-plies", type=int, default=40)
    ap.add_argument("--body", choices=sorted(MODELS), default="resnet")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    import jax

    snap = random_snapshot(MODELS[args.body])
    net = NetworkEvaluator(snap)
    t = time.perf_counter()
    for b in (1, args.games):  # compile the batch shapes used below before timing
        net.evaluate_planes(np.zeros((b, 112, 8, 8), np.float32))
    compile_s = time.perf_counter() - t
    lines = [f"# bench_selfplay: {args.body} {MODELS[args.body]}",
             f"# visits {args.visits}, games stopped at {args.max_plies} plies (adjudicated), jax {jax.__version__} "
             f"on {jax.devices()[0].platform}, {os.cpu_count()} cpus, python {platform.python_version()}",
             f"# compile (batch 1 and {args.games}): {compile_s:.1f} s"]
    batched = play(net, args.games, args.games, args.visits, args.max_plies)
    lines.append(line(f"network, {args.games} at once", batched))
    overlapped = play(net, args.games, args.games, args.visits, args.max_plies, groups=2)
    lines.append(line(f"network, {args.games} in 2 batches", overlapped).rsplit(", network", 1)[0]
                 + " (network overlaps search)")
    single = play(net, args.sequential_games, 1, args.visits, args.max_plies)
    lines.append(line("network, one at a time", single))
    uniform = play(UniformEvaluator(), args.games, args.games, args.visits, args.max_plies)
    lines.append(line(f"uniform, {args.games} at once", uniform))
    lines.append(f"batched / one-at-a-time: {batched['plies_s'] / single['plies_s']:.2f}x plies/s, "
                 f"{batched['evals_s'] / single['evals_s']:.2f}x evals/s; "
                 f"2 overlapped batches / one-at-a-time: {overlapped['evals_s'] / single['evals_s']:.2f}x evals/s")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(f"$ python benchmarks/bench_selfplay.py {' '.join(sys.argv[1:])}\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
