"""Records a real run for the dashboard's docs screenshot and its snapshot tests.

    .venv/bin/python tests/tui/record_run.py [SECONDS]

Starts `lcpipe run pipelines/rl.yaml` (small settings, in a temporary run
directory), attaches the dashboard to it through the run's socket at 200x50
once the first network is out, saves the screenshot as
docs/images/dashboard.svg, and writes the protocol messages a client received
(the hello with its replay, then the live stream) to
tests/tui/snapshots/rl_run.jsonl, the input of test_snapshots.py, with the
once-a-second metrics of the loader and the runtime thinned (see ``thin``).
Then stops the run. Takes a few minutes on a laptop CPU.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPT = Path(__file__).parent / "snapshots" / "rl_run.jsonl"
SCREENSHOT = ROOT / "docs" / "images" / "dashboard.svg"
OVERRIDES = [
    "stages.selfplay.with.parallel_games=16",
    "stages.selfplay.with.visits=8",
    "stages.selfplay.with.max_plies=80",
    "stages.pool.with.min_chunks=8",
    "stages.train.with.steps_per_network=20",
    "stages.train.with.metrics_every=5",
    "stages.train.with.test_every=20",
    "stages.train.with.checkpoint.every=20",
    "stages.console.with.interval=10",
]


def _wait(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def thin(messages: list[dict], keep_every: int = 10) -> list[dict]:
    """Every message, but of the metrics messages of stages that report once a second with a
    hundred values (a native loader segment, the runtime's queues) only every ``keep_every``-th
    and the last: the transcript stays small, and what each pane shows at the end is unchanged."""
    bulky = {
        i
        for i, m in enumerate(messages)
        if m.get("type") == "metrics"
        and (m.get("stage") == "runtime" or any(k.startswith("queue/") for k in m.get("values", {})))
    }
    by_stage: dict[str, list[int]] = {}
    for i in sorted(bulky):
        by_stage.setdefault(messages[i]["stage"], []).append(i)
    keep = {i for idx in by_stage.values() for i in idx[::keep_every] + idx[-1:]}
    return [m for i, m in enumerate(messages) if i not in bulky or i in keep]


def main(seconds: float = 600.0) -> int:
    from lcpipe.daemon.server import SOCKET_NAME
    from lcpipe.tui.app import Dashboard
    from lcpipe.tui.link import RemoteRun

    run_dir = Path(tempfile.mkdtemp(prefix="lcpipe-shot-")) / "rl"
    args = [
        sys.executable,
        "-m",
        "lcpipe.cli.main",
        "run",
        str(ROOT / "pipelines" / "rl.yaml"),
        "--set",
        f"vars.run={run_dir}",
    ]
    for o in OVERRIDES:
        args += ["--set", o]
    log = open(run_dir.parent / "run.log", "wb")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        sock = run_dir / SOCKET_NAME
        _wait(sock.exists, 300, "the run's socket")
        messages: list[dict] = []
        recorder = RemoteRun.attach(sock, on_message=messages.append)
        _wait(lambda: any(m.get("type") == "network" for m in messages), seconds, "the first network")
        app = Dashboard(RemoteRun.attach(sock), refresh_interval=0.25)

        async def shoot() -> None:
            async with app.run_test(size=(200, 50)) as pilot:
                await pilot.pause(
                    45.0
                )  # an attached dashboard starts from the newest values: let charts grow
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                app.save_screenshot(SCREENSHOT.name, str(SCREENSHOT.parent))
                app.action_detach()

        asyncio.run(shoot())
        recorder.detach()
        TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
        messages = thin(messages)
        TRANSCRIPT.write_text("".join(json.dumps(m, separators=(",", ":")) + "\n" for m in messages))
        print(f"wrote {SCREENSHOT} and {TRANSCRIPT} ({len(messages)} messages)")
    finally:
        os.killpg(proc.pid, 15)  # SIGTERM: the run stops in order
        proc.wait(120)
    return 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 600.0))
