"""Fixtures of the loader tests (helpers live in loader_testlib.py)."""

import loader_sink_stages
import pytest

from lcpipe.registry import load_registry


@pytest.fixture
def registry():
    return load_registry(extra=(loader_sink_stages,))
