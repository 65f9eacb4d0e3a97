"""The ``selfplay.ray`` stage: the head of a self-play fleet on a Ray cluster."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import ray

from lcpipe.runtime.stage import Stage
from lcpipe.selfplay.native import first_game_in, write_native_game
from lcpipe.selfplay.selfplay_stage import native_settings, poll_network
from lcpipe.types import NetworkSnapshot
from lcpipe_ray.actor import SelfPlayActor, as_numpy
from lcpipe_ray.fleet import Event, Fleet


def connect(address: str, object_store_mb: int) -> bool:
    """Join (or start) the cluster; True if this stage started the connection (and so ends it)."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address == "local":
        ray.init(
            object_store_memory=object_store_mb * 2**20 or None,
            include_dashboard=False,
            log_to_driver=False,
        )
    else:
        ray.init(address=address, log_to_driver=False)
    return True


def cluster_target(cpus_per_actor: float, gpus_per_actor: float) -> int:
    """How many actors the cluster's resources hold now (at least one: it waits for resources)."""
    res = ray.cluster_resources()
    n = int(res.get("CPU", 0) // cpus_per_actor)
    if gpus_per_actor > 0:
        n = min(n, int(res.get("GPU", 0) // gpus_per_actor))
    return max(1, n)


class RaySelfPlayStage(Stage):
    def run(self) -> None:
        ctx, cfg = self.ctx, self.config
        rcfg = cfg["ray"]
        self.out_dir = str(Path(cfg["out_dir"]).resolve())  # actors may run elsewhere: no relative paths
        self.prefix = cfg["chunk_prefix"]
        Path(self.out_dir).mkdir(parents=True, exist_ok=True)
        self.next_id = first_game_in(self.out_dir, self.prefix)
        if self.next_id:
            ctx.info(f"self-play continues at game {self.next_id} (games already in {self.out_dir})")
        engine = native_settings({k: v for k, v in cfg.items() if k != "ray"}, 0)
        engine["threads"] = int(cfg["threads"]) or max(1, int(rcfg["cpus_per_actor"]))
        owned = connect(rcfg["address"], int(rcfg["object_store_mb"]))
        actor_class = ray.remote(SelfPlayActor).options(
            num_cpus=rcfg["cpus_per_actor"], num_gpus=rcfg["gpus_per_actor"], max_restarts=0
        )
        self.fleet = Fleet(actor_class, (engine, rcfg["gpus_per_actor"] > 0), float(rcfg["start_timeout"]))
        self.ledger = open(rcfg["ledger"], "a", encoding="utf-8") if rcfg["ledger"] else None
        try:
            self._loop()
        finally:
            self.fleet.shutdown()
            if self.ledger:
                self.ledger.close()
            if owned:
                ray.shutdown()

    def _loop(self) -> None:
        ctx, cfg, rcfg = self.ctx, self.config, self.config["ray"]
        self.network: list = []  # [ObjectRef of the newest snapshot] once there is one
        self.last_good: tuple[list, int] = ([], -1)  # the newest network that produced a game, its step
        self.network_step = -1
        self.network_puts = 0
        self.bad_networks = 0
        self.network_closed = not ctx.has_input("network")
        self.written: set[int] = set()
        self.stats: Counter = Counter()
        self.results: Counter = Counter()
        self.nodes: set[str] = set()
        self.leased_on_network = 0
        self.first_id = self.next_id
        self.said_waiting = False
        self.replace_now = False  # an actor died: start its replacement without waiting for the next resize
        self.start = time.monotonic()
        per_network = int(cfg["games_per_network"])
        stop_after = int(cfg["stop_after_games"])
        resized_at = -1e9
        if cfg["wait_for_network"] and not self.network_closed:
            ctx.state("waiting", "for the first network")
            while not ctx.stopping and not self.network_closed and not self.network:
                self._poll_network(timeout=0.5)
        ctx.state("running", f"network step {self.network_step}")
        while not ctx.stopping:
            self._poll_network(timeout=0)
            if self.replace_now or time.monotonic() - resized_at > 5.0:  # follow the cluster's nodes
                target = int(rcfg["actors"]) or cluster_target(rcfg["cpus_per_actor"], rcfg["gpus_per_actor"])
                self.fleet.resize(target)
                resized_at, self.replace_now = time.monotonic(), False
            self._hand_out(per_network, stop_after)
            if stop_after and len(self.written) >= stop_after:
                break
            if not self.fleet.pending():
                self._wait_idle(per_network)
            for event in self.fleet.poll(timeout=0.2):
                if not self._handle(event):
                    self._finish()
                    return
            if ctx.every(float(cfg["metrics_every"])):
                self._report()
        self._finish()
        ctx.info(f"self-play finished: {len(self.written)} games from {len(self.nodes)} node(s)")

    def _hand_out(self, per_network: int, stop_after: int) -> None:
        """Give each idle actor a block of new game ids, within games_per_network and stop_after_games."""
        write_to = self.out_dir if self.config["ray"]["write_on"] == "actors" else None
        for member in self.fleet.idle():
            allowed = self._block(per_network)
            if per_network and not self.network_closed:
                allowed = min(allowed, per_network - self.leased_on_network)
            if stop_after:
                allowed = min(allowed, stop_after - len(self.written) - self.fleet.outstanding())
            if allowed <= 0:
                return
            self.fleet.start_task(member, self.next_id, allowed, self.network, self.network_step, write_to)
            self.next_id += allowed
            self.leased_on_network += allowed

    def _block(self, per_network: int) -> int:
        """Game ids for the next task: games_per_task, or parallel_games shared out so that every
        actor gets some of a network's games_per_network."""
        rcfg = self.config["ray"]
        if rcfg["games_per_task"]:
            return int(rcfg["games_per_task"])
        block = int(self.config["parallel_games"])
        if per_network and not self.network_closed:
            block = min(block, -(-per_network // max(1, len(self.fleet.members))))
        return block

    def _wait_idle(self, per_network: int) -> None:
        """No actor is starting or playing: games_per_network reached (or no actor yet); wait a little."""
        paced = per_network and self.leased_on_network >= per_network and not self.network_closed
        if paced and not self.said_waiting:  # said once per network
            self.said_waiting = True
            self.ctx.state(
                "waiting",
                f"for a network newer than step {self.network_step} ({per_network} games per network)",
            )
        if self.network_closed:
            self.ctx.sleep(0.2)
        else:
            self._poll_network(timeout=0.2)

    def _finish(self) -> None:
        """Final metrics: the games still being played when the stage stops are dropped."""
        self.stats["dropped"] += self.fleet.outstanding()
        for member in self.fleet.busy():
            member.task = None
        self._report()

    def _handle(self, event: Event) -> bool:
        """Act on one fleet event; False when the pipeline stops taking games."""
        ctx = self.ctx
        if event.kind == "actor_ready":
            ctx.info(f"actor ready on node {event.member.node[:12]} (pid {event.member.pid})")
        elif event.kind == "actor_died":
            lost = event.task.count - event.task.arrived if event.task else 0
            self.stats["dropped"] += lost
            self.replace_now = True
            ctx.warning(
                f"actor on node {event.member.node[:12] or '?'} died ({event.error}); "
                f"{lost} unfinished game(s) dropped, a new actor replaces it"
            )
        elif event.kind == "task_failed":
            self.stats["dropped"] += event.task.count - event.task.arrived if event.task else 0
            if event.task and event.task.network_step == self.network_step and self.network:
                self.bad_networks += 1
                ctx.warning(f"cannot use network step {self.network_step} on the actors: {event.error}")
                self.network, self.network_step = self.last_good  # keep playing with the previous one
            else:
                ctx.warning(f"self-play task failed: {event.error}")
        elif event.kind == "game":
            return self._write(event)
        return True

    def _write(self, event: Event) -> bool:
        done = event.game
        if done.game_id in self.written:
            self.stats["duplicates"] += 1  # cannot happen while ids are handed out once; counted if it does
            return True
        if done.path is None:
            path, _ = write_native_game(self.out_dir, done.game, self.prefix)
        else:
            path = Path(done.path)
        self.written.add(done.game_id)
        self.nodes.add(done.node)
        if event.task and event.task.network_step == self.network_step:
            self.last_good = (self.network, self.network_step)
        self.stats["plies"] += done.plies
        r = done.result_white
        self.results["white" if r > 0 else "black" if r < 0 else "draw"] += 1
        self.results[done.termination] += 1
        if self.ledger:
            line = {
                "game": done.game_id,
                "path": path.name,
                "node": done.node,
                "actor_pid": done.actor_pid,
                "network_step": done.network_step,
            }
            self.ledger.write(json.dumps(line) + "\n")
            self.ledger.flush()
        return self.ctx.output("paths").put(path)

    def _poll_network(self, timeout: float) -> None:
        """Put a newer network into the object store, once; the actors fetch it by reference."""
        snap = poll_network(self, timeout)
        if snap is None or int(snap.step) == self.network_step:
            return
        light = NetworkSnapshot(snap.step, snap.model, as_numpy(snap.params), snap.kind, snap.input_format)
        self.network = [ray.put(light)]
        self.network_puts += 1
        self.network_step = int(snap.step)
        self.leased_on_network = 0
        self.said_waiting = False
        self.ctx.info(f"self-play now uses network step {self.network_step} ({snap.kind})")
        self.ctx.state("running", f"network step {self.network_step}")

    def _report(self) -> None:
        games = len(self.written)
        n = max(games, 1)
        elapsed = max(time.monotonic() - self.start, 1e-9)
        self.ctx.metrics(
            {
                "selfplay/games": games,
                "selfplay/plies": self.stats["plies"],
                "selfplay/games_per_s": games / elapsed,
                "selfplay/plies_per_s": self.stats["plies"] / elapsed,
                "selfplay/avg_game_plies": self.stats["plies"] / n,
                "selfplay/white_wins": self.results["white"] / n,
                "selfplay/draws": self.results["draw"] / n,
                "selfplay/black_wins": self.results["black"] / n,
                "selfplay/adjudicated": self.results["max_plies"] / n,
                "selfplay/resigned": self.results["resign"] / n,
                "selfplay/network_step": self.network_step,
                "selfplay/bad_networks": self.bad_networks,
                "selfplay/actors": len(self.fleet.members),
                "selfplay/actor_failures": self.fleet.failures,
                "selfplay/games_dropped": self.stats["dropped"],
                "selfplay/game_ids": self.next_id - self.first_id,
                "selfplay/duplicates": self.stats["duplicates"],
                "selfplay/network_puts": self.network_puts,
                "selfplay/nodes": len(self.nodes),
            },
            step=games,
        )
