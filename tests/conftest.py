"""Shared test fixtures: where the real lc0 fixtures live, scratch dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"


@pytest.fixture(scope="session")
def lc0_fixtures() -> Path:
    """../shared/fixtures (real lc0 self-play tars and networks)."""
    assert FIXTURES.is_dir(), f"real lc0 fixtures missing at {FIXTURES}"
    return FIXTURES
