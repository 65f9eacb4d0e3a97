"""The ``selfplay.mcts`` stage: play, write one chunk per game, follow the newest network."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lcpipe.runtime.channels import ChannelClosed
from lcpipe.runtime.stage import Stage
from lcpipe.selfplay.evaluator import Evaluator, NetworkEvaluator, make_evaluator
from lcpipe.selfplay.game import GameConfig, GamePool
from lcpipe.selfplay.mcts import SEARCH_SETTINGS, SearchConfig
from lcpipe.selfplay.native import NativePool, first_game_in, read_openings, write_native_game
from lcpipe.selfplay.writer import write_game


def search_config(cfg: dict) -> SearchConfig:
    return SearchConfig(**{k: cfg[k] for k in SEARCH_SETTINGS})


def game_config(cfg: dict) -> GameConfig:
    keys = (
        "max_plies",
        "temperature",
        "temp_decay_plies",
        "temp_cutoff_ply",
        "temp_endgame",
        "resign_q",
        "resign_earliest_ply",
        "resign_playthrough",
        "adjudicate",
    )
    return GameConfig(**{k: cfg[k] for k in keys})


# settings only the native engine reads (their "off" values: None, 0, [], and syzygy_adjudicate's True)
NATIVE_ONLY = ("threads", "openings", "random_opening_plies", "syzygy_paths", "moves_left_slope")


def native_settings(cfg: dict, first_game: int) -> dict:
    """The native engine's settings: the stage's own, plus where numbering starts and the openings."""
    out = dict(cfg)
    out["first_game"] = first_game
    out["openings"] = read_openings(cfg["openings"]) if cfg["openings"] else None
    out["syzygy_paths"] = list(cfg["syzygy_paths"])
    return out


def poll_network(stage, timeout: float):
    """The snapshot on a self-play stage's ``network`` input within ``timeout``, or None; at the
    input's end sets ``stage.network_closed`` (then returns None at once)."""
    if stage.network_closed:
        return None
    try:
        return stage.ctx.input("network").get(timeout=timeout)
    except TimeoutError:
        return None
    except ChannelClosed:
        stage.network_closed = True
        return None


class SelfPlayStage(Stage):
    def run(self) -> None:
        ctx, cfg = self.ctx, self.config
        self.search = search_config(cfg)
        out_dir = cfg["out_dir"]
        prefix = cfg["chunk_prefix"]
        # a restarted run continues numbering (and so every game's random stream) after the games it wrote
        first_game = first_game_in(out_dir, prefix)
        self.engine_kind = cfg["engine"]
        self.pool: NativePool | GamePool
        # each engine's games have their own writer (both write V6 chunks)
        write: Callable[..., tuple[Path, np.ndarray]] = (
            write_native_game if self.engine_kind == "native" else write_game
        )
        if self.engine_kind == "native":
            self.pool = NativePool(native_settings(cfg, first_game))
        else:
            self.pool = GamePool(
                self.search,
                game_config(cfg),
                parallel=int(cfg["parallel_games"]),
                seed=int(cfg["seed"]),
                max_games=int(cfg["stop_after_games"]),
                first_game=first_game,
                groups=int(cfg["network_batches"]),
            )
            ignored = [k for k in NATIVE_ONLY if cfg[k] not in (None, 0, 0.0, [], True)]
            if ignored:
                ctx.warning(f"engine: python ignores {', '.join(ignored)} (native engine settings)")
        if first_game:
            ctx.info(f"self-play continues at game {first_game} (games already in {out_dir})")
        self.evaluator: Evaluator = make_evaluator(cfg["bootstrap"])
        self.network_closed = not ctx.has_input("network")
        self.games_at_load = 0  # pool.started when the current network was loaded
        self.waiting_for_network = False  # games_per_network reached: idle until a newer network
        self.bad_networks = 0
        self.start = time.monotonic()
        per_network = int(cfg["games_per_network"])
        if cfg["wait_for_network"] and not self.network_closed:
            ctx.state("waiting", "for the first network")
            while not ctx.stopping and not self.network_closed and self.evaluator.step < 0:
                self._poll(timeout=0.5)
        ctx.state("running", f"network step {self.evaluator.step}")
        while not ctx.stopping:
            self._poll(timeout=0)
            waiting = (
                per_network > 0
                and not self.network_closed
                and self.pool.started - self.games_at_load >= per_network
            )
            self.pool.allow_new = not waiting
            if not self.pool.running and not self.pool.can_start():
                if not waiting or (self.pool.max_games and self.pool.started >= self.pool.max_games):
                    break  # stop_after_games reached
                if not self.waiting_for_network:  # say so once, with metrics that count every game played
                    self.waiting_for_network = True
                    self._report()
                    ctx.state(
                        "waiting",
                        f"for a network newer than step {self.evaluator.step} "
                        f"({per_network} games per network)",
                    )
                self._poll(timeout=0.5)  # all games done: wait for a newer network
                continue
            for game in self.pool.step(self.evaluator, self.evaluator.step):
                if not game.records:
                    continue  # resigned before its first move: nothing to learn from
                path, _ = write(out_dir, game, prefix)
                if not ctx.output("paths").put(path):
                    self._report()
                    return
            if ctx.every(float(cfg["metrics_every"])):
                self._report()
        self._report()
        ctx.info(f"self-play finished: {self.pool.stats.games} games, {self.pool.stats.plies} plies")

    def _poll(self, timeout: float) -> None:
        """Take a newer network from the input, if there is one."""
        snap = poll_network(self, timeout)
        if snap is None:
            return
        try:
            if isinstance(self.evaluator, NetworkEvaluator):
                self.evaluator.load(snap)
            else:
                self.evaluator = NetworkEvaluator(snap)
        except Exception as exc:  # a snapshot that cannot be run: keep playing with the previous evaluator
            self.bad_networks += 1
            self.ctx.warning(f"cannot use network snapshot (step {getattr(snap, 'step', '?')}): {exc}")
            return
        fmt = self.evaluator.input_format
        if fmt and fmt != self.search.input_format:
            self.ctx.warning(
                f"network was trained on input format {fmt}; self-play switches from "
                f"{self.search.input_format} to {fmt}"
            )
            self.search.input_format = fmt
            if isinstance(self.pool, NativePool):
                self.pool.restart_search(fmt)
        self.games_at_load = self.pool.started
        self.waiting_for_network = False
        self.ctx.info(f"self-play now uses network step {self.evaluator.step} ({self.evaluator.kind})")
        self.ctx.state("running", f"network step {self.evaluator.step}")

    def _report(self) -> None:
        s = self.pool.stats
        elapsed = max(time.monotonic() - self.start, 1e-9)
        games = max(s.games, 1)
        values = {
            "selfplay/games": s.games,
            "selfplay/plies": s.plies,
            "selfplay/games_per_s": s.games / elapsed,
            "selfplay/plies_per_s": s.plies / elapsed,
            "selfplay/evals_per_s": s.evals / elapsed,
            "selfplay/avg_batch": s.evals / max(s.calls, 1),
            "selfplay/avg_game_plies": s.game_plies / games,
            "selfplay/white_wins": s.results["white"] / games,
            "selfplay/draws": s.results["draw"] / games,
            "selfplay/black_wins": s.results["black"] / games,
            "selfplay/adjudicated": s.terminations.get("max_plies", 0) / games,
            "selfplay/resigned": s.terminations.get("resign", 0) / games,
            "selfplay/network_step": self.evaluator.step,
            "selfplay/bad_networks": self.bad_networks,
        }
        if isinstance(self.pool, NativePool):
            # the engine's own timer: native search + encoding, against the stage's wall time
            values["selfplay/search_share"] = self.pool.engine.step_wall_s / elapsed
        self.ctx.metrics(values, step=s.games)
