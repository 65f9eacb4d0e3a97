"""train.jax refuses batches in another input format than its model's, before any step."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
from helpers import TINY_RESNET, make_batch

from lcpipe.lc0 import chunks
from lcpipe.lc0.tensors import frames_to_batch
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.channels import StreamChannel
from lcpipe.runtime.stage import InputPort, OutputPort, StageContext, StageFailed
from lcpipe.train.data_format import WrongInputFormat, check_input_format
from lcpipe.train.settings import normalize_settings
from lcpipe.train.train_stage import TrainStage


def test_real_data_batches_know_their_format(lc0_fixtures):
    for fmt in (1, 3, 5):
        frames = chunks.read_frames(lc0_fixtures / "lc0-selfplay" / f"selfplay-fmt{fmt}.tar")[:64]
        batch = frames_to_batch(frames)
        assert set(batch.input_formats.tolist()) == {fmt}
        check_input_format(batch, fmt)
        with pytest.raises(WrongInputFormat, match=rf"input format {fmt} \(64 of 64 positions\).*format 1"):
            check_input_format(batch, 1 if fmt != 1 else 5)


def test_a_batch_without_formats_passes():
    check_input_format(make_batch(4), 3)  # e.g. a Python source that does not record them


def test_the_stage_stops_at_the_first_wrong_batch_without_training(tmp_path):
    stop = threading.Event()
    train, out = StreamChannel("train", capacity=4), StreamChannel("weights", capacity=4)
    batch = make_batch(8)
    train.put(dataclasses.replace(batch, input_formats=np.full(8, 3, np.int32)))
    train.writer_done()
    config = normalize_settings({"model": TINY_RESNET, "input_format": 1, "total_steps": 2})
    ctx = StageContext(
        "trainer",
        "train.jax",
        config,
        {"train": InputPort("train", train, stop)},
        {"weights": OutputPort("weights", [out], stop)},
        EventBus(),
        stop,
        tmp_path,
    )
    with pytest.raises(StageFailed, match=r"trainer's 'train' input holds data in input format 3 \(8 of 8"):
        TrainStage(ctx).run()
    assert not (tmp_path / "checkpoints").exists() or not any(
        p.name.isdigit() and int(p.name) > 0 for p in (tmp_path / "checkpoints").iterdir()
    )
