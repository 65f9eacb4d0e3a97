"""Fixtures of the self-play tests (helpers live in selfplay_testlib.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from selfplay_testlib import TINY_RESNET, TINY_TRANSFORMER, make_snapshot  # noqa: F401


@pytest.fixture(scope="session")
def tiny_snapshots():
    """Two different tiny transformer snapshots (steps 1 and 2)."""
    return make_snapshot(TINY_TRANSFORMER, seed=1, step=1), make_snapshot(TINY_TRANSFORMER, seed=2, step=2)
