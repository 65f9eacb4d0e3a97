"""``lcpipe data rescore``: data files rewritten through the ``loader.rescore`` stage.

The settings are the stage's own: as options (``--policy-temperature 1.2``,
``--syzygy-paths DIR``, ``--deblunder``) and/or from a spec's
``loader.rescore`` stage (``--spec rl.yaml [--stage NAME]``); an option
overrides the spec, anything left unset takes the declaration's default.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

RESCORE = "loader.rescore"
# Settings a file-to-file rewrite has no use for (its queue is the tool's business).
_NOT_OPTIONS = ("queue",)


def register(sub) -> None:
    from lcpipe.loader.stages import lcpipe_stage_types
    from lcpipe.settings_options import add_setting_options

    decl = {st.name: st for st in lcpipe_stage_types()}[RESCORE]
    p = sub.add_parser(
        "rescore",
        help="rewrite chunks/tars through loader.rescore (tablebases, deblunder, policy temperature)",
        description="Rescore lc0 data files into new files with the loader.rescore stage's native code. "
        "Each input .gz or .tar (a directory: every one under it) becomes a file of the same name in --out, "
        "written atomically.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=".gz chunks, .tar files or directories of them")
    p.add_argument("--out", required=True, help="output directory (must not hold the inputs)")
    p.add_argument("--spec", help="take the settings of a loader.rescore stage of this pipeline")
    p.add_argument("--stage", help="which loader.rescore stage of --spec (needed when it has several)")
    p.add_argument(
        "--record-version",
        type=int,
        choices=(6, 7),
        help="write every record as V6 or V7 (default: each record's own; V3-V5 become V6). "
        "V7 keeps the short-term values the stage fills in",
    )
    p.add_argument(
        "--gzip-level",
        type=int,
        default=6,
        choices=range(1, 10),
        metavar="1-9",
        help="compression of the written chunks (default 6, as lc0 writes them; 1 is about 3x faster, "
        "60%% larger)",
    )
    add_setting_options(p, decl.schema, skip=_NOT_OPTIONS)
    p.set_defaults(handler=cmd_rescore)


def _err(msg: str) -> None:
    print(f"lcpipe data rescore: {msg}", file=sys.stderr)


def spec_settings(spec: str, stage: str | None) -> tuple[dict[str, Any], Path]:
    """The validated ``with:`` of the spec's loader.rescore stage and the spec's workdir."""
    from lcpipe.compiler import compile_file
    from lcpipe.registry import load_registry

    pipeline = compile_file(spec, None, load_registry())
    found = [n for n in pipeline.graph.nodes if pipeline.stage_type(n).name == RESCORE]
    if stage is not None:
        if stage not in pipeline.graph.nodes:
            raise ValueError(f"{spec}: no stage {stage!r} (its {RESCORE} stages: {found or 'none'})")
        if stage not in found:
            raise ValueError(f"{spec}: stage {stage!r} is a {pipeline.stage_type(stage).name}, not {RESCORE}")
        found = [stage]
    if len(found) != 1:
        raise ValueError(
            f"{spec}: {'no' if not found else len(found)} {RESCORE} stages"
            + (f" ({', '.join(found)}): name one with --stage" if found else "")
        )
    config = dict(pipeline.graph.nodes[found[0]]["config"])
    return config, Path(pipeline.runtime.get("workdir", "."))


def cmd_rescore(args) -> int:
    from lcpipe.console_progress import Progress
    from lcpipe.lc0.data_files import check_output_dir, count_chunks, data_files
    from lcpipe.loader.rescore_files import FileRescorer, rescore_settings
    from lcpipe.settings_options import given_settings
    from lcpipe.spec.errors import SpecErrors

    given: dict[str, Any] = {}
    workdir = Path(".")
    try:
        if args.spec:
            given, workdir = spec_settings(args.spec, args.stage)
        elif args.stage:
            raise ValueError("--stage names a stage of --spec; give --spec too")
        given.update(given_settings(args))
        config = rescore_settings(given)
        files = data_files(args.inputs)
        out = check_output_dir(args.out, files)
        total = count_chunks(files)
        rescorer = FileRescorer(files, config, workdir)
    except SpecErrors as exc:
        for error in exc.errors:
            print(error.format(), file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        _err(str(exc))
        return EXIT_USAGE
    with Progress("rescore", total=total, unit="games") as progress:
        try:
            result = rescorer.run(
                out,
                args.record_version or 0,
                on_game=lambda _size: progress.update(1),
                gzip_level=args.gzip_level,
            )
        except RuntimeError as exc:
            _err(str(exc))
            return EXIT_FAILED
    for line in result.problems[:20]:
        _err(line)
    tb = {k.split("/", 1)[1]: int(v) for k, v in result.stats.items() if k.startswith("rescore/tb_")}
    print(
        f"{result.games} games rescored, {result.skipped} skipped -> {len(result.files)} files in {out}"
        + (f" (tablebases: {tb['tb_games']} games, {tb['tb_frames_changed']} results changed)" if tb else "")
    )
    return EXIT_OK if result.skipped == 0 else EXIT_FAILED
