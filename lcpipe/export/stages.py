"""Declaration of the export.lc0 stage (imports nothing heavy)."""

from __future__ import annotations

import string

from lcpipe.plugin import Port, Problem, StageType, field, hookimpl, settings

TEMPLATE_FIELDS = {"step": 0, "time": "20240101-000000", "kind": "raw"}

EXPORT_SETTINGS = {
    "path": field(
        "string",
        "nets/{step:08d}.pb.gz",
        "Output file template; fields {step} (training step, format spec allowed), {time} "
        "(UTC, YYYYmmdd-HHMMSS) and {kind} (raw, swa or ema). Relative paths are relative to the "
        "working directory of the run.",
        min_length=1,
    ),
    "encoding": field(
        "string",
        "linear16",
        "Weight encoding. linear16 loads in every lc0; the others need "
        "lc0 >= 0.33 (min_version is set accordingly).",
        enum=["linear16", "float16", "bfloat16", "float32"],
    ),
    "keep_last": field(
        "integer",
        0,
        "Keep only the newest N files matching the template (0 keeps all).",
        minimum=0,
        maximum=1_000_000,
    ),
    "kinds": field(
        "array",
        [],
        "Export only snapshots of these kinds ([] = every snapshot received).",
        items=field("string", enum=["raw", "swa", "ema"]),
        unique=True,
    ),
    "input_format": field(
        "integer",
        0,
        "Input format written into the file; 0 = the snapshot's own (the data it was trained on).",
        enum=[0, 1, 2, 3, 4, 5, 132, 133],
    ),
}


def check_path_template(config: dict):
    """Every {field} of the path template is one the exporter fills, with a format spec that fits it."""
    template = config["path"]
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as e:
        yield Problem(("path",), f"bad path template {template!r}: {e}", "write braces as {{ and }}")
        return
    for name in names:
        if name not in TEMPLATE_FIELDS:
            yield Problem(
                ("path",),
                f"unknown field {{{name}}} in the path template",
                "fields: {step}, {time}, {kind} (e.g. nets/{step:08d}.pb.gz)",
            )
            return
    try:
        template.format(**TEMPLATE_FIELDS)
    except (KeyError, IndexError, ValueError) as e:
        yield Problem(
            ("path",),
            f"bad path template {template!r}: {e}",
            "{step} takes an integer format such as {step:08d}; {time} and {kind} are text",
        )


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="export.lc0",
            factory="lcpipe.export.lc0:ExportStage",
            description="Write each trained network as an lc0 .pb.gz (atomically, from a file-name template), "
            "keeping the last N; emits the written file.",
            inputs=(
                Port(
                    "weights",
                    "weights",
                    many=True,
                    doc="NetworkSnapshot from a trainer or a train.swa / train.ema stage (several: merged)",
                ),
            ),
            outputs=(
                Port(
                    "network",
                    "network",
                    kind="latest",
                    doc="ExportedNetwork: the newest file written (latest: self-play wants only the newest)",
                ),
            ),
            schema=settings(EXPORT_SETTINGS),
            checks=(check_path_template,),
            summary=("export/networks",),
        )
    ]
