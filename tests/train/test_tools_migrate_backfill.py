"""`lcpipe train migrate` and `backfill` on real checkpoints of a tiny net."""

from __future__ import annotations

import json

import numpy as np
from helpers import make_batch
from tools_spec import TINY_RESNET_MODEL, write_spec

from lcpipe.cli.main import main
from lcpipe.exit_codes import EXIT_OK
from lcpipe.train.checkpoints import checkpoint_snapshot
from lcpipe.train.trainer import Trainer

RELU = {**TINY_RESNET_MODEL, "activation": "relu"}


def _outputs(directory, inputs):
    snap = checkpoint_snapshot(directory)
    trainer = Trainer({"model": snap.model})
    trainer.init_from_variables(snap.params)
    return trainer.predict(inputs)


def test_migrate_adds_and_drops_heads_and_deepens_keeping_what_is_unchanged(tmp_path, capsys):
    spec = write_spec(tmp_path, RELU)
    source, out = tmp_path / "source", tmp_path / "migrated"
    assert main(["train", "init", str(spec), str(source)]) == EXIT_OK
    changed = [
        "--set", "stages.train.with.model.value_heads=[winner, q]",
        "--set", "stages.train.with.model.moves_left=false",
        "--set", "stages.train.with.model.blocks=2",
        "--set", "stages.train.with.optimizer.name=sgd",
    ]  # fmt: skip
    assert main(["train", "migrate", str(spec), str(source), str(out), *changed]) == EXIT_OK
    text = capsys.readouterr().out
    assert "re-initialised:" in text and "value_q" in text and "body/block_1" in text
    assert "dropped:" in text and "moves_left" in text
    assert "new residual blocks start as the identity" in text
    inputs = make_batch(8, seed=5).inputs
    before, after = _outputs(source, inputs), _outputs(out, inputs)
    # the unchanged heads compute exactly what they did: the new block adds nothing under relu
    np.testing.assert_array_equal(
        np.asarray(before["policy"]["vanilla"]), np.asarray(after["policy"]["vanilla"])
    )
    np.testing.assert_array_equal(
        np.asarray(before["value"]["winner"]["wdl"]), np.asarray(after["value"]["winner"]["wdl"])
    )
    assert "q" in after["value"] and "moves_left" not in after
    assert main(["train", "describe", str(out)]) == EXIT_OK
    assert "optimizer: sgd" in capsys.readouterr().out


def test_migrate_widens_by_copying_the_overlap(tmp_path, capsys):
    spec = write_spec(tmp_path)
    source, out = tmp_path / "source", tmp_path / "wide"
    assert main(["train", "init", str(spec), str(source)]) == EXIT_OK
    assert (
        main(
            [
                "train",
                "migrate",
                str(spec),
                str(source),
                str(out),
                "--set",
                "stages.train.with.model.value_hidden=12",
            ]
        )
        == EXIT_OK
    )
    assert "resized (overlap copied): " in capsys.readouterr().out
    old, new = checkpoint_snapshot(source).params["params"], checkpoint_snapshot(out).params["params"]
    kernel_old, kernel_new = old["value_winner"]["dense1"]["kernel"], new["value_winner"]["dense1"]["kernel"]
    assert kernel_new.shape == (kernel_old.shape[0], 12)
    np.testing.assert_array_equal(kernel_new[:, :8], kernel_old)


def test_backfill_writes_each_checkpoints_metrics_at_its_step(tmp_path, capsys):
    spec = write_spec(tmp_path)
    ckpts = tmp_path / "older"
    trainer = Trainer({"model": TINY_RESNET_MODEL, "checkpoint": {"async": False}})
    trainer.init()
    trainer.save(str(ckpts), wait=True)
    for _ in range(2):
        trainer.step(make_batch(32, seed=1))
    trainer.save(str(ckpts), wait=True)
    trainer.close()
    assert main(["train", "backfill", str(spec), str(ckpts), "--batches", "1"]) == EXIT_OK
    assert "wrote the metrics of 2 checkpoints to metrics, tb" in capsys.readouterr().out
    run = tmp_path / "run"
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    records = {r["step"]: r["values"] for r in lines if r["kind"] == "metrics" and r["stage"] == "train"}
    assert sorted(records) == [0, 2]
    assert records[0]["test/loss"] != records[2]["test/loss"]
    assert "test/policy_accuracy" in records[2]
    assert list((run / "tb").iterdir())  # TensorBoard's events file, by the spec's own sink
