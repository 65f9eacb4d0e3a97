from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import toy_stages

from lcpipe.registry import load_registry


@pytest.fixture
def registry():
    """Built-in and installed plugins plus the toy stages of these tests."""
    return load_registry(extra=(toy_stages,))
