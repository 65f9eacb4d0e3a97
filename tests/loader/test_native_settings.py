"""The native stages read exactly the settings their declarations hold: every
declared key is read, and a key no stage reads fails the segment by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from loader_testlib import DECL, Member

from lcpipe import _native
from lcpipe.loader import segment as lseg
from lcpipe.settings import fill_defaults

LINKABLE = sorted(DECL)


def _describe_one(stage_type: str, config: dict):
    """One stage with a queue on each port (as if its neighbours were in the segment)."""
    st = DECL[stage_type]
    queues = [
        {
            "id": f"q.{p.name}",
            "type": p.type,
            "capacity": 4,
            "overflow": "block",
            "external_writers": 1 if p in st.inputs else 0,
        }
        for p in (*st.inputs, *st.outputs)
    ]
    native = lseg.native_config(Member("s0", stage_type, config), Path("."))
    stage = {
        "name": "s0",
        "type": stage_type,
        "config": native,
        "inputs": {p.name: f"q.{p.name}" for p in st.inputs},
        "outputs": {p.name: [f"q.{p.name}"] for p in st.outputs},
    }
    return queues, [stage]


@pytest.mark.parametrize("stage_type", LINKABLE)
def test_every_declared_setting_is_read_by_the_native_stage(stage_type):
    config = fill_defaults(DECL[stage_type].schema, {})
    queues, stages = _describe_one(stage_type, config)
    segment = _native.loader.Segment(queues, stages)  # raises naming any unread key
    segment.stop()


@pytest.mark.parametrize("stage_type", ["loader.batch", "loader.unpack"])
def test_a_key_the_native_stage_does_not_read_fails_by_name(stage_type):
    config = fill_defaults(DECL[stage_type].schema, {})
    queues, stages = _describe_one(stage_type, config)
    stages[0]["config"]["batch_sise"] = 7
    with pytest.raises(ValueError, match=r"s0 \(loader\.\w+\): setting\(s\) 'batch_sise' not read"):
        _native.loader.Segment(queues, stages)


def test_a_missing_setting_fails_by_name():
    config = fill_defaults(DECL["loader.batch"].schema, {})
    queues, stages = _describe_one("loader.batch", config)
    del stages[0]["config"]["drop_last"]
    with pytest.raises(ValueError, match="setting 'drop_last' is missing"):
        _native.loader.Segment(queues, stages)
