"""The train.jax stage: runs a Trainer on the pipeline's batches."""

from __future__ import annotations

import os
import time
from pathlib import Path

from lcpipe.runtime.channels import ChannelClosed
from lcpipe.runtime.stage import Stage, StageFailed
from lcpipe.train.throttle import StepThrottle, ThrottleError


def _init_distributed(cfg: dict) -> None:
    d = cfg["distributed"]
    if d["coordinator_address"] and int(d["num_processes"]) > 1:
        import jax

        jax.distributed.initialize(d["coordinator_address"], int(d["num_processes"]), int(d["process_id"]))


class TrainStage(Stage):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._shown_waiting = False  # the stage's state says it waits for self-play
        self._last_wait = 0.0

    def run(self) -> None:
        from lcpipe.train.trainer import NonFiniteError, Trainer, fetch

        ctx = self.ctx
        try:
            cfg_in = dict(ctx.config)
            _init_distributed({"distributed": {"coordinator_address": "", "num_processes": 1, "process_id": 0},
                               **cfg_in})
            trainer = Trainer(cfg_in)
        except ValueError as exc:
            raise StageFailed(f"train.jax settings: {exc}") from exc
        cfg = trainer.settings
        import jax

        ctx.info(f"training on {len(trainer.devices)} {jax.default_backend()} device(s)")
        ckdir = cfg["checkpoint"]["dir"] or str(Path(ctx.workdir) / "checkpoints")
        resumed = trainer.latest_checkpoint(ckdir) is not None
        if resumed:
            step = trainer.restore(ckdir)
            ctx.info(f"resumed from {ckdir} at step {step}")
        elif cfg["init_checkpoint"]:
            step = trainer.restore(cfg["init_checkpoint"], weights_only=True)
            ctx.info(f"initialised from the weights of {cfg['init_checkpoint']} (step {step}; the step count "
                     "carries on from there, optimizer and learning-rate schedule start afresh)")
        else:
            trainer.init()
        step = trainer.step_count
        # Step counts of the settings (total_steps, the intervals) are steps trained since the
        # run's start: 0, or init_checkpoint's step (an imported lc0 net keeps its training steps).
        origin = trainer.start_step
        last_saved, last_sent = step, step
        total = int(cfg["total_steps"])
        kinds = [k for k in cfg["export_kinds"] if k == "raw" or cfg[k]["enabled"]]
        check_every = max(1, min(int(cfg["metrics_every"]) or 1, int(cfg["max_nan_steps"]) or 1))
        throttle = StepThrottle(cfg["max_steps_per_game"], ctx.stop_event) if cfg["max_steps_per_game"] else None
        if resumed and trainer.checkpoint_meta.get("network_step") == step:
            # Exactly once: a network step's checkpoint is written before its network is handed
            # over, so the network may not have reached the exporter before the crash. Hand it over
            # again; the exporter skips a step already on disk.
            self._emit(trainer, kinds)

        def save_with_network(wait: bool = False) -> None:
            """Checkpoint the step and record it as a network step, before its network goes out."""
            nonlocal last_saved, last_sent
            trainer.save(ckdir, wait=wait, extra={"network_step": step})
            last_saved = last_sent = step

        try:
            for batch in ctx.input("train"):
                if ctx.stopping or (total and step - origin >= total):
                    break
                if throttle is not None and not self._admit(throttle, batch, step - origin + 1):
                    break
                try:
                    metrics = trainer.step(batch)
                except ValueError as exc:  # bad batch shape: count and skip
                    ctx.warning(f"skipped a batch: {exc}")
                    continue
                step += 1
                done = step - origin
                if done % check_every == 0:
                    trainer.check_finite()
                if cfg["metrics_every"] and done % cfg["metrics_every"] == 0:
                    values = {f"train/{k}": float(v) for k, v in fetch(metrics).items()}
                    values.update({f"train/{k}": v for k, v in trainer.rates().items()})
                    if throttle is not None:
                        values.update(throttle.metrics(done))
                    ctx.metrics(values, step)
                self._maybe_eval(trainer, "test", step, done)
                self._maybe_eval(trainer, "validation", step, done)
                network_due = bool(cfg["steps_per_network"]) and done % cfg["steps_per_network"] == 0
                if network_due or (total and done >= total):
                    save_with_network()
                    if not self._emit(trainer, kinds):
                        break
                elif cfg["checkpoint"]["every"] and done % cfg["checkpoint"]["every"] == 0:
                    trainer.save(ckdir, extra={"network_step": last_sent})
                    last_saved = step
                if total and done >= total:
                    break
        except StageFailed:
            trainer.close()
            raise
        except NonFiniteError as exc:
            if step != last_saved:  # keep the last good state for inspection
                trainer.save(ckdir, wait=True, extra={"network_step": last_sent})
            trainer.close()
            raise StageFailed(str(exc)) from exc
        # a --stop-after bound means "this many networks, not more": no extra one on such a stop
        final_network = step != last_sent and (not ctx.stopping or (cfg["export_on_stop"]
                                                                     and not ctx.stopped_by_bound))
        if final_network:
            save_with_network()
        elif step != last_saved:
            trainer.save(ckdir, extra={"network_step": last_sent})
        trainer.close()
        if final_network:
            self._emit(trainer, kinds, final=ctx.stopping)
        ctx.info(f"training stopped at step {step}")

    # A throttled trainer waits once per game or so: its state says "waiting" from
    # the first wait until it has trained this long without one (no flood of states).
    RUNNING_AFTER_S = 30.0

    def _admit(self, throttle: StepThrottle, batch, step: int) -> bool:
        """Holds step ``step`` until self-play delivered enough games; False when stopping."""

        def on_wait(games: int, needed: int) -> None:
            if not self._shown_waiting:
                self._shown_waiting = True
                self.ctx.state("waiting", f"for self-play games: {games} delivered, step {step} needs {needed} "
                                          f"(max_steps_per_game {throttle.ratio:g}; train/throttle_* metrics)")

        waits = throttle.waits
        try:
            ok = throttle.admit(step, batch, on_wait)
        except ThrottleError as exc:
            raise StageFailed(f"train.jax: {exc}") from exc
        now = time.monotonic()
        if throttle.waits != waits:
            self._last_wait = now
        elif self._shown_waiting and now - self._last_wait >= self.RUNNING_AFTER_S:
            self._shown_waiting = False
            self.ctx.state("running")
        return ok

    def _emit(self, trainer, kinds, final: bool = False) -> bool:
        """Hand the current weights over; ``final``: the last item of a stopping run."""
        ok = True
        out = self.ctx.output("weights")
        for kind in kinds:
            snap = trainer.snapshot(kind)
            snap.input_format = int(trainer.settings["input_format"])
            ok = (out.put_final(snap) if final else out.put(snap)) and ok
        return ok

    def _maybe_eval(self, trainer, port: str, step: int, done: int) -> None:
        cfg = trainer.settings
        every = int(cfg[f"{port}_every"])
        if not every or done % every or not self.ctx.has_input(port):
            return
        batches = []
        for _ in range(int(cfg[f"{port}_batches"])):
            try:
                batches.append(self.ctx.input(port).get(timeout=30.0))
            except (TimeoutError, ChannelClosed):
                break
        if not batches:
            return
        values = {f"{port}/{k}": v for k, v in trainer.evaluate(batches).items()}
        for kind in ("swa", "ema"):
            if cfg[kind]["enabled"]:
                values.update({f"{port}_{kind}/{k}": v for k, v in trainer.evaluate(batches, kind).items()})
        self.ctx.metrics(values, step)
