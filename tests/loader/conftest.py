"""Fixtures of the loader tests (helpers live in loader_testlib.py)."""

import pytest

from loader_testlib import *  # noqa: F401,F403


@pytest.fixture
def registry():
    return load_registry(extra=(loader_sink_stages,))
