"""Runs a fused native loader segment.

The runtime hands us the member stages (topological order) and the stream
links between them. We describe queues and stages to the C++ side
(``lcpipe._native.loader.Segment``), start its threads, and pump the ports
that cross the segment boundary: data file paths in, finished batches out
(numpy arrays that view C++ memory; no copy). Metrics go on the event bus
once a second; problems with input files are logged once per file.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from lcpipe.loader.progress import GamesDelivered
from lcpipe.loader.stream_position import BatchStream, not_reproducible
from lcpipe.types import Batch

# Capacity of the queues that hand batches to Python stages (each batch holds a buffer).
_OUT_CAPACITY = {"batches": 4, "chunks": 64}
_IN_TYPES = {"paths"}
_OUT_TYPES = {"batches"}


def _declarations() -> dict[str, Any]:
    from lcpipe.loader.stages import lcpipe_stage_types

    return {st.name: st for st in lcpipe_stage_types()}


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings -> {"a.b": value} of numbers, booleans and strings."""
    out: dict[str, Any] = {}
    for key, value in (config or {}).items():
        name = f"{prefix}{key}"
        if key == "queue" and not prefix:
            continue
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        elif isinstance(value, Path):
            out[name] = str(value)
    return out


def _resolve(path: str, workdir: Path) -> str:
    p = Path(path)
    return str(p if p.is_absolute() else workdir / p)


def _syzygy_paths(stage: str, paths: list, workdir: Path) -> str:
    """Tablebase directories, resolved and checked, one per line for the C++ side."""
    out = []
    for p in paths:
        d = Path(_resolve(str(p), workdir))
        if "\n" in str(d) or not d.is_dir() or not os.access(d, os.R_OK | os.X_OK):
            raise ValueError(f"{stage}: syzygy_paths: cannot read directory {d}")
        out.append(str(d))
    return "\n".join(out)


def native_config(member, workdir: Path) -> dict[str, Any]:
    """A member's validated, defaulted settings as the C++ stage reads them: flat, paths resolved."""
    config = flatten(member.config)
    if member.stage_type == "loader.watch":
        config["dir"] = _resolve(str(config["dir"]), workdir)
    if member.stage_type == "loader.chunk_pool" and config["anchor_file"]:
        config["anchor_file"] = _resolve(str(config["anchor_file"]), workdir)
    if member.stage_type == "loader.rescore":
        config["syzygy_paths"] = _syzygy_paths(member.name, member.config["syzygy_paths"], workdir)
    return config


def describe(
    members, internal_links, has_input, has_output, workdir: Path = Path("."), hand_out=frozenset(_OUT_TYPES)
):
    """(queues, stages, external inputs {key: qid}, external outputs {key: qid}) for the C++ Segment.

    ``hand_out``: the port types Python may pop (a pipeline: batches; ``data rescore``: chunks)."""
    decl = _declarations()
    queues: dict[str, dict[str, Any]] = {}
    stages: list[dict[str, Any]] = []
    ext_in: dict[str, str] = {}
    ext_out: dict[str, str] = {}

    def queue_settings(member):
        q = dict(member.config["queue"])  # the stage's declared queue settings, defaults filled
        q.update(getattr(member, "queue", None) or {})  # the spec's `queue:` block of the stage wins
        return int(q["capacity"]), str(q["overflow"])

    for m in members:
        st = decl.get(m.stage_type)
        if st is None:
            raise ValueError(f"{m.name}: {m.stage_type} is not a loader stage")
        inputs: dict[str, str] = {}
        for port in st.inputs:
            key = f"{m.name}.{port.name}"
            internal = [l for l in internal_links if l.dst == m.name and l.dst_port == port.name]
            if not internal and not has_input(key):
                continue
            cap, ov = queue_settings(m)
            queues[key] = {
                "id": key,
                "type": port.type,
                "capacity": cap,
                "overflow": ov,
                "external_writers": 0,
            }
            inputs[port.name] = key
            if not internal:
                if port.type not in _IN_TYPES:
                    raise ValueError(
                        f"{key}: a native loader segment takes only {sorted(_IN_TYPES)} from "
                        f"Python stages, not {port.type!r}; put the producing stage inside the "
                        "segment"
                    )
                queues[key]["external_writers"] = 1
                ext_in[key] = key
        outputs: dict[str, list[str]] = {}
        for port in st.outputs:
            key = f"{m.name}.{port.name}"
            targets = [
                f"{l.dst}.{l.dst_port}" for l in internal_links if l.src == m.name and l.src_port == port.name
            ]
            if has_output(key):
                if port.type not in hand_out:
                    raise ValueError(
                        f"{key}: a native loader segment hands only {sorted(hand_out)} to Python "
                        f"stages, not {port.type!r}"
                    )
                qid = "out:" + key
                queues[qid] = {
                    "id": qid,
                    "type": port.type,
                    "capacity": _OUT_CAPACITY[port.type],
                    "overflow": "block",
                    "external_writers": 0,
                }
                targets.append(qid)
                ext_out[key] = qid
            if targets:
                outputs[port.name] = targets
        stages.append(
            {
                "name": m.name,
                "type": m.stage_type,
                "config": native_config(m, workdir),
                "inputs": inputs,
                "outputs": outputs,
            }
        )
    return list(queues.values()), stages, ext_in, ext_out


def _without_counts(text: str) -> str:
    return re.sub(r"\d+", "#", text)


def batch_from_arrays(arrays) -> Batch:
    inputs, probs, values, opp, nxt, formats = arrays
    return Batch(
        inputs=inputs,
        probabilities=probs,
        values=values,
        opponent_idx=opp,
        next_idx=nxt,
        input_formats=formats,
    )


def upstream_pools(output_stage: str, members, internal_links) -> list[str]:
    """Names of the loader.chunk_pool stages whose chunks reach ``output_stage``."""
    kinds = {m.name: m.stage_type for m in members}
    seen, todo = set(), [output_stage]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(l.src for l in internal_links if l.dst == name)
    return sorted(n for n in seen if kinds.get(n) == "loader.chunk_pool")


class LoaderSegment:
    """Factory of every loader stage: one instance runs the whole fused segment."""

    def __init__(self, ctx, members, internal_links):
        import lcpipe._native as _native

        self.ctx = ctx
        self.members = list(members)
        self._links = list(internal_links)
        queues, stages, self.ext_in, self.ext_out = describe(
            self.members, list(internal_links), ctx.has_input, ctx.has_output, Path(ctx.workdir)
        )
        self.native = _native.loader.Segment(queues, stages)
        self._watched = {
            st["name"]: st["config"].get("dir", "") for st in stages if st["type"] == "loader.watch"
        }
        self._pools = {st["name"]: st["config"] for st in stages if st["type"] == "loader.chunk_pool"}
        self._waits_shown = ""
        self._waits_shown_at = 0.0
        # Outputs fed by chunk pools carry the pools' live count of games taken in.
        self._delivered: dict[str, tuple[GamesDelivered, list[str]]] = {}
        for key in self.ext_out:
            pools = upstream_pools(key.rpartition(".")[0], self.members, list(internal_links))
            if pools:
                self._delivered[key] = (GamesDelivered(), [f"{p}/games_seen" for p in pools])
        self.interval = 1.0
        self._last: dict[str, float] = {}
        self._last_t = time.monotonic()

    # -- pumps ------------------------------------------------------------------
    def _pump_in(self, key: str, qid: str) -> None:
        try:
            for item in self.ctx.input(key):
                path = str(item)
                while True:
                    r = self.native.push_path(qid, path, 0.1)
                    if r == 1:
                        break
                    if r < 0 or self.ctx.stopping:
                        return
        finally:
            self.native.close_input(qid)

    def _stream(self, key: str) -> BatchStream | None:
        """The seekable stream of output ``key`` (stage.port), if a loader.batch stage cuts it."""
        stage = key.rpartition(".")[0]
        kinds = {m.name: m.stage_type for m in self.members}
        if kinds.get(stage) != "loader.batch":
            return None
        why = not_reproducible(stage, self.members, self._links)
        return BatchStream(key, lambda n: self.native.skip_to(stage, n), why)

    def _pump_out(self, key: str, qid: str) -> None:
        out = self.ctx.output(key)
        delivered = self._delivered.get(key, (None, []))[0]
        stream = self._stream(key)
        while not self.ctx.stopping:
            status, seq, arrays = self.native.pop_numbered_batch(qid, 0.1)
            if status < 0:
                # this branch's data has ended (one pass over a fixed set): end its stream now,
                # while other branches (an endless test pool) go on until their readers finish
                out.close()
                return
            if status == 1:
                batch = batch_from_arrays(arrays)
                batch.games_delivered = delivered
                if stream is not None:
                    batch.seq, batch.stream = seq, stream
                if not out.put(batch):
                    return

    def _count_games(self) -> None:
        if not self._delivered:
            return
        stats = self.native.stats()
        for delivered, keys in self._delivered.values():
            delivered.advance(int(sum(stats.get(k, 0.0) for k in keys)))

    # -- metrics ----------------------------------------------------------------
    def _publish(self) -> None:
        now = time.monotonic()
        dt = max(1e-6, now - self._last_t)
        stats = self.native.stats()
        values: dict[str, float] = {}
        for key, value in stats.items():
            if key.startswith("queue/"):
                if key.endswith("/size"):
                    base = key[: -len("/size")]
                    values[base + "/fill"] = value / max(1.0, stats.get(base + "/capacity", 1.0))
                values[key] = value
                continue
            stage, _, field = key.rpartition("/")
            if field == "busy_s":
                threads = max(1.0, stats.get(f"{stage}/threads", 1.0))
                values[f"{stage}/load"] = (value - self._last.get(key, 0.0)) / (dt * threads)
            elif field == "out":
                values[f"{stage}/items_per_s"] = (value - self._last.get(key, 0.0)) / dt
            values[key] = value
        self._last = stats
        self._last_t = now
        self.ctx.metrics(values)
        self._show_waits(stats)
        for line in self.native.problems():
            if line.startswith("info: "):
                self.ctx.info(line[6:])
            else:
                self.ctx.warning(line)

    # A waiting state's counts ("12 more games") are refreshed at most this often.
    WAIT_REFRESH_S = 10.0

    def _waits(self, stats: dict[str, float]) -> list[str]:
        """What the segment waits for, in words: a watched directory that does not exist yet
        (self-play creates it later), games before a pool's first output or its next round."""
        out = [f"{d} to appear" for s, d in self._watched.items() if stats.get(f"{s}/waiting_for_dir")]
        if out:  # the pools wait for those games too: one thing at a time
            return out
        for pool, cfg in self._pools.items():
            received = int(stats.get(f"{pool}/in", 0))
            if not stats.get(f"{pool}/started", 1) and cfg["min_chunks"]:
                more = int(cfg["min_chunks"]) - received
                out.append(
                    f"{more} more game{'s' if more != 1 else ''} before {pool} starts "
                    f"(min_chunks {cfg['min_chunks']})"
                )
            elif stats.get(f"{pool}/anchor_waiting"):
                more = int(cfg["wait_for_new"] - stats.get(f"{pool}/new_since_anchor", 0))
                out.append(
                    f"{more} more new game{'s' if more != 1 else ''} for {pool}'s next round "
                    f"(wait_for_new {cfg['wait_for_new']}; train_now skips the wait)"
                )
        return out

    def _show_waits(self, stats: dict[str, float]) -> None:
        """The segment's state says what it waits for (or running again); a change of counts
        alone ("12 more games" -> "11 more games") at most every WAIT_REFRESH_S."""
        text = "; ".join(self._waits(stats))
        if text == self._waits_shown:
            return
        now = time.monotonic()
        counts_only = _without_counts(text) == _without_counts(self._waits_shown)
        if counts_only and now - self._waits_shown_at < self.WAIT_REFRESH_S:
            return
        self._waits_shown, self._waits_shown_at = text, now
        if text:
            self.ctx.state("waiting", "for " + text)
        else:
            self.ctx.state("running")

    def _commands(self) -> None:
        for name in self.ctx.take_commands():
            took = self.native.command(name)
            self.ctx.info(
                f"{name}: {' and '.join(took)} stop waiting for new games"
                if took
                else f"{name}: no chunk pool of this segment waits for new games (wait_for_new 0)"
            )

    # -- run ----------------------------------------------------------------------
    def run(self) -> None:
        threads = [
            threading.Thread(target=self._pump_in, args=(k, q), name=f"loader-in-{k}", daemon=True)
            for k, q in self.ext_in.items()
        ]
        outs = [
            threading.Thread(target=self._pump_out, args=(k, q), name=f"loader-out-{k}", daemon=True)
            for k, q in self.ext_out.items()
        ]
        self.native.start()
        for t in threads + outs:
            t.start()
        last = time.monotonic()
        try:
            while not self.ctx.stopping:
                if self.native.errors():
                    break
                if outs and not any(t.is_alive() for t in outs):
                    break
                if not outs and not self.native.running():
                    break
                self.ctx.stop_event.wait(0.05)
                self._count_games()
                self._commands()
                if time.monotonic() - last >= self.interval:
                    self._publish()
                    last = time.monotonic()
        finally:
            self.native.stop()
            for t in threads + outs:
                t.join(timeout=5.0)
            self._publish()
        errors = self.native.errors()
        if errors:
            raise RuntimeError("; ".join(errors))
