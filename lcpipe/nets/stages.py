"""Declaration of the export.lc0 stage (imports nothing heavy)."""

from __future__ import annotations

from lcpipe.plugin import Port, StageType, hookimpl, settings

EXPORT_SETTINGS = {
    "path": {
        "type": "string",
        "default": "nets/{step:08d}.pb.gz",
        "description": "Output file template; fields {step} (training step, format spec allowed), {time} "
                       "(UTC, YYYYmmdd-HHMMSS) and {kind} (raw, swa or ema). Relative paths are relative to the "
                       "working directory of the run.",
    },
    "encoding": {
        "type": "string",
        "enum": ["linear16", "float16", "bfloat16", "float32"],
        "default": "linear16",
        "description": "Weight encoding. linear16 loads in every lc0; the others need lc0 >= 0.33 (min_version "
                       "is set accordingly).",
    },
    "keep_last": {
        "type": "integer",
        "minimum": 0,
        "default": 0,
        "description": "Keep only the newest N files matching the template (0 keeps all).",
    },
    "kinds": {
        "type": "array",
        "items": {"type": "string", "enum": ["raw", "swa", "ema"]},
        "default": [],
        "description": "Export only snapshots of these kinds ([] = every snapshot received).",
    },
    "input_format": {
        "type": "integer",
        "enum": [0, 1, 2, 3, 4, 5, 132, 133],
        "default": 0,
        "description": "Input format written into the file; 0 = the snapshot's own (the data it was trained on).",
    },
}


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="export.lc0",
            factory="lcpipe.nets.export_stage:ExportStage",
            description="Write each trained network as an lc0 .pb.gz (atomically, from a file-name template), "
                        "keeping the last N; emits the written file.",
            inputs=(Port("weights", "weights", doc="NetworkSnapshot from a trainer (or swa/ema)"),),
            outputs=(Port("network", "network", kind="latest",
                          doc="ExportedNetwork: the newest file written (latest: self-play wants only the newest)"),),
            schema=settings(EXPORT_SETTINGS),
        )
    ]
