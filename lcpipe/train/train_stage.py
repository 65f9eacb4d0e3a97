"""The train.jax stage: runs a Trainer on the pipeline's batches."""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path

from lcpipe.runtime.channels import ChannelClosed
from lcpipe.runtime.stage import Stage, StageFailed
from lcpipe.train.lockstep import DATA_ENDED, GO_ON, STOPPED, STOPPED_BY_BOUND, WHY, PeerLost
from lcpipe.train.throttle import StepThrottle, ThrottleError

# Words in jaxlib's errors of a collective or barrier whose peer process is gone.
PEER_FAILURE_MARKERS = ("Gloo", "Connection reset", "heartbeat", "Barrier failed", "UNAVAILABLE")


def is_peer_failure(exc: BaseException) -> bool:
    text = str(exc)
    return any(marker in text for marker in PEER_FAILURE_MARKERS)


def describe_devices(devices: list) -> str:
    """What the trainer runs on, in words: "8 gpu devices (NVIDIA H200)", ", process 0 of 2"."""
    import jax

    platform = devices[0].platform if devices else jax.default_backend()
    kinds = sorted({str(getattr(d, "device_kind", platform)) for d in devices} - {platform})
    text = f"{len(devices)} {platform} device{'s' if len(devices) != 1 else ''}"
    if kinds:  # an accelerator's model (a CPU device's kind is just "cpu")
        text += f" ({', '.join(kinds)})"
    if jax.process_count() > 1:
        text += f", process {jax.process_index()} of {jax.process_count()}"
    return text


class TrainStage(Stage):
    """Trains on the ``train`` batches, emits networks, takes a client's train_now / export_now.

    Progress (step, of total, next network, steps/s) goes out through ``ctx.progress`` at
    most every PROGRESS_EVERY_S, and at every network step.
    """

    PROGRESS_EVERY_S = 0.25
    # Without a batch for this long the state says the trainer waits for its data.
    DATA_WAIT_S = 2.0
    # A throttled trainer waits once per game or so: its state says "waiting" from
    # the first wait until it has trained this long without one (no flood of states).
    RUNNING_AFTER_S = 30.0

    def __init__(self, ctx):
        super().__init__(ctx)
        self._shown_waiting = False  # the stage's state says it waits for self-play
        self._shown_data_wait = False  # ... or for its first batches
        self._last_wait = 0.0
        self._last_progress = 0.0
        self._loss: float | None = None
        self.throttle: StepThrottle | None = None
        # Where the train stream stands after the last batch trained (or rejected): recorded in
        # every checkpoint, {"stream": "stage.port", "next_batch": N}; empty for a source that
        # does not number its batches.
        self.data_position: dict = {}
        self._resume_data: dict = {}  # the restored position, until the stream has been moved there
        self._skip_below: int | None = None  # batches numbered below this were trained before the restart
        self.stream = None  # the weight stream to train.swa / train.ema (the steps output), if connected
        self.lockstep = None  # the processes' agreement before each step (lcpipe.train.lockstep)
        self._agreed_stop = GO_ON  # what the processes agreed on when training ended
        # Time the loop waited for a train batch since the last metrics (from the first batch on:
        # filling the pool is not the trainer starving); as a share of the time, the
        # train/input_wait_share metric says whether the loader keeps the device fed.
        self._input_wait = 0.0
        self._input_wait_since: float | None = None

    def run(self) -> None:
        try:
            self._train()
        except PeerLost as exc:
            raise StageFailed(str(exc)) from exc
        except StageFailed:
            raise
        except Exception as exc:  # a collective that broke surfaces wherever the host next waits on it
            if self.lockstep is not None and self.lockstep.active and is_peer_failure(exc):
                raise StageFailed(str(self.lockstep.lost(exc))) from exc
            raise

    def _train(self) -> None:
        from lcpipe.train.lockstep import Lockstep
        from lcpipe.train.trainer import IntervalMean, NonFiniteError, Trainer

        ctx = self.ctx
        try:
            trainer = Trainer(dict(ctx.config))
        except ValueError as exc:
            raise StageFailed(f"train.jax settings: {exc}") from exc
        cfg = trainer.settings
        import jax

        ctx.info(f"training on {describe_devices(trainer.devices)}")
        cpu_asked = os.environ.get("JAX_PLATFORMS", "").strip().lower() == "cpu"
        if jax.default_backend() == "cpu" and not cpu_asked and shutil.which("nvidia-smi"):
            ctx.warning(
                "this machine has an NVIDIA GPU but JAX trains on the CPU: set up JAX's CUDA build "
                "(make setup JAX=cuda12, see README), or set JAX_PLATFORMS=cpu to keep the CPU quietly"
            )
        self.lockstep = lockstep = Lockstep()
        if lockstep.active and cfg["max_steps_per_game"]:
            raise StageFailed(
                "train.jax: max_steps_per_game paces training by self-play's games, which only process 0 "
                "sees: set it to 0 in a multi-process run (docs/scaling.md)"
            )
        self.trainer = trainer
        self.ckdir = ckdir = cfg["checkpoint"]["dir"] or str(Path(ctx.workdir) / "checkpoints")
        resumed = trainer.latest_checkpoint(ckdir) is not None
        if resumed:
            step = trainer.restore(ckdir)
            ctx.info(f"resumed from {ckdir} at step {step}")
            self.data_position = dict(trainer.checkpoint_meta.get("loader") or {})
            self._resume_data = dict(self.data_position)
        elif cfg["init_checkpoint"]:
            step = trainer.restore(cfg["init_checkpoint"], weights_only=True)
            ctx.info(
                f"initialised from the weights of {cfg['init_checkpoint']} (step {step}; the step count "
                "carries on from there, optimizer and learning-rate schedule start afresh)"
            )
        else:
            trainer.init()
        self.step = step = trainer.step_count
        if ctx.has_output("steps"):
            from lcpipe.train.weight_stream import WeightStream

            self.stream = WeightStream(ctx.output("steps"))
            self._call_stream(self.stream.open, trainer)
            self._call_stream(self.stream.restore, trainer, trainer.restored_items if resumed else {})
        # Step counts of the settings (total_steps, the intervals) are steps trained since the
        # run's start: 0, or init_checkpoint's step (an imported lc0 net keeps its training steps).
        self.origin = origin = trainer.start_step
        self.last_saved = self.last_sent = step
        self.total = total = int(cfg["total_steps"])
        rollback = cfg["spike_guard"]["rollback_after"] if cfg["spike_guard"]["enabled"] else 0
        check_every = max(1, min(int(cfg["metrics_every"]) or 1, int(cfg["max_nan_steps"]) or 1))
        throttle = (
            StepThrottle(cfg["max_steps_per_game"], ctx.stop_event) if cfg["max_steps_per_game"] else None
        )
        self.throttle = throttle
        # a network of the newest step went out (or goes out now): export_now has nothing to add
        self.network_out = resumed and trainer.checkpoint_meta.get("network_step") == step
        if self.network_out:
            # Exactly once: a network step's checkpoint is written before its network is handed
            # over, so the network may not have reached the exporter before the crash. Hand it over
            # again; the exporter skips a step already on disk.
            self._emit(trainer)

        try:
            interval = IntervalMean()  # metrics_every steps' mean
            batches = self._agreed(self._batches()) if lockstep.active else self._batches()
            for batch in batches:
                # (several processes: a stop was agreed on before this batch came)
                if (ctx.stopping and not lockstep.active) or (total and self.step - origin >= total):
                    break
                if throttle is not None and not self._admit(throttle, batch, self.step - origin + 1):
                    break
                compiling = not trainer.compiled
                if compiling:  # says why a trainer that has its data shows no step yet
                    ctx.state("starting", "compiling the training step")
                try:
                    metrics = trainer.step(batch)
                except ValueError as exc:  # bad batch shape: count and skip
                    if lockstep.active:  # the other processes train this step: no skipping alone
                        if is_peer_failure(exc):
                            raise
                        raise StageFailed(
                            f"train.jax: {exc}; a multi-process run cannot skip a batch (give the "
                            "loader.batch stage drop_last: true)"
                        ) from exc
                    ctx.warning(f"skipped a batch: {exc}")
                    self._consumed(batch)
                    continue
                finally:
                    if compiling:
                        ctx.state("running")
                self._consumed(batch)
                interval.add(metrics)
                self.step = step = self.step + 1
                if self.stream is not None and not self.stream.step(trainer, step):
                    break
                done = step - origin
                if done % check_every == 0:
                    trainer.check_finite()
                if rollback and trainer.rollback_due():
                    restores = trainer.latest_checkpoint(ckdir) is not None
                    ctx.warning(
                        f"{rollback} consecutive loss spikes at step {step}: {trainer.rollback(ckdir)}"
                    )
                    if restores and self.stream is not None:  # the averages go back with the weights
                        self._call_stream(self.stream.restore, trainer, trainer.restored_items)
                    # back at a step already checkpointed (and evaluated, emitted): on with the next batch
                    self.step = self.last_saved = trainer.step_count
                    if not self._take_commands():
                        break
                    continue
                if cfg["metrics_every"] and done % cfg["metrics_every"] == 0:
                    values = {f"train/{k}": v for k, v in interval.take().items()}
                    values.update({f"train/{k}": v for k, v in trainer.rates().items()})
                    values["train/input_wait_share"] = self._take_input_wait()
                    if throttle is not None:
                        values.update(throttle.metrics(done))
                    ctx.metrics(values, step)
                    self._loss = values.get("train/loss")
                self._maybe_eval(trainer, "test", step, done)
                self._maybe_eval(trainer, "validation", step, done)
                network_due = bool(cfg["steps_per_network"]) and done % cfg["steps_per_network"] == 0
                self._progress(force=network_due or bool(total and done >= total))
                if network_due or (total and done >= total):
                    self._save_with_network()
                    if not self._emit(trainer):
                        break
                elif cfg["checkpoint"]["every"] and done % cfg["checkpoint"]["every"] == 0:
                    self._save(extra=self._meta(self.last_sent))
                    self.last_saved = step
                if total and done >= total:
                    break
                if not self._take_commands():
                    break
        except StageFailed:
            trainer.close()
            raise
        except NonFiniteError as exc:
            if self.step != self.last_saved:  # keep the last good state for inspection
                self._save(wait=True, extra=self._meta(self.last_sent))
            trainer.close()
            raise StageFailed(str(exc)) from exc
        step = self.step
        stopping, by_bound = ctx.stopping, ctx.stopped_by_bound
        if lockstep.active:  # every process decides alike: the saves below are collective
            stopping = self._agreed_stop in (STOPPED, STOPPED_BY_BOUND)
            by_bound = self._agreed_stop == STOPPED_BY_BOUND
        # a --stop-after bound means "this many networks, not more": no extra one on such a stop
        final_network = step != self.last_sent and (not stopping or (cfg["export_on_stop"] and not by_bound))
        if final_network:
            self._save_with_network()
        elif step != self.last_saved:
            self._save(extra=self._meta(self.last_sent))
        trainer.close()
        if final_network:
            self._emit(trainer, final=stopping)
        ctx.info(f"training stopped at step {step}")

    def _save_with_network(self) -> None:
        """Checkpoint the step and record it as a network step, before its network goes out.

        A plain checkpoint of this very step (checkpoint.every, then export_now) is replaced:
        its meta must say the network went out, or a restart would not hand it over again."""
        self._save(extra=self._meta(self.step), replace=self.last_saved == self.step)
        self.last_saved = self.last_sent = self.step
        self.network_out = True

    def _save(self, **kwargs) -> None:
        """Checkpoint the trainer with the states of its weight stream's consumers (a barrier: each
        answers its state after the same step), so that a resume restores both at one step."""
        items = None
        if self.stream is not None:
            # The consumers' answers may run programs that reduce over the trainer's devices (an
            # average's batch-norm statistics): none may run beside a train step's collectives
            # (XLA:CPU deadlocks, in no fixed order), so the steps dispatched so far end first, and
            # the trainer dispatches nothing until every answer is in.
            self.trainer.wait_until_ready()
            items = self._call_stream(self.stream.states, self.step)
        self.trainer.save(self.ckdir, items=items, **kwargs)

    def _call_stream(self, method, *args):
        from lcpipe.train.weight_stream import StreamError

        try:
            return method(*args)
        except StreamError as exc:
            raise StageFailed(f"train.jax: {exc}") from exc

    def _meta(self, network_step: int) -> dict:
        """What a checkpoint records beside the trainer state: the network step and the data position."""
        meta: dict = {"network_step": network_step}
        if self.data_position:
            meta["loader"] = dict(self.data_position)
        return meta

    def _consumed(self, batch) -> None:
        """``batch`` is done with (trained, or rejected for good): the stream goes on after it."""
        if batch.seq is None or batch.stream is None:
            self.data_position = {}
        else:
            self.data_position = {"stream": batch.stream.name, "next_batch": int(batch.seq) + 1}

    def _resumed_batch(self, batch) -> bool:
        """Moves a resumed run's stream to the checkpoint's position (on its first batch); False
        for a batch the run trained on before the restart."""
        want = self._resume_data
        if want:
            self._resume_data = {}
            stream = batch.stream
            if stream is None or batch.seq is None:
                self.ctx.warning(
                    "the checkpoint records where the data stream stood, but the train input does not "
                    "number its batches (not a loader.batch stage): the data starts from its beginning"
                )
                self._skip_below = None
            elif stream.not_reproducible:
                self.ctx.info(
                    f"data stream {stream.name} goes on with the data at hand: it is not reproducible "
                    f"({stream.not_reproducible})"
                )
                self._skip_below = None
            elif stream.name != want.get("stream"):
                self.ctx.warning(
                    f"the checkpoint's data position is in stream {want.get('stream')!r}, the train "
                    f"input is now {stream.name!r}: the data starts from its beginning"
                )
                self._skip_below = None
            else:
                self._skip_below = int(want["next_batch"])
                stream.seek(self._skip_below)
                self.ctx.info(f"data stream {stream.name} resumes at batch {self._skip_below}")
        return self._skip_below is None or batch.seq is None or batch.seq >= self._skip_below

    def _agreed(self, batches):
        """The batches, each once every process has its own and none wants to stop; the stop
        agreed on is kept in _agreed_stop (several processes only)."""
        assert self.lockstep is not None
        source = iter(batches)
        while True:
            batch = next(source, None)
            if self.ctx.stopping:
                wish = STOPPED_BY_BOUND if self.ctx.stopped_by_bound else STOPPED
            else:
                wish = DATA_ENDED if batch is None else GO_ON
            agreed, who = self.lockstep.agree(wish)
            if agreed != GO_ON:
                self._agreed_stop = agreed
                if who != self.lockstep.index:
                    self.ctx.info(f"process {who}: {WHY[agreed]}; every process stops at step {self.step}")
                return
            yield batch

    def _batches(self):
        """The train port's batches (on a resume, from the checkpoint's data position on); while
        none comes, the client's commands are still taken and, after DATA_WAIT_S, the state says
        the trainer waits for its data."""
        port = self.ctx.input("train")
        waiting_since = time.monotonic()
        asked = time.perf_counter()
        while True:
            try:
                batch = port.get(timeout=0.2)
            except TimeoutError:
                if not self._take_commands():
                    return
                if self.ctx.stopping and self.lockstep is not None and self.lockstep.active:
                    return  # tell the other processes now, not once the loader has wound down
                if not self._shown_data_wait and time.monotonic() - waiting_since >= self.DATA_WAIT_S:
                    self._shown_data_wait = True
                    self.ctx.state(
                        "waiting",
                        "for training batches (the loader fills its pool, or self-play "
                        "has not delivered games yet)",
                    )
                continue
            except ChannelClosed:
                return
            if self._shown_data_wait:
                self._shown_data_wait = False
                self.ctx.state("running")
            if not self._resumed_batch(batch):
                continue
            self._check_format(batch, "train")
            got = time.perf_counter()
            if self._input_wait_since is None:
                self._input_wait_since = got
            else:
                self._input_wait += got - asked
            yield batch
            waiting_since = time.monotonic()
            asked = time.perf_counter()

    def _take_input_wait(self) -> float:
        """The share of the time since the last call that the loop waited for a train batch."""
        now = time.perf_counter()
        since, self._input_wait_since = self._input_wait_since, now
        waited, self._input_wait = self._input_wait, 0.0
        return waited / (now - since) if since is not None and now > since else 0.0

    # -- progress and commands -----------------------------------------------------
    def _next_network(self) -> int | None:
        """The step of the next network: the next multiple of steps_per_network, or the end."""
        spn = int(self.trainer.settings["steps_per_network"])
        done = self.step - self.origin
        ends = [self.total] if self.total else []
        if spn:
            ends.append((done // spn + 1) * spn)
        return self.origin + min(ends) if ends else None

    def _progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < self.PROGRESS_EVERY_S:
            return
        self._last_progress = now
        self.ctx.progress(
            self.step,
            self.origin + self.total if self.total else None,
            self._next_network(),
            self.trainer.rates().get("steps_per_s"),
            self._loss,
        )

    def _take_commands(self) -> bool:
        """Carry out the client commands sent since the last call; False if an emit saw the stop."""
        ok = True
        for command in self.ctx.take_commands():
            if command == "export_now":
                ok = self._export_now() and ok
            elif command == "train_now":
                self._train_now()
        return ok

    def _export_now(self) -> bool:
        """A network of the current weights through the periodic path (checkpointed as a network
        step first, so it goes out exactly once across a restart)."""
        if self.step == self.last_sent and self.network_out:
            self.ctx.info(f"export_now: the network of step {self.step} is out already")
            return True
        if self.lockstep is not None and self.lockstep.active:  # its checkpoint would be process 0's alone
            self.ctx.warning(
                "export_now: not available in a multi-process run; networks come every steps_per_network"
            )
            return True
        self._save_with_network()
        self.ctx.info(f"export_now: network of step {self.step}")
        self._progress(force=True)
        return self._emit(self.trainer)

    def _train_now(self) -> None:
        """Let the rest of this round (up to the next network) train without waiting for games."""
        if self.throttle is None:
            self.ctx.info("train_now: nothing holds training back (max_steps_per_game is 0)")
            return
        done = self.step - self.origin
        until = (self._next_network() or self.origin + done + math.ceil(self.throttle.ratio)) - self.origin
        granted = self.throttle.grant_until(until)
        self.ctx.info(
            f"train_now: steps up to {self.origin + until} train without waiting for self-play "
            f"({granted} granted ahead of the games)"
            if granted
            else f"train_now: the games delivered already cover the steps up to {self.origin + until}"
        )

    def _admit(self, throttle: StepThrottle, batch, step: int) -> bool:
        """Holds step ``step`` until self-play delivered enough games; False when stopping."""

        def on_wait(games: int, needed: int) -> None:
            self._progress(force=True)
            if not self._shown_waiting:
                self._shown_waiting = True
                more = needed - games
                self.ctx.state(
                    "waiting",
                    f"for {more} more game{'s' if more != 1 else ''} from self-play "
                    f"({games} of {needed} for step {step})",
                )

        waits = throttle.waits
        try:
            ok = throttle.admit(step, batch, on_wait, on_poll=self._take_commands)
        except ThrottleError as exc:
            raise StageFailed(f"train.jax: {exc}") from exc
        now = time.monotonic()
        if throttle.waits != waits:
            self._last_wait = now
        elif self._shown_waiting and now - self._last_wait >= self.RUNNING_AFTER_S:
            self._shown_waiting = False
            self.ctx.state("running")
        return ok

    def _emit(self, trainer, final: bool = False) -> bool:
        """Hand the current weights over (and tell the weight stream's averages to emit theirs);
        ``final``: the last item of a stopping run."""
        ok = True
        if self.ctx.has_output("weights"):
            out = self.ctx.output("weights")
            snap = trainer.snapshot()
            snap.input_format = int(trainer.settings["input_format"])
            ok = out.put_final(snap) if final else out.put(snap)
        if self.stream is not None:
            ok = self.stream.network(trainer.step_count, final) and ok
        # several processes: a stop is acted on at the next agreement, by all of them
        return ok or (self.lockstep is not None and self.lockstep.active)

    def _check_format(self, batch, port: str) -> None:
        from lcpipe.train.data_format import WrongInputFormat, check_input_format

        try:
            check_input_format(batch, int(self.trainer.settings["input_format"]), self.ctx.name, port)
        except WrongInputFormat as exc:
            raise StageFailed(str(exc)) from None

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
            self._check_format(batches[-1], port)
        if self.lockstep is not None and self.lockstep.active:  # the evaluation is collective too
            batches = batches[: self.lockstep.fewest(len(batches))]
        if not batches:
            return
        values = {f"{port}/{k}": v for k, v in trainer.evaluate(batches).items()}
        self.ctx.metrics(values, step)
