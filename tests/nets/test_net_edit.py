"""`lcpipe net average | graft | convert` on the real Maia networks."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lcpipe.cli.main import main as run_cli
from lcpipe.nets.layers import max_error
from lcpipe.nets.lc0net import read_net
from lcpipe.nets.schema import Enc


@pytest.fixture(scope="module")
def maia(lc0_fixtures):
    return lc0_fixtures / "nets" / "maia-1100.pb.gz", lc0_fixtures / "nets" / "maia-1900.pb.gz"


def layers(path):
    return dict(read_net(path).iter_layers())


def resized(src, tmp_path, path="ip2_val_b"):
    """A copy of ``src`` whose layer ``path`` has one value fewer (an incompatible network)."""
    net = read_net(src)
    layer = net.layer(path)
    layer.values, layer.raw = layer.values[:-1], None
    return net.write(tmp_path / "resized.pb.gz")


def test_weighted_average_of_two_networks(maia, tmp_path, capsys):
    out = tmp_path / "avg.pb.gz"
    assert run_cli(["net", "average", str(maia[0]), str(maia[1]), "-o", str(out), "--weights", "1,3"]) == 0
    assert "averaged 2 networks (868,355 parameters, weights 1, 3)" in capsys.readouterr().out
    a, b, avg = layers(maia[0]), layers(maia[1]), layers(out)
    assert sorted(avg) == sorted(a)
    for path, layer in avg.items():
        expected = (a[path].values + 3 * b[path].values) / 4
        np.testing.assert_allclose(layer.values, expected, rtol=0, atol=max_error(expected, Enc.LINEAR16))
    assert read_net(out).training_params["training_steps"] == 400000  # the first network's header


def test_average_refuses_a_different_network_by_layer_name(maia, tmp_path, capsys):
    other = resized(maia[1], tmp_path)
    assert run_cli(["net", "average", str(maia[0]), str(other), "-o", str(tmp_path / "x.pb.gz")]) == 1
    assert "layer ip2_val_b: 2 values in" in capsys.readouterr().err
    assert run_cli(["net", "average", str(maia[0]), str(maia[1]), "-o", "x", "--weights", "1"]) == 1
    assert "1 weights for 2 networks" in capsys.readouterr().err
    assert not (tmp_path / "x.pb.gz").exists()


def test_graft_a_head_and_a_block(maia, tmp_path, capsys):
    out = tmp_path / "g.pb.gz"
    argv = [
        "net",
        "graft",
        str(maia[0]),
        str(maia[1]),
        "-o",
        str(out),
        "--head",
        "value",
        "--layer",
        "residual.5",
    ]
    assert run_cli(argv) == 0
    assert re.search(r"grafted 23 layers", capsys.readouterr().out)  # 9 value-head layers + 14 of the block
    base, donor, got = layers(maia[0]), layers(maia[1]), layers(out)
    grafted = {p for p in got if p.startswith(("value.", "ip1_val", "ip2_val", "residual.5."))}
    assert len(grafted) == 23
    for path, layer in got.items():
        source = donor if path in grafted else base
        tol = max_error(source[path].values, Enc.LINEAR16) if path in grafted else 0
        np.testing.assert_allclose(layer.values, source[path].values, rtol=0, atol=tol, err_msg=path)


def test_graft_refuses_incompatible_shapes_and_unknown_names(maia, tmp_path, capsys):
    donor = resized(maia[1], tmp_path)
    out = tmp_path / "g.pb.gz"
    assert run_cli(["net", "graft", str(maia[0]), str(donor), "-o", str(out), "--head", "value"]) == 1
    assert "layer ip2_val_b: 2 values in" in capsys.readouterr().err
    assert run_cli(["net", "graft", str(maia[0]), str(maia[1]), "-o", str(out), "--layer", "residual.9"]) == 1
    assert "no layer matches 'residual.9'" in capsys.readouterr().err
    assert run_cli(["net", "graft", str(maia[0]), str(maia[1]), "-o", str(out), "--head", "moves_left"]) == 1
    assert "no moves_left head" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    "encoding, enc", [("float16", Enc.FLOAT16), ("bfloat16", Enc.BFLOAT16), ("float32", Enc.FLOAT32)]
)
def test_convert_reports_the_error_it_makes(maia, tmp_path, capsys, encoding, enc):
    out = tmp_path / f"{encoding}.pb.gz"
    assert run_cli(["net", "convert", str(maia[0]), str(out), "--encoding", encoding]) == 0
    printed = re.search(r"error: max (\S+) \(layer (\S+)\), mean (\S+)", capsys.readouterr().out)
    before, after = layers(maia[0]), layers(out)
    diffs = {p: np.abs(after[p].values.astype(np.float64) - before[p].values) for p in before}
    worst = max(diffs, key=lambda p: diffs[p].max())
    total = np.concatenate(list(diffs.values()))
    assert float(printed[1]) == pytest.approx(diffs[worst].max(), rel=1e-2, abs=1e-12)
    assert float(printed[3]) == pytest.approx(total.mean(), rel=1e-2, abs=1e-12)
    if encoding == "float32":
        assert total.max() == 0  # LINEAR16 values are exact in float32
    else:
        assert printed[2] == worst and total.max() > 0
    net = read_net(out)
    assert {layer.encoding for _, layer in net.iter_layers()} == {enc}
    assert net.min_version >= (0, 33, 0)  # lc0 reads other encodings from 0.33 on
