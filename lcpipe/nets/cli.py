"""`lcpipe net ...`: export a checkpoint, import an lc0 net, describe a file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK
from lcpipe.plugin import hookimpl


def register(subparsers) -> None:
    net = subparsers.add_parser("net", help="lc0 network files (.pb.gz): export, import, describe")
    sub = net.add_subparsers(dest="net_command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("export", help="write a trainer checkpoint as an lc0 .pb.gz")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="orbax checkpoint directory of train.jax")
    p.add_argument("out", metavar="OUT", help="output .pb.gz")
    p.add_argument("--encoding", default="linear16", choices=["linear16", "float16", "bfloat16", "float32"])
    p.add_argument("--kind", default="raw", choices=["raw", "swa", "ema"], help="which weights (default raw)")
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
