"""Opening what the command line names as a player: a network file, a checkpoint, a stand-in or a UCI engine.

- ``nets/x.pb.gz`` (or ``.pb``): an lc0 network file, imported as in ``lcpipe net import``;
- a directory: a ``train.jax`` checkpoint (its newest step);
- ``builtin:uniform`` / ``builtin:material``: the search with a stand-in evaluator (no network);
- ``uci:COMMAND``: an external UCI engine (only where a UCI opponent is allowed).
"""

from __future__ import annotations

from pathlib import Path

from lcpipe.types import NetworkSnapshot


class PlayerSpecError(ValueError):
    """A player the command line names that cannot be opened."""


def load_snapshot(path: str | Path) -> NetworkSnapshot:
    """A network file or checkpoint directory as a NetworkSnapshot."""
    path = Path(path)
    if path.is_dir():
        return _load_checkpoint(path)
    if not path.exists():
        raise PlayerSpecError(f"{path}: no such network file or checkpoint directory")
    if not (path.name.endswith(".pb.gz") or path.name.endswith(".pb")):
        raise PlayerSpecError(f"{path}: a network is an lc0 .pb.gz file or a train.jax checkpoint directory")
    from lcpipe.nets.import_ import UnsupportedNetwork, import_net
    from lcpipe.nets.lc0net import NetFileError

    try:
        return import_net(path).snapshot()
    except (NetFileError, UnsupportedNetwork, OSError) as exc:
        raise PlayerSpecError(f"{path}: cannot load the network: {exc}") from None


def _load_checkpoint(directory: Path) -> NetworkSnapshot:
    from lcpipe.train.checkpoints import CheckpointError, checkpoint_snapshot

    try:
        return checkpoint_snapshot(directory)
    except (CheckpointError, FileNotFoundError, KeyError) as exc:
        raise PlayerSpecError(f"not a train.jax checkpoint: {exc}") from None


def evaluator_for(spec: str):
    """The evaluator of a network or stand-in spec, and a display name."""
    from lcpipe.selfplay.evaluator import NetworkEvaluator, make_evaluator

    if spec.startswith("builtin:"):
        kind = spec.split(":", 1)[1]
        try:
            return make_evaluator(kind), spec
        except ValueError as exc:
            raise PlayerSpecError(f"{spec}: {exc}") from None
    snapshot = load_snapshot(spec)
    try:
        evaluator = NetworkEvaluator(snapshot)
    except (ValueError, KeyError, TypeError) as exc:
        raise PlayerSpecError(f"{spec}: cannot run this network: {exc}") from None
    name = Path(spec).name
    for suffix in (".pb.gz", ".pb"):
        name = name.removesuffix(suffix)
    return evaluator, name


ENGINES = ("native", "python")


def search_player(evaluator, visits: int, name: str, engine: str = "native"):
    """A Player searching with ``evaluator``: the native engine, or the Python reference search."""
    if engine == "native":
        from lcpipe.arena.native_player import NativePlayer

        return NativePlayer(evaluator, visits, name=name)
    if engine == "python":
        from lcpipe.arena.player import MctsPlayer

        return MctsPlayer(evaluator, visits, name=name)
    raise PlayerSpecError(f"unknown search engine {engine!r}; choose one of {', '.join(ENGINES)}")


def open_player(
    spec: str,
    visits: int,
    uci_nodes: int | None = None,
    uci_movetime: float | None = None,
    uci_options: dict[str, str] | None = None,
    engine: str = "native",
):
    """A Player for ``spec`` (see the module docstring); network players search with ``engine``."""
    if spec.startswith("uci:"):
        from lcpipe.arena.uci_player import UciPlayer

        command = spec[4:].strip()
        if not command:
            raise PlayerSpecError("uci: needs the engine command, e.g. uci:/usr/games/stockfish")
        if uci_nodes is None and uci_movetime is None:
            uci_nodes = visits
        return UciPlayer(
            command,
            nodes=uci_nodes if uci_movetime is None else None,
            movetime=uci_movetime,
            options=uci_options,
        )
    evaluator, name = evaluator_for(spec)
    return search_player(evaluator, visits, name, engine)
