"""Does the RL loop make progress? Train for a fixed wall time, then rate every exported network.

1. Runs ``pipelines/rl.yaml`` (or ``--pipeline``) in a fresh run directory
   for ``--minutes`` of wall time, then stops it with SIGINT (the trainer
   exports the network it holds on such a stop).
2. Plays each exported network against the first one and against
   ``builtin:uniform`` (the search with equal priors and value 0) with
   ``lcpipe match``: paired openings, ``--games`` games, ``--visits`` per move.
3. Writes the Elo curve with 95% intervals as text (``--out``) and as a PNG
   beside it (``.png``), both atomically.

    .venv/bin/python benchmarks/bench_rl_progress.py --minutes 60
    .venv/bin/python benchmarks/bench_rl_progress.py --matches-only --run-dir runs/bench-rl-progress

``--matches-only`` rates the networks of an existing run directory again.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import Report

ROOT = Path(__file__).resolve().parent.parent
LCPIPE = [sys.executable, "-m", "lcpipe.cli.main"]
_WDL = re.compile(r"W/D/L (\d+)/(\d+)/(\d+)")
_PAIRS = re.compile(r"pentanomial .*: \[([\d, ]+)\]")
_STEP = re.compile(r"(\d+)(?:-[a-z]+)?\.pb\.gz$")  # rl-00000200-swa.pb.gz


def train(pipeline: Path, run_dir: Path, minutes: float, extra_sets: list[str], out: Report) -> None:
    """Run the pipeline for ``minutes`` of wall time, then stop it as Ctrl-C would."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    # keep every network: the first one is the curve's reference
    cmd = [
        *LCPIPE,
        "run",
        str(pipeline),
        "--quiet",
        "--set",
        f"vars.run={run_dir}",
        "--set",
        "stages.export.with.keep_last=0",
    ]
    for s in extra_sets:
        cmd += ["--set", s]
    out(f"training: {' '.join(cmd[2:])}  ({minutes:g} min)")
    log = open(run_dir / "pipeline.log", "wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    t0 = time.monotonic()
    try:
        proc.wait(timeout=minutes * 60)
        out(f"the pipeline ended by itself after {time.monotonic() - t0:.0f} s (exit {proc.returncode})")
        if proc.returncode != 0:
            out(f"WARNING: the pipeline failed; see {run_dir / 'pipeline.log'}")
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out(f"stopped after {time.monotonic() - t0:.0f} s (exit {proc.returncode})")
    finally:
        log.close()


def networks(run_dir: Path) -> list[tuple[int, Path]]:
    """Exported networks by training step."""
    found = []
    for path in (run_dir / "nets").glob("*.pb.gz"):
        m = _STEP.search(path.name)
        if m:
            found.append((int(m.group(1)), path))
    return sorted(found)


def spread(nets: list, count: int) -> list:
    """At most ``count`` of ``nets``, evenly spaced, the first and the last always among them."""
    if count >= len(nets) or count < 2:
        return nets if count >= len(nets) else nets[:1]
    picks = sorted({round(k * (len(nets) - 1) / (count - 1)) for k in range(count)})
    return [nets[k] for k in picks]


def match(a: str, b: str, games: int, visits: int, engine: str) -> tuple[list[int], list[int]]:
    """(W, D, L) and the pentanomial pair counts of A against B, from ``lcpipe match``'s summary."""
    cmd = [
        *LCPIPE,
        "match",
        a,
        b,
        "--games",
        str(games),
        "--visits",
        str(visits),
        "--parallel",
        str(games),
        "--engine",
        engine,
        "--quiet",
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} failed ({done.returncode}): {done.stderr.strip()}")
    wdl = _WDL.search(done.stdout)
    pairs = _PAIRS.search(done.stdout)
    if wdl is None or pairs is None:
        raise RuntimeError(f"unexpected output of lcpipe match:\n{done.stdout}")
    return [int(x) for x in wdl.groups()], [int(x) for x in pairs.group(1).split(",")]


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lcpipe.fileio import atomic_write

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for opponent, color in (("first", "tab:blue"), ("uniform", "tab:orange")):
        pick = [r for r in rows if r["opponent"] == opponent]
        if not pick:
            continue
        x = [r["step"] for r in pick]
        y = [_clip(r["elo"]) for r in pick]
        lo = [max(_clip(r["elo"]) - _clip(r["low"]), 0) for r in pick]
        hi = [max(_clip(r["high"]) - _clip(r["elo"]), 0) for r in pick]
        ax.errorbar(x, y, yerr=[lo, hi], fmt="o-", capsize=3, color=color, label=f"vs {opponent}")
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_xlabel("training step")
    ax.set_ylabel("Elo difference (95% interval, clipped at +-800)")
    ax.set_title("RL progress: each exported network vs the first and vs builtin:uniform")
    ax.grid(alpha=0.3)
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, buf.getvalue(), fsync=False)


def _load(when: str) -> str:
    """The machine's load averages: on a shared machine they explain the pace."""
    one, five, fifteen = os.getloadavg()
    return f"load average {when}: {one:.1f} {five:.1f} {fifteen:.1f} (1, 5, 15 min) on {os.cpu_count()} cores"


def _clip(x: float) -> float:
    return max(-800.0, min(800.0, x))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pipeline", default="pipelines/rl.yaml")
    ap.add_argument("--minutes", type=float, default=60.0, help="training wall time (default 60)")
    ap.add_argument("--run-dir", default="runs/bench-rl-progress", help="emptied first unless --matches-only")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="passed to lcpipe run")
    ap.add_argument("--matches-only", action="store_true", help="rate the networks already in --run-dir")
    ap.add_argument(
        "--networks",
        type=int,
        default=8,
        help="rate at most this many networks, evenly spaced by export order (default 8)",
    )
    ap.add_argument("--games", type=int, default=20, help="games per match (even; default 20)")
    ap.add_argument("--visits", type=int, default=32, help="visits per move (default 32)")
    ap.add_argument("--engine", choices=["native", "python"], default="native")
    ap.add_argument("--out", default="benchmarks/results/rl_progress.txt")
    args = ap.parse_args(argv)
    out = Report("bench_rl_progress", argv)
    run_dir = (ROOT / args.run_dir).resolve()
    out(_load("at the start"))
    if not args.matches_only:
        train(ROOT / args.pipeline, run_dir, args.minutes, args.set, out)
        out(_load("after training"))
    nets = networks(run_dir)
    out(
        f"{len(nets)} exported networks in {run_dir.relative_to(ROOT) if run_dir.is_relative_to(ROOT) else run_dir}: "
        f"steps {[s for s, _ in nets]}"
    )
    if not nets:
        out("nothing to rate: no network was exported in the time given")
        out.save(args.out)
        return 1

    from lcpipe.arena.stats import elo_pentanomial

    nets = spread(nets, args.networks)
    out(f"rated: steps {[s for s, _ in nets]}")
    rows = []
    first_step, first = nets[0]
    rows.append(
        {"step": first_step, "opponent": "first", "elo": 0.0, "low": 0.0, "high": 0.0}
    )  # by definition
    out(f"matches: {args.games} games (paired openings), {args.visits} visits per move, engine {args.engine}")
    out(f"{'step':>8}  {'opponent':>8}  {'W/D/L':>9}  {'score':>6}  {'Elo':>7}  {'95% interval':>17}")
    for step, path in nets:
        for opponent, spec in (("first", str(first)), ("uniform", "builtin:uniform")):
            if opponent == "first" and step == first_step:
                continue
            t0 = time.monotonic()
            wdl, pairs = match(str(path), spec, args.games, args.visits, args.engine)
            est = elo_pentanomial(pairs)
            rows.append(
                {"step": step, "opponent": opponent, "elo": est.elo, "low": est.low, "high": est.high}
            )
            out(
                f"{step:>8}  {opponent:>8}  {'/'.join(map(str, wdl)):>9}  {est.score:6.3f}  {est.elo:+7.1f}  "
                f"{est.low:+8.1f} .. {est.high:+.1f}  ({time.monotonic() - t0:.0f} s)"
            )
    out(_load("after the matches"))
    out.save(args.out)
    png = Path(args.out).with_suffix(".png")
    plot(rows, png)
    print(f"wrote {args.out} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
