"""The export.lc0 stage: NetworkSnapshot in, .pb.gz on disk, ExportedNetwork out."""

from __future__ import annotations

import glob
import os
import re
import time
from pathlib import Path

from lcpipe.runtime.stage import Stage, StageFailed
from lcpipe.types import ExportedNetwork, NetworkSnapshot


def render_path(template: str, step: int, kind: str = "raw", when: float | None = None) -> Path:
    """The file name for a snapshot; raises ValueError on a bad template."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if when is None else when))
    try:
        return Path(template.format(step=step, time=stamp, kind=kind))
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(f"bad path template {template!r}: {e} (fields: step, time, kind)") from None


def template_glob(template: str) -> str:
    """A glob matching every file the template can produce."""
    return re.sub(r"\{[^{}]*\}", "*", template)


def prune(template: str, keep_last: int) -> list[str]:
    """Delete all but the newest ``keep_last`` files matching the template."""
    if keep_last <= 0:
        return []
    files = [f for f in glob.glob(template_glob(template)) if f.endswith(".pb.gz") and os.path.isfile(f)]
    files.sort(key=lambda f: (os.path.getmtime(f), f))
    doomed = files[:-keep_last]
    for f in doomed:
        try:
            os.unlink(f)
        except OSError:
            pass
    return doomed


class ExportStage(Stage):
    def run(self) -> None:
        from lcpipe.nets.export import snapshot_to_net

        ctx, cfg = self.ctx, self.config
        template = cfg["path"]
        try:
            render_path(template, 0)
        except ValueError as e:
            raise StageFailed(str(e)) from None
        kinds = set(cfg["kinds"])
        written = 0
        for snap in ctx.input("weights"):
            if not isinstance(snap, NetworkSnapshot):
                ctx.warning(f"skipped an item that is not a NetworkSnapshot: {type(snap).__name__}")
                continue
            if kinds and snap.kind not in kinds:
                continue
            if cfg["input_format"]:
                snap = NetworkSnapshot(snap.step, snap.model, snap.params, snap.kind, int(cfg["input_format"]),
                                       snap.extra)
            path = render_path(template, snap.step, snap.kind)
            t0 = time.monotonic()
            try:
                net, notes = snapshot_to_net(snap, cfg["encoding"])
                net.write(path)
            except (ValueError, KeyError) as e:  # e.g. non-finite weights: count and skip
                ctx.warning(f"step {snap.step}: not exported: {e}")
                continue
            for note in notes:
                ctx.info(f"step {snap.step}: {note}")
            written += 1
            prune(template, int(cfg["keep_last"]))
            ctx.metrics({"export/seconds": time.monotonic() - t0, "export/networks": written}, snap.step)
            ctx.info(f"wrote {path} (step {snap.step}, {snap.kind})")
            if not ctx.output("network").put(ExportedNetwork(path=Path(path), step=snap.step, kind=snap.kind)):
                break
