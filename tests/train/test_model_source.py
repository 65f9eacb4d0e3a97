"""model: from_checkpoint, and a model that differs from init_checkpoint's, at validate time."""

from __future__ import annotations

import pytest
from helpers import TINY_RESNET
from tools_spec import write_spec

from lcpipe.compiler import compile_file
from lcpipe.spec.errors import SpecErrors
from lcpipe.train.model_source import FROM_CHECKPOINT
from lcpipe.train.settings import normalize_settings
from lcpipe.train.trainer import Trainer


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("source") / "ckpt"
    trainer = Trainer({"model": TINY_RESNET, "checkpoint": {"async": False}})
    trainer.init()
    trainer.save(str(path), wait=True)
    trainer.close()
    return path


def test_a_different_model_lists_the_differing_keys_where_the_model_is_written(checkpoint, tmp_path):
    spec = write_spec(tmp_path, {**TINY_RESNET, "filters": 16, "moves_left": False})
    with pytest.raises(SpecErrors) as info:
        compile_file(spec, [f"stages.train.with.init_checkpoint={checkpoint}"])
    (error,) = info.value.errors
    assert error.path == ("stages", "train", "with", "model")
    assert error.mark is not None and error.mark.file == str(spec) and error.mark.line > 1
    assert "filters: 16 here, 8 in the checkpoint" in error.message
    assert "moves_left: False here, True in the checkpoint" in error.message
    assert "model: from_checkpoint" in error.hint


def test_from_checkpoint_takes_the_checkpoints_model(checkpoint, tmp_path):
    spec = write_spec(tmp_path, {**TINY_RESNET, "filters": 16})
    sets = [f"stages.train.with.init_checkpoint={checkpoint}", f"stages.train.with.model={FROM_CHECKPOINT}"]
    pipeline = compile_file(spec, sets)  # no error: the model comes from the checkpoint
    config = pipeline.graph.nodes["train"]["config"]
    settings = normalize_settings(config)
    assert settings["model"]["filters"] == 8 and settings["model"]["body"] == "resnet"
    trainer = Trainer(settings)  # what the train.jax stage does with init_checkpoint
    assert trainer.restore(str(checkpoint), weights_only=True) == 0


def test_from_checkpoint_needs_a_readable_init_checkpoint(tmp_path):
    spec = write_spec(tmp_path)
    with pytest.raises(SpecErrors, match="from_checkpoint needs init_checkpoint"):
        compile_file(spec, [f"stages.train.with.model={FROM_CHECKPOINT}"])
    with pytest.raises(SpecErrors, match="holds no checkpoint") as info:
        compile_file(spec, [f"stages.train.with.init_checkpoint={tmp_path / 'missing'}"])
    assert info.value.errors[0].path == ("stages", "train", "with", "init_checkpoint")
    with pytest.raises(ValueError, match="from_checkpoint needs init_checkpoint"):
        normalize_settings({"model": FROM_CHECKPOINT})


def test_regularisation_is_no_different_model(checkpoint, tmp_path):
    """dropout and stochastic_depth change how the network trains, not its weights: a checkpoint
    trained without them starts a run with them (at validate time and in the trainer)."""
    regularised = {**TINY_RESNET, "dropout": 0.1, "stochastic_depth": 0.2}
    spec = write_spec(tmp_path, regularised)
    pipeline = compile_file(spec, [f"stages.train.with.init_checkpoint={checkpoint}"])
    settings = normalize_settings(pipeline.graph.nodes["train"]["config"])
    assert settings["model"]["dropout"] == 0.1 and settings["model"]["stochastic_depth"] == 0.2
    assert Trainer(settings).restore(str(checkpoint), weights_only=True) == 0
