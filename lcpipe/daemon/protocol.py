"""The daemon's JSON-lines protocol: every request and message type, declared once.

One JSON object per line, UTF-8, each with a ``type``. A client sends
requests; the daemon answers each with ``ack`` or ``error`` (echoing the
request's ``id`` when it has one) and streams messages (state, metrics,
progress, network, log, ...) to clients that subscribed to them. The JSON
Schemas in schemas/protocol/ and docs/protocol.md are generated from the
declarations below; ``PROTOCOL_VERSION`` changes when a change would break a
client.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import jsonschema

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 1 << 20  # a longer request line is refused (and skipped), never buffered whole

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_ID = {
    "description": "Any value the client chooses; echoed in the ack or error.",
    "type": ["string", "integer"],
}
_STAGE = {"type": "string", "description": "A stage name of the running pipeline."}
_STR_LIST = {"type": "array", "items": {"type": "string"}}


@dataclass(frozen=True)
class MessageType:
    name: str
    description: str
    fields: dict[str, dict[str, Any]]
    required: tuple[str, ...] = ()

    def schema(self, direction: str) -> dict[str, Any]:
        props = {"type": {"const": self.name}, **self.fields}
        if direction == "request":
            props["id"] = _ID
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"lcpipe {direction} {self.name!r}",
            "description": self.description,
            "type": "object",
            "properties": props,
            "required": ["type", *self.required],
            "additionalProperties": False,
        }


REQUESTS = {
    m.name: m
    for m in (
        MessageType(
            "start",
            "Compile and start a pipeline (one at a time per daemon).",
            {
                "spec": {**_STR, "description": "Path of the spec file."},
                "set": {**_STR_LIST, "description": "Overrides, as --set KEY=VALUE takes them."},
                "stop_after": {**_STR_LIST, "description": "Stop bounds, as --stop-after takes them."},
                "grace": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "maximum": 86400,
                    "description": "Seconds stages get to finish when stopping (default 60).",
                },
            },
            ("spec",),
        ),
        MessageType(
            "stop",
            "Stop the running pipeline in order (queues drain first).",
            {"reason": {"type": "string", "maxLength": 200, "description": "Why (shown in the run's end)."}},
        ),
        MessageType("status", "Ask for a status message.", {}),
        MessageType(
            "train_now",
            "Start the next training round without waiting for new data.",
            {"stage": {**_STAGE, "description": "Only this stage (default: every stage that accepts it)."}},
        ),
        MessageType(
            "export_now",
            "Export a network at the trainer's current step.",
            {"stage": {**_STAGE, "description": "Only this stage (default: every stage that accepts it)."}},
        ),
        MessageType(
            "pause", "Pause a stage: its reads and writes wait until resumed.", {"stage": _STAGE}, ("stage",)
        ),
        MessageType("resume", "Resume a paused stage.", {"stage": _STAGE}, ("stage",)),
        MessageType(
            "subscribe",
            "Choose which messages this client receives (replaces the previous choice).",
            {
                "kinds": {
                    "type": "array",
                    "items": {"enum": ["state", "metrics", "progress", "network", "gate", "log", "pipeline"]},
                    "description": "Message types to receive (default: all).",
                },
                "metrics": {**_STR_LIST, "description": "Glob patterns of metric names (default: all)."},
            },
        ),
        MessageType("shutdown", "Stop the pipeline, if one runs, and end the daemon.", {}),
    )
}

_STAGE_STATE = {"type": "object", "properties": {"state": _STR, "detail": _STR}}
_PLAN = {
    "type": ["object", "null"],
    "description": "The running pipeline's segments (lcpipe.compiler.describe_plan).",
    "properties": {
        "pipeline": _STR,
        "segments": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": _STR,
                    "type": _STR,
                    "engine": _STR,
                    "stages": _STR_LIST,
                    "inputs": {"type": "array"},
                    "outputs": _STR_LIST,
                    "summary": _STR_LIST,
                },
            },
        },
    },
}

MESSAGES = {
    m.name: m
    for m in (
        MessageType(
            "hello",
            "First message on every connection.",
            {
                "protocol": _INT,
                "lcpipe": _STR,
                "pid": _INT,
                "pipeline": {
                    "type": ["string", "null"],
                    "description": "Name of the running pipeline, if any.",
                },
                "plan": _PLAN,
            },
            ("protocol", "lcpipe", "pid"),
        ),
        MessageType(
            "ack",
            "A request was carried out.",
            {"id": _ID, "request": _STR, "detail": {"type": "object"}},
            ("request",),
        ),
        MessageType(
            "error",
            "A request could not be carried out; the daemon goes on.",
            {
                "id": _ID,
                "request": {"type": ["string", "null"]},
                "code": {
                    "enum": [
                        "bad_json",
                        "too_long",
                        "unknown_request",
                        "bad_request",
                        "spec",
                        "state",
                        "unknown_stage",
                    ]
                },
                "message": _STR,
                "errors": {
                    "type": "array",
                    "description": "Spec errors, each with its place in the file.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "file": _STR,
                            "line": _INT,
                            "column": _INT,
                            "message": _STR,
                            "hint": _STR,
                            "path": _STR,
                        },
                    },
                },
            },
            ("code", "message"),
        ),
        MessageType(
            "status",
            "Where the pipeline stands.",
            {
                "id": _ID,
                "pipeline": {"type": ["string", "null"]},
                "state": {"enum": ["idle", "running", "stopping", "finished"]},
                "stages": {"type": "object", "additionalProperties": _STAGE_STATE},
                "paused": _STR_LIST,
                "counts": {"type": "object", "additionalProperties": _INT},
                "elapsed": _NUM,
                "exit_code": {"type": ["integer", "null"]},
                "metrics": {"type": "object", "description": "Newest value of every metric, by stage."},
            },
            ("state",),
        ),
        MessageType(
            "state",
            "A stage changed state.",
            {"stage": _STR, "state": _STR, "detail": _STR},
            ("stage", "state"),
        ),
        MessageType(
            "metrics",
            "Metrics a stage reported.",
            {
                "stage": _STR,
                "step": {"type": ["integer", "null"]},
                "values": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
            },
            ("stage", "values"),
        ),
        MessageType(
            "progress",
            "Training progress of a trainer stage, at every step it reports.",
            {
                "stage": _STR,
                "step": _INT,
                "total_steps": {"type": ["integer", "null"]},
                "next_network": {"type": ["integer", "null"]},
                "steps_per_s": {"type": ["number", "null"]},
                "loss": {"type": ["number", "null"]},
            },
            ("stage", "step"),
        ),
        MessageType(
            "network",
            "A network file was exported.",
            {"stage": _STR, "path": _STR, "step": {"type": ["integer", "null"]}, "kind": _STR},
            ("stage", "path"),
        ),
        MessageType(
            "gate",
            "An arena gate's result for a new network.",
            {"stage": _STR, "values": {"type": "object"}},
            ("stage",),
        ),
        MessageType(
            "log",
            "A log line of a stage.",
            {"stage": _STR, "level": _STR, "message": _STR},
            ("stage", "message"),
        ),
        MessageType(
            "pipeline",
            "The pipeline started, is stopping or finished.",
            {
                "event": _STR,
                "pipeline": _STR,
                "reason": _STR,
                "exit_code": _INT,
                "elapsed": _NUM,
                "stages": _STR_LIST,
                "summary": {
                    "type": "object",
                    "additionalProperties": _STR_LIST,
                    "description": "Per stage, the metric names that summarise it.",
                },
                "plan": _PLAN,
            },
            ("event",),
        ),
        MessageType("bye", "The daemon is ending (after shutdown).", {"exit_code": _INT}),
    )
}

_REQUEST_VALIDATORS = {
    name: jsonschema.Draft202012Validator(m.schema("request")) for name, m in REQUESTS.items()
}


class ProtocolError(Exception):
    """A request the daemon refuses; ``code`` goes into the error message."""

    def __init__(self, code: str, message: str, request: str | None = None, request_id: Any = None):
        super().__init__(message)
        self.code = code
        self.request = request
        self.request_id = request_id


def parse_request(line: bytes | str) -> dict[str, Any]:
    """One request line -> the request object, or ProtocolError saying what is wrong with it."""
    if isinstance(line, bytes):
        if len(line) > MAX_LINE_BYTES:
            raise ProtocolError("too_long", f"request line longer than {MAX_LINE_BYTES} bytes")
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("bad_json", f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        obj = json.loads(line, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("bad_json", f"not a JSON object: {str(exc)[:200]}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_json", f"a request is a JSON object, got {type(obj).__name__}")
    kind = obj.get("type")
    request_id = obj.get("id") if isinstance(obj.get("id"), (str, int)) else None
    if not isinstance(kind, str) or kind not in REQUESTS:
        raise ProtocolError(
            "unknown_request",
            f"unknown request type {kind!r}; known: {', '.join(REQUESTS)}",
            request_id=request_id,
        )
    error = next(iter(sorted(_REQUEST_VALIDATORS[kind].iter_errors(obj), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.path) or "request"
        raise ProtocolError("bad_request", f"{kind}: {where}: {error.message}", kind, request_id)
    return obj


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def encode(kind: str, /, **fields: Any) -> bytes:
    """A message line (non-finite numbers become null: JSON has none)."""
    if kind not in MESSAGES:
        raise KeyError(f"undeclared message type {kind!r}")
    if fields.get("id") is None:
        fields.pop("id", None)  # an answer to a request without an id carries none
    return (json.dumps({"type": kind, **_finite(fields)}, separators=(",", ":"), default=str) + "\n").encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def schemas() -> dict[str, dict[str, Any]]:
    """file name -> JSON Schema of every request and message type (for schemas/protocol/)."""
    out = {f"request.{n}.schema.json": m.schema("request") for n, m in REQUESTS.items()}
    out.update({f"message.{n}.schema.json": m.schema("message") for n, m in MESSAGES.items()})
    return out
