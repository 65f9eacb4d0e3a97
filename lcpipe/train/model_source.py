"""``model: from_checkpoint``: the trainer's model is the one ``init_checkpoint`` holds.

Pure Python (no jax, no orbax): ``lcpipe validate`` runs these checks. A checkpoint
step's metadata is the JSON file ``<dir>/<step>/meta/metadata`` the trainer writes
(through orbax's JsonSave); the newest step is the highest numbered directory.
"""

from __future__ import annotations

import json
from pathlib import Path

from lcpipe.model.config import network_differences
from lcpipe.model.config import normalize as normalize_model
from lcpipe.settings import Problem

FROM_CHECKPOINT = "from_checkpoint"


class ModelSourceError(ValueError):
    """init_checkpoint cannot give a model: no checkpoint there, or one without a model."""


def checkpoint_model(directory: str) -> dict:
    """The normalised model configuration recorded with the newest step of a checkpoint directory."""
    path = Path(directory)
    steps = (
        sorted((int(p.name) for p in path.iterdir() if p.name.isdigit()), reverse=True)
        if path.is_dir()
        else []
    )
    if not steps:
        raise ModelSourceError(f"{directory} holds no checkpoint")
    meta_file = path / str(steps[0]) / "meta" / "metadata"
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, ValueError) as exc:
        raise ModelSourceError(f"{directory}: cannot read step {steps[0]}'s metadata: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("model"), dict):
        raise ModelSourceError(f"{directory}: step {steps[0]} records no model configuration")
    return normalize_model(meta["model"])


def resolve_model(settings: dict) -> dict:
    """The settings with ``model: from_checkpoint`` replaced by init_checkpoint's model."""
    if settings.get("model") != FROM_CHECKPOINT:
        return settings
    if not settings.get("init_checkpoint"):
        raise ModelSourceError(
            "model: from_checkpoint needs init_checkpoint (the checkpoint to take it from)"
        )
    return {**settings, "model": checkpoint_model(settings["init_checkpoint"])}


def check_model_source(cfg: dict):
    """init_checkpoint exists and its model is the spec's (or the spec takes it: from_checkpoint).
    Paths relative to the trainer's settings."""
    source = cfg["init_checkpoint"]
    if cfg["model"] == FROM_CHECKPOINT and not source:
        yield Problem(
            ("model",),
            "model: from_checkpoint needs init_checkpoint",
            "set init_checkpoint to a checkpoint directory",
        )
        return
    if not source:
        return
    try:
        theirs = checkpoint_model(source)
    except ModelSourceError as exc:
        yield Problem(("init_checkpoint",), str(exc), "make it with lcpipe train init or lcpipe net import")
        return
    if cfg["model"] == FROM_CHECKPOINT:
        return
    try:
        ours = normalize_model(cfg["model"])
    except ValueError:
        return  # reported by the model's own checks
    differ = network_differences(ours, theirs)
    if differ:
        listed = "; ".join(f"{k}: {ours.get(k)!r} here, {theirs.get(k)!r} in the checkpoint" for k in differ)
        yield Problem(
            ("model",),
            f"init_checkpoint {source} holds a different model ({listed})",
            "write model: from_checkpoint to train the checkpoint's model, or migrate it to this one "
            "with lcpipe train migrate",
        )


def with_model(check):
    """A check of the model's settings: on init_checkpoint's model when the spec takes it from there
    (skipped when it cannot be read: check_model_source reports that)."""

    def run(cfg: dict):
        try:
            resolved = resolve_model(cfg)
        except ModelSourceError:
            return
        yield from check(resolved) or ()

    run.__name__ = check.__name__
    return run
