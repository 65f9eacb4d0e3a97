"""The export.lc0 stage: NetworkSnapshot in, .pb.gz on disk, ExportedNetwork out."""

from __future__ import annotations

import fnmatch
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


KINDS = ("raw", "swa", "ema")


def kind_template(template: str, kind: str) -> str:
    """The template of one kind of snapshot: every kind gets its own file name. A template without
    a ``{kind}`` field names the raw weights; the others get ``-{kind}`` before ``.pb.gz``."""
    if "{kind" in template or kind == "raw":
        return template
    stem, ext = (template[: -len(".pb.gz")], ".pb.gz") if template.endswith(".pb.gz") else (template, "")
    return f"{stem}-{kind}{ext}"


def template_glob(template: str) -> str:
    """A glob matching every file the template can produce."""
    return re.sub(r"\{[^{}]*\}", "*", template)


def exported_files(template: str, step: int, kind: str) -> list[str]:
    """The files already written for this step and kind (whatever their {time} field)."""
    sentinel = "\x00"
    name = kind_template(template, kind).format(step=step, time=sentinel, kind=kind)
    return [f for f in glob.glob(glob.escape(name).replace(sentinel, "*")) if _kind_of(template, f) == kind]


def _kind_of(template: str, path: str) -> str:
    """Which kind's file name this is (a raw template's glob also matches the -swa / -ema names)."""
    if "{kind" in template:
        return next(
            (k for k in KINDS if fnmatch.fnmatch(path, template_glob(template.replace("{kind}", k)))), "raw"
        )
    return next(
        (k for k in ("swa", "ema") if fnmatch.fnmatch(path, template_glob(kind_template(template, k)))), "raw"
    )


def prune(template: str, keep_last: int, kind: str = "raw") -> list[str]:
    """Delete all but the newest ``keep_last`` files of this kind matching the template."""
    if keep_last <= 0:
        return []
    files = [
        f
        for f in glob.glob(template_glob(kind_template(template, kind)))
        if f.endswith(".pb.gz") and os.path.isfile(f) and _kind_of(template, f) == kind
    ]
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
                snap = NetworkSnapshot(
                    snap.step, snap.model, snap.params, snap.kind, int(cfg["input_format"]), snap.extra
                )
            existing = exported_files(template, snap.step, snap.kind)
            if existing:
                # a restarted trainer hands over the network of the step it resumed at when that
                # network was due: it may have been written before the crash. Written once; passed on.
                ctx.info(f"step {snap.step} ({snap.kind}) already exported: {existing[0]}")
                if not self._announce(
                    ExportedNetwork(path=Path(existing[0]), step=snap.step, kind=snap.kind)
                ):
                    break
                continue
            path = render_path(kind_template(template, snap.kind), snap.step, snap.kind)
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
            prune(template, int(cfg["keep_last"]), snap.kind)
            ctx.metrics({"export/seconds": time.monotonic() - t0, "export/networks": written}, snap.step)
            ctx.info(f"wrote {path} (step {snap.step}, {snap.kind})")
            if not self._announce(ExportedNetwork(path=Path(path), step=snap.step, kind=snap.kind)):
                break

    def _announce(self, network: ExportedNetwork) -> bool:
        """Pass the written file on. A network written while the run stops (the trainer's last one)
        is still announced: clients and sinks learn of every file on disk."""
        out = self.ctx.output("network")
        if self.ctx.stopping:
            out.put_final(network)
            return True
        return out.put(network)
