"""Helpers of the daemon tests: a daemon subprocess, message checks, small specs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema

from lcpipe.daemon.protocol import MESSAGES

CORE = Path(__file__).resolve().parents[1] / "core"
sys.path.insert(0, str(CORE))

VALIDATORS = {name: jsonschema.Draft202012Validator(m.schema("message")) for name, m in MESSAGES.items()}


def check_message(msg: dict) -> None:
    """Every message the daemon writes must validate against its type's schema."""
    assert msg.get("type") in VALIDATORS, msg
    VALIDATORS[msg["type"]].validate(msg)


class DaemonProcess:
    """`lcpipe daemon` as a subprocess; messages read by a thread, waited for by condition."""

    def __init__(self, cwd: Path):
        env = dict(os.environ, PYTHONPATH=str(CORE), LCPIPE_EXTRA_PLUGINS="toy_stages")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lcpipe.cli.main", "daemon"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.messages: list[dict] = []
        self.raw_errors: list[bytes] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                self.raw_errors.append(line)
                continue
            with self._cond:
                self.messages.append(msg)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def send(self, obj: dict | bytes | str) -> None:
        data = obj if isinstance(obj, bytes) else (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        self.proc.stdin.write(data if data.endswith(b"\n") else data + b"\n")
        self.proc.stdin.flush()

    def wait_for(self, pred, timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for msg in self.messages[seen:]:
                    if pred(msg):
                        return msg
                seen = len(self.messages)
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and seen == len(self.messages):
                    raise AssertionError(f"no such message; got {self.messages[-10:]}")
                self._cond.wait(min(left, 1.0))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)


def toy_spec(tmp_path: Path, limit: int = 0, delay: float = 0.01) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "lcpipe: 1\nname: toy\nstages:\n"
        f"  src: {{use: toy.count, with: {{limit: {limit}, delay: {delay}}}}}\n"
        f"  sink: {{use: toy.collect, from: src, with: {{path: '{tmp_path / 'out.json'}'}}}}\n"
    )
    return path
