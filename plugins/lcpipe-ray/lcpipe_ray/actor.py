"""The self-play actor: one native engine and one evaluator in a Ray worker process.

Plain class; the stage wraps it with ``ray.remote`` and its resource options.
A task (``play``) is a block of consecutive game ids; each game is yielded
as it finishes (a Ray streaming generator), so an actor that dies loses only
the games it had not finished.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class FinishedGame:
    """One game as it travels back to the head."""

    game_id: int
    network_step: int
    node: str
    actor_pid: int
    plies: int
    result_white: int
    termination: str
    game: object | None = None  # the NativeGame (write_on: head)
    path: str | None = None  # the chunk the actor wrote (write_on: actors)


class SelfPlayActor:
    """Plays blocks of games with the newest network it was handed.

    ``settings`` are the stage's engine settings with ``openings`` already read
    (a list of (FEN, moves)); ``use_gpu`` leaves JAX free to pick the GPU.
    """

    def __init__(self, settings: dict, use_gpu: bool):
        if not use_gpu:
            os.environ["JAX_PLATFORMS"] = "cpu"  # before JAX is imported in this process
        import ray

        from lcpipe.selfplay.evaluator import make_evaluator

        self.settings = settings
        self.node = ray.get_runtime_context().get_node_id()
        self.evaluator = make_evaluator(settings["bootstrap"])
        self.network_key: str | None = None  # the object store reference of the network in use

    def ready(self) -> tuple[str, int]:
        """(node id, process id): the actor is placed and its imports are done."""
        return self.node, os.getpid()

    def play(self, first_game: int, count: int, network: list, write_to: str | None):
        """Play games first_game .. first_game+count-1; yield a FinishedGame for each.

        ``network`` is [] (keep the bootstrap evaluator) or [ObjectRef of a
        NetworkSnapshot]: wrapped in a list so that Ray hands over the
        reference, and the snapshot is fetched only when it is a new one.
        """
        from lcpipe.selfplay.native import NativePool, write_native_game

        self._use(network)
        cfg = dict(self.settings, first_game=first_game, stop_after_games=count)
        fmt = self.evaluator.input_format
        if fmt:
            cfg["input_format"] = fmt  # the network's input format rules, as in selfplay.mcts
        pool = NativePool(cfg)
        step = int(self.evaluator.step)
        while not pool.exhausted:
            for game in pool.step(self.evaluator, step):
                if not game.records:
                    continue  # resigned before its first move: nothing to learn from
                done = FinishedGame(
                    game.game_id,
                    step,
                    self.node,
                    os.getpid(),
                    game.ply,
                    game.result_white,
                    game.termination,
                )
                if write_to is None:
                    done.game = game
                else:
                    path, _ = write_native_game(write_to, game, self.settings["chunk_prefix"])
                    done.path = str(Path(path))
                yield done

    def _use(self, network: list) -> None:
        if not network:
            return
        ref = network[0]
        key = ref.hex()
        if key == self.network_key:
            return
        import ray

        from lcpipe.selfplay.evaluator import NetworkEvaluator

        snapshot = ray.get(ref)
        if isinstance(self.evaluator, NetworkEvaluator):
            self.evaluator.load(snapshot)
        else:
            self.evaluator = NetworkEvaluator(snapshot)
        self.network_key = key


def as_numpy(tree):
    """A parameter tree with every leaf a numpy array (what travels through the object store)."""
    if isinstance(tree, dict):
        return {k: as_numpy(v) for k, v in tree.items()}
    return np.asarray(tree)
