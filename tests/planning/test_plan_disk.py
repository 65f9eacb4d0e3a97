"""`lcpipe plan`'s disk per hour: the sizes it predicts against what the real writers write."""

from __future__ import annotations

from lcpipe.cli.main import main as run_cli
from lcpipe.nets.export import snapshot_to_net
from lcpipe.nets.import_ import import_net
from lcpipe.planning.disk import network_file_bytes, selfplay_bytes_per_position
from lcpipe.selfplay.evaluator import MaterialEvaluator
from lcpipe.selfplay.native import NativePool, write_native_game
from lcpipe.selfplay.selfplay_stage import native_settings
from lcpipe.selfplay.stages import SETTINGS
from lcpipe.settings import defaults


def test_short_games_predict_the_chunk_size_of_whole_games(tmp_path):
    """The plan sizes a position from four 40-ply games; whole games of the same settings, written
    by the stage's writer, come to nearly the same bytes per position."""
    settings = {**defaults(SETTINGS), "visits": 24}
    predicted = selfplay_bytes_per_position(settings)
    whole = {
        **native_settings(settings, first_game=0),
        "parallel_games": 4,
        "max_plies": 200,
        "stop_after_games": 4,
    }
    written = positions = 0
    for game in NativePool(whole).play(MaterialEvaluator()):
        path, frames = write_native_game(tmp_path, game)
        written += path.stat().st_size
        positions += len(frames)
    assert positions > 4 * 40  # longer games than the prediction played
    assert 0.7 < predicted / (written / positions) < 1.4
    fewer_visits = selfplay_bytes_per_position({**settings, "visits": 2})
    assert fewer_visits < predicted  # the visits decide how many moves a policy target holds


def test_network_size_bounds_that_of_a_trained_network(lc0_fixtures, tmp_path):
    """A trained network (Maia 1100) exported by lcpipe against the plan's random network of its
    model: random weights compress least, so the plan's size is a bound, and a close one."""
    imported = import_net(lc0_fixtures / "nets" / "maia-1100.pb.gz")
    net, _ = snapshot_to_net(imported.snapshot(), "linear16")
    net.write(tmp_path / "maia.pb.gz")
    real = (tmp_path / "maia.pb.gz").stat().st_size
    assert 1.0 <= network_file_bytes(imported.model, "linear16") / real < 1.4


def test_plan_prints_the_disk_per_hour_of_a_supervised_run(lc0_fixtures, capsys):
    data = lc0_fixtures / "lc0-selfplay"
    tiny = "{body: resnet, filters: 8, blocks: 1, se_ratio: 2, value_channels: 4, value_hidden: 8}"
    sets = [f"vars.data={data}", f"stages.train.with.model={tiny}", "stages.batches.with.batch_size=32"]
    args = ["plan", "pipelines/sl.yaml", "--calibrate-steps", "2"]
    for item in sets:
        args += ["--set", item]
    assert run_cli(args) == 0
    out = capsys.readouterr().out
    disk = out[out.index("disk per hour (each stage's rate alone") :]
    read = next(line for line in disk.splitlines() if "data read for train" in line)
    assert read.split()[0] == "files" and read.split()[2] == "MiB/h" and float(read.split()[1]) > 0
    assert "networks: 2 x" in disk and "every 5000 steps" in disk  # raw and swa per network step
    assert "checkpoints:" in disk and "at most" in disk
