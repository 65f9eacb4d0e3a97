"""Self-play throughput: the native engine against the Python reference search.

1. Search alone: the uniform evaluator (no network) on the same games and
   visits, native engine vs Python engine, network evaluations per second.
2. With the rl.yaml network (its model section, random weights) on this
   machine: the native engine's evaluations/s and the share of wall time its
   own timers put in search + encoding (the rest is the network and Python).
3. For reference, the Python engine with the same network.
Usage:

    python benchmarks/bench_selfplay.py [--games 16] [--visits 32] [--max-plies 40] [--net-games 32]
                                        [--threads 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from lcpipe.selfplay.evaluator import NetworkEvaluator, UniformEvaluator
from lcpipe.selfplay.game import GameConfig, GamePool
from lcpipe.selfplay.mcts import SearchConfig
from lcpipe.types import NetworkSnapshot


def random_snapshot(model: dict, seed: int = 0) -> NetworkSnapshot:
    """Random parameters in the trainer's variable layout (shapes from a traced init)."""
    from lcpipe.train.random_snapshot import random_snapshot as make

    return make(model, seed=seed, step=0)


def play(evaluator, games: int, parallel: int, visits: int, max_plies: int, groups: int = 1) -> dict:
    search = SearchConfig(visits=visits)
    pool = GamePool(
        search, GameConfig(max_plies=max_plies), parallel=parallel, seed=1, max_games=games, groups=groups
    )
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
    return dict(
        wall=wall,
        games=s.games,
        plies=s.plies,
        evals=s.evals,
        calls=s.calls,
        net=net_time,
        games_s=s.games / wall,
        plies_s=s.plies / wall,
        evals_s=s.evals / wall,
    )


def rl_model() -> dict:
    """The network rl.yaml trains (its train stage's model section)."""
    import yaml

    with open(os.path.join(os.path.dirname(__file__), "..", "pipelines", "rl.yaml")) as f:
        spec = yaml.safe_load(f)
    return spec["stages"]["train"]["with"]["model"]


def play_native(
    evaluator, games: int, parallel: int, visits: int, max_plies: int, threads: int, groups: int = 2
) -> dict:
    from lcpipe.selfplay.native import NativePool

    pool = NativePool(
        dict(
            visits=visits,
            max_plies=max_plies,
            parallel_games=parallel,
            threads=threads,
            network_batches=groups,
            stop_after_games=games,
            seed=1,
        )
    )
    start = time.perf_counter()
    finished = list(pool.play(evaluator))
    wall = time.perf_counter() - start
    assert len(finished) == games
    s = pool.stats
    return dict(
        wall=wall,
        games=s.games,
        plies=s.plies,
        evals=s.evals,
        calls=s.calls,
        search=pool.engine.step_wall_s,
        busy=pool.engine.thread_busy_s,
        games_s=s.games / wall,
        plies_s=s.plies / wall,
        evals_s=s.evals / wall,
    )


def line(name: str, r: dict) -> str:
    out = (
        f"{name:<34} {r['games']:>3} games {r['plies']:>5} plies {r['evals']:>7} evals in {r['wall']:6.1f} s | "
        f"{r['plies_s']:7.1f} plies/s {r['evals_s']:8.0f} evals/s | batch {r['evals'] / max(r['calls'], 1):5.1f}"
    )
    if "search" in r:
        out += f" | search+encoding {100 * r['search'] / r['wall']:4.1f}% of wall (engine timer)"
    elif r.get("net"):
        out += f" | network {100 * r['net'] / r['wall']:4.1f}% of wall"
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=16, help="games of the search-alone comparison")
    ap.add_argument("--visits", type=int, default=32)
    ap.add_argument("--max-plies", type=int, default=40)
    ap.add_argument(
        "--net-games", type=int, default=32, help="games in parallel with the network (rl.yaml: 32)"
    )
    ap.add_argument("--net-visits", type=int, default=24, help="visits with the network (rl.yaml: 24)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="native search threads")
    ap.add_argument("--skip-python-network", action="store_true")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    import jax

    lines = [
        f"# bench_selfplay: jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} cpus, "
        f"python {platform.python_version()}, native threads {args.threads}"
    ]
    # 1. search alone
    lines.append(
        f"# search alone: uniform evaluator, {args.games} games at once, {args.visits} visits, "
        f"stopped at {args.max_plies} plies"
    )
    py_uniform = play(UniformEvaluator(), args.games, args.games, args.visits, args.max_plies)
    lines.append(line("python engine, uniform", py_uniform))
    nat_uniform = play_native(
        UniformEvaluator(), args.games, args.games, args.visits, args.max_plies, args.threads
    )
    lines.append(line("native engine, uniform", nat_uniform))
    wide = play_native(
        UniformEvaluator(), args.games * 16, args.games * 16, args.visits, args.max_plies, args.threads
    )
    lines.append(line(f"native engine, uniform, {args.games * 16} at once", wide))
    lines.append(
        f"native / python, same games and visits: {nat_uniform['evals_s'] / py_uniform['evals_s']:.0f}x "
        f"evals/s; with {args.games * 16} games at once: {wide['evals_s'] / py_uniform['evals_s']:.0f}x"
    )
    # 2. the rl.yaml network
    model = rl_model()
    lines.append(
        f"# rl.yaml network {model}, random weights; {args.net_games} games at once, "
        f"{args.net_visits} visits, stopped at {args.max_plies} plies"
    )
    net = NetworkEvaluator(random_snapshot(model))
    t = time.perf_counter()
    for b in sorted({1, 2, 4, 8, 16, 32, 64, args.net_games, args.net_games // 2}):  # compile before timing
        if b > 0:
            net.evaluate_planes(np.zeros((b, 112, 8, 8), np.float32))
    lines.append(f"# compile: {time.perf_counter() - t:.1f} s")
    nat_net = play_native(net, args.net_games, args.net_games, args.net_visits, args.max_plies, args.threads)
    lines.append(line("native engine, rl.yaml network", nat_net))
    if not args.skip_python_network:
        py_net = play(net, args.net_games // 4, args.net_games // 4, args.net_visits, args.max_plies)
        lines.append(line(f"python engine, rl.yaml network ({args.net_games // 4} games)", py_net))
        lines.append(
            f"native / python with the network: {nat_net['evals_s'] / py_net['evals_s']:.1f}x evals/s"
        )
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(f"$ python benchmarks/bench_selfplay.py {' '.join(sys.argv[1:])}\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
