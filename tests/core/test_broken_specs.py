"""A corpus of broken specs: each file states, in its first two lines, the exact
first error it must produce (line:column: message) and the hint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lcpipe.compiler import compile_file
from lcpipe.spec.errors import SpecErrors

CORPUS = sorted((Path(__file__).parent / "broken_specs").glob("*.yaml"))


def expectation(path: Path) -> tuple[str, str]:
    first, second = path.read_text().splitlines()[:2]
    assert first.startswith("# expect: ") and second.startswith("# hint:")
    return first[len("# expect: ") :], second[len("# hint:") :].strip()


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 60


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_broken_spec_reports_exact_place_message_and_hint(path, registry):
    expected, hint = expectation(path)
    with pytest.raises(SpecErrors) as info:
        compile_file(path, registry=registry)
    first = info.value.errors[0]
    assert first.mark is not None and first.mark.file == str(path)
    assert f"{first.mark.line}:{first.mark.column}: {first.message}" == expected
    assert first.hint == hint


def test_several_mistakes_are_reported_together(registry):
    path = next(p for p in CORPUS if p.stem == "38_several_errors")
    with pytest.raises(SpecErrors) as info:
        compile_file(path, registry=registry)
    messages = [e.message for e in info.value.errors]
    assert messages == ["unknown key 'dealy'", "unknown stage type 'sink.consle'"]
    assert "did you mean 'sink.console'?" in info.value.errors[1].hint


def test_cli_prints_errors_without_traceback_and_exits_2():
    path = next(p for p in CORPUS if p.stem == "11_unknown_stage_type")
    done = subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", "validate", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert f"{path}:7:10: error: unknown stage type 'toy.cout'" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
