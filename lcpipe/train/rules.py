"""Ordered glob rules over parameter paths ("body/encoder_0/q/kernel").

A rule is a dict with a ``pattern`` (fnmatch glob) and some settings; for
each setting, the first rule whose pattern matches and which names that
setting decides it. Used for L2, weight decay, freezing and lr scaling.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from flax.traverse_util import flatten_dict, unflatten_dict


def param_paths(tree) -> list[str]:
    return ["/".join(k) for k in flatten_dict(tree)]


def resolve(rules: list[dict], path: str, key: str, default: Any, first_match: bool = False) -> Any:
    """first_match: the first matching rule decides even without ``key`` (then: default)."""
    for rule in rules or ():
        if fnmatch.fnmatchcase(path, rule["pattern"]) and (first_match or key in rule):
            return rule.get(key, default)
    return default


def tree_of(tree, rules: list[dict], key: str, default: Any, first_match: bool = False):
    """A tree shaped like ``tree`` holding each leaf's resolved setting."""
    flat = flatten_dict(tree)
    return unflatten_dict({k: resolve(rules, "/".join(k), key, default, first_match) for k in flat})
