"""`lcpipe daemon`: a scripted client drives a real daemon subprocess over its JSON-lines protocol."""

from __future__ import annotations

import json
import random

from daemon_testlib import check_message, toy_spec

from lcpipe.daemon.protocol import MAX_LINE_BYTES, ProtocolError, parse_request


def test_hello_first_and_every_message_validates(daemon, tmp_path):
    spec = toy_spec(tmp_path, limit=0)
    hello = daemon.wait_for(lambda m: True)
    assert hello["type"] == "hello" and hello["protocol"] == 1 and hello["pipeline"] is None
    daemon.send({"type": "start", "spec": str(spec), "id": "s1"})
    ack = daemon.wait_for(lambda m: m["type"] == "ack" and m.get("id") == "s1")
    assert ack["detail"]["pipeline"] == "toy"
    daemon.wait_for(
        lambda m: m["type"] == "metrics" and m["stage"] == "sink" and m["values"]["received"] >= 20
    )
    daemon.send({"type": "status", "id": 7})
    status = daemon.wait_for(lambda m: m["type"] == "status" and m.get("id") == 7)
    assert status["state"] == "running" and status["counts"]["src.numbers"] >= 20
    daemon.send({"type": "stop", "id": "x"})
    done = daemon.wait_for(lambda m: m["type"] == "pipeline" and m["event"] == "finished")
    assert done["exit_code"] == 0
    daemon.send({"type": "shutdown"})
    bye = daemon.wait_for(lambda m: m["type"] == "bye")
    assert bye["exit_code"] == 0
    assert daemon.proc.wait(60) == 0
    assert not daemon.raw_errors
    for msg in daemon.messages:
        check_message(msg)


def test_bad_spec_is_an_error_with_its_place(daemon, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("lcpipe: 1\nname: bad\nstages:\n  src: {use: toy.cuont}\n")
    daemon.send({"type": "start", "spec": str(bad), "id": 1})
    err = daemon.wait_for(lambda m: m["type"] == "error")
    check_message(err)
    assert err["code"] == "spec" and err["id"] == 1
    first = err["errors"][0]
    assert first["file"].endswith("bad.yaml") and first["line"] == 4 and "toy.count" in first.get("hint", "")
    daemon.send({"type": "start", "spec": str(tmp_path / "missing.yaml"), "id": 2})
    assert daemon.wait_for(lambda m: m["type"] == "error" and m.get("id") == 2)["code"] == "spec"
    daemon.send({"type": "status", "id": 3})  # still serving
    assert daemon.wait_for(lambda m: m["type"] == "status")["state"] == "idle"


def test_pause_holds_a_stage_and_resume_releases_it(daemon, tmp_path):
    daemon.send({"type": "start", "spec": str(toy_spec(tmp_path, limit=0, delay=0.0))})
    daemon.wait_for(lambda m: m["type"] == "metrics" and m["stage"] == "sink")
    daemon.send({"type": "pause", "stage": "src", "id": "p"})
    daemon.wait_for(lambda m: m["type"] == "ack" and m.get("id") == "p")
    # paused: the count stops moving (at most the one put in flight completes)
    daemon.send({"type": "status", "id": 1})
    a = daemon.wait_for(lambda m: m["type"] == "status" and m.get("id") == 1)["counts"]["src.numbers"]
    daemon.send({"type": "status", "id": 2})
    b = daemon.wait_for(lambda m: m["type"] == "status" and m.get("id") == 2)
    assert b["paused"] == ["src"] and b["counts"]["src.numbers"] <= a + 1
    daemon.send({"type": "resume", "stage": "src"})
    daemon.send({"type": "pause", "stage": "nope", "id": "bad"})
    err = daemon.wait_for(lambda m: m["type"] == "error" and m.get("id") == "bad")
    assert err["code"] == "unknown_stage" and "src" in err["message"]
    daemon.wait_for(
        lambda m: (
            m["type"] == "metrics"
            and m["stage"] == "sink"
            and m["values"]["received"] > b["counts"]["src.numbers"] + 50
        )
    )
    daemon.send({"type": "shutdown"})
    assert daemon.proc.wait(60) == 0


def test_subscribe_filters_kinds_and_metric_names(daemon, tmp_path):
    daemon.send({"type": "subscribe", "kinds": ["metrics"], "metrics": ["rece*"], "id": 1})
    daemon.wait_for(lambda m: m["type"] == "ack" and m.get("id") == 1)
    daemon.send({"type": "start", "spec": str(toy_spec(tmp_path, limit=300, delay=0.0)), "id": 2})
    daemon.wait_for(lambda m: m["type"] == "ack" and m.get("id") == 2)
    daemon.send({"type": "shutdown"})
    daemon.wait_for(lambda m: m["type"] == "bye")
    streamed = [m for m in daemon.messages if m["type"] not in ("hello", "ack", "bye", "error", "status")]
    assert streamed and all(m["type"] == "metrics" for m in streamed)
    assert all(set(m["values"]) == {"received"} for m in streamed)


def test_garbage_never_stops_the_daemon(daemon, tmp_path):
    rng = random.Random(5)
    junk = [
        b"\xff\xfe\x00garbage",
        b"[1,2,3]",
        b'{"type": 5}',
        b'{"type": "start"}',
        b'{"type": "start", "spec": 12}',
        b'{"type": "pause", "stage": [1]}',
        b"NaN",
        b'{"type": "status", "extra": 1}',
        b"{" * 100000,
        b"x" * (MAX_LINE_BYTES + 10),
    ]
    junk += [
        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))).replace(b"\n", b" ")
        for _ in range(200)
    ]
    junk += [
        json.dumps(
            {
                "type": rng.choice(["start", "stop", "pause", "subscribe", "x"]),
                rng.choice(["spec", "stage", "kinds", "id"]): rng.choice([1, "a", [], {}, None, 2.5]),
            }
        ).encode()
        for _ in range(200)
    ]
    for line in junk:
        daemon.send(line)
    daemon.send({"type": "status", "id": "alive"})
    status = daemon.wait_for(lambda m: m["type"] == "status" and m.get("id") == "alive", timeout=180)
    check_message(status)
    errors = [m for m in daemon.messages if m["type"] == "error"]
    assert len(errors) >= 300
    for msg in daemon.messages:
        check_message(msg)
    assert any(m["code"] == "too_long" for m in errors)


def test_parse_request_rejects_each_kind_of_bad_request():
    cases = {
        b"{": "bad_json",
        b"[]": "bad_json",
        b'{"type":"fly"}': "unknown_request",
        b'{"type":"pause"}': "bad_request",
        b'{"type":"start","spec":"a","set":"x"}': "bad_request",
        b'{"type":"status","id":1.5}': "bad_request",
        b'{"type":"stop","lr":NaN}': "bad_json",
        b"\xc3\x28": "bad_json",
        b"1" * (MAX_LINE_BYTES + 1): "too_long",
    }
    for line, code in cases.items():
        try:
            parse_request(line)
        except ProtocolError as exc:
            assert exc.code == code, (line[:40], exc.code, str(exc))
        else:
            raise AssertionError(f"accepted {line[:40]!r}")
    assert parse_request(b'{"type":"start","spec":"a.yaml","set":["x=1"],"id":"q"}')["spec"] == "a.yaml"
