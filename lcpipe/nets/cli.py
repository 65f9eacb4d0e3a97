"""`lcpipe net ...`: export a checkpoint, import an lc0 net, describe a file; average, graft and
convert networks (lcpipe/nets/net_edit.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK
from lcpipe.plugin import hookimpl


def register(subparsers) -> None:
    net = subparsers.add_parser(
        "net", help="lc0 network files (.pb.gz): export, import, describe, average, graft, convert"
    )
    sub = net.add_subparsers(dest="net_command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("export", help="write a trainer checkpoint as an lc0 .pb.gz")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="orbax checkpoint directory of train.jax")
    p.add_argument("out", metavar="OUT", help="output .pb.gz")
    p.add_argument("--encoding", default="linear16", choices=["linear16", "float16", "bfloat16", "float32"])
    p.add_argument(
        "--kind",
        default="raw",
        help="raw (default), or the stage name of a train.swa / train.ema average the checkpoint holds",
    )
    p.add_argument("--input-format", type=int, default=1, help="input format the network was trained on (1)")
    p.add_argument("--step", type=int, default=None, help="checkpoint step (default: the latest)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("import", help="turn an lc0 .pb.gz into a checkpoint to continue training from")
    p.add_argument("net", metavar="NET", help="lc0 network file")
    p.add_argument(
        "out", metavar="OUT", help="checkpoint directory to create (use as train.jax init_checkpoint)"
    )
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("describe", help="architecture, format flags, parameter count and layer encodings")
    p.add_argument("net", metavar="NET", help="lc0 network file")
    p.add_argument("--layers", action="store_true", help="list every layer")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(handler=cmd_describe)

    encodings = ["linear16", "float16", "bfloat16", "float32"]
    p = sub.add_parser(
        "average",
        help="weight average of several .pb.gz files or checkpoints (SWA of snapshots)",
        description="Average every layer of networks with the same architecture; the output has the first "
        "network's header. A directory is a train.jax checkpoint (its newest step).",
    )
    p.add_argument("inputs", nargs="+", metavar="NET", help=".pb.gz files or checkpoint directories")
    p.add_argument("-o", "--out", required=True, help="output .pb.gz")
    p.add_argument("--weights", help="comma-separated weight per input (default: equal)")
    p.add_argument(
        "--encoding", choices=encodings, help="layer encoding of the output (default: the first's)"
    )
    p.add_argument(
        "--input-format", type=int, default=1, help="input format of checkpoint inputs (default 1)"
    )
    p.set_defaults(handler=cmd_average)

    p = sub.add_parser(
        "graft",
        help="copy named layers or heads from one network into another of compatible shape",
        description="Copy layers of DONOR into BASE and write the result: --head policy|value|moves_left takes "
        "a whole head, --layer a dotted path, a prefix (residual.0) or a glob (residual.*.se.*). Layers "
        "that do not exist in both or differ in size are refused by name.",
    )
    p.add_argument("base", metavar="BASE", help="the network that receives the layers")
    p.add_argument("donor", metavar="DONOR", help="the network they come from")
    p.add_argument("-o", "--out", required=True, help="output .pb.gz")
    p.add_argument("--head", action="append", default=[], choices=["policy", "value", "moves_left"])
    p.add_argument("--layer", action="append", default=[], metavar="PATH", help="layer path, prefix or glob")
    p.set_defaults(handler=cmd_graft)

    p = sub.add_parser(
        "convert",
        help="change the layer encoding (LINEAR16/FLOAT16/BFLOAT16/FLOAT32), printing the error",
        description="Re-encode every layer; prints the largest and mean absolute error against the input's "
        "values, overall and for the worst layers. Encodings other than LINEAR16 need lc0 0.33 or newer "
        "(the file's min_version says so).",
    )
    p.add_argument("net", metavar="NET", help="lc0 network file")
    p.add_argument("out", metavar="OUT", help="output .pb.gz")
    p.add_argument("--encoding", required=True, choices=encodings)
    p.add_argument("--worst", type=int, default=5, help="layers listed with the largest error (default 5)")
    p.set_defaults(handler=cmd_convert)


def _err(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return EXIT_FAILED


def cmd_describe(args) -> int:
    from lcpipe.nets.describe import architecture, describe
    from lcpipe.nets.lc0net import NetFileError, read_net

    try:
        net = read_net(args.net)
    except (OSError, NetFileError) as e:
        return _err(f"{args.net}: {e}")
    if args.json:
        out = {
            "min_version": list(net.min_version),
            "format": {k: net.fmt_name(k) for k in net.network_format},
            "training": {k: v for k, v in net.training_params.items() if k != "_unknown"},
            "architecture": architecture(net),
            "parameters": net.param_count(),
        }
        print(json.dumps(out, indent=2))
        return EXIT_OK
    text = describe(net)
    if not args.layers:
        text = "\n".join(line for line in text.splitlines() if not line.startswith("  "))
    print(text)
    return EXIT_OK


def cmd_import(args) -> int:
    from lcpipe.nets.import_ import UnsupportedNetwork, import_net
    from lcpipe.nets.lc0net import NetFileError

    try:
        imp = import_net(args.net)
    except (OSError, NetFileError) as e:
        return _err(f"{args.net}: {e}")
    except UnsupportedNetwork as e:
        return _err(f"{args.net}: cannot import: {e}")
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        return _err(f"{out} exists and is not empty")
    from lcpipe.train.trainer import Trainer

    trainer = Trainer({"model": imp.model})
    trainer.init_from_variables(
        imp.variables, step=imp.step
    )  # the checkpoint carries on lc0's training_steps
    trainer.save(str(out), wait=True)
    trainer.close()
    (out / "lc0-import.json").write_text(
        json.dumps(
            {
                "source": str(args.net),
                "training_steps": imp.step,
                "input_format": imp.input_format,
                "model": imp.model,
                "notes": imp.notes,
            },
            indent=2,
        )
    )
    for note in imp.notes:
        print(f"note: {note}")
    print(
        f"imported {args.net} ({imp.model['body']}, {imp.step} training steps, input format "
        f"{imp.input_format}) -> {out}"
    )
    from lcpipe.train.tools.initialize import continue_lines

    print(continue_lines("train", str(out), imp.model))
    return EXIT_OK


def cmd_export(args) -> int:
    from lcpipe.nets.export import snapshot_to_net
    from lcpipe.train.checkpoints import CheckpointError, checkpoint_snapshot

    # Only the weights and the model configuration recorded with them: the optimizer, its
    # settings and the rest of the trainer state play no part in an exported network.
    try:
        snap = checkpoint_snapshot(args.checkpoint, args.step, args.kind)
    except (CheckpointError, FileNotFoundError, KeyError) as e:
        return _err(str(e))
    snap.input_format = args.input_format
    try:
        net, notes = snapshot_to_net(snap, args.encoding)
    except ValueError as e:
        return _err(str(e))
    net.write(args.out)
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {args.out} (step {snap.step}, {args.encoding})")
    return EXIT_OK


def _read_input(path: str, input_format: int):
    """An Lc0Net from a .pb.gz, or from a checkpoint directory through the exporter."""
    from lcpipe.nets.lc0net import read_net

    if not Path(path).is_dir():
        return read_net(path)
    from lcpipe.nets.export import snapshot_to_net
    from lcpipe.train.checkpoints import checkpoint_snapshot

    snap = checkpoint_snapshot(path)
    snap.input_format = input_format
    return snapshot_to_net(snap, "float32")[0]


def _new_min_version(net, encoding: str | None) -> None:
    """A non-LINEAR16 layer encoding needs a newer lc0: raise the file's min_version to match."""
    from lcpipe.nets.layers import encoding_number
    from lcpipe.nets.mapping import min_version_of

    if encoding is not None:
        need = min_version_of({}, net.network_format, encoding_number(encoding))
        net.min_version = max(tuple(net.min_version), need)


def cmd_average(args) -> int:
    from lcpipe.nets.lc0net import NetFileError
    from lcpipe.nets.net_edit import average
    from lcpipe.train.checkpoints import CheckpointError

    weights = None
    try:
        if args.weights:
            weights = [float(x) for x in args.weights.split(",")]
        if len(args.inputs) < 2:
            raise ValueError("give at least two networks")
        nets = []
        for path in args.inputs:
            print(f"reading {path}", file=sys.stderr)
            nets.append(_read_input(path, args.input_format))
        net = average(nets, args.inputs, weights)
    except (OSError, NetFileError, CheckpointError, ValueError) as e:
        return _err(str(e))
    _new_min_version(net, args.encoding)
    net.write(args.out, args.encoding)
    shown = ", ".join(f"{w:g}" for w in weights) if weights else "equal"
    print(f"averaged {len(nets)} networks ({net.param_count():,} parameters, weights {shown}) -> {args.out}")
    return EXIT_OK


def cmd_graft(args) -> int:
    from lcpipe.nets.lc0net import NetFileError, read_net
    from lcpipe.nets.net_edit import graft, select_layers

    if not args.head and not args.layer:
        return _err("name what to graft: --head and/or --layer")
    try:
        base, donor = read_net(args.base), read_net(args.donor)
        paths = graft(base, donor, select_layers(donor, args.layer, args.head), args.donor)
    except (OSError, NetFileError, ValueError) as e:
        return _err(str(e))
    base.write(args.out)
    grafted = dict(base.iter_layers())
    values = sum(grafted[p].size for p in paths)
    print(f"grafted {len(paths)} layers ({values:,} values) from {args.donor} into {args.base} -> {args.out}")
    return EXIT_OK


def cmd_convert(args) -> int:
    from lcpipe.nets.lc0net import NetFileError, read_net
    from lcpipe.nets.net_edit import conversion_errors

    try:
        net = read_net(args.net)
    except (OSError, NetFileError) as e:
        return _err(f"{args.net}: {e}")
    try:
        errors = conversion_errors(net, args.encoding)
    except ValueError as e:  # a value beyond FLOAT16's range
        return _err(f"{args.net}: cannot encode as {args.encoding}: {e}")
    _new_min_version(net, args.encoding)
    net.write(args.out, args.encoding)
    sizes = {p: layer.size for p, layer in net.iter_layers()}
    total = sum(sizes.values())
    mean = sum(e.mean_abs * sizes[e.path] for e in errors) / max(total, 1)
    worst = max(errors, key=lambda e: e.max_abs)
    print(f"{args.net} -> {args.out} ({args.encoding}, min lc0 {'.'.join(map(str, net.min_version))})")
    print(f"error: max {worst.max_abs:.3g} (layer {worst.path}), mean {mean:.3g} over {total:,} values")
    for layer_error in sorted(errors, key=lambda le: -le.max_abs)[: max(args.worst, 0)]:
        rel = layer_error.max_abs / layer_error.scale if layer_error.scale else 0.0
        print(
            f"  {layer_error.path:<40} max {layer_error.max_abs:.3g} ({rel:.2g} of its largest value)  "
            f"mean {layer_error.mean_abs:.3g}"
        )
    return EXIT_OK


def main(argv=None) -> int:  # standalone use: python -m lcpipe.nets.cli net describe X
    parser = argparse.ArgumentParser(prog="lcpipe")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())


@hookimpl
def lcpipe_cli_commands(subparsers) -> None:
    """The built-in commands come in through the plugin hook, like a third-party plugin's."""
    register(subparsers)
