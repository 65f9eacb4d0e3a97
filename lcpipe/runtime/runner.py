"""Runs a plan: every segment in its own thread, joined by bounded channels,
observed through one event bus.

Shutdown (Ctrl-C, SIGTERM, or a failed stage) goes in dependency order:
producers stop first, their queues drain into the consumers, which then see
the end of their inputs and finish; stages that outlive a grace period are
aborted. A ``--stop-after`` bound stops the stages producing the counted
items and all stages feeding them at once, so no more are made; stages
downstream still drain what was produced. Observers (stages without ports, e.g. metric sinks) stop last so they
record everything.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from lcpipe.compiler.compile import Link
from lcpipe.compiler.plan import Plan, Segment, describe_plan
from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM
from lcpipe.registry import load_factory, load_prepare
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.channels import LatestChannel, StreamChannel
from lcpipe.runtime.stage import InputPort, OutputPort, PauseGate, StageContext, StageFailed

log = logging.getLogger("lcpipe.runtime")


@dataclass
class SegmentMember:
    """One native stage inside a fused segment, as handed to its factory."""

    name: str
    stage_type: str
    config: dict[str, Any]
    queue: dict[str, Any] = field(default_factory=dict)  # the spec's `queue:` block of this stage


@dataclass
class StopBound:
    """Stop the run once a count is reached: a port type ("network") or "stage.port"."""

    target: str
    limit: float

    @staticmethod
    def parse(text: str) -> StopBound:
        key, sep, value = text.partition("=")
        if not sep:
            raise ValueError(f"--stop-after {text!r}: expected NAME=COUNT, e.g. networks=1 or seconds=60")
        try:
            limit = float(value)
        except ValueError:
            raise ValueError(f"--stop-after {text!r}: {value!r} is not a number") from None
        return StopBound(key.strip(), limit)


def stop_targets(pipeline) -> list[str]:
    """What a --stop-after bound can count in this pipeline: seconds, each output port
    type some stage produces (plural allowed: networks), and each stage.port."""
    g = pipeline.graph
    types = {p.type for n in g.nodes for p in g.nodes[n]["stage_type"].outputs}
    ports = {f"{n}.{p.name}" for n in g.nodes for p in g.nodes[n]["stage_type"].outputs}
    return ["seconds", *sorted(types), *sorted(ports)]


def check_stop_bounds(pipeline, bounds: list[StopBound]) -> None:
    """ValueError for a bound nothing in the pipeline counts (the run would never stop on it)."""
    valid = stop_targets(pipeline)
    for bound in bounds:
        if bound.target not in valid and bound.target.rstrip("s") not in valid:
            raise ValueError(
                f"--stop-after {bound.target}={bound.limit:g}: nothing in this pipeline produces "
                f"{bound.target!r}; valid: {', '.join(valid)}"
            )


@dataclass
class RunResult:
    exit_code: int
    reason: str
    failures: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0


class _Worker:
    def __init__(self, segment: Segment, target):
        self.segment = segment
        self.stop = threading.Event()
        self.bound = threading.Event()  # stopped because a --stop-after bound it feeds was reached
        self.error: tuple[str, str] | None = None
        self.thread = threading.Thread(target=target, args=(self,), name=f"stage-{segment.name}", daemon=True)

    @property
    def observer(self) -> bool:
        return not self.segment.inputs and not self.segment.outputs


class Runtime:
    def __init__(
        self,
        plan: Plan,
        stop_after: list[StopBound] | None = None,
        bus: EventBus | None = None,
        grace: float = 30.0,
        debug: bool = False,
    ):
        self.plan = plan
        self.pipeline = plan.pipeline
        self.bus = bus or EventBus()
        self.stop_after = stop_after or []
        check_stop_bounds(plan.pipeline, self.stop_after)
        self.grace = grace
        self.debug = debug
        self._channels: dict[tuple[str, str], StreamChannel | LatestChannel] = {}
        self._counts: dict[str, int] = {}
        self._count_lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._reason = "finished"
        self._exit_code = EXIT_OK
        self._workers: list[_Worker] = []
        self._stop_first: set[str] = set()  # stages stopped at once (a --stop-after bound)
        self._gates: dict[str, PauseGate] = {seg.name: PauseGate() for seg in plan.segments}
        self._contexts: dict[str, StageContext] = {}
        workdir = self.pipeline.runtime.get("workdir", ".")
        self.workdir = Path(workdir)

    # -- wiring ----------------------------------------------------------------
    def _build_channels(self) -> None:
        g = self.pipeline.graph
        default_cap = int(self.pipeline.runtime.get("queue_capacity", 8))
        incoming: dict[tuple[str, str], list[Link]] = {}
        for link in self.pipeline.links():
            incoming.setdefault((link.dst, link.dst_port), []).append(link)
        for (dst, port), links in incoming.items():
            label = f"{dst}.{port}"
            if links[0].kind == "latest":
                self._channels[(dst, port)] = LatestChannel(label, writers=len(links))
            else:
                queue = g.nodes[dst].get("queue") or {}
                per_port = (queue.get("ports") or {}).get(port, {})
                self._channels[(dst, port)] = StreamChannel(
                    label,
                    capacity=per_port.get("capacity", queue.get("capacity", default_cap)),
                    overflow=per_port.get("overflow", queue.get("overflow", "block")),
                    writers=len(links),
                )

    def _on_put(self, stage: str, port_type: str):
        def count(port: str, item: Any) -> None:
            with self._count_lock:
                for key in (f"{stage}.{port}", port_type):
                    self._counts[key] = self._counts.get(key, 0) + 1
            if port_type == "network":  # any exporter's network file, announced to clients and sinks
                self.bus.publish(
                    "network",
                    stage,
                    {
                        "path": str(getattr(item, "path", "")),
                        "step": getattr(item, "step", None),
                        "kind": getattr(item, "kind", ""),
                    },
                )
            self._check_bounds()

        return count

    def _summaries(self) -> dict[str, list[str]]:
        """Per segment, the summary metrics its stage types name (StageType.summary; "{stage}" is the stage's name)."""
        return {seg["name"]: seg["summary"] for seg in describe_plan(self.plan)["segments"]}

    # -- control (clients of lcpipe daemon / the run's socket) ---------------------
    def counts(self) -> dict[str, int]:
        """Items put so far, by "stage.port" and by port type."""
        with self._count_lock:
            return dict(self._counts)

    def segment_of_stage(self, stage: str) -> Segment:
        """The segment running ``stage`` (a fused native stage runs in its segment); KeyError if none."""
        for seg in self.plan.segments:
            if stage == seg.name or stage in seg.stages:
                return seg
        raise KeyError(stage)

    def pause(self, stage: str) -> None:
        self._gates[self.segment_of_stage(stage).name].pause()

    def resume(self, stage: str) -> None:
        self._gates[self.segment_of_stage(stage).name].resume()

    def paused(self) -> list[str]:
        return [name for name, gate in self._gates.items() if gate.paused]

    def command(self, name: str, stage: str | None = None) -> list[str]:
        """Send a command to ``stage``, or to every stage whose type accepts it; the stages reached.

        Raises KeyError for an unknown stage, ValueError when no stage accepts the command.
        """
        g = self.pipeline.graph
        if stage is not None:
            self.segment_of_stage(stage)
        names = [stage] if stage is not None else list(g.nodes)
        reached = [n for n in names if name in g.nodes[n]["stage_type"].commands]
        if not reached:
            where = f"stage {stage!r}" if stage else "no stage of this pipeline"
            raise ValueError(f"{where} accepts {name!r}")
        for n in reached:
            ctx = self._contexts.get(self.segment_of_stage(n).name)
            if ctx is not None:
                ctx.send_command(name)
        return reached

    def _check_bounds(self) -> None:
        for bound in self.stop_after:
            target = bound.target
            if target == "seconds":
                continue
            value = self._counts.get(target, self._counts.get(target.rstrip("s"), 0))
            if value >= bound.limit and not self._stop_requested.is_set():
                # a bound means "this many, not more": its producers and everything feeding
                # them stop at once; stages downstream still drain what was produced
                self._stop_first = self._producers_and_ancestors(target)
                self.request_stop(f"reached --stop-after {target}={bound.limit:g}")

    def _producers_and_ancestors(self, target: str) -> set[str]:
        g = self.pipeline.graph
        if "." in target:
            producers = {target.split(".", 1)[0]}
        else:
            producers = {
                n
                for n in g.nodes
                for p in g.nodes[n]["stage_type"].outputs
                if p.type in (target, target.rstrip("s"))
            }
        stages = set(producers)
        for name in producers:
            if name in g:
                stages |= nx.ancestors(g, name)
        return stages

    def _context(self, seg: Segment, worker: _Worker) -> StageContext:
        g = self.pipeline.graph
        inputs: dict[str, InputPort] = {}
        outputs: dict[str, OutputPort] = {}
        for stage in seg.stages:
            st = g.nodes[stage]["stage_type"]
            key = (lambda port, stage=stage: f"{stage}.{port}") if seg.native else (lambda port: port)
            for port in st.inputs:
                if seg.native and any(l.dst == stage and l.dst_port == port.name for l in seg.internal):
                    continue
                inputs[key(port.name)] = InputPort(
                    port.name, self._channels.get((stage, port.name)), worker.stop, self._gates[seg.name]
                )
            for port in st.outputs:
                if seg.native and any(l.src == stage and l.src_port == port.name for l in seg.internal):
                    continue
                chans = [
                    self._channels[(l.dst, l.dst_port)]
                    for l in seg.outputs
                    if l.src == stage and l.src_port == port.name
                ]
                outputs[key(port.name)] = OutputPort(
                    port.name, chans, worker.stop, self._on_put(stage, port.type), self._gates[seg.name]
                )
        first = seg.stages[0]
        return StageContext(
            name=seg.name,
            stage_type=g.nodes[first]["use"],
            config=g.nodes[first]["config"] if not seg.native or len(seg.stages) == 1 else {},
            inputs=inputs,
            outputs=outputs,
            bus=self.bus,
            stop=worker.stop,
            workdir=self.workdir,
            bound=worker.bound,
            pipeline=self.pipeline.name,
        )

    # -- running -----------------------------------------------------------------
    def _run_segment(self, worker: _Worker) -> None:
        seg = worker.segment
        g = self.pipeline.graph
        ctx = self._context(seg, worker)
        self._contexts[seg.name] = ctx
        self.bus.publish("state", seg.name, {"state": "starting"})
        try:
            st = g.nodes[seg.stages[0]]["stage_type"]
            factory = load_factory(st)
            if seg.native:
                members = [
                    SegmentMember(n, g.nodes[n]["use"], g.nodes[n]["config"], g.nodes[n].get("queue") or {})
                    for n in seg.stages
                ]
                impl = factory(ctx, members, seg.internal)
            else:
                impl = factory(ctx)
            self.bus.publish("state", seg.name, {"state": "running"})
            impl.run()
            self.bus.publish("state", seg.name, {"state": "finished"})
        except StageFailed as exc:
            worker.error = (seg.name, str(exc))
        except Exception as exc:  # any failure stops the pipeline, named by stage
            detail = f"{type(exc).__name__}: {exc}"
            if self.debug:
                detail += "\n" + traceback.format_exc()
            log.debug("stage %s failed", seg.name, exc_info=True)
            worker.error = (seg.name, detail)
        finally:
            for port in ctx.output_ports():
                port.close()
            # a finished stage reads no more: writers blocked on its full inputs (an endless
            # chunk_pool segment feeding a trainer that reached total_steps) are released and end
            for link in seg.inputs:
                self._channels[(link.dst, link.dst_port)].reader_done()
        if worker.error:
            self.bus.publish("state", seg.name, {"state": "failed", "detail": worker.error[1]})
            self._exit_code = EXIT_FAILED
            self.request_stop(f"stage {worker.error[0]!r} failed: {worker.error[1]}")

    def request_stop(self, reason: str) -> None:
        if not self._stop_requested.is_set():
            self._reason = reason
            self._stop_requested.set()
            self.bus.publish("pipeline", "runtime", {"event": "stopping", "reason": reason})

    def _report_queues(self) -> None:
        values: dict[str, float] = {}
        for (dst, port), ch in self._channels.items():
            values[f"queue/{dst}.{port}/fill"] = len(ch) / max(1, ch.capacity)
            values[f"queue/{dst}.{port}/items"] = float(ch.put_count)
            if ch.dropped:
                values[f"queue/{dst}.{port}/dropped"] = float(ch.dropped)
        if values:
            self.bus.publish("metrics", "runtime", {"values": values, "step": None})

    def _shutdown(self) -> None:
        """Stop producers first and let the data drain downstream."""
        deadline = time.monotonic() + self.grace
        for worker in self._workers:
            if not worker.observer and self._stop_first.intersection(worker.segment.stages):
                worker.bound.set()
                worker.stop.set()
        for worker in self._workers:
            if worker.observer:
                continue
            worker.stop.set()
            worker.thread.join(max(0.0, min(5.0, deadline - time.monotonic())))
        for worker in self._workers:
            if not worker.observer:
                worker.thread.join(max(0.0, deadline - time.monotonic()))
        for ch in self._channels.values():
            ch.abort()
        for worker in self._workers:
            worker.stop.set()
            worker.thread.join(max(1.0, deadline - time.monotonic()))

    def _prepare_stages(self) -> tuple[str, str] | None:
        """Each stage type's `prepare`, once per stage, before any stage runs.

        Returns (stage, error) for the first that fails, None when all succeed.
        """
        g = self.pipeline.graph
        for name in (n for seg in self.plan.segments for n in seg.stages):
            try:
                fn = load_prepare(g.nodes[name]["stage_type"])
                if fn is not None:
                    fn(g.nodes[name]["config"])
            except Exception as exc:  # a broken prepare fails the run, named by stage, before anything starts
                log.debug("prepare of %s failed", name, exc_info=True)
                return name, f"prepare failed: {type(exc).__name__}: {exc}"
        return None

    def run(self, install_signals: bool = True) -> RunResult:
        failed = self._prepare_stages()
        if failed is not None:
            self.bus.close()
            return RunResult(EXIT_FAILED, f"stage {failed[0]!r} failed: {failed[1]}", [failed])
        self._build_channels()
        self._workers = [_Worker(seg, self._run_segment) for seg in self.plan.segments]
        started = time.monotonic()
        previous = {}
        if install_signals and threading.current_thread() is threading.main_thread():

            def handler(signum, _frame):
                if self._stop_requested.is_set():
                    for ch in self._channels.values():
                        ch.abort()
                code = EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM
                if self._exit_code == EXIT_OK:
                    self._exit_code = code
                self.request_stop(f"received {signal.Signals(signum).name}")

            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, handler)
        self.bus.publish(
            "pipeline",
            "runtime",
            {
                "event": "started",
                "pipeline": self.pipeline.name,
                "stages": [s.name for s in self.plan.segments],
                "summary": self._summaries(),
                "plan": describe_plan(self.plan),
            },
        )
        try:
            for worker in self._workers:
                worker.thread.start()
            seconds = next((b.limit for b in self.stop_after if b.target == "seconds"), None)
            interval = float(self.pipeline.runtime.get("metrics_interval", 1.0))
            last_report = time.monotonic()
            while not self._stop_requested.wait(0.05):
                if all(not w.thread.is_alive() for w in self._workers if not w.observer):
                    break
                now = time.monotonic()
                if seconds is not None and now - started >= seconds:
                    self.request_stop(f"reached --stop-after seconds={seconds:g}")
                if now - last_report >= interval:
                    self._report_queues()
                    last_report = now
            self._shutdown()
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
        self._report_queues()
        failures = [w.error for w in self._workers if w.error]
        stuck = [w.segment.name for w in self._workers if w.thread.is_alive()]
        if stuck:
            failures.append((", ".join(stuck), "did not stop within the grace period"))
            if self._exit_code == EXIT_OK:
                self._exit_code = EXIT_FAILED
        elapsed = time.monotonic() - started
        self.bus.publish(
            "pipeline",
            "runtime",
            {"event": "finished", "reason": self._reason, "exit_code": self._exit_code, "elapsed": elapsed},
        )
        self.bus.close()
        return RunResult(self._exit_code, self._reason, failures, dict(self._counts), elapsed)


def run_plan(plan: Plan, **kwargs) -> RunResult:
    return Runtime(plan, **kwargs).run()
