"""Every cheap command shown in README.md and docs/*.md runs and succeeds, so examples cannot rot.

Commands are the lines of ```sh blocks that call lcpipe, and inline `lcpipe ...` spans with
arguments, complete ones (no placeholders such as NET, FILE, A, <name> or ...) and self-contained
ones (every file or directory they read is in the repository; `lcpipe match runs/rl/nets/...`
shows what to do after a run and is left out). A `run` without a stop bound (it would run until
Ctrl-C, or opens the dashboard), or bounded by networks (minutes of training: the RL pipeline's
own tests run that), is checked by `lcpipe validate` with the same spec and --set overrides: the
example's spec and keys must be valid."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*$|\.\.\.|<[^>]*>")
OUTPUT_OPTIONS = {"-o", "--output", "--out", "--dir", "--docs", "--png", "--pgn"}  # their argument is written
PATH_LIKE = re.compile(r"/|\.(ya?ml|gz|pb|json|epd|pgn|tar)$")


def _shell_lines(text: str):
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else stripped[3:].strip()
            continue
        if fence in ("sh", "bash", "shell", "console") and stripped:
            yield number, stripped


def _command(text: str) -> tuple[dict, list[str]] | None:
    """(environment, argv after `lcpipe`) of a shown command line, None if it is not a complete one."""
    text = text.split(" # ", 1)[0].split("\t#", 1)[0].strip().removeprefix("$ ")
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    env = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    if not words or words[0] != "lcpipe" or len(words) < 2:
        return None
    if any(PLACEHOLDER.search(w) for w in words[1:]):
        return None
    return env, words[1:]


def shown_commands() -> list[tuple[str, dict, list[str]]]:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        where = doc.relative_to(REPO)
        for number, line in _shell_lines(text):
            cmd = _command(line)
            if cmd:
                found.append((f"{where}:{number}", *cmd))
        for match in re.finditer(r"`(lcpipe [^`]+)`", text):
            cmd = _command(match.group(1))
            if cmd and len(cmd[1]) > 1:  # a bare `lcpipe graph` in prose names a command, shows none
                found.append((f"{where}:{text.count(chr(10), 0, match.start()) + 1}", *cmd))
    return found


def _reads_missing_files(argv: list[str]) -> bool:
    """True when the command reads a file or directory that only a run would make."""
    return any(
        PATH_LIKE.search(a) and not (REPO / a).exists()
        for i, a in enumerate(argv)
        if i and argv[i - 1] not in OUTPUT_OPTIONS and not a.startswith("-") and "=" not in a
    )


def _cheap(argv: list[str]) -> list[str] | None:
    """The command to run for a shown one, or None when it shows no complete, self-contained command."""
    if _reads_missing_files(argv):
        return None
    if argv[0] != "run":
        return argv
    files = [a for a in argv[1:] if a.endswith((".yaml", ".yml"))]
    if not files:
        return None  # `lcpipe run --tui`: a mention of an option, not a command
    bounds = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--stop-after"]
    bounds += [a.split("=", 1)[1] for a in argv if a.startswith("--stop-after=")]
    if bounds and not any(b.startswith("networks=") for b in bounds):
        return argv
    sets = [a for i, a in enumerate(argv) if i and argv[i - 1] == "--set"]
    return ["validate", files[0], *[x for s in sets for x in ("--set", s)]]


COMMANDS = [(where, env, _cheap(argv)) for where, env, argv in shown_commands() if _cheap(argv)]


def test_the_docs_show_commands():
    shown = {" ".join(argv) for _, _, argv in COMMANDS}
    assert "validate pipelines/quickstart.yaml" in shown and len(COMMANDS) >= 8, shown


@pytest.mark.parametrize(
    "where, env, argv", COMMANDS, ids=[f"{w} lcpipe {' '.join(a)}" for w, _, a in COMMANDS]
)
def test_shown_command_runs(where, env, argv, tmp_path):
    # In a scratch directory: what the commands write (schemas, runs/) stays out of the repository.
    (tmp_path / "pipelines").symlink_to(REPO / "pipelines")
    (tmp_path / "docs").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", *argv],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (
        f"{where}: lcpipe {' '.join(argv)} exited {done.returncode}\n{done.stderr[-2000:]}"
    )


def _lcpipe(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_set_examples_of_run_help_and_the_set_error_are_valid_keys():
    help_text = " ".join(_lcpipe("run", "--help").stdout.split())
    error = _lcpipe("validate", "pipelines/rl.yaml", "--set", "no-equals-sign").stderr
    examples = re.findall(r"e\.g\. (stages\.[\w.]+=\w+)", help_text) + re.findall(
        r"e\.g\. (stages\.[\w.]+=\w+)", error
    )
    assert len(examples) == 2, (help_text, error)
    for example in examples:
        for spec in ("pipelines/rl.yaml", "pipelines/sl.yaml"):
            done = _lcpipe("validate", spec, "--set", example)
            assert done.returncode == 0, f"{example} on {spec}: {done.stderr}"
