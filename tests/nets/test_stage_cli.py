"""The export.lc0 stage and the `lcpipe net` commands, end to end on disk."""

from __future__ import annotations

import argparse
import gzip
import threading

import numpy as np
import pytest

from lcpipe.export import stages
from lcpipe.export.lc0 import ExportStage, prune, render_path
from lcpipe.nets.cli import register
from lcpipe.nets.import_ import import_net
from lcpipe.nets.lc0net import read_net
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.channels import LatestChannel, StreamChannel
from lcpipe.runtime.stage import InputPort, OutputPort, StageContext
from lcpipe.types import ExportedNetwork


def test_stage_declaration_is_light_and_complete():
    (st,) = stages.lcpipe_stage_types()
    assert st.name == "export.lc0" and st.factory == "lcpipe.export.lc0:ExportStage"
    assert (
        st.inputs[0].type == "weights" and st.outputs[0].type == "network" and st.outputs[0].kind == "latest"
    )
    for key, prop in st.schema["properties"].items():
        assert "default" in prop and prop.get("description"), key
    assert st.schema["additionalProperties"] is False


def test_path_template():
    assert str(render_path("n/{step:08d}.pb.gz", 42)) == "n/00000042.pb.gz"
    assert str(render_path("{kind}-{step}-{time}.pb.gz", 1, "swa", when=0)) == "swa-1-19700101-000000.pb.gz"
    with pytest.raises(ValueError, match="bad path template"):
        render_path("{nope}.pb.gz", 1)


def _run_stage(config, items, workdir):
    stop = threading.Event()
    inp = StreamChannel("weights", capacity=16)
    out = LatestChannel("network")
    for item in items:
        inp.put(item)
    inp.writer_done()
    ctx = StageContext(
        "export",
        "export.lc0",
        config,
        {"weights": InputPort("weights", inp, stop)},
        {"network": OutputPort("network", [out], stop)},
        EventBus(),
        stop,
        workdir,
    )
    ExportStage(ctx).run()
    return out


def test_export_stage_writes_keeps_last_and_emits(lc0_fixtures, tmp_path):
    imp = import_net(lc0_fixtures / "nets" / "maia-1100.pb.gz")
    snaps = []
    for step in (10, 20, 30):
        s = imp.snapshot()
        s.step = step
        snaps.append(s)
    bad = imp.snapshot()
    bad.step = 40
    bad.params = {"params": {"body": {}}}  # broken: skipped with a warning, not a crash
    template = str(tmp_path / "nets" / "{step:06d}.pb.gz")
    out = _run_stage(
        {"path": template, "encoding": "float16", "keep_last": 2, "kinds": [], "input_format": 0},
        snaps[:1] + ["not a snapshot"] + snaps[1:] + [bad],
        tmp_path,
    )
    files = sorted(p.name for p in (tmp_path / "nets").iterdir())
    assert files == ["000020.pb.gz", "000030.pb.gz"]  # pruned to the last 2, no temp files left
    latest = out.latest()
    assert isinstance(latest, ExportedNetwork) and latest.step == 30
    net = read_net(latest.path)
    assert net.training_params["training_steps"] == 30 and net.min_version >= (0, 33, 0)
    assert prune(template, 1) == [str(tmp_path / "nets" / "000020.pb.gz")]


def _cli(argv):
    parser = argparse.ArgumentParser(prog="lcpipe")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_cli_describe(lc0_fixtures, capsys):
    assert _cli(["net", "describe", str(lc0_fixtures / "nets" / "maia-1900.pb.gz")]) == 0
    text = capsys.readouterr().out
    assert "SE_WITH_HEADFORMAT" in text and "blocks=6" in text and "training_steps=400000" in text


def test_cli_errors_are_clean(tmp_path, capsys):
    junk = tmp_path / "junk.pb.gz"
    junk.write_bytes(gzip.compress(b"nope"))
    assert _cli(["net", "describe", str(junk)]) == 1
    assert "error:" in capsys.readouterr().err
    assert _cli(["net", "export", str(tmp_path / "missing"), str(tmp_path / "x.pb.gz")]) == 1


def test_cli_import_then_export_round_trip(lc0_fixtures, tmp_path):
    """import NET -> orbax checkpoint the trainer can restore -> export -> same weights."""
    src = lc0_fixtures / "nets" / "maia-1900.pb.gz"
    ck = tmp_path / "ck"
    assert _cli(["net", "import", str(src), str(ck)]) == 0
    assert (ck / "lc0-import.json").is_file()
    assert sorted(p.name for p in ck.iterdir() if p.name.isdigit()) == ["400000"]  # lc0's training_steps
    out = tmp_path / "again.pb.gz"
    assert _cli(["net", "export", str(ck), str(out)]) == 0
    a, b = read_net(src), read_net(out)
    assert b.training_params["training_steps"] == a.training_params["training_steps"] == 400000
    assert [p for p, _ in a.iter_layers()] == [p for p, _ in b.iter_layers()]
    for (p, la), (_, lb) in zip(a.iter_layers(), b.iter_layers()):
        step = (la.values.max() - la.values.min()) / 65535
        assert np.abs(la.values - lb.values).max() <= 0.5 * step + 1e-5 * np.abs(la.values).max(), p
