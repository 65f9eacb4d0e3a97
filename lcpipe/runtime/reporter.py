"""Prints what a user must see while a pipeline runs without the dashboard:
stage failures, warnings and the pipeline's start and stop, on stderr."""

from __future__ import annotations

import sys

from lcpipe.runtime.bus import Event, EventBus


def attach_reporter(bus: EventBus, quiet: bool = False, stream=None) -> None:
    out = stream or sys.stderr

    def report(event: Event) -> None:
        data = event.data
        if event.kind == "state" and data.get("state") == "failed":
            return  # the CLI prints failures once, after the run
        if event.kind == "log" and (data.get("level") in ("warning", "error") or not quiet):
            print(f"[{event.stage}] {data.get('message', '')}", file=out, flush=True)
        elif event.kind == "pipeline" and not quiet:
            if data.get("event") == "started":
                print(
                    f"pipeline {data.get('pipeline')!r} started: {len(data.get('stages', []))} segments",
                    file=out,
                    flush=True,
                )
            elif data.get("event") == "stopping":
                print(f"stopping: {data.get('reason')}", file=out, flush=True)

    bus.subscribe(report, kinds={"log", "pipeline", "state"}, replay=False)
