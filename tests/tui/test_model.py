"""PipelineModel turns bus events into what the dashboard shows (no terminal needed)."""

from __future__ import annotations

from lcpipe.runtime.bus import Event
from lcpipe.tui.model import PipelineModel, summary_lines


def _model(make_runtime, tmp_path, metric=None) -> PipelineModel:
    runtime = make_runtime(f"""
        stages:
          src: {{use: toy.count}}
          x2: {{use: toy.scale, from: src}}
          sink: {{use: toy.collect, from: x2, with: {{path: "{tmp_path / "o.json"}"}}}}
        """)
    return PipelineModel(runtime.plan, metric)


def test_rows_rates_queues_and_key_metrics(tmp_path, make_runtime):
    model = _model(make_runtime, tmp_path)
    snap = model.snapshot()
    assert [(r.name, r.kind, r.state) for r in snap.stages] == [
        ("src", "toy.count", "pending"),
        ("x2", "toy.scale", "pending"),
        ("sink", "toy.collect", "pending"),
    ]
    assert {q.name for q in snap.queues} == {"x2.numbers", "sink.numbers"}
    model.on_event(Event("pipeline", "runtime", {"event": "started", "pipeline": "t"}, time=100.0))
    model.on_event(Event("state", "src", {"state": "running"}, time=100.0))
    for t, items in ((101.0, 10.0), (103.0, 410.0)):  # 200 items/s through both edges
        model.on_event(
            Event(
                "metrics",
                "runtime",
                {
                    "values": {
                        "queue/x2.numbers/fill": 0.75,
                        "queue/x2.numbers/items": items,
                        "queue/sink.numbers/fill": 1.5,
                        "queue/sink.numbers/items": items,
                    }
                },
                time=t,
            )
        )
    model.on_event(
        Event(
            "metrics",
            "sink",
            {
                "step": 7,
                "values": {
                    "test/loss": 3.0,
                    "train/loss": 2.5,
                    "train/lr": 0.01,
                    "train/positions_per_s": 12345.0,
                    "label": "not a number",
                    "received": 7,
                },
            },
            time=103.0,
        )
    )
    model.on_event(Event("metrics", "native", {"values": {"queue/unpack.out/fill": 0.25}}, time=103.0))
    snap = model.snapshot()
    rows = {r.name: r for r in snap.stages}
    assert rows["src"].state == "running" and rows["src"].rate == "200/s out"
    assert rows["x2"].rate == "200/s in"
    sink = rows["sink"]
    assert (sink.step, sink.key_metric("loss"), sink.key_metric("lr"), sink.key_metric("pos/s")) == (
        7,
        2.5,
        0.01,
        12345.0,
    )
    assert sink.other_metrics() == {"test/loss": 3.0, "received": 7.0}  # strings are not metrics
    queues = {q.name: q.fill for q in snap.queues}
    assert queues == {"x2.numbers": 0.75, "sink.numbers": 1.0, "native:unpack.out": 0.25}  # clamped
    assert snap.spark_metric == "sink/train/loss" and snap.spark == [2.5]
    assert snap.status == "running" and snap.elapsed > 0


def test_sparkline_choice_logs_and_final_summary(tmp_path, make_runtime):
    model = _model(make_runtime, tmp_path, metric="received")
    model.on_event(Event("metrics", "sink", {"step": 1, "values": {"train/loss": 1.0, "received": 1}}))
    model.on_event(Event("metrics", "sink", {"step": 2, "values": {"train/loss": 0.5, "received": 2}}))
    assert model.snapshot().spark_metric == "sink/received" and model.snapshot().spark == [1.0, 2.0]
    assert model.next_metric() == "sink/train/loss"  # `m` cycles in order of first appearance
    assert model.snapshot().spark == [1.0, 0.5]
    model.on_event(Event("log", "src", {"level": "warning", "message": "slow disk"}))
    model.on_event(Event("state", "src", {"state": "failed", "detail": "boom\ntraceback"}))
    model.on_event(
        Event(
            "pipeline",
            "runtime",
            {"event": "finished", "reason": "stage 'src' failed: boom", "exit_code": 1, "elapsed": 2.0},
        )
    )
    snap = model.snapshot()
    assert [(l.level, l.stage, l.text) for l in snap.logs] == [
        ("warning", "src", "slow disk"),
        ("error", "src", "failed: boom\ntraceback"),
        ("pipeline", "runtime", "finished (exit 1): stage 'src' failed: boom"),
    ]
    assert [l.seq for l in model.snapshot(logs_after=snap.logs[1].seq).logs] == [snap.logs[2].seq]
    assert (snap.status, snap.exit_code, snap.elapsed) == ("finished", 1, 2.0)
    lines = summary_lines(snap)
    assert lines[0].split() == ["src", "failed", "boom"]
    assert lines[2].split() == ["sink", "pending", "step", "2", "loss", "0.5"]
