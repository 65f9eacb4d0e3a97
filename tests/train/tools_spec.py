"""A small spec for the training tools' tests: synthetic lc0 games (input format 1) read back by
the reference loader as training and test batches, a tiny residual net, recording sinks."""

from __future__ import annotations

from pathlib import Path

import yaml

TINY_RESNET_MODEL = {
    "body": "resnet",
    "filters": 8,
    "blocks": 1,
    "se_ratio": 2,
    "value_channels": 4,
    "value_hidden": 8,
    "moves_left_channels": 2,
    "moves_left_hidden": 8,
}


def write_spec(directory: Path, model: dict | None = None) -> Path:
    spec = {
        "lcpipe": 1,
        "name": "tools-test",
        "vars": {"run": str(directory / "run")},
        "stages": {
            "games": {
                "use": "data.generate",
                "with": {"out_dir": "${run}/games", "games": 8, "seed": 3, "max_plies": 40},
            },
            "batches": {
                "use": "data.batches",
                "from": "games",
                "with": {"batch_size": 32, "shuffle_buffer": 64, "seed": 1},
            },
            "test_batches": {
                "use": "data.batches",
                "from": "games",
                "with": {"batch_size": 32, "shuffle_buffer": 0, "seed": 2},
            },
            "train": {
                "use": "train.jax",
                "from": {"train": "batches", "test": "test_batches"},
                "with": {
                    "cpu_devices": 1,
                    "test_batches": 2,
                    "checkpoint": {"dir": "${run}/checkpoints"},
                    "model": dict(model or TINY_RESNET_MODEL),
                },
            },
            "metrics": {"use": "sink.jsonl", "with": {"path": "${run}/metrics.jsonl"}},
            "tb": {"use": "sink.tensorboard", "with": {"dir": "${run}/tb"}},
        },
    }
    path = directory / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
