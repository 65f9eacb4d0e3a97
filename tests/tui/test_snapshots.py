"""Snapshot tests: the dashboard's layout at 100x30 and 200x50, every tab, pinned by committed SVGs.

The dashboard is fed the protocol messages a client received from a real RL
run (snapshots/rl_run.jsonl, recorded by record_run.py) through a RemoteRun,
exactly as when attached to a socket, so every pane has real content and the
test needs no running pipeline. A snapshot is compared as the text on the
screen, cell by cell (from Textual's SVG export), with the parts that depend
on the wall clock masked: clock times, the elapsed time, "Ns ago". Colours and
SVG details are not compared, so a loaded CI machine or another font cannot
fail it; a moved, cut or missing column or pane does.

To update the snapshots after a deliberate change of the layout:

    LCPIPE_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -n 0 tests/tui/test_snapshots.py

and look at the new SVGs in tests/tui/snapshots/ (a browser shows them) before
committing them. A failing comparison writes the SVG it got beside the test's
temporary files and names it in the message.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
from textual.widgets import TabbedContent

from lcpipe.tui.app import Dashboard
from lcpipe.tui.link import RemoteRun

SNAPSHOTS = Path(__file__).parent / "snapshots"
TRANSCRIPT = SNAPSHOTS / "rl_run.jsonl"
TABS = ("overview", "training", "selfplay", "networks")
UPDATE = os.environ.get("LCPIPE_UPDATE_SNAPSHOTS") == "1"

# Wall-clock parts of the screen, masked before comparing: clock times keep their width
# (digits become #); "Ns ago" takes the padding around it along, as its width varies.
CLOCK = (
    re.compile(r"\b\d\d:\d\d:\d\d\b"),  # log and network times
    re.compile(r"(?<=· )\d\d:\d\d(?= ·)"),  # elapsed time in the status line
)
AGO = re.compile(r" *\b\d+s ago *")  # the stages' "updated" column


def _transcript() -> bytes:
    """The recorded messages, without the runtime's queue item counts: the queue rates they give
    depend on how fast the replay is read (the stages' own rates, e.g. steps/s, stay)."""
    lines = []
    for line in TRANSCRIPT.read_text().splitlines():
        msg = json.loads(line)
        if msg.get("type") == "metrics":
            msg["values"] = {k: v for k, v in msg["values"].items() if not k.endswith("/items")}
        lines.append(json.dumps(msg, separators=(",", ":")) + "\n")
    return "".join(lines).encode()


class Replay:
    """The reading end of a recorded connection: every line once, then an open, silent link."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0
        self.drained = threading.Event()  # the reader asked for more after the last line: all delivered
        self.closed = threading.Event()

    def read(self, n: int) -> bytes:
        if self.pos >= len(self.data):
            self.drained.set()
            self.closed.wait()
            return b""
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk

    def run(self) -> RemoteRun:
        run = RemoteRun(self.read, lambda data: None, self.closed.set)
        run.wait_hello(30.0, "the recorded run")
        return run


def screen_text(svg: str) -> list[str]:
    """The screen's text lines from Textual's SVG export, volatile parts masked."""
    rows: dict[int, list[str]] = {}
    for line, text in re.findall(
        r'<text [^>]*clip-path="url\(#[\w-]+-line-(\d+)\)"[^>]*>([^<]*)</text>', svg
    ):
        rows.setdefault(int(line), []).append(html.unescape(text).replace("\xa0", " "))
    out = []
    for i in sorted(rows):
        text = "".join(rows[i])
        for pattern in CLOCK:
            text = pattern.sub(lambda m: re.sub(r"\d", "#", m.group()), text)
        out.append(AGO.sub(" #s ago ", text).rstrip())
    return out


async def _settle(pilot, app, replay: Replay, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not replay.drained.is_set():
        assert time.monotonic() < deadline, "the replay was not read in time"
        await pilot.pause(0.05)
    app.refresh_view()  # the model holds every message now: show it all
    await pilot.pause(0.2)


def _screenshots(size: tuple[int, int]) -> dict[str, str]:
    replay = Replay(_transcript())
    app = Dashboard(replay.run(), hold=60.0, refresh_interval=0.1)
    app.animation_level = "none"  # the tabs' underline slides: a screenshot mid-way would differ
    shots: dict[str, str] = {}

    async def drive():
        async with app.run_test(size=size) as pilot:
            await _settle(pilot, app, replay)
            for tab in TABS:
                app.query_one(TabbedContent).active = tab
                await pilot.pause(0.3)
                shots[tab] = app.export_screenshot(title=f"lcpipe dashboard {size[0]}x{size[1]}: {tab}")
            app.query_one(TabbedContent).active = "overview"
            await pilot.press("e")  # the fused loader's member stages, a row each
            await pilot.pause(0.3)
            shots["members"] = app.export_screenshot(title=f"lcpipe dashboard {size[0]}x{size[1]}: members")
            app.action_detach()

    try:
        asyncio.run(drive())
    finally:
        replay.closed.set()
    return shots


@pytest.mark.skipif(not TRANSCRIPT.exists(), reason="no recorded run (tests/tui/record_run.py writes it)")
@pytest.mark.parametrize("size", [(100, 30), (200, 50)], ids=["100x30", "200x50"])
def test_dashboard_layout_matches_its_snapshots(size, tmp_path):
    shots = _screenshots(size)
    failures = []
    for tab, svg in shots.items():
        path = SNAPSHOTS / f"dashboard_{tab}_{size[0]}x{size[1]}.svg"
        got = screen_text(svg)
        assert len(got) == size[1], f"{tab}: {len(got)} lines on a {size[1]}-line screen"
        if UPDATE or not path.exists():
            assert UPDATE, f"no snapshot {path.name}: run with LCPIPE_UPDATE_SNAPSHOTS=1 to write it"
            path.write_text(svg)
            continue
        want = screen_text(path.read_text())
        if got != want:
            (tmp_path / path.name).write_text(svg)
            diff = [
                f"line {i + 1}:\n  want {w!r}\n  got  {g!r}"
                for i, (w, g) in enumerate(zip(want, got))
                if w != g
            ]
            failures.append(f"{path.name} differs (got: {tmp_path / path.name}):\n" + "\n".join(diff[:6]))
    assert not failures, "\n\n".join(failures)


def test_masking_keeps_layout_and_hides_only_the_clock():
    svg_line = (
        '<text class="x" x="0" y="0" textLength="10" clip-path="url(#terminal-123-line-0)">'
        "pipeline&#160;&#x27;rl&#x27;&#160;·&#160;running&#160;·&#160;03:41&#160;·&#160;7&#160;running"
        '</text><text clip-path="url(#terminal-123-line-1)">12:03:59 [train] step 20 │ 15s ago │</text>'
        '<text clip-path="url(#terminal-123-line-2)">│ train │ 5s ago  │</text>'
    )
    assert screen_text(svg_line) == [
        "pipeline 'rl' · running · ##:## · 7 running",
        "##:##:## [train] step 20 │ #s ago │",
        "│ train │ #s ago │",
    ]
