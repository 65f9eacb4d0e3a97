"""Selecting metrics by glob patterns over 'stage/metric'."""

from __future__ import annotations

import fnmatch


def metric_matcher(patterns: list[str]):
    def keep(stage: str, name: str) -> bool:
        full = f"{stage}/{name}"
        return any(fnmatch.fnmatchcase(full, p) or fnmatch.fnmatchcase(name, p) for p in patterns)

    return keep
