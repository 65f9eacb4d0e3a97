"""Fixtures of the loader tests (helpers live in loader_testlib.py)."""

import pytest
from loader_testlib import *  # noqa: F403
from loader_testlib import load_registry, loader_sink_stages


@pytest.fixture
def registry():
    return load_registry(extra=(loader_sink_stages,))
