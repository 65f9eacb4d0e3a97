"""`lcpipe train ...` end to end, in this process: a spec of synthetic games and a tiny net,
the real loader stages, Trainer, checkpoints and sinks (no stand-ins)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from tools_spec import write_spec

from lcpipe.cli.main import main
from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SL_YAML = Path(__file__).resolve().parents[2] / "pipelines" / "sl.yaml"


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return write_spec(tmp_path_factory.mktemp("tools"))


@pytest.fixture(scope="module")
def start(spec, tmp_path_factory):
    """A checkpoint of random weights made by `lcpipe train init`."""
    out = tmp_path_factory.mktemp("init") / "ckpt"
    assert main(["train", "init", str(spec), str(out)]) == EXIT_OK
    return out


def test_init_prints_how_to_continue_and_describe_reads_it_back(spec, start, capsys):
    assert main(["train", "describe", str(start), "--params"]) == EXIT_OK
    text = capsys.readouterr().out
    assert f"{start}: step 0" in text
    assert "model: resnet  (filters=8, blocks=1" in text
    assert "optimizer: nadamw" in text and "schedule: 0 updates applied, lr now 0.001" in text
    assert "averages: none" in text
    assert "body/block_0/conv1/conv/kernel" in text and "[3, 3, 8, 8]" in text
    assert main(["train", "describe", str(start), "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["parameter_count"] == sum(int(np.prod(s)) for s in report["parameters"].values())
    assert report["parameters"]["body/input/conv/kernel"] == [3, 3, 112, 8]


def test_init_refuses_a_directory_in_use(spec, start, capsys):
    assert main(["train", "init", str(spec), str(start)]) == EXIT_USAGE
    assert "exists and is not an empty directory" in capsys.readouterr().err


def test_init_from_an_lc0_network_prints_the_spec_lines(spec, lc0_fixtures, tmp_path, capsys):
    net = lc0_fixtures / "nets" / "maia-1100.pb.gz"
    out = tmp_path / "maia"
    assert main(["train", "init", str(spec), str(out), "--from", str(net)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "the network's model differs from the spec's in:" in text and "filters: 8 -> 64" in text
    assert f"wrote {out}: step 400000, the weights of {net}" in text
    assert f"init_checkpoint: {out}\n      model: from_checkpoint" in text
    assert f"--set stages.train.with.init_checkpoint={out}" in text
    assert (
        "model:\n        body: resnet\n        activation: relu\n        se_ratio: 8" in text
    )  # non-defaults
    assert main(["train", "describe", str(out)]) == EXIT_OK
    assert "step 400000" in capsys.readouterr().out


def test_net_import_prints_the_spec_lines_too(lc0_fixtures, tmp_path, capsys):
    out = tmp_path / "imported"
    assert main(["net", "import", str(lc0_fixtures / "nets" / "maia-1100.pb.gz"), str(out)]) == EXIT_OK
    text = capsys.readouterr().out
    assert f"init_checkpoint: {out}\n      model: from_checkpoint" in text


def test_overfit_drives_the_loss_down_and_fails_when_it_cannot(spec, capsys):
    assert (
        main(["train", "overfit", str(spec), "--steps", "30", "--lr", "0.01", "--print-every", "10"])
        == EXIT_OK
    )
    out = capsys.readouterr().out
    assert "step     1  loss=" in out and "step    30" in out and "ok: loss" in out
    # a learning rate far too small to move: the check must fail, not pass by default
    assert main(["train", "overfit", str(spec), "--steps", "10", "--lr", "1e-12"]) == EXIT_FAILED
    assert "the loss did not fall" in capsys.readouterr().err


def test_tune_lr_writes_csv_and_plot_and_suggests_an_lr(spec, tmp_path, capsys):
    table, plot = tmp_path / "lr.csv", tmp_path / "lr.png"
    args = ["train", "tune-lr", str(spec), "--steps", "24", "--batches", "3", "--min-lr", "1e-5"]
    assert main([*args, "--max-lr", "3", "--csv", str(table), "--png", str(plot)]) == EXIT_OK
    out = capsys.readouterr().out
    rows = list(csv.DictReader(table.open()))
    assert 12 <= len(rows) <= 24 and float(rows[0]["lr"]) == pytest.approx(1e-5, rel=1e-3)
    lrs = [float(r["lr"]) for r in rows]
    assert all(b > a for a, b in zip(lrs, lrs[1:]))  # exponential: every step higher
    assert plot.read_bytes()[:8] == PNG_MAGIC
    suggested = float(out.split("suggested lr: ")[1].split()[0])
    assert 1e-6 <= suggested <= 0.3


def test_eval_of_an_lc0_net_writes_the_reliability_diagram_and_a_jsonl_dump(
    spec, lc0_fixtures, tmp_path, capsys
):
    net = lc0_fixtures / "nets" / "maia-1100.pb.gz"
    png, dump = tmp_path / "rel.png", tmp_path / "dump.jsonl"
    args = ["train", "eval", str(spec), str(net), "--reliability-png", str(png)]
    assert main([*args, "--dump", str(dump), "--dump-positions", "3"]) == EXIT_OK
    out = capsys.readouterr().out
    for metric in ("policy_accuracy", "policy_entropy", "value_winner_calibration", "value_winner_loss"):
        assert metric in out
    assert "64 positions of the 'test' data" in out and "value calibration, winner head" in out
    assert png.read_bytes()[:8] == PNG_MAGIC
    lines = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(lines) == 3 and len(lines[0]["planes"]) == 112
    assert set(lines[0]["target_policy"]) == set(lines[0]["policy_vanilla"])  # the legal moves
    assert sum(lines[0]["value_winner_wdl"]) == pytest.approx(1.0, abs=1e-5)


def test_eval_of_a_checkpoint_as_json_with_an_npz_dump(spec, start, tmp_path, capsys):
    dump = tmp_path / "dump.npz"
    args = ["train", "eval", str(spec), str(start), "--json", "--batches", "1", "--dump", str(dump)]
    assert main([*args, "--dump-positions", "5"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["positions"] == 32 and 0 <= report["metrics"]["policy_accuracy"] <= 1
    arrays = np.load(dump)
    assert arrays["inputs"].shape == (5, 112, 8, 8) and arrays["policy_vanilla"].shape == (5, 1858)


def test_bad_input_is_a_clear_error(spec, tmp_path, capsys):
    assert main(["train", "eval", str(spec), str(tmp_path / "nothing")]) == EXIT_FAILED
    assert "not a checkpoint directory" in capsys.readouterr().err
    assert main(["train", "eval", str(spec), str(tmp_path), "--dump", "x.txt"]) == EXIT_USAGE
    assert "name a .npz or .jsonl file" in capsys.readouterr().err
    no_train = tmp_path / "plain.yaml"
    no_train.write_text("lcpipe: 1\nname: x\nstages:\n  g: {use: data.generate}\n")
    assert main(["train", "overfit", str(no_train)]) == EXIT_USAGE
    assert "has no train.jax stage" in capsys.readouterr().err
    assert main(["train", "overfit", str(spec), "--stage", "games"]) == EXIT_USAGE
    assert "is a data.generate, not a train.jax" in capsys.readouterr().err
    assert main(["train", "backfill", str(spec), str(tmp_path), "--steps", "x"]) == EXIT_USAGE


def test_eval_on_real_lc0_games_through_the_native_loader_of_sl_yaml(lc0_fixtures, tmp_path, capsys):
    """pipelines/sl.yaml as shipped, its data directory holding lc0's own self-play games (played by
    maia-1900): maia-1100 predicts most of those moves, which random weights would not."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "games.tar").symlink_to(lc0_fixtures / "lc0-selfplay" / "selfplay-fmt1.tar")
    sets = [f"vars.data={data}", f"vars.run={tmp_path / 'run'}", "stages.shuffled.with.size=2000"]
    args = ["train", "eval", str(SL_YAML), str(lc0_fixtures / "nets" / "maia-1100.pb.gz"), "--json"]
    assert main([*args, "--batches", "1", *[x for s in sets for x in ("--set", s)]]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["positions"] == 256 and report["step"] == 400000
    assert report["metrics"]["policy_accuracy"] > 0.4


def test_data_that_never_comes_is_an_error_not_a_hang(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    sets = ["--set", f"vars.data={empty}", "--set", f"vars.run={tmp_path / 'run'}"]
    sets += ["--set", "stages.files.with.follow=true"]  # waits for files that never appear
    assert main(["train", "overfit", str(SL_YAML), *sets, "--data-timeout", "3"]) == EXIT_FAILED
    assert "the spec's 'train' data gave 0 of 1 batches (in 3 s" in capsys.readouterr().err


def test_describe_tells_the_schedule_position_and_the_averages(tmp_path, capsys):
    from helpers import TINY_RESNET, make_batch

    from lcpipe.train import averages
    from lcpipe.train.trainer import Trainer

    settings = {
        "model": TINY_RESNET,
        "schedule": {"lr": 0.01, "warmup_steps": 10},
        "checkpoint": {"async": False},
    }
    trainer = Trainer(settings)
    trainer.init()
    swa, update = averages.start(trainer.weights_copy()["params"]), averages.swa_update(5)
    for _ in range(3):
        trainer.step(make_batch(16, seed=2))
        swa = update(swa, trainer.weights_copy()["params"])
    # saved as a train.swa stage named "avg" has it saved beside the trainer state
    trainer.save(str(tmp_path / "ckpt"), wait=True, items={"avg": swa})
    trainer.close()
    assert main(["train", "describe", str(tmp_path / "ckpt")]) == EXIT_OK
    text = capsys.readouterr().out
    assert "step 3" in text
    assert "schedule: 3 updates applied, lr now 0.004" in text  # warmup: (3 + 1) / 10 of 0.01
    assert "averages: avg (3 samples)" in text
