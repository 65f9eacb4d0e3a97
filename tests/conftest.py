"""Shared test fixtures: where the real lc0 fixtures live, scratch dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# XLA:CPU spends most of a test's time compiling (tiny models, a few steps each): LLVM's
# optimisation passes dominate that. Level 0 compiles 2-3x faster; what the programs compute
# is the same HLO (tests compare numbers with tolerances or within one configuration).
# Benchmarks don't run under pytest. Set before any jax backend starts (also inherited by the
# subprocesses tests start); LCPIPE_TEST_XLA_OPT=1 keeps XLA's default optimisation.
XLA_TEST_FLAG = "--xla_backend_optimization_level=0"
if os.environ.get("LCPIPE_TEST_XLA_OPT") != "1" and "xla_backend_optimization_level" not in os.environ.get(
    "XLA_FLAGS", ""
):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {XLA_TEST_FLAG}".strip()

# The suite is the same on every machine: JAX on the CPU (its simulated devices stand in for
# accelerators), even where set-up installed JAX's CUDA build. GPU checks are benchmarks.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"


@pytest.fixture(scope="session")
def lc0_fixtures() -> Path:
    """../shared/fixtures (real lc0 self-play tars and networks)."""
    assert FIXTURES.is_dir(), f"real lc0 fixtures missing at {FIXTURES}"
    return FIXTURES


SYZYGY_TEST_DIR = REPO / ".venv" / "syzygy-test"


@pytest.fixture(scope="session")
def syzygy_dir() -> Path:
    """The 3- and 4-piece Syzygy tables `make setup` fetches (tests/fetch_syzygy_tables.py)."""
    path = Path(os.environ.get("LCPIPE_SYZYGY_TEST_DIR", SYZYGY_TEST_DIR))
    assert any(path.glob("*.rtbw")), f"Syzygy test tables missing in {path}: run `make setup`"
    return path
