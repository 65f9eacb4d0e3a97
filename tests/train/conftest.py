"""Shared setup for the trainer tests: a session-wide XLA compilation cache
(identical step functions of different Trainer objects compile once)."""

from __future__ import annotations

import os
import sys

import jax
import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope="session", autouse=True)
def _compile_cache(tmp_path_factory):
    path = os.environ.get("LCPIPE_TEST_JAX_CACHE") or str(tmp_path_factory.mktemp("jax_cache"))
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    yield
