"""Players named on the command line: lc0 files and train.jax checkpoints load to the same network."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from arena_nets import MODEL, material_snapshot

from lcpipe.arena.networks import PlayerSpecError, load_snapshot
from lcpipe.cli.main import main


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from lcpipe.train.trainer import Trainer

    snap = material_snapshot(step=0)
    out = tmp_path_factory.mktemp("ckpt") / "ckpt"
    trainer = Trainer({"model": MODEL})
    trainer.init_from_variables(snap.params, step=300)
    trainer.save(str(out), wait=True)
    trainer.close()
    return out, snap


def test_checkpoint_loads_the_saved_weights(checkpoint):
    path, snap = checkpoint
    got = load_snapshot(path)
    assert got.step == 300 and got.model["body"] == "resnet" and got.model["filters"] == MODEL["filters"]
    want = jax.tree_util.tree_leaves_with_path(snap.params)
    have = dict(jax.tree_util.tree_leaves_with_path(got.params))
    assert len(have) == len(want)
    for key, leaf in want:
        np.testing.assert_array_equal(np.asarray(have[key]), leaf)


def test_match_with_a_checkpoint_and_an_lc0_file(checkpoint, nets, capsys):
    # (the weights themselves are compared above; here the checkpoint plays through the CLI)
    code = main(
        [
            "match",
            str(checkpoint[0]),
            str(nets["material"]),
            "--games",
            "2",
            "--visits",
            "4",
            "--max-plies",
            "20",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ckpt vs material: 2 games" in out and "pentanomial" in out


def test_unusable_player_specs(tmp_path):
    with pytest.raises(PlayerSpecError, match="not a train.jax checkpoint"):
        load_snapshot(tmp_path)
    bad = tmp_path / "x.pb.gz"
    bad.write_bytes(b"not a network")
    with pytest.raises(PlayerSpecError, match="cannot load the network"):
        load_snapshot(bad)
    other = tmp_path / "x.onnx"
    other.write_bytes(b"")
    with pytest.raises(PlayerSpecError, match=".pb.gz file or a train.jax checkpoint"):
        load_snapshot(other)
