"""A multi-process run: which group `lcpipe run` joins, what each process runs of a pipeline,
and lock files that let one run's processes share a directory (docs/scaling.md)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lcpipe.compiler import compile_file
from lcpipe.runtime.process_share import ProcessShareError, share_for_process
from lcpipe.runtime.processes import ProcessGroup, requested_group
from lcpipe.runtime.runlock import RunLock, RunLocked
from lcpipe.spec.errors import SpecErrors

REPO = Path(__file__).resolve().parents[2]


def test_flags_win_over_the_environment_and_complete_it():
    env = {"JAX_COORDINATOR_ADDRESS": "node0:1234", "JAX_NUM_PROCESSES": "4", "JAX_PROCESS_ID": "3"}
    assert requested_group(None, None, None, env) == ProcessGroup("node0:1234", 4, 3)
    assert requested_group("node1:99", None, 1, env) == ProcessGroup("node1:99", 4, 1)


def test_a_single_process_needs_no_group():
    assert requested_group(None, None, None, {}) is None
    assert requested_group("node0:1234", 1, 0, {}) is None
    assert requested_group(None, None, None, {"SLURM_NTASKS": "1"}) is None
    assert requested_group(None, 1, None, {"SLURM_NTASKS": "4"}) is None  # one process inside a job


def test_a_scheduler_job_of_several_tasks_is_left_to_jax_to_detect():
    assert requested_group(None, None, None, {"SLURM_NTASKS": "2"}) == ProcessGroup(None, None, None)


@pytest.mark.parametrize(
    ("coordinator", "count", "index", "env", "message"),
    [
        ("node0:1234", None, 0, {}, "needs --num-processes too"),
        (None, 2, 0, {}, "needs --coordinator too"),
        ("node0", 2, 0, {}, "expected HOST:PORT"),
        ("node0:1234", 2, 2, {}, "process id 2 is not one of 0 .. 1"),
        (
            None,
            None,
            None,
            {"JAX_COORDINATOR_ADDRESS": "a:1", "JAX_NUM_PROCESSES": "two"},
            "must be an integer",
        ),
    ],
)
def test_an_incomplete_or_wrong_group_is_refused_with_what_to_fix(coordinator, count, index, env, message):
    with pytest.raises(ValueError, match=message):
        requested_group(coordinator, count, index, env)


def _sl(tmp_path) -> object:
    return compile_file(REPO / "pipelines" / "sl.yaml", [f"vars.run={tmp_path}/run"])


def test_process_zero_runs_everything_the_others_only_the_loader_and_the_trainer(tmp_path):
    pipeline = _sl(tmp_path)
    zero = share_for_process(pipeline, 0, 2)
    one = share_for_process(pipeline, 1, 2)
    assert set(zero.graph.nodes) == set(pipeline.graph.nodes)
    assert set(pipeline.graph.nodes) - set(one.graph.nodes) == {"export", "metrics", "console"}
    for share, index in ((zero, 0), (one, 1)):
        split = share.graph.nodes["split"]["config"]
        assert (split["shards"], split["shard"]) == (2, index)
        assert share.graph.nodes["batches"]["config"]["batch_size"] == 128  # the global 256 over 2
    # the compiled pipeline itself is left as it was
    assert pipeline.graph.nodes["split"]["config"]["shards"] == 0
    assert pipeline.graph.nodes["batches"]["config"]["batch_size"] == 256


def test_a_global_batch_that_does_not_divide_is_refused(tmp_path):
    pipeline = compile_file(
        REPO / "pipelines" / "sl.yaml", [f"vars.run={tmp_path}/run", "stages.batches.with.batch_size=255"]
    )
    with pytest.raises(ProcessShareError, match="batch_size 255 is the global batch"):
        share_for_process(pipeline, 0, 2)


def test_a_stage_of_every_process_fed_by_a_process_zero_stage_is_refused(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        textwrap.dedent(f"""\
        lcpipe: 1
        name: generated
        stages:
          games: {{use: data.generate, with: {{out_dir: "{tmp_path}/games", games: 2}}}}
          sources: {{use: loader.read, from: games}}
        """)
    )
    pipeline = compile_file(spec, [])
    with pytest.raises(ProcessShareError, match="'sources' runs in every process but its input"):
        share_for_process(pipeline, 1, 2)


def test_processes_of_one_run_share_a_directory_two_runs_do_not(tmp_path):
    with RunLock([tmp_path], 0), RunLock([tmp_path], 1):
        with pytest.raises(RunLocked, match=r"\.lcpipe-run\.p1\.lock"):
            RunLock([tmp_path], 1).acquire()


def test_train_jax_distributed_settings_point_to_the_run_flags(tmp_path):
    with pytest.raises(SpecErrors) as caught:
        compile_file(
            REPO / "pipelines" / "sl.yaml",
            [f"vars.run={tmp_path}/run", "stages.train.with.distributed={num_processes: 2}"],
        )
    (error,) = caught.value.errors
    assert "setting 'distributed' was removed" in error.format()
    assert "--coordinator HOST:PORT" in error.format()
