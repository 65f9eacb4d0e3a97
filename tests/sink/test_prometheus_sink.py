"""sink.prometheus serves a running pipeline's newest metrics on 127.0.0.1."""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from lcpipe.runtime.bus import Event
from lcpipe.sink.metric_filter import metric_matcher
from lcpipe.sink.prometheus import CONTENT_TYPE, MetricStore, metric_name

SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\} (\S+)$'
)


def parse_exposition(text: str) -> dict[tuple[str, frozenset], str]:
    """Samples of a text exposition; asserts every line is well formed."""
    samples, typed = {}, set()
    assert not text or text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind == "gauge"
            typed.add(name)
            continue
        if line.startswith("# HELP "):
            continue
        match = SAMPLE.match(line)
        assert match, f"malformed sample line: {line!r}"
        name, labels, value = match.groups()
        assert name in typed, f"{name} has no TYPE line before its samples"
        pairs = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels))
        key = (name, pairs)
        assert key not in samples, f"duplicate series {key}"
        samples[key] = value
    return samples


def test_names_are_sanitised_and_values_escaped():
    assert metric_name("lcpipe", "train", "train/loss") == "lcpipe_train_train_loss"
    assert metric_name("lcpipe", "my-stage", "positions per s.%") == "lcpipe_my_stage_positions_per_s"
    assert metric_name("9lives") == "_9lives"
    store = MetricStore(metric_matcher(["*"]))
    store.on_event(
        Event(
            "metrics",
            'we"ird\\stage',
            {"values": {"a.b": float("nan"), "c": float("inf"), "label": "text", "n": 3}},
        )
    )
    store.on_event(Event("metrics", "runtime", {"values": {"queue/x.in/fill": 0.5}}))
    store.on_event(Event("state", "x", {"state": "running"}))
    text = store.render()
    assert (
        '# HELP lcpipe_we_ird_stage_a_b lcpipe metric we"ird\\\\stage/a.b\n' in text
    )  # HELP: only \\ escaped
    samples = parse_exposition(text)
    stage = frozenset({("stage", 'we\\"ird\\\\stage')})
    assert samples[("lcpipe_we_ird_stage_a_b", stage)] == "NaN"
    assert samples[("lcpipe_we_ird_stage_c", stage)] == "+Inf"
    assert samples[("lcpipe_we_ird_stage_n", stage)] == "3.0"
    assert not any(name.endswith("_label") for name, _ in samples)  # not a number: not a gauge
    assert samples[("lcpipe_queue_fill", frozenset({("stage", "runtime"), ("queue", "x.in")}))] == "0.5"
    assert samples[("lcpipe_stage_state", frozenset({("stage", "x"), ("state", "running")}))] == "1"


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers["Content-Type"], response.read().decode()


def test_serves_live_metrics_and_stops_cleanly(tmp_path, make_runtime):
    out = tmp_path / "out.json"
    runtime = make_runtime(f"""
        runtime: {{metrics_interval: 0.05}}
        stages:
          src: {{use: toy.count, with: {{limit: 0, delay: 0.002}}}}
          sink: {{use: toy.collect, from: src, with: {{path: "{out}"}}}}
          prom: {{use: sink.prometheus, with: {{port: 0}}}}
        """)
    announced = []
    runtime.bus.subscribe(lambda e: announced.append(e.data["message"]) if e.kind == "log" else None)
    result = {}
    thread = threading.Thread(target=lambda: result.update(r=runtime.run(install_signals=False)))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not any("serving metrics on" in m for m in announced):
            assert time.monotonic() < deadline, "the sink never announced its port"
            time.sleep(0.02)
        url = re.search(
            r"(http://127\.0\.0\.1:\d+/metrics)", next(m for m in announced if "serving" in m)
        ).group(1)
        deadline = time.monotonic() + 60  # the first metrics: a loaded machine may take a while
        while True:
            status, ctype, body = _get(url)
            samples = parse_exposition(body)
            if ("lcpipe_queue_fill", frozenset({("stage", "runtime"), ("queue", "sink.numbers")})) in samples:
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.05)
        assert status == 200 and ctype == CONTENT_TYPE
        first = float(samples[("lcpipe_sink_received", frozenset({("stage", "sink")}))])
        assert samples[("lcpipe_stage_state", frozenset({("stage", "src"), ("state", "running")}))] == "1"
        time.sleep(0.2)
        later = float(
            parse_exposition(_get(url)[2])[("lcpipe_sink_received", frozenset({("stage", "sink")}))]
        )
        assert later > first >= 1  # the newest values, not a frozen copy
        with pytest.raises(urllib.error.HTTPError) as info:
            _get(url.replace("/metrics", "/nothing"))
        assert info.value.code == 404
    finally:
        runtime.request_stop("test over")
        thread.join(20)
    assert result["r"].exit_code == 0, result["r"].failures
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(OSError):  # the server is gone with the pipeline
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_busy_port_fails_the_stage_with_a_clear_message(make_runtime):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runtime = make_runtime(f"""
            stages:
              prom: {{use: sink.prometheus, with: {{port: {port}}}}}
            """)
        result = runtime.run(install_signals=False)
    assert result.exit_code == 1
    [(stage, message)] = result.failures
    assert (
        stage == "prom"
        and f"cannot listen on 127.0.0.1:{port}" in message
        and "0 picks a free one" in message
    )
