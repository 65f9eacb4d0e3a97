"""`lcpipe daemon`, `lcpipe status` and `lcpipe attach`."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from lcpipe.plugin import hookimpl


def register(sub) -> None:
    p = sub.add_parser(
        "daemon",
        help="serve the JSON-lines control protocol on stdin/stdout (docs/protocol.md)",
        description="Reads requests (start, stop, status, train_now, export_now, pause, resume, "
        "subscribe, shutdown) as JSON lines on stdin and writes messages on stdout. "
        "Log output goes to stderr.",
    )
    p.set_defaults(handler=cmd_daemon)

    p = sub.add_parser(
        "status",
        help="one-shot summary of a running pipeline, through its socket",
        description="Connects to the Unix socket a running pipeline serves in its run directory "
        "and prints where it stands.",
    )
    p.add_argument("run", metavar="RUN", help="the run directory (or the socket file itself)")
    p.add_argument("--json", action="store_true", help="print the status message as JSON")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the answer (default 10)")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser(
        "attach",
        help="open the dashboard on a running pipeline (quitting leaves it going)",
        description="Connects the dashboard to the Unix socket a running pipeline serves in its "
        "run directory. q detaches and the run goes on; s pressed twice stops it.",
    )
    p.add_argument("run", metavar="RUN", help="the run directory (or the socket file itself)")
    p.set_defaults(handler=cmd_attach)


def cmd_daemon(args) -> int:
    from lcpipe.daemon.server import serve_stdio
    from lcpipe.daemon.session import Controller

    controller = Controller(can_start=True)

    def on_signal(signum, _frame) -> None:  # stop the run in order; the loop ends when stdin does
        controller.stop(f"received {signal.Signals(signum).name}")
        controller.shutdown_requested.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    return serve_stdio(controller)


def socket_path(run: str | Path) -> Path:
    from lcpipe.daemon.server import SOCKET_NAME

    path = Path(run)
    return path / SOCKET_NAME if path.is_dir() else path


def request(run: str | Path, message: dict, answer_types: tuple[str, ...], timeout: float = 10.0) -> dict:
    """Send one request to a running pipeline and return the first answer of ``answer_types`` (or an error)."""
    from lcpipe.daemon.server import connect, read_lines

    sock = connect(socket_path(run), timeout)
    try:
        sock.sendall((json.dumps(message) + "\n").encode())
        deadline = time.monotonic() + timeout
        for line in read_lines(sock.recv):
            if not isinstance(line, bytes):
                continue
            msg = json.loads(line)
            if msg.get("type") in answer_types or msg.get("type") == "error":
                return msg
            if time.monotonic() > deadline:
                break
        raise TimeoutError("no answer")
    finally:
        sock.close()


def cmd_status(args) -> int:
    path = socket_path(args.run)
    if not path.exists():
        print(f"lcpipe status: no running pipeline serves {path} (is the run going?)", file=sys.stderr)
        return EXIT_USAGE
    try:
        msg = request(path, {"type": "status"}, ("status",), args.timeout)
    except (OSError, TimeoutError) as exc:
        print(f"lcpipe status: cannot reach {path}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if msg.get("type") == "error":
        print(f"lcpipe status: {msg.get('message')}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(msg, indent=2))
        return EXIT_OK
    print(format_status(msg))
    return EXIT_OK


def cmd_attach(args) -> int:
    path = socket_path(args.run)
    if not path.exists():
        print(f"lcpipe attach: no running pipeline serves {path} (is the run going?)", file=sys.stderr)
        return EXIT_USAGE
    try:
        from lcpipe.tui.app import Dashboard
        from lcpipe.tui.link import RemoteRun
    except ImportError as exc:
        print(f"lcpipe attach needs the 'tui' extra (pip install 'lcpipe[tui]'): {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        run = RemoteRun.attach(path)
    except (OSError, TimeoutError) as exc:
        print(f"lcpipe attach: cannot reach {path}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    app = Dashboard(run, hold=1.5)
    app.run()
    if run.detached:
        print(f"detached; the run goes on (lcpipe attach {args.run} to come back)", file=sys.stderr)
        return EXIT_OK
    result = run.result
    return result.exit_code if result is not None else EXIT_FAILED


def format_status(msg: dict) -> str:
    lines = [f"pipeline {msg.get('pipeline')!r}: {msg.get('state')} for {msg.get('elapsed', 0):.0f}s"]
    metrics = msg.get("metrics") or {}
    for stage, st in sorted((msg.get("stages") or {}).items()):
        detail = f" ({st['detail']})" if st.get("detail") else ""
        paused = " [paused]" if stage in (msg.get("paused") or []) else ""
        lines.append(f"  {stage:<16} {st.get('state', '')}{detail}{paused}")
        for key in _headline(metrics.get(stage, {})):
            lines.append(f"      {key} = {metrics[stage][key]:.6g}")
    counts = {k: v for k, v in (msg.get("counts") or {}).items() if "." not in k}
    if counts:
        lines.append("  items: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return "\n".join(lines)


_HEADLINE = (
    "train/loss",
    "train/policy_loss",
    "train/value_loss",
    "train/steps_per_s",
    "test/loss",
    "selfplay/games",
    "selfplay/plies_per_s",
    "export/networks",
    "gate/elo",
)


def _headline(values: dict) -> list[str]:
    return [k for k in _HEADLINE if isinstance(values.get(k), (int, float))]


@hookimpl
def lcpipe_cli_commands(subparsers) -> None:
    """The built-in commands come in through the plugin hook, like a third-party plugin's."""
    register(subparsers)
