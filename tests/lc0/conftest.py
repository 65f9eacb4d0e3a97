"""Shared helpers for the lc0 data tests: the real fixture games."""

from __future__ import annotations

from pathlib import Path

import pytest


def read_games_txt(path: Path) -> dict[str, dict]:
    """games.txt: chunk name -> {result, moves} (lc0 writes castling as e1h1)."""
    games = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        moves = parts[parts.index("moves") + 1 :]
        fields = dict(zip(parts[1 : parts.index("moves") : 2], parts[2 : parts.index("moves") : 2]))
        games[parts[0]] = {"moves": moves, **fields}
    return games


@pytest.fixture(scope="session")
def selfplay_dir(lc0_fixtures: Path) -> Path:
    return lc0_fixtures / "lc0-selfplay"


@pytest.fixture(scope="session")
def fixture_games(selfplay_dir: Path) -> dict[str, dict]:
    return read_games_txt(selfplay_dir / "games.txt")
