"""Fixtures of the arena tests: two hand-built networks of known strength, as lc0 files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from arena_nets import material_snapshot, uniform_snapshot, write_net


@pytest.fixture(scope="session")
def nets(tmp_path_factory):
    """{"material": path, "uniform": path}: the material counter should beat the uniform network."""
    d = tmp_path_factory.mktemp("nets")
    return {
        "material": write_net(material_snapshot(step=200), d / "material.pb.gz"),
        "uniform": write_net(uniform_snapshot(step=100), d / "uniform.pb.gz"),
    }


@pytest.fixture(scope="session")
def lcpipe_command():
    """The lcpipe console script of this environment."""
    script = Path(sys.executable).parent / "lcpipe"
    assert script.exists(), script
    return str(script)
