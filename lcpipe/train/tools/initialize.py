"""`lcpipe train init`: the checkpoint a run starts from, random or from an lc0 network."""

from __future__ import annotations

from pathlib import Path

import yaml

from lcpipe.train.tools.errors import usage_error
from lcpipe.train.tools.networks import load_network, model_differences


def check_output_dir(out: str) -> Path:
    path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise usage_error(f"{out} exists and is not an empty directory")
    return path


def init_checkpoint(settings: dict, out: str, source: str | None = None, seed: int | None = None) -> dict:
    """Write step 0 (random weights from ``seed``) or the weights of ``source`` to ``out``.

    Returns {"model", "step", "notes"}: the model the checkpoint holds, which is the
    source network's when one is given (a note lists where it differs from the spec's)."""
    from lcpipe.train.trainer import Trainer

    path = check_output_dir(out)
    notes: list[str] = []
    if source is None:
        trainer = Trainer(settings)
        trainer.init(seed)
    else:
        snap = load_network(source)
        differs = model_differences(settings["model"], dict(snap.model))
        if differs:
            notes.append(f"the network's model differs from the spec's in: {'; '.join(differs)}")
        notes.extend(str(n) for n in (snap.extra or {}).get("notes", ()))
        trainer = Trainer({**settings, "model": dict(snap.model)})
        trainer.init_from_variables(snap.params, seed=seed, step=int(snap.step))
    extra = {"source": str(source)} if source else {}
    trainer.save(str(path), wait=True, extra=extra)
    trainer.close()
    return {"model": dict(trainer.model_config), "step": trainer.step_count, "notes": notes}


def continue_lines(stage: str, checkpoint: str, model: dict) -> str:
    """What to write in a spec (or on the command line) to train on from ``checkpoint``."""
    from lcpipe.model.config import model_defaults

    defaults = model_defaults()
    written = {k: v for k, v in model.items() if defaults.get(k) != v}  # defaults need not be written
    block = yaml.safe_dump({"model": written}, sort_keys=False, default_flow_style=False).rstrip()
    indented = "\n".join("      " + line for line in block.splitlines())
    return (
        "to train on from it, in the spec:\n"
        f"  {stage}:\n    with:\n      init_checkpoint: {checkpoint}\n      model: from_checkpoint\n"
        f"or on the command line:\n"
        f"  --set stages.{stage}.with.init_checkpoint={checkpoint} --set stages.{stage}.with.model=from_checkpoint\n"
        "the model it holds (settings other than the defaults; to write instead of from_checkpoint):\n"
        f"{indented}"
    )
