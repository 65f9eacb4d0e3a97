"""The Trainer: state, jitted train/eval steps, checkpoints, snapshots.

Independent of the pipeline runtime: build it from the settings dict, call
``init()`` (or ``init_from_variables``/``restore``), then ``step(batch)``.
Data parallel: a 1-D mesh over all devices (all processes' devices under
jax.distributed); batches are sharded on their first axis, the state is
replicated. Each process passes its own shard of the global batch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from lcpipe.model import build_model
from lcpipe.model import normalize as normalize_model
from lcpipe.model.config import network_differences
from lcpipe.train.augment import MirrorAugment
from lcpipe.train.checkpoints import STREAM_ITEM, checkpoint_weights, plain_tree
from lcpipe.train.device_peak import mfu
from lcpipe.train.losses import calibration_error, compute_losses, l2_penalty
from lcpipe.train.optim import build_optimizer
from lcpipe.train.schedules import make_schedule, make_temperature_schedule
from lcpipe.train.settings import normalize_settings
from lcpipe.types import Batch, NetworkSnapshot

# Trainer settings recorded in every checkpoint's meta, besides the model and precision.
RECORDED_SETTINGS = ("optimizer", "schedule", "loss_scale", "spike_guard", "seed")
BATCH_KEYS = ("inputs", "probabilities", "values", "opponent_idx", "next_idx", "weights")


class NonFiniteError(RuntimeError):
    """Too many consecutive steps with a non-finite loss or gradient."""


def batch_arrays(batch: Batch | dict) -> dict[str, np.ndarray]:
    """The numpy arrays of a Batch, missing optional fields filled (-1 / 1)."""
    get = batch.get if isinstance(batch, dict) else lambda k: getattr(batch, k, None)
    inputs = np.asarray(get("inputs"), np.float32)
    n = inputs.shape[0]
    out = {
        "inputs": inputs.reshape(n, 112, 8, 8),
        "probabilities": np.asarray(get("probabilities"), np.float32),
        "values": np.asarray(get("values"), np.float32),
    }
    for key in ("opponent_idx", "next_idx"):
        v = get(key)
        out[key] = np.full(n, -1, np.int32) if v is None else np.asarray(v, np.int32)
    w = get("weights")
    out["weights"] = np.ones(n, np.float32) if w is None else np.asarray(w, np.float32)
    return out


def host(a) -> np.ndarray:
    """A replicated (possibly multi-process) array as numpy: this process's copy."""
    if isinstance(a, jax.Array) and not a.is_fully_addressable:
        a = a.addressable_data(0)
    return np.asarray(jax.device_get(a))


def fetch(tree):
    return jax.tree.map(host, tree)


def _to_numpy_tree(tree):
    return fetch(plain_tree(tree))


BINS_SUFFIX = "_bins"  # evaluation metrics that are sums over the pass (calibration histograms)


class Trainer:
    def __init__(self, settings: dict | None = None, devices: list | None = None):
        self.settings = normalize_settings(settings)
        s = self.settings
        self.model = build_model(s["model"], s["precision"])
        self.model_config = self.model.cfg
        self.schedule = make_schedule(s["schedule"])
        self.policy_temperature = make_temperature_schedule(s["losses"])
        self.guard = s["spike_guard"] if s["spike_guard"]["enabled"] else None
        self._set_mesh(devices or jax.devices())
        self.accumulate = int(s["optimizer"]["accumulate"])
        self.f16 = s["precision"] == "float16"
        self.augment = MirrorAugment(s["input_format"], s["seed"]) if s["augment_mirror"] else None
        # Set by init()/restore(): the train state, the optimizer, compiled steps, the checkpoint manager.
        self.state: Any = None
        # The step this run started from: 0 for fresh weights, the checkpoint's step for
        # init_checkpoint / an imported lc0 net. Kept across resumes (checkpoint meta).
        self.start_step = 0
        self.tx: Any = None
        self._train_step: Any = None
        self._step_shape: tuple = ()
        self._eval_steps: dict[str, Any] = {}
        self._predict: Any = None
        self._ckpt: Any = None
        self.checkpoint_meta: dict = {}  # the meta of the checkpoint restored last
        self.compile_seconds = 0.0
        self.cost_analysis: dict = {}  # XLA's count for the compiled training step (flops: all devices)
        self._last_step_time: float | None = None
        self._rate_window: list[tuple[float, int]] = []
        # The device batch of the latest step, and the saved states of the weight stream's
        # consumers (train.swa, ...) that restore() found, by stage name.
        self.last_batch: dict | None = None
        self.restored_items: dict[str, Any] = {}
        self._copy: Any = None

    def _set_mesh(self, devices: list) -> None:
        self.devices = list(devices)
        self.mesh = Mesh(np.asarray(self.devices), ("data",))
        self.replicated = NamedSharding(self.mesh, P())
        self.data_sharding = NamedSharding(self.mesh, P("data"))

    def _fit_mesh(self, batch_size: int) -> None:
        """Single process, nothing compiled yet, batch not divisible by the devices: use the most
        devices that divide it (e.g. 3 cores and batch 256 -> 2 devices) instead of failing."""
        if jax.process_count() > 1 or self._train_step is not None:
            return
        per = batch_size // self.accumulate if batch_size % self.accumulate == 0 else 0
        if not per or per % len(self.devices) == 0:
            return
        n = max(d for d in range(1, len(self.devices) + 1) if per % d == 0)
        self._set_mesh(self.devices[:n])
        self._eval_steps = {}
        if self.state is not None:
            self.state = self._place(self.state)

    # ----- state -----------------------------------------------------------------
    def _fresh_state(self, variables, rng, step: int = 0) -> dict:
        params = variables["params"]
        self.tx = build_optimizer(self.settings["optimizer"], self.schedule, params)
        state = {
            "step": jnp.asarray(step, jnp.int32),
            "params": params,
            "batch_stats": variables.get("batch_stats", {}),
            "opt_state": self.tx.init(params),
            "rng": rng,
            "loss_scale": jnp.asarray(
                self.settings["loss_scale"]["initial"] if self.f16 else 1.0, jnp.float32
            ),
            "good_steps": jnp.zeros([], jnp.int32),
            "nan_consecutive": jnp.zeros([], jnp.int32),
            "nan_total": jnp.zeros([], jnp.int32),
        }
        if self.guard is not None:
            state.update(spike_guard_state(self.guard["window"]))
        return state

    def _place(self, state):
        return jax.device_put(state, self.replicated)

    def init(self, seed: int | None = None) -> None:
        """Fresh parameters from the seed."""
        seed = self.settings["seed"] if seed is None else seed
        key = jax.random.PRNGKey(seed)
        pkey, rng = jax.random.split(key)
        variables = jax.jit(
            lambda k: self.model.init(k, jnp.zeros((2, 112, 8, 8), jnp.float32), train=False)
        )(pkey)
        self.state = self._place(self._fresh_state(plain_tree(variables), rng))
        self.start_step = 0

    def init_from_variables(self, variables: dict, seed: int | None = None, step: int = 0) -> None:
        """Start from given weights ({"params": ..., "batch_stats": ...}, e.g. from the importer).

        ``step`` is where the step count carries on from (an imported net's training steps);
        the optimizer state is fresh, so the learning-rate schedule starts from its beginning.
        """
        self.init(seed)
        ref = plain_tree(self.state["params"])
        given = plain_tree(variables.get("params", variables))
        if jax.tree.structure(ref) != jax.tree.structure(given):  # type: ignore[operator]  # (jax stub)
            raise ValueError("given parameters do not match the model configuration's parameter tree")
        for a, b in zip(jax.tree.leaves(ref), jax.tree.leaves(given)):
            if tuple(a.shape) != tuple(np.shape(b)):
                raise ValueError(f"parameter shape mismatch: model {a.shape} vs given {np.shape(b)}")
        v = {"params": jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), given)}
        if variables.get("batch_stats"):
            v["batch_stats"] = jax.tree.map(
                lambda x: jnp.asarray(x, jnp.float32), plain_tree(variables["batch_stats"])
            )
        else:
            v["batch_stats"] = self.state["batch_stats"]
        self.state = self._place(self._fresh_state(v, self.state["rng"], int(step)))
        self.start_step = int(step)
        self._train_step = None

    @property
    def compiled(self) -> bool:
        """The train step is compiled (the first step compiles it: minutes for a large model)."""
        return self._train_step is not None

    @property
    def step_count(self) -> int:
        return int(host(self.state["step"]))

    # ----- the step ----------------------------------------------------------------
    def _loss_fn(self, params, batch_stats, batch, key, loss_scale, temperature):
        variables = {"params": params}
        if batch_stats:
            variables["batch_stats"] = batch_stats
        outputs, upd = self.model.apply(
            variables, batch["inputs"], train=True, mutable=["batch_stats"], rngs={"dropout": key}
        )
        loss, metrics = compute_losses(
            outputs, batch, self.settings["losses"], batch["weights"], policy_temperature=temperature
        )
        l2 = l2_penalty(params, self.settings["losses"])
        total = loss + l2
        metrics = dict(metrics, loss=total, l2=l2)
        return (total * loss_scale).astype(jnp.float32), (metrics, upd.get("batch_stats", {}))

    def _grads(self, state, batch, key, temp):
        grad_fn = jax.value_and_grad(self._loss_fn, has_aux=True)
        params, scale = state["params"], state["loss_scale"]
        if self.accumulate == 1:
            (_, (metrics, bstats)), grads = grad_fn(params, state["batch_stats"], batch, key, scale, temp)
            return grads, metrics, bstats
        a = self.accumulate
        micro = jax.tree.map(lambda x: x.reshape((a, x.shape[0] // a) + x.shape[1:]), batch)
        keys = jax.random.split(key, a)

        def body(carry, xs):
            gsum, bstats = carry
            mb, k = xs
            (_, (metrics, new_bs)), g = grad_fn(params, bstats, mb, k, scale, temp)
            return (jax.tree.map(jnp.add, gsum, g), new_bs), metrics

        zeros = jax.tree.map(jnp.zeros_like, params)
        (gsum, bstats), metrics = jax.lax.scan(body, (zeros, state["batch_stats"]), (micro, keys))
        grads = jax.tree.map(lambda g: g / a, gsum)
        return grads, jax.tree.map(jnp.mean, metrics), bstats

    def _apply_update(self, state, grads, bstats):
        """The optimizer update (only run for finite steps)."""
        updates, opt_state = self.tx.update(grads, state["opt_state"], state["params"])
        if "lr_multiplier" in state:  # halved by each spike-guard rollback
            updates = jax.tree.map(lambda u: u * state["lr_multiplier"], updates)
        params = optax.apply_updates(state["params"], updates)
        out = {"params": params, "opt_state": opt_state, "batch_stats": bstats}
        return out

    def _step_fn(self, state, batch):
        s = self.settings
        rng, key = jax.random.split(state["rng"])
        # annealed over the steps trained since the run's start, like the other step settings
        temp = self.policy_temperature(state["step"] - self.start_step)
        grads, metrics, bstats = self._grads(state, batch, key, temp)
        inv_scale = 1.0 / state["loss_scale"]
        grads = jax.tree.map(lambda g: g * inv_scale, grads)
        gnorm = optax.tree.norm(grads)
        finite = jnp.isfinite(gnorm) & jnp.isfinite(metrics["loss"])
        spike = jnp.zeros([], bool)
        if self.guard is not None:
            spike, guard_state = spike_check(state, self.guard, finite, metrics["loss"], gnorm)
        # A cond rather than per-leaf selects: skipped steps leave everything as it was, and
        # XLA compiles far fewer kernels (a select per leaf doubled the compile time).
        keys = ["params", "opt_state", "batch_stats"]
        new = dict(state)
        new.update(
            jax.lax.cond(
                finite & ~spike,
                lambda op: self._apply_update(*op),
                lambda op: {k: op[0][k] for k in keys},
                (state, grads, bstats),
            )
        )
        new["rng"] = rng
        new["step"] = state["step"] + 1
        new["nan_consecutive"] = jnp.where(finite, 0, state["nan_consecutive"] + 1)
        new["nan_total"] = state["nan_total"] + (~finite).astype(jnp.int32)
        if self.guard is not None:
            new.update(guard_state)
        if self.f16:
            good = jnp.where(finite, state["good_steps"] + 1, 0)
            grow = good >= s["loss_scale"]["period"]
            scale = jnp.where(
                finite,
                jnp.where(grow, state["loss_scale"] * 2, state["loss_scale"]),
                jnp.maximum(state["loss_scale"] / 2, 1.0),
            )
            new["loss_scale"], new["good_steps"] = scale, jnp.where(grow, 0, good)
        # The lr of this step's update: the schedule runs on the optimizer's own count of applied
        # updates (skipped steps and a start from init_checkpoint don't advance it), not on "step".
        lr = self.schedule(schedule_count(state["opt_state"]))
        if "lr_multiplier" in state:
            lr = lr * state["lr_multiplier"]
        metrics = dict(
            metrics,
            grad_norm=gnorm,
            lr=lr,
            skipped=(~finite).astype(jnp.float32),
            loss_scale=state["loss_scale"],
            policy_temperature=temp,
        )
        if self.guard is not None:
            metrics["spike_skipped"] = spike.astype(jnp.float32)
        return new, metrics

    def _compile(self, arrays):
        state_sh = jax.tree.map(lambda _: self.replicated, self.state)
        batch_sh = {k: self.data_sharding for k in arrays}
        fn = jax.jit(
            self._step_fn,
            in_shardings=(state_sh, batch_sh),
            out_shardings=(state_sh, self.replicated),
            donate_argnums=(0,),
        )
        t = time.perf_counter()
        compiled = fn.lower(self.state, arrays).compile()
        self.compile_seconds = time.perf_counter() - t
        self.cost_analysis = _cost(compiled)
        if "flops" in self.cost_analysis:  # XLA reports one partition of the SPMD program
            self.cost_analysis["flops"] = float(self.cost_analysis["flops"]) * len(self.devices)
        return compiled

    def device_batch(self, batch: Batch | dict, augment_at: int | None = None) -> dict:
        """Place this process's shard of a global batch on the mesh (training batches augmented)."""
        if _is_device_batch(batch):
            return batch  # type: ignore[return-value]  # a dict of jax arrays, already placed
        arrays = batch_arrays(batch)
        if augment_at is not None and self.augment is not None:
            arrays = self.augment(arrays, augment_at)
        n = arrays["inputs"].shape[0]
        self._fit_mesh(n)
        local_devices = len([d for d in self.devices if d.process_index == jax.process_index()])
        if n % (local_devices * self.accumulate):
            raise ValueError(
                f"batch size {n} is not divisible by local devices x accumulate "
                f"({local_devices} x {self.accumulate})"
            )
        if jax.process_count() > 1:
            return {
                k: jax.make_array_from_process_local_data(self.data_sharding, v) for k, v in arrays.items()
            }
        return jax.device_put(arrays, self.data_sharding)

    def step(self, batch: Batch | dict) -> dict:
        """One optimisation step. Returns metrics as device scalars (fetch lazily)."""
        if self.state is None:
            self.init()
        # the step this batch trains (a host read only when augmenting: it waits for the last step)
        arrays = self.device_batch(batch, self.step_count if self.augment is not None else None)
        shape = tuple(arrays["inputs"].shape)
        if self._train_step is None:
            self._train_step = self._compile(arrays)
            self._step_shape = shape
        elif shape != self._step_shape:  # e.g. the partial last batch of a pass: one program, one shape
            raise ValueError(
                f"a batch of {shape[0]} positions does not fit the training step, compiled for "
                f"batches of {self._step_shape[0]}: dropped"
            )
        self.state, metrics = self._train_step(self.state, arrays)
        self.last_batch = arrays
        now = time.perf_counter()
        self._rate_window.append((now, int(arrays["inputs"].shape[0])))
        self._rate_window = self._rate_window[-50:]
        return metrics

    def wait_until_ready(self) -> None:
        """Until every step dispatched so far has run on the devices."""
        jax.block_until_ready(self.state)

    def check_finite(self) -> None:
        limit = self.settings["max_nan_steps"]
        n = int(host(self.state["nan_consecutive"]))
        if limit and n >= limit:
            raise NonFiniteError(
                f"{n} consecutive training steps had a non-finite loss or gradient "
                f"(updates skipped; {int(host(self.state['nan_total']))} in total). "
                "Lower the learning rate, enable clipping or check the data."
            )

    @property
    def lr_multiplier(self) -> float:
        """The factor on the learning rate that spike-guard rollbacks have halved (1 without any)."""
        return float(host(self.state["lr_multiplier"])) if "lr_multiplier" in self.state else 1.0

    def rollback_due(self) -> bool:
        """spike_guard.rollback_after consecutive spikes are behind (a host sync: call it per step
        only when rollbacks are on)."""
        limit = self.guard["rollback_after"] if self.guard is not None else 0
        return bool(limit) and int(host(self.state["spike_consecutive"])) >= limit

    def rollback(self, directory: str) -> str:
        """Repeated spikes: restore the last checkpoint in ``directory`` (if any), halve the learning
        rate multiplier and write it into that checkpoint, so a restart keeps it. Returns what it did."""
        halved = self.lr_multiplier / 2
        compiled, shape = self._train_step, self._step_shape
        step = self.latest_checkpoint(directory)
        if step is None:
            done = "no checkpoint to restore: went on from the current weights"
        else:
            self.restore(directory, step)
            done = f"restored the checkpoint of step {step}"
        self.state = dict(self.state)
        self.state["lr_multiplier"] = self._place(jnp.asarray(halved, jnp.float32))
        self.state["spike_consecutive"] = self._place(jnp.zeros([], jnp.int32))
        self._train_step, self._step_shape = compiled, shape  # same program: the state's shape holds
        if step is not None:
            keep = {
                k: v
                for k, v in self.checkpoint_meta.items()
                if k not in ("model", "settings", "stream_items")
            }
            self.save(directory, wait=True, extra=keep, replace=True, items=self.restored_items)
        return f"{done} and halved the learning rate (multiplier now {halved:g})"

    def rates(self) -> dict[str, float]:
        w = self._rate_window
        if len(w) < 2 or w[-1][0] <= w[0][0]:
            return {}
        dt = w[-1][0] - w[0][0]
        rates = {"steps_per_s": (len(w) - 1) / dt, "positions_per_s": sum(n for _, n in w[1:]) / dt}
        flops = self.cost_analysis.get("flops")
        precision = self.settings["precision"]
        utilisation = mfu(float(flops), rates["steps_per_s"], self.devices, precision) if flops else None
        if utilisation is not None:  # an accelerator whose peak is known (device_peak.py)
            rates["mfu"] = utilisation
        return rates

    def weights_copy(self) -> dict:
        """A device copy of the raw weights and batch-norm statistics ({"params", "batch_stats"}):
        the next step donates the state's own buffers."""
        if self._copy is None:
            self._copy = jax.jit(lambda t: jax.tree.map(jnp.copy, t))
        return self._copy({"params": self.state["params"], "batch_stats": self.state["batch_stats"]})

    # ----- evaluation ------------------------------------------------------------------
    def weights(self):
        return self.state["params"]

    def _eval_fn(self, params, batch_stats, batch, temperature):
        variables = {"params": params}
        if batch_stats:
            variables["batch_stats"] = batch_stats
        outputs = self.model.apply(variables, batch["inputs"], train=False)
        loss, metrics = compute_losses(
            outputs,
            batch,
            self.settings["losses"],
            batch["weights"],
            with_bins=True,
            policy_temperature=temperature,
        )
        return dict(metrics, loss=loss)

    def evaluate(self, batches: Iterable) -> dict[str, float]:
        """Mean metrics over the batches; a value head's calibration error is that of the whole
        pass, not a mean of the batches' errors."""
        if "raw" not in self._eval_steps:
            self._eval_steps["raw"] = jax.jit(self._eval_fn)
        fn = self._eval_steps["raw"]
        params = self.weights()
        stats = self.state["batch_stats"]
        temp = self.policy_temperature(self.step_count - self.start_step)  # the targets trained on now
        sums: dict[str, Any] = {}
        count = 0
        for batch in batches:
            for k, v in fetch(fn(params, stats, self.device_batch(batch), temp)).items():
                sums[k] = sums[k] + v if k in sums else v
            count += 1
        if not count:
            return {}
        out = {k: float(v) / count for k, v in sums.items() if not k.endswith(BINS_SUFFIX)}
        for k, binned in sums.items():
            if k.endswith(BINS_SUFFIX):
                out[k[: -len(BINS_SUFFIX)]] = float(calibration_error(binned))
        return out

    def predict(self, inputs):
        """The model's outputs (inference mode) for planes [B,112,8,8]."""
        variables = {"params": self.weights()}
        if self.state["batch_stats"]:
            variables["batch_stats"] = self.state["batch_stats"]
        if self._predict is None:  # one compiled program rather than op-by-op dispatch
            self._predict = jax.jit(lambda v, x: self.model.apply(v, x, train=False))
        return self._predict(variables, jnp.asarray(inputs))

    def snapshot(self) -> NetworkSnapshot:
        variables = {"params": _to_numpy_tree(self.weights())}
        if self.state["batch_stats"]:
            variables["batch_stats"] = _to_numpy_tree(self.state["batch_stats"])
        return NetworkSnapshot(
            step=self.step_count,
            model=dict(self.model_config),
            params=variables,
            kind="raw",
            extra={"precision": self.settings["precision"]},
        )

    # ----- checkpoints -------------------------------------------------------------------
    def checkpointer(self, directory: str):
        if self._ckpt is None or self._ckpt[0] != directory:
            import orbax.checkpoint as ocp

            c = self.settings["checkpoint"]
            opts = ocp.CheckpointManagerOptions(
                max_to_keep=int(c["keep"]), enable_async_checkpointing=bool(c["async"]), create=True
            )
            self._ckpt = (directory, ocp.CheckpointManager(os.path.abspath(directory), options=opts))
        return self._ckpt[1]

    def save(
        self,
        directory: str,
        wait: bool = False,
        extra: dict | None = None,
        replace: bool = False,
        items: dict[str, Any] | None = None,
    ) -> None:
        """Checkpoint the whole state; ``extra`` is recorded in its meta (read back as ``checkpoint_meta``).

        ``replace``: a checkpoint of this step may exist already and is written anew. ``items``: the
        weight stream's consumers' states by stage name, saved in the same checkpoint."""
        import orbax.checkpoint as ocp

        mgr = self.checkpointer(directory)
        if replace:
            mgr.wait_until_finished()  # an async save of this step may still be in flight
            if self.step_count in mgr.all_steps():
                mgr.delete(self.step_count)
        meta = {
            **(extra or {}),
            "model": self.model_config,
            "precision": self.settings["precision"],
            "step": self.step_count,
            "start_step": self.start_step,
            **({"lr_multiplier": self.lr_multiplier} if self.guard is not None else {}),
            # what else shapes the state: lcpipe train describe rebuilds the optimizer from it
            "settings": {k: self.settings[k] for k in RECORDED_SETTINGS},
            "stream_items": sorted(items or {}),
        }
        saved = {STREAM_ITEM + name: ocp.args.StandardSave(tree) for name, tree in (items or {}).items()}
        mgr.save(
            self.step_count,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(self.state), meta=ocp.args.JsonSave(meta), **saved
            ),
        )
        if wait:
            mgr.wait_until_finished()

    def wait(self) -> None:
        if self._ckpt is not None:
            self._ckpt[1].wait_until_finished()

    def latest_checkpoint(self, directory: str) -> int | None:
        if not directory or not os.path.isdir(directory):
            return None
        return self.checkpointer(directory).latest_step()

    def restore(self, directory: str, step: int | None = None, weights_only: bool = False) -> int:
        """Exact resume (or, weights_only, a start from its weights). Returns the step."""
        import orbax.checkpoint as ocp

        mgr = self.checkpointer(directory)
        step = mgr.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {directory}")
        if self.state is None:
            self.init()
        if weights_only:
            meta = mgr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
        else:
            got = self._restore_state(mgr, step, directory)
            meta = got["meta"]
        # normalised: a checkpoint written before a model setting existed holds that setting's default
        if meta.get("model") and network_differences(
            normalize_model(dict(meta["model"])), dict(self.model_config)
        ):
            raise ValueError(f"checkpoint {directory} holds a different model configuration")
        if weights_only:  # fresh optimizer and schedule; the step count carries on
            weights = checkpoint_weights(directory, step)
            self.init_from_variables(weights, step=int(weights["step"]))
        else:
            self.state = got["state"]
            self.start_step = int(meta.get("start_step", 0))
        self.restored_items = {} if weights_only else self._restore_items(mgr, step, meta)
        self.checkpoint_meta = dict(meta)
        self._train_step = None
        return int(step)

    def _restore_items(self, mgr, step: int, meta: dict) -> dict[str, Any]:
        """The consumers' states the checkpoint holds, as numpy (each consumer places its own)."""
        import orbax.checkpoint as ocp

        names = list(meta.get("stream_items") or [])
        if not names:
            return {}
        got = mgr.restore(
            step, args=ocp.args.Composite(**{STREAM_ITEM + n: ocp.args.StandardRestore() for n in names})
        )
        return {n: fetch(got[STREAM_ITEM + n]) for n in names}

    def _restore_state(self, mgr, step: int, directory: str) -> dict:
        import orbax.checkpoint as ocp

        def restore(state: dict) -> dict:
            abstract = jax.tree.map(
                lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=self.replicated), state
            )
            return mgr.restore(
                step,
                args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()
                ),
            )

        try:
            return restore(self.state)
        except ValueError:
            # Written with other optional state (the spike guard on or off, averages kept in the
            # trainer before they were a stage): restore what the checkpoint holds; the rest
            # starts as a fresh run's.
            saved = _saved_state_keys(directory, step)
            if not saved or not set(saved) & {"params", "opt_state"}:
                raise
            keep = {k: v for k, v in self.state.items() if k in saved}
            abstract = jax.tree.map(
                lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=self.replicated), keep
            )
            with ocp.PyTreeCheckpointer() as ckptr:
                state = dict(
                    ckptr.restore(
                        os.path.join(os.path.abspath(directory), str(step), "state"),
                        args=ocp.args.PyTreeRestore(
                            item=abstract,
                            restore_args=ocp.checkpoint_utils.construct_restore_args(abstract),
                            partial_restore=True,
                        ),
                    )
                )
            meta = mgr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
            for key in self.state:
                if key not in state:
                    state[key] = jax.tree.map(jnp.array, self.state[key])
            return {"state": state, "meta": meta}

    def close(self) -> None:
        if self._ckpt is not None:
            self._ckpt[1].wait_until_finished()
            self._ckpt[1].close()
            self._ckpt = None


class IntervalMean:
    """Training metrics averaged over a reporting interval rather than one step's sample. The sums
    stay on the device (adds are dispatched asynchronously: no host sync per step); the learning
    rate and loss scale are reported as they are at the end of the interval."""

    LATEST = ("lr", "loss_scale")

    def __init__(self) -> None:
        self._sum: Any = None
        self._last: Any = None
        self.count = 0

    def add(self, metrics: dict) -> None:
        self._last = metrics
        self._sum = metrics if self._sum is None else jax.tree.map(jnp.add, self._sum, metrics)
        self.count += 1

    def take(self) -> dict[str, float]:
        """The means since the last take (nothing when no step was added)."""
        if not self.count:
            return {}
        sums, last, n = fetch(self._sum), fetch(self._last), self.count
        self._sum, self._last, self.count = None, None, 0
        return {k: float(last[k]) if k in self.LATEST else float(v) / n for k, v in sums.items()}


def spike_guard_state(window: int) -> dict:
    """The spike guard's part of the train state: the latest finite losses and gradient norms (nan =
    empty), where the next one goes, the spike counts and the learning-rate multiplier."""
    return {
        "spike_loss": jnp.full([window], jnp.nan, jnp.float32),
        "spike_gnorm": jnp.full([window], jnp.nan, jnp.float32),
        "spike_pos": jnp.zeros([], jnp.int32),
        "spike_consecutive": jnp.zeros([], jnp.int32),
        "spike_total": jnp.zeros([], jnp.int32),
        "lr_multiplier": jnp.ones([], jnp.float32),
    }


def spike_check(state: dict, guard: dict, finite, loss, gnorm):
    """Inside the step: is it a spike (loss or gradient norm above factor x the running median of the
    window, once min_history finite steps are in it), and the guard's new state. Every finite step
    enters the window, spikes too: a lasting change of level becomes the new median."""
    hist_loss, hist_gnorm = state["spike_loss"], state["spike_gnorm"]
    active = jnp.sum(jnp.isfinite(hist_loss)) >= guard["min_history"]
    factor = guard["factor"]
    spike = (
        finite
        & active
        & ((loss > factor * jnp.nanmedian(hist_loss)) | (gnorm > factor * jnp.nanmedian(hist_gnorm)))
    )
    pos = state["spike_pos"]
    out = {
        "spike_loss": jnp.where(finite, hist_loss.at[pos].set(loss), hist_loss),
        "spike_gnorm": jnp.where(finite, hist_gnorm.at[pos].set(gnorm), hist_gnorm),
        "spike_pos": jnp.where(finite, (pos + 1) % hist_loss.shape[0], pos),
        "spike_consecutive": jnp.where(spike, state["spike_consecutive"] + 1, 0),
        "spike_total": state["spike_total"] + spike.astype(jnp.int32),
    }
    return spike, out


def _saved_state_keys(directory: str, step: int) -> list[str]:
    """The top-level keys of the train state a checkpoint step holds."""
    import orbax.checkpoint as ocp

    with ocp.PyTreeCheckpointer() as ckptr:
        tree = ckptr.metadata(os.path.join(os.path.abspath(directory), str(step), "state")).item_metadata
    return list(tree.keys()) if hasattr(tree, "keys") else []


def schedule_count(opt_state):
    """The learning-rate schedule's step: the count of ``scale_by_lr`` in the optimizer state."""
    found = [
        leaf
        for leaf in jax.tree.leaves(opt_state, is_leaf=lambda x: isinstance(x, optax.ScaleByScheduleState))
        if isinstance(leaf, optax.ScaleByScheduleState)
    ]
    if len(found) != 1:
        raise ValueError(f"expected one learning-rate schedule in the optimizer state, found {len(found)}")
    return found[0].count


def _is_device_batch(batch) -> bool:
    return isinstance(batch, dict) and isinstance(batch.get("inputs"), jax.Array)


def _cost(compiled) -> dict:
    try:
        cost = compiled.cost_analysis()
        if isinstance(cost, list):
            cost = cost[0]
        return dict(cost or {})
    except Exception:  # cost analysis is optional on some backends
        return {}
