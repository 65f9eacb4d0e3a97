"""Core commands: run, validate, graph, stages, schema, plugins."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from lcpipe.fileio import write_output
from lcpipe.plugin import hookimpl
from lcpipe.spec.errors import SpecErrors


def _warn_plugin_problems(registry) -> None:
    for problem in registry.problems:
        print(f"warning: {problem}", file=sys.stderr)


def _print_spec_errors(exc: SpecErrors) -> None:
    for error in exc.errors:
        print(error.format(), file=sys.stderr)
    count = len(exc.errors)
    print(f"{count} error{'s' if count != 1 else ''} found", file=sys.stderr)


def _compile(path: str, overrides: list[str] | None = None):
    from lcpipe.compiler import compile_file
    from lcpipe.registry import load_registry

    registry = load_registry()
    _warn_plugin_problems(registry)
    return compile_file(path, overrides, registry)


# -- validate ---------------------------------------------------------------------
def cmd_validate(args) -> int:
    worst = EXIT_OK
    for path in args.files:
        try:
            pipeline = _compile(path, args.set)
        except SpecErrors as exc:
            _print_spec_errors(exc)
            worst = EXIT_USAGE
            continue
        n = pipeline.graph.number_of_nodes()
        print(f"{path}: ok (pipeline {pipeline.name!r}, {n} stage{'s' if n != 1 else ''})")
    return worst


# -- graph ------------------------------------------------------------------------
def cmd_graph(args) -> int:
    from lcpipe.compiler import plan_pipeline
    from lcpipe.compiler.render import RENDERERS, GraphvizMissing, render_image

    try:
        plan = plan_pipeline(_compile(args.file, args.set))
    except SpecErrors as exc:
        _print_spec_errors(exc)
        return EXIT_USAGE
    if args.format in RENDERERS:
        text = RENDERERS[args.format](plan)
        if args.output:
            write_output(args.output, text)
        else:
            sys.stdout.write(text)
        return EXIT_OK
    try:
        data = render_image(plan, args.format)
    except GraphvizMissing as exc:
        print(f"lcpipe graph: {exc}", file=sys.stderr)
        return EXIT_FAILED
    out = Path(args.output or Path(args.file).with_suffix(f".{args.format}").name)
    write_output(out, data)
    print(f"wrote {out}")
    return EXIT_OK


# -- stages -----------------------------------------------------------------------
def _describe_settings(schema: dict, indent: str = "  ") -> list[str]:
    lines = []
    from lcpipe.settings import is_group_schema
    from lcpipe.spec.schema_export import setting_kind

    for key, sub in (schema.get("properties") or {}).items():
        kind = setting_kind(sub) or "any"
        nested = is_group_schema(sub)
        default = f" = {json.dumps(sub['default'])}" if "default" in sub and not nested else ""
        lines.append(f"{indent}{key}: {kind}{default}")
        if sub.get("description"):
            lines.append(f"{indent}    {sub['description']}")
        if nested:
            lines.extend(_describe_settings(sub, indent + "    "))
    return lines


def cmd_stages(args) -> int:
    from lcpipe.registry import load_registry
    from lcpipe.spec.errors import did_you_mean

    registry = load_registry()
    _warn_plugin_problems(registry)
    types = registry.stage_types
    if args.json:
        names = [args.name] if args.name else sorted(types)
        out = {
            n: {
                "description": types[n].description,
                "plugin": types[n].plugin,
                "segment": types[n].segment,
                "inputs": [vars(p) for p in types[n].inputs],
                "outputs": [vars(p) for p in types[n].outputs],
                "settings": types[n].schema,
            }
            for n in names
            if n in types
        }
        print(json.dumps(out, indent=2))
        return EXIT_OK if not args.name or args.name in types else EXIT_USAGE
    if args.name:
        st = types.get(args.name)
        if st is None:
            print(
                f"lcpipe stages: no stage type {args.name!r}; {did_you_mean(args.name, types, 'stage types')}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        print(f"{st.name}{'  (native)' if st.native else ''}  — from plugin {st.plugin}")
        print(f"  {st.description}")
        for title, ports in (("inputs", st.inputs), ("outputs", st.outputs)):
            if ports:
                print(f"{title}:")
                for p in ports:
                    flags = [p.kind] + (["optional"] if not p.required else []) + (["many"] if p.many else [])
                    doc = f" — {p.doc}" if p.doc else ""
                    print(f"  {p.name}: {p.type} ({', '.join(flags)}){doc}")
        print("settings:" if st.schema.get("properties") else "settings: none")
        for line in _describe_settings(st.schema):
            print(line)
        return EXIT_OK
    width = max((len(n) for n in types), default=10)
    for name in sorted(types):
        st = types[name]
        ins = ", ".join(f"{p.name}:{p.type}" for p in st.inputs) or "-"
        outs = ", ".join(f"{p.name}:{p.type}" for p in st.outputs) or "-"
        print(f"{name:<{width}}  {'native' if st.native else 'python'}  in[{ins}] out[{outs}]")
        print(f"{'':<{width}}  {st.description.splitlines()[0] if st.description else ''}")
    return EXIT_OK


# -- schema -----------------------------------------------------------------------
def cmd_schema(args) -> int:
    from lcpipe.registry import builtin_registry, load_registry
    from lcpipe.spec.schema_export import full_schema, stage_reference, write_schema_dir

    registry = builtin_registry() if args.builtin else load_registry()
    _warn_plugin_problems(registry)
    if args.docs:
        write_output(args.docs, stage_reference(registry))
        print(f"wrote {args.docs}")
    if args.dir:
        written = write_schema_dir(registry, Path(args.dir))
        print(f"wrote {len(written)} schema files to {args.dir}")
    if args.dir or args.docs:
        return EXIT_OK
    text = json.dumps(full_schema(registry), indent=2, sort_keys=False) + "\n"
    if args.output:
        write_output(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


# -- plugins ----------------------------------------------------------------------
def cmd_plugins(args) -> int:
    from lcpipe.registry import load_registry

    registry = load_registry()
    for label in registry.plugins:
        provided = sorted(n for n, st in registry.stage_types.items() if st.plugin == label)
        print(f"{label}: {', '.join(provided) if provided else '(no stages)'}")
    for problem in registry.problems:
        print(f"broken: {problem}")
    return EXIT_OK if not registry.problems else EXIT_FAILED


# -- run --------------------------------------------------------------------------
def cmd_run(args) -> int:
    from lcpipe.compiler import plan_pipeline
    from lcpipe.runtime.runner import StopBound

    try:
        bounds = [StopBound.parse(text) for text in args.stop_after]
    except ValueError as exc:
        print(f"lcpipe run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from lcpipe.runtime.processes import requested_group

    try:
        group = requested_group(args.coordinator, args.num_processes, args.process_id, os.environ)
    except ValueError as exc:
        print(f"lcpipe run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        pipeline = _compile(args.file, args.set)
    except SpecErrors as exc:
        _print_spec_errors(exc)
        return EXIT_USAGE
    if group is None:
        return _run_process(args, plan_pipeline(pipeline), bounds, 0)
    code = _run_multi_process(args, pipeline, bounds, group)
    # A failed process leaves at once: jax's exit barrier would wait for a peer that is gone.
    sys.stdout.flush()
    sys.stderr.flush()
    if code != EXIT_OK:
        os._exit(code)
    return code


def _run_multi_process(args, pipeline, bounds, group) -> int:
    """Join the run's other processes, then run this process's share of the pipeline."""
    from lcpipe.compiler import plan_pipeline
    from lcpipe.runtime.process_share import ProcessShareError, check_shareable, share_for_process
    from lcpipe.runtime.processes import initialize
    from lcpipe.runtime.runner import stop_targets

    if args.tui:
        print(
            "lcpipe run: --tui is not for a multi-process run; attach to process 0's run with lcpipe attach",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        if group.count is not None:  # known before joining: fail before the others wait on this one
            check_shareable(pipeline, group.count)
        print(f"lcpipe run: joining {group.describe()}", file=sys.stderr)
        index, count = initialize(group, args.heartbeat_timeout)
        pipeline = share_for_process(pipeline, index, count)
    except ProcessShareError as exc:
        print(f"lcpipe run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if index:  # a bound on what only process 0 makes is counted there; the stop reaches all
        valid = stop_targets(pipeline)
        bounds = [b for b in bounds if b.target in valid or b.target.rstrip("s") in valid]
    return _run_process(args, plan_pipeline(pipeline), bounds, index)


def _run_process(args, plan, bounds, process_index: int) -> int:
    """Run a planned pipeline in this process (``process_index`` of a multi-process run)."""
    from lcpipe.runtime.runlock import (
        RunLock,
        RunLocked,
        clean_interrupted_writes,
        run_directory,
        state_directories,
    )
    from lcpipe.runtime.runner import check_stop_bounds

    try:
        check_stop_bounds(plan.pipeline, bounds)  # a bound nothing counts would never stop the run
    except ValueError as exc:
        print(f"lcpipe run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.tui and process_index == 0:
        try:
            from lcpipe.tui.app import run_dashboard_daemon, terminal_available
        except ImportError as exc:
            print(
                f"lcpipe run --tui needs the 'tui' extra (pip install 'lcpipe[tui]'): {exc}", file=sys.stderr
            )
            return EXIT_USAGE
        if terminal_available():  # the run lives in a daemon subprocess; the dashboard is its client
            return run_dashboard_daemon(
                args.file,
                args.set,
                args.stop_after,
                args.grace,
                run_directory(plan.pipeline) / "lcpipe-daemon.log",
            )
        print("lcpipe: --tui needs a terminal on stderr; running without the dashboard", file=sys.stderr)
        args.tui = False
    directories = state_directories(plan.pipeline)
    try:
        lock = RunLock(directories, process_index).acquire()
    except RunLocked as exc:
        print(f"lcpipe run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"lcpipe run: cannot lock the run directory: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        # process 0 alone: other processes' files in shared directories are left to their run
        for path in clean_interrupted_writes(directories) if process_index == 0 else []:
            print(f"removed {path} (left by an interrupted write)", file=sys.stderr)
        return _run_locked(args, plan, bounds, serve=process_index == 0)
    finally:
        lock.release()


def _run_locked(args, plan, bounds, serve: bool) -> int:
    from lcpipe.daemon.server import serve_run
    from lcpipe.daemon.session import Controller
    from lcpipe.runtime.runner import Runtime

    runtime = Runtime(plan, stop_after=bounds, debug=args.debug, grace=args.grace)
    controller = Controller(can_start=False)
    controller.attach(runtime)
    # lcpipe status / lcpipe attach RUN_DIR reach the run here (process 0's, in a multi-process run)
    server = serve_run(runtime, controller) if serve else None
    try:
        return _run_served(args, plan, runtime)
    finally:
        if server is not None:
            server.close()


def _run_served(args, plan, runtime) -> int:
    from lcpipe.runtime.reporter import attach_reporter

    attach_reporter(runtime.bus, quiet=args.quiet)
    result = runtime.run()
    for stage, message in result.failures:
        print(f"lcpipe run: stage {stage!r} failed: {message}", file=sys.stderr)
    if not args.quiet:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(result.counts.items()) if "." not in k)
        print(
            f"pipeline {plan.pipeline.name!r} stopped after {result.elapsed:.1f}s: {result.reason}"
            + (f" ({counts})" if counts else ""),
            file=sys.stderr,
        )
    return result.exit_code


def _add_set(p) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value of the spec, e.g. stages.batches.with.batch_size=512 (repeatable)",
    )


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="run a pipeline",
        description="Run a pipeline until it finishes, a --stop-after "
        "bound is reached, or Ctrl-C / SIGTERM stops it cleanly.",
    )
    p.add_argument("file", help="pipeline spec (YAML)")
    _add_set(p)
    p.add_argument(
        "--stop-after",
        action="append",
        default=[],
        metavar="WHAT=N",
        help="stop once N items of a port type (networks=1, batches=100), of one port "
        "(train.weights=2), or N seconds (seconds=60) are reached (repeatable)",
    )
    p.add_argument("--tui", action="store_true", help="show the live dashboard (Textual)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors")
    p.add_argument("--grace", type=float, default=60.0, help="seconds stages get to finish when stopping")
    p.add_argument("--debug", action="store_true", help="show tracebacks of failing stages")
    many = p.add_argument_group(
        "multi-process runs (docs/scaling.md; default: JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, "
        "JAX_PROCESS_ID, or a SLURM / Open MPI job that jax.distributed detects)"
    )
    many.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's host and a free port")
    many.add_argument("--num-processes", type=int, metavar="N", help="processes in the run")
    many.add_argument("--process-id", type=int, metavar="I", help="this process's index, 0 .. N-1")
    many.add_argument(
        "--heartbeat-timeout",
        type=int,
        default=100,
        metavar="SECONDS",
        help="a process silent this long is declared lost and the others stop (default 100)",
    )
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser(
        "validate",
        help="check pipeline specs",
        description="Check specs and report every "
        "error with file:line:column, where in the spec, and a hint.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    _add_set(p)
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("graph", help="draw a pipeline's compiled graph")
    p.add_argument("file")
    p.add_argument("--format", "-f", choices=["text", "dot", "mermaid", "svg", "png"], default="text")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    _add_set(p)
    p.set_defaults(handler=cmd_graph)

    p = sub.add_parser("stages", help="list stage types (built-in and plugins), or describe one")
    p.add_argument("name", nargs="?")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_stages)

    p = sub.add_parser("schema", help="write the JSON Schema of the whole spec language (for editors)")
    p.add_argument("--output", "-o", help="file to write (default: standard output)")
    p.add_argument(
        "--dir", help="write the pipeline schema and one schema per stage type into this directory"
    )
    p.add_argument("--docs", help="write the Markdown stage reference (docs/stages.md) to this file")
    p.add_argument(
        "--builtin",
        action="store_true",
        help="only the built-in stage types, not installed plugins (the repository's schemas/ and "
        "docs/stages.md)",
    )
    p.set_defaults(handler=cmd_schema)

    p = sub.add_parser("plugins", help="list loaded plugins and report broken ones")
    p.set_defaults(handler=cmd_plugins)


@hookimpl
def lcpipe_cli_commands(subparsers) -> None:
    """The built-in commands come in through the plugin hook, like a third-party plugin's."""
    register(subparsers)
