"""Disk per hour of a spec: the games self-play writes, the networks and checkpoints a trainer
leaves, and the training data a loader reads; from rates a calibration measures and from the
sizes the real writers produce (a game chunk, an exported network, the training state)."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HOUR = 3600.0


@dataclass
class DiskRate:
    stage: str
    what: str
    bytes_per_hour: float | None  # None: no rate measured (--no-calibrate)
    unit_bytes: float  # one file, position or checkpoint
    at_most: float | None = None  # what stays on disk when old files are deleted (keep settings)


def selfplay_bytes_per_position(settings: dict, games: int = 4, max_plies: int = 40) -> float:
    """Bytes on disk per position of the chunks a self-play stage writes: ``games`` short games
    played by the native engine with the stage's settings (its visits set how many moves a policy
    target holds) and written by its chunk writer. The material evaluator plays them: fast, and
    the size depends on the search's visits, not on the network's values."""
    from lcpipe.selfplay.evaluator import MaterialEvaluator
    from lcpipe.selfplay.native import NativePool, write_native_game
    from lcpipe.selfplay.selfplay_stage import native_settings

    short = {"parallel_games": games, "max_plies": max_plies, "stop_after_games": games}
    pool = NativePool({**native_settings(settings, first_game=0), **short})
    positions = written = 0
    with tempfile.TemporaryDirectory() as tmp:
        for game in pool.play(MaterialEvaluator()):
            path, frames = write_native_game(tmp, game)
            written += path.stat().st_size
            positions += len(frames)
    return written / max(positions, 1)


def data_bytes_per_position(directory: str, files: int = 16) -> float | None:
    """Bytes on disk per position of the data in ``directory`` (its first ``files`` data files);
    None when it holds none (yet)."""
    from lcpipe.lc0.chunks import iter_games
    from lcpipe.lc0.data_files import data_files

    try:
        found = data_files([directory])[:files]
    except ValueError:
        return None
    size = sum(f.path.stat().st_size for f in found)
    positions = sum(len(frames) for f in found for _, frames in iter_games(f.path))
    return size / positions if positions else None


def network_file_bytes(model: dict, encoding: str) -> int:
    """The size of an exported .pb.gz of ``model`` in ``encoding``, at most: a network with random
    weights written by the exporter (trained weights compress better, by about a fifth)."""
    from lcpipe.nets.export import snapshot_to_net
    from lcpipe.train.random_snapshot import random_snapshot

    net, _ = snapshot_to_net(random_snapshot(model, seed=0, step=0), encoding)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.pb.gz"
        net.write(path)
        return path.stat().st_size


def selfplay_plies_per_s(settings: dict, model: dict | None, seconds: float) -> float:
    """Plies per second of the native self-play engine with the stage's settings, evaluating with a
    network of ``model`` (random weights: the same work as a trained one) or the uniform evaluator.
    The first batches (the evaluator compiles) are not timed."""
    from lcpipe.selfplay.evaluator import NetworkEvaluator, UniformEvaluator
    from lcpipe.selfplay.native import NativePool
    from lcpipe.selfplay.selfplay_stage import native_settings
    from lcpipe.train.random_snapshot import random_snapshot

    pool = NativePool({**native_settings(settings, first_game=0), "stop_after_games": 0})
    evaluator = NetworkEvaluator(random_snapshot(model, seed=0, step=0)) if model else UniformEvaluator()
    for _ in range(2 * pool.groups):  # every group's batch through the compiled network once
        pool.step(evaluator)
    plies, start = pool.engine.plies, time.monotonic()
    while time.monotonic() - start < seconds:
        pool.step(evaluator)
    return (pool.engine.plies - plies) / max(time.monotonic() - start, 1e-9)


@dataclass
class TrainerSpeed:
    """A train.jax stage as planned: its settings, batch, checkpoint size and measured speed."""

    stage: str
    settings: dict
    batch: int
    state_bytes: int  # the checkpointed state: parameters, optimizer, the averages' copies
    steps_per_s: float | None  # None: not calibrated


def _per_hour(rate: float | None, unit: float) -> float | None:
    return None if rate is None else rate * HOUR * unit


def _trainer_of(graph, node: str) -> str | None:
    import networkx as nx

    found = [n for n in nx.ancestors(graph, node) if graph.nodes[n]["use"] == "train.jax"]
    return sorted(found)[0] if found else None


def _train_sampling_rate(pipeline, trainer: str, source: str) -> float:
    """The sampling rate of the loader.unpack between ``source`` and the trainer's train input
    (each trained position is sampled from 1/rate read); 1 without one."""
    import networkx as nx

    graph = pipeline.graph
    feeds = [link.src for link in pipeline.links() if link.dst == trainer and link.dst_port == "train"]
    if not feeds:
        return 1.0
    between = (nx.ancestors(graph, feeds[0]) | {feeds[0]}) & nx.descendants(graph, source)
    rates = [
        float(graph.nodes[u]["config"]["sampling_rate"])
        for u in between
        if graph.nodes[u]["use"] == "loader.unpack"
    ]
    return min(rates, default=1.0)


def disk_rates(pipeline, trainers: dict[str, TrainerSpeed], selfplay_seconds: float | None) -> list[DiskRate]:
    """What each stage writes (and a supervised loader reads) per hour. ``selfplay_seconds``: time
    each self-play stage plays to measure its rate (None: sizes only). Rates are each stage's alone:
    self-play and training share the machine in a run, and a trainer paced by self-play
    (max_steps_per_game) makes fewer networks and checkpoints."""
    import networkx as nx

    graph = pipeline.graph
    nodes = graph.nodes
    some_trainer = next(iter(trainers.values()), None)
    out: list[DiskRate] = []
    for name in nodes:
        use, cfg = nodes[name]["use"], nodes[name]["config"]
        if use == "selfplay.mcts":
            rate = None
            if selfplay_seconds is not None and cfg["engine"] == "native":
                model = some_trainer.settings["model"] if some_trainer else None
                rate = selfplay_plies_per_s(cfg, model, selfplay_seconds)
            size = selfplay_bytes_per_position(cfg)
            measured = "" if rate is None else f"{rate:,.0f} positions/s (self-play alone) x "
            what = f"games: {measured}{size:,.0f} bytes per position ({cfg['visits']} visits, gzip'd chunks)"
            out.append(DiskRate(name, what, _per_hour(rate, size), size))
        elif use == "export.lc0":
            trainer = trainers.get(_trainer_of(graph, name) or "")
            if trainer is None:
                continue
            size = network_file_bytes(trainer.settings["model"], cfg["encoding"])
            files = max(1, graph.in_degree(name))  # one network per source per network step
            every = int(trainer.settings["steps_per_network"])
            rate = trainer.steps_per_s / every * files if trainer.steps_per_s and every else None
            keep = int(cfg["keep_last"])
            what = (
                f"networks: {files} x {size / 2**20:,.2f} MiB at most ({cfg['encoding']}) every {every} steps"
            )
            out.append(
                DiskRate(name, what, _per_hour(rate, size), size, keep * files * size if keep else None)
            )
        elif use == "loader.watch" and selfplay_seconds is not None:
            data_size = data_bytes_per_position(cfg["dir"])
            for t in sorted(nx.descendants(graph, name)):
                speed = trainers[t].steps_per_s if t in trainers else None
                if not speed:
                    continue
                read = speed * trainers[t].batch / _train_sampling_rate(pipeline, t, name)
                what = f"data read for {t}: {read:,.0f} positions/s"
                if data_size is None:
                    what += f" (no data in {cfg['dir']} yet to size them)"
                rate = _per_hour(read, data_size) if data_size else None
                out.append(DiskRate(name, what, rate, data_size or 0.0))
    for trainer in trainers.values():
        ck = trainer.settings["checkpoint"]
        periods = [int(ck["every"]), int(trainer.settings["steps_per_network"])]  # and at each network
        per_step = sum(1 / e for e in periods if e)
        rate = trainer.steps_per_s * per_step if trainer.steps_per_s and per_step else None
        what = f"checkpoints: {trainer.state_bytes / 2**20:,.2f} MiB each"
        out.append(
            DiskRate(
                trainer.stage,
                what,
                _per_hour(rate, trainer.state_bytes),
                trainer.state_bytes,
                int(ck["keep"]) * trainer.state_bytes,
            )
        )
    return out
