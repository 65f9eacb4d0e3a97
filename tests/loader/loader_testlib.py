"""Helpers of the loader tests: run a chain of native stages directly (no
compiler), and make data files with the lc0 data layer's own writers."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


from lcpipe import _native
from lcpipe.compiler.compile import Link
from lcpipe.loader import segment as lseg
from lcpipe.loader.stages import lcpipe_stage_types

DECL = {st.name: st for st in lcpipe_stage_types()}


@dataclass
class Member:
    name: str
    stage_type: str
    config: dict = field(default_factory=dict)


def defaults(stage_type: str, overrides: dict | None = None) -> dict:
    props = DECL[stage_type].schema["properties"]
    cfg = {k: v["default"] for k, v in props.items()}
    cfg.update(overrides or {})
    return cfg


@dataclass
class ChainResult:
    inputs: np.ndarray
    probabilities: np.ndarray
    values: np.ndarray
    opponent_idx: np.ndarray
    next_idx: np.ndarray
    stats: dict
    problems: list
    batches: int

    def __len__(self):
        return len(self.inputs)


def build_chain(stages: list[tuple[str, dict]], with_input: bool = True):
    """Native segment for a linear chain; returns (segment, input qid, output qid)."""
    members = [Member(f"s{i}_{t.split('.')[1]}", t, defaults(t, cfg)) for i, (t, cfg) in enumerate(stages)]
    links = []
    for a, b in zip(members, members[1:]):
        out_port = DECL[a.stage_type].outputs[0]
        in_port = DECL[b.stage_type].inputs[0]
        links.append(Link(a.name, out_port.name, b.name, in_port.name, in_port.type, "stream"))
    first, last = members[0], members[-1]
    ext_in = (
        f"{first.name}.{DECL[first.stage_type].inputs[0].name}"
        if with_input and DECL[first.stage_type].inputs
        else None
    )
    ext_out = f"{last.name}.{DECL[last.stage_type].outputs[0].name}"
    queues, descs, ins, outs = lseg.describe(members, links, lambda k: k == ext_in, lambda k: k == ext_out)
    return _native.loader.Segment(queues, descs), ins.get(ext_in), outs[ext_out]


def run_chain(paths, stages, max_batches: int | None = None, timeout: float = 60.0) -> ChainResult:
    """Push `paths`, close the input, collect every batch until the stream ends."""
    seg, qin, qout = build_chain(stages, with_input=paths is not None)
    seg.start()
    parts = []
    problems = []
    try:
        if qin is not None:
            for p in paths:
                while seg.push_path(qin, str(p), 0.1) == 0:
                    pass
            seg.close_input(qin)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, arrays = seg.pop_batch(qout, 0.1)
            if status < 0:
                break
            if status == 1:
                parts.append(tuple(np.array(a) for a in arrays))
                if max_batches and len(parts) >= max_batches:
                    break
            problems.extend(seg.problems())
        else:
            raise AssertionError("loader chain did not finish in time")
    finally:
        seg.stop()
    problems.extend(seg.problems())
    assert not seg.errors(), seg.errors()
    stats = seg.stats()
    if not parts:
        empty = (
            np.zeros((0, 112, 8, 8), np.float32),
            np.zeros((0, 1858), np.float32),
            np.zeros((0, 6, 3), np.float32),
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
        )
        parts = [empty]
    cat = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    return ChainResult(*cat, stats=stats, problems=problems, batches=len(parts) if parts[0][0].size else 0)


def in_order(read_cfg=None):
    """Stages that keep file and game order (parity tests)."""
    return [
        ("loader.read", {"newest_first": False, **(read_cfg or {})}),
        ("loader.extract", {"shuffle": False}),
        ("loader.unpack", {"shuffle": False, "threads": 1}),
        ("loader.batch", {"batch_size": 97, "threads": 1}),
    ]
