"""The C++ unit tests (csrc/tests/), built by meson next to the extension:
importing lcpipe._native from the editable install rebuilds csrc/ with them,
so the binary run here is the one of the current sources."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lcpipe import _native

BUILD_DIR = Path(_native.__file__).resolve().parent
UNIT_TESTS = ["loader_stages_test"]


@pytest.mark.parametrize("name", UNIT_TESTS)
def test_cpp_unit_tests_pass(name):
    binary = BUILD_DIR / name
    assert binary.is_file(), (
        f"{binary} was not built: the C++ unit tests come with the editable install "
        "(`make setup`), whose build directory holds lcpipe._native"
    )
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "tests passed" in run.stdout


def test_a_failing_check_fails_the_binary():
    """The harness is not vacuous: a test name that matches nothing exits non-zero."""
    run = subprocess.run(
        [str(BUILD_DIR / UNIT_TESTS[0]), "no_such_test"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert "no test matched" in run.stderr
