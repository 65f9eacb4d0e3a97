"""`lcpipe net average` of train.jax checkpoints goes through the exporter, as `net export` does."""

from __future__ import annotations

import numpy as np

from lcpipe.cli.main import main as run_cli
from lcpipe.nets.export import snapshot_to_net
from lcpipe.nets.layers import max_error
from lcpipe.nets.lc0net import read_net
from lcpipe.nets.schema import Enc
from lcpipe.train.trainer import Trainer

TINY_RESNET = dict(body="resnet", filters=8, blocks=1, se_ratio=2, value_channels=4, value_hidden=8)


def test_average_of_two_checkpoints_equals_the_average_of_their_exports(tmp_path, capsys):
    exported = []
    for seed in (1, 2):
        trainer = Trainer({"model": dict(TINY_RESNET)})
        trainer.init(seed)
        trainer.save(str(tmp_path / f"ckpt{seed}"), wait=True)
        exported.append(dict(snapshot_to_net(trainer.snapshot(), "float32")[0].iter_layers()))
        trainer.close()
    out = tmp_path / "avg.pb.gz"
    argv = ["net", "average", str(tmp_path / "ckpt1"), str(tmp_path / "ckpt2"), "-o", str(out)]
    assert run_cli([*argv, "--weights", "3,1", "--encoding", "float32"]) == 0
    got = dict(read_net(out).iter_layers())
    assert sorted(got) == sorted(exported[0])
    for path, layer in got.items():
        expected = (3 * exported[0][path].values + exported[1][path].values) / 4
        np.testing.assert_allclose(
            layer.values, expected, rtol=0, atol=max_error(expected, Enc.FLOAT32) + 1e-7
        )
    assert layer.encoding == Enc.FLOAT32
