"""Hostile or broken spec files end quickly with exit 2 and a place, in bounded
memory: alias bombs, self-referential aliases, devices and huge files as specs."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from lcpipe.spec.loader import MAX_SPEC_BYTES

CORPUS = Path(__file__).parent / "broken_specs"
MEMORY = 1 << 30  # validate never imports JAX: 1 GiB of address space is plenty


def _limited():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limited,
    )


@pytest.mark.parametrize(
    "name, where",
    [
        ("58_alias_expansion_bomb", "6:28: error: the document expands to more than 100000 values"),
        (
            "57_self_referential_alias",
            "5:11: error: the value of 'self' is an alias of a mapping that contains it",
        ),
        ("59_extends_a_device", "5:10: error: 'extends' names /dev/zero: /dev/zero is not a regular file"),
        ("56_unknown_yaml_tag", "8:11: error: unknown YAML tag '!!python/object/new:os.system'"),
    ],
)
def test_hostile_spec_exits_2_with_its_place_in_bounded_memory(name, where):
    path = CORPUS / f"{name}.yaml"
    done = _validate(path)
    assert done.returncode == 2, done.stderr
    assert f"{path}:{where}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_device_as_the_spec_itself_is_refused():
    done = _validate(Path("/dev/zero"))
    assert done.returncode == 2
    assert "/dev/zero:1:1: error: /dev/zero is not a regular file" in done.stderr


def test_an_oversized_spec_is_refused_without_being_read_whole(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(64 * MAX_SPEC_BYTES)  # sparse: cheap to make, expensive to read and parse
    done = _validate(big)
    assert done.returncode == 2
    assert f"{big}:1:1: error: {big} is larger than 1024 KiB" in done.stderr
