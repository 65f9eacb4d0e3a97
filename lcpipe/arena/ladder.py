"""The rating ladder of a run: one JSON line per gated network, rewritten atomically.

The first network is the anchor (rating 0). Each later network's rating is
its opponent's rating plus the Elo difference the gate measured, and its
interval is that match's interval shifted the same way (the opponent's own
uncertainty is not added in).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

from lcpipe.fileio import atomic_write

LADDER_FILE = "ladder.jsonl"


class LadderError(ValueError):
    """A ladder that cannot be read or drawn; the message names the file."""


def ladder_path(path: str | Path) -> Path:
    """A run directory's ladder file, or the file itself."""
    path = Path(path)
    return path / LADDER_FILE if path.is_dir() else path


def _finite(x):
    return x if x is None or math.isfinite(x) else None  # JSON has no infinity: +-inf is written as null


def write_ladder(path: str | Path, entries: list[dict]) -> None:
    lines = [
        json.dumps({k: _finite(v) if isinstance(v, float) else v for k, v in e.items()}, sort_keys=True)
        for e in entries
    ]
    atomic_write(path, ("\n".join(lines) + "\n" if lines else "").encode("utf-8"), fsync=False)


def read_ladder(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise LadderError(f"{path}: no ladder file (an eval.gate stage writes it)")
    entries = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LadderError(f"{path}:{lineno}: not JSON: {exc.msg}") from None
        if not isinstance(entry, dict) or "step" not in entry or "rating" not in entry:
            raise LadderError(f"{path}:{lineno}: a ladder entry needs at least 'step' and 'rating'")
        entries.append(entry)
    return entries


def _num(x, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def format_ladder(entries: list[dict]) -> str:
    head = (
        f"{'step':>8}  {'rating':>8}  {'95% interval':>19}  {'vs step':>8}  {'elo':>7}  {'W/D/L':>11}  result"
    )
    rows = [head]
    for e in entries:
        wdl = f"{e.get('wins', 0)}/{e.get('draws', 0)}/{e.get('losses', 0)}" if e.get("games") else "-"
        interval = (
            f"{_num(e.get('rating_low'), '+.0f')} .. {_num(e.get('rating_high'), '+.0f')}"
            if e.get("games")
            else "anchor"
        )
        verdict = (
            "anchor"
            if not e.get("games")
            else ("promoted" if e.get("promoted") else "passed" if e.get("passed") else "refused")
        )
        rows.append(
            f"{e['step']:>8}  {_num(e['rating'], '+.1f'):>8}  {interval:>19}  "
            f"{_num(e.get('opponent_step'), 'd'):>8}  {_num(e.get('elo'), '+.1f'):>7}  {wdl:>11}  {verdict}"
        )
    return "\n".join(rows)


def plot_ladder(entries: list[dict], out: str | Path) -> None:
    """Ratings by training step with their 95% intervals, promoted networks filled (PNG, atomic)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise LadderError("drawing the ladder needs matplotlib (pip install 'lcpipe[plot]')") from None
    if not entries:
        raise LadderError("the ladder is empty: nothing to draw")
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    styles: tuple[tuple[bool, dict[str, Any]], ...] = (
        (True, dict(fmt="o", color="tab:blue", label="promoted / anchor")),
        (False, dict(fmt="o", mfc="white", color="tab:gray", label="refused")),
    )
    for promoted, style in styles:
        pick = [e for e in entries if bool(e.get("promoted") or not e.get("games")) == promoted]
        if not pick:
            continue
        x = [e["step"] for e in pick]
        y = [e["rating"] for e in pick]
        lo = [
            max(e["rating"] - (e.get("rating_low") if e.get("rating_low") is not None else e["rating"]), 0)
            for e in pick
        ]
        hi = [
            max((e.get("rating_high") if e.get("rating_high") is not None else e["rating"]) - e["rating"], 0)
            for e in pick
        ]
        ax.errorbar(x, y, yerr=[lo, hi], capsize=3, **style)
    ax.set_xlabel("training step")
    ax.set_ylabel("rating (Elo, first network = 0)")
    ax.set_title("eval.gate rating ladder (95% intervals)")
    ax.grid(alpha=0.3)
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    atomic_write(out, buf.getvalue(), fsync=False)
