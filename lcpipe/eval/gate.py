"""The eval.gate stage: every new network plays the current best; the ones that pass are promoted.

The first network becomes the best without playing (the ladder's anchor,
rating 0). Each later one plays ``games`` paired games against the best;
its score, Elo difference and 95% interval go to the bus as metrics and
into the ladder file. With ``promote: passed`` only a network whose score
reaches ``pass_score`` (and whose interval's lower end reaches
``pass_elo_low``, if set) becomes the new best and goes out on the output
ports (KataGo's gatekeeper); with ``promote: all`` every network does.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from lcpipe.arena.ladder import LadderError, read_ladder, write_ladder
from lcpipe.arena.match import MatchSettings, play_match
from lcpipe.arena.networks import PlayerSpecError, load_snapshot, search_player
from lcpipe.arena.openings import OpeningsError, load_openings
from lcpipe.runtime.stage import Stage, StageFailed
from lcpipe.types import ExportedNetwork, NetworkSnapshot

ELO_CAP = 1000.0  # a match where one side scored nothing has an infinite estimate; ladder and metrics cap it


def _capped(x: float) -> float:
    return max(-ELO_CAP, min(ELO_CAP, x)) if not math.isnan(x) else x


class _Contender:
    """A network with its evaluator and rating."""

    def __init__(self, network: ExportedNetwork, snapshot: NetworkSnapshot, rating: float):
        from lcpipe.selfplay.evaluator import NetworkEvaluator

        self.network = network
        self.snapshot = snapshot
        self.evaluator = NetworkEvaluator(snapshot)
        self.rating = rating

    @property
    def name(self) -> str:
        return Path(self.network.path).name


class GateStage(Stage):
    def run(self) -> None:
        ctx, cfg = self.ctx, self.config
        try:
            self.openings = load_openings(cfg["openings"] or None)
            self.match = MatchSettings(
                games=int(cfg["games"]),
                parallel=int(cfg["parallel_games"]),
                max_plies=int(cfg["max_plies"]),
                adjudicate=cfg["adjudicate"],
            )
        except (OpeningsError, ValueError) as exc:
            raise StageFailed(str(exc)) from None
        self.ladder_file = Path(cfg["ladder"])
        try:
            self.entries = read_ladder(self.ladder_file) if self.ladder_file.exists() else []
        except LadderError as exc:
            raise StageFailed(str(exc)) from None
        self.best = self._resume()
        if self.best is not None:
            self._promote(self.best)  # after a restart, self-play continues with the best network
        ctx.state("waiting", "for a network")
        for network in ctx.input("network"):
            snapshot = self._load(network)
            if snapshot is None:
                continue
            if self.best is None:
                self._anchor(network, snapshot)
            elif not self._gate(network, snapshot):
                break  # the pipeline is stopping

    # -- steps -----------------------------------------------------------------------
    def _resume(self) -> _Contender | None:
        for entry in reversed(self.entries):
            if entry.get("promoted") and Path(entry.get("network", "")).is_file():
                net = ExportedNetwork(Path(entry["network"]), int(entry["step"]))
                snapshot = self._load(net)
                if snapshot is not None:
                    self.ctx.info(
                        f"continuing the ladder: best network is {net.path} (rating {entry['rating']:+.1f})"
                    )
                    return _Contender(net, snapshot, float(entry["rating"]))
        return None

    def _load(self, network: ExportedNetwork) -> NetworkSnapshot | None:
        try:
            return load_snapshot(network.path)
        except PlayerSpecError as exc:
            self.ctx.warning(f"cannot gate {network.path}: {exc}")
            return None

    def _anchor(self, network: ExportedNetwork, snapshot: NetworkSnapshot) -> None:
        self.best = _Contender(network, snapshot, 0.0)
        self._record(
            {
                "network": str(network.path),
                "step": int(network.step),
                "rating": 0.0,
                "games": 0,
                "passed": True,
                "promoted": True,
            }
        )
        self.ctx.info(f"{network.path} is the first network: the anchor of the ladder (rating 0)")
        self.ctx.metrics({"gate/rating": 0.0, "gate/best_step": network.step}, step=network.step)
        self._promote(self.best)

    def _gate(self, network: ExportedNetwork, snapshot: NetworkSnapshot) -> bool:
        ctx, cfg, best = self.ctx, self.config, self.best
        assert best is not None  # the first network became the anchor before any gating
        cand = _Contender(network, snapshot, best.rating)
        visits = int(cfg["visits"])
        ctx.state("running", f"step {network.step} vs best step {best.network.step}")
        t0 = time.monotonic()
        engine = cfg["engine"]
        result = play_match(
            search_player(cand.evaluator, visits, cand.name, engine),
            search_player(best.evaluator, visits, best.name, engine),
            self.openings,
            self.match,
            should_stop=lambda: ctx.stopping,
        )
        if result.aborted:
            return False
        t = result.tally
        est = t.elo()
        pass_low = cfg["pass_elo_low"]
        passed = est.score >= float(cfg["pass_score"]) and (pass_low is None or est.low >= float(pass_low))
        promoted = passed or cfg["promote"] == "all"
        elo, low, high = _capped(est.elo), _capped(est.low), _capped(est.high)
        cand.rating = best.rating + elo
        self._record(
            {
                "network": str(network.path),
                "step": int(network.step),
                "opponent": str(best.network.path),
                "opponent_step": int(best.network.step),
                "games": t.games,
                "wins": t.wins,
                "draws": t.draws,
                "losses": t.losses,
                "pairs": list(t.pairs),
                "score": est.score,
                "elo": elo,
                "elo_low": low,
                "elo_high": high,
                "rating": cand.rating,
                "rating_low": best.rating + low,
                "rating_high": best.rating + high,
                "passed": passed,
                "promoted": promoted,
            }
        )
        ctx.metrics(
            {
                "gate/elo": elo,
                "gate/elo_low": low,
                "gate/elo_high": high,
                "gate/score": est.score,
                "gate/games": t.games,
                "gate/passed": int(passed),
                "gate/rating": cand.rating,
                "gate/seconds": time.monotonic() - t0,
                "gate/best_step": network.step if promoted else best.network.step,
            },
            step=network.step,
        )
        verdict = "promoted" if promoted else "refused"
        ctx.info(
            f"step {network.step} vs step {best.network.step}: +{t.wins} ={t.draws} -{t.losses}, "
            f"Elo {est.format()}: {'passed' if passed else 'failed'}, {verdict}"
        )
        if promoted:
            self.best = cand
            return self._promote(cand)
        return True

    def _record(self, entry: dict) -> None:
        entry["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.entries.append(entry)
        write_ladder(self.ladder_file, self.entries)

    def _promote(self, best: _Contender) -> bool:
        ctx = self.ctx
        ok = True
        if ctx.has_output("network"):
            ok = ctx.output("network").put(best.network) and ok
        if ctx.has_output("weights"):
            ok = ctx.output("weights").put(best.snapshot) and ok
        ctx.state("running", f"best: step {best.network.step}")
        return ok
