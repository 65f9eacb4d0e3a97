"""Position evaluators for the search: a network snapshot, or stand-ins.

Every evaluator maps encoded positions to (policy logits f32[B,1858],
WDL probabilities f32[B,3], moves left f32[B]). Planes are built exactly as
the trainer sees them (``lcpipe.lc0.tensors``), so a network plays on the
inputs it was trained on.

- ``UniformEvaluator``: equal priors, value 0; used until a network exists.
- ``MaterialEvaluator``: equal priors, value from the material balance; a
  cheap value-aware stand-in (tests, bootstrap without a network).
- ``NetworkEvaluator``: a ``NetworkSnapshot`` run with a jitted
  ``module.apply``. The compiled function is cached per model configuration;
  a new snapshot of the same configuration only swaps the parameters.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np

from lcpipe.lc0 import frames as fr
from lcpipe.lc0.encoder import Encoded, fill_frames
from lcpipe.lc0.tensors import aux_planes, planes_to_bits

NUM_MOVES = fr.NUM_MOVES
_MATERIAL = np.array([1.0, 3.0, 3.0, 5.0, 9.0], np.float32)


def encoded_to_planes(encoded: list[Encoded], input_format: int) -> np.ndarray:
    """Encoded positions -> f32[B,112,8,8], via frame records (the trainer's path)."""
    frames = fr.empty(len(encoded), 6)
    fill_frames(frames, encoded, input_format)
    out = np.empty((len(encoded), 112, 8, 8), np.float32)
    out[:, :104] = planes_to_bits(frames["planes"])
    out[:, 104:] = aux_planes(frames)
    return out


class Evaluator:
    """Base: subclasses implement ``evaluate_planes``."""

    name = "evaluator"
    step = -1  # network step in use (-1: no network)
    input_format: int | None = None  # the format a network was trained on (None: any)

    def __init__(self) -> None:
        self.evals = 0
        self.calls = 0

    def __call__(
        self, encoded: list[Encoded], input_format: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.evals += len(encoded)
        self.calls += 1
        return self.evaluate_planes(encoded_to_planes(encoded, input_format))

    def evaluate_planes(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def submit(self, encoded: list[Encoded], input_format: int) -> Any:
        """Start an evaluation; ``result(handle)`` waits for it (synchronous here)."""
        return self(encoded, input_format)

    def submit_planes(self, planes: np.ndarray) -> Any:
        """Start evaluating f32[B,112,8,8] planes (the native engine's batches); ``result`` waits."""
        self.evals += len(planes)
        self.calls += 1
        return self.evaluate_planes(planes)

    def result(self, handle: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return handle


class UniformEvaluator(Evaluator):
    """Equal priors, WDL (1/3, 1/3, 1/3) (q = 0), no moves-left estimate."""

    name = "uniform"

    def evaluate_planes(self, planes):
        b = len(planes)
        return (
            np.zeros((b, NUM_MOVES), np.float32),
            np.full((b, 3), 1 / 3, np.float32),
            np.zeros(b, np.float32),
        )


class MaterialEvaluator(Evaluator):
    """Equal priors; q = tanh(material difference / 5) for the side to move, no draws."""

    name = "material"

    def evaluate_planes(self, planes):
        b = len(planes)
        ours = planes[:, 0:5].sum(axis=(2, 3)) @ _MATERIAL
        theirs = planes[:, 6:11].sum(axis=(2, 3)) @ _MATERIAL
        q = np.tanh((ours - theirs) / 5.0)
        wdl = np.stack([(1 + q) / 2, np.zeros(b), (1 - q) / 2], axis=1).astype(np.float32)
        return np.zeros((b, NUM_MOVES), np.float32), wdl, np.zeros(b, np.float32)


_COMPILED: dict[str, Any] = {}
_COMPILED_LOCK = threading.Lock()


def _model_key(model: dict) -> str:
    return json.dumps(model, sort_keys=True, default=str)


def _compiled_apply(model: dict):
    """One jitted forward function per model configuration (shared by all evaluators)."""
    key = _model_key(model)
    with _COMPILED_LOCK:
        fn = _COMPILED.get(key)
        if fn is None:
            import jax
            import jax.numpy as jnp

            from lcpipe.model import build_model

            module = build_model(model)

            def forward(variables, planes):
                out = module.apply(variables, planes, train=False)
                logits = out["policy"]["vanilla"].astype(jnp.float32)
                wdl = jax.nn.softmax(out["value"]["winner"]["wdl"].astype(jnp.float32), axis=-1)
                ml = out.get("moves_left")
                ml = (
                    jnp.zeros(planes.shape[0], jnp.float32)
                    if ml is None
                    else ml.reshape(-1).astype(jnp.float32)
                )
                return logits, wdl, ml

            fn = _COMPILED[key] = jax.jit(forward)
        return fn


def _bucket(n: int) -> int:
    """Pad batches to a power of two: few shapes, few compilations."""
    size = 1
    while size < n:
        size *= 2
    return size


class NetworkEvaluator(Evaluator):
    """A NetworkSnapshot evaluated with JAX."""

    name = "network"

    def __init__(self, snapshot):
        super().__init__()
        self.model_key = ""
        self.load(snapshot)

    def load(self, snapshot) -> None:
        """Use ``snapshot``'s parameters (recompiles only for a new model configuration)."""
        import jax

        key = _model_key(snapshot.model)
        if key != self.model_key:
            self._fn = _compiled_apply(snapshot.model)
            self.model_key = key
        variables = snapshot.params
        if "params" not in variables:
            variables = {"params": variables}
        self._variables = jax.device_put(variables)
        self.step = int(snapshot.step)
        self.input_format = int(getattr(snapshot, "input_format", 1) or 1)
        self.kind = getattr(snapshot, "kind", "raw")

    def _dispatch(self, planes):
        b = len(planes)
        size = _bucket(b)
        if size != b:
            planes = np.concatenate([planes, np.zeros((size - b, *planes.shape[1:]), np.float32)])
        return self._fn(self._variables, planes), b  # jax dispatches asynchronously

    def result(self, handle):
        (logits, wdl, ml), b = handle
        return np.asarray(logits)[:b], np.asarray(wdl)[:b], np.asarray(ml)[:b]

    def evaluate_planes(self, planes):
        return self.result(self._dispatch(planes))

    def submit(self, encoded, input_format):
        """Start evaluating; the search can work on other games meanwhile."""
        self.evals += len(encoded)
        self.calls += 1
        return self._dispatch(encoded_to_planes(encoded, input_format))

    def submit_planes(self, planes):
        """Start evaluating planes; JAX runs while the native engine searches the next batch."""
        self.evals += len(planes)
        self.calls += 1
        return self._dispatch(planes)


def make_evaluator(kind: str) -> Evaluator:
    """A stand-in evaluator by name ("uniform" or "material")."""
    if kind == "uniform":
        return UniformEvaluator()
    if kind == "material":
        return MaterialEvaluator()
    raise ValueError(f"unknown evaluator {kind!r}; choose uniform or material")
