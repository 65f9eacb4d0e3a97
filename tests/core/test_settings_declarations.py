"""Every built-in stage type declares its settings once, with the helper's
guarantees (type, default, description, bounds), and no code supplies a
default of its own: grep-level checks over the sources."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pytest

from lcpipe.registry import builtin_registry
from lcpipe.settings import is_group_schema

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "lcpipe"
REGISTRY = builtin_registry()
TYPES = sorted(REGISTRY.stage_types)


def _settings(schema: dict, prefix: str = ""):
    for key, sub in (schema.get("properties") or {}).items():
        yield prefix + key, sub
        if is_group_schema(sub):
            yield from _settings(sub, f"{prefix}{key}.")


SETTING_NAMES = {
    name.rsplit(".", 1)[-1] for st in REGISTRY.stage_types.values() for name, _ in _settings(st.schema)
}


@pytest.mark.parametrize("stage_type", TYPES)
def test_every_setting_is_fully_declared(stage_type):
    schema = REGISTRY.stage_types[stage_type].schema
    assert schema.get("additionalProperties") is False
    for name, sub in _settings(schema):
        assert sub.get("description"), f"{stage_type}: {name} has no description"
        assert "default" in sub, f"{stage_type}: {name} has no default"
        assert "type" in sub, f"{stage_type}: {name} has no type"
        types = sub["type"] if isinstance(sub["type"], list) else [sub["type"]]
        if "integer" in types:
            assert "enum" in sub or "maximum" in sub, f"{stage_type}: {name} has no upper bound"
        default = sub["default"]
        assert not (isinstance(default, float) and not math.isfinite(default)), name


def _dict_literals_with_duplicate_keys(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            dup = {k for k in keys if keys.count(k) > 1}
            if dup:
                yield node.lineno, sorted(dup)


def test_each_setting_is_written_once_in_its_declaration():
    """A key written twice in a dict literal silently drops the first declaration."""
    modules = {
        Path(__import__(name, fromlist=["_"]).__file__)
        for name in {st.plugin for st in REGISTRY.stage_types.values()}
    }
    modules |= {PACKAGE / "train" / "settings.py", PACKAGE / "model" / "config.py"}
    found = {str(p.relative_to(REPO)): list(_dict_literals_with_duplicate_keys(p)) for p in sorted(modules)}
    assert {k: v for k, v in found.items() if v} == {}


CONFIG_NAMES = re.compile(r"(^|\.)(cfg|config|settings|with_)(\[.*\])?$")


def _defaulted_reads(path: Path, root: Path = REPO):
    """Calls like cfg.get("setting", default): a default written outside the declaration."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in SETTING_NAMES
            and CONFIG_NAMES.search(ast.unparse(node.func.value))
        ):
            yield f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}"


def test_no_python_code_supplies_a_setting_default():
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _defaulted_reads(path)]
    assert found == []


def test_no_native_code_supplies_a_setting_default():
    pattern = re.compile(r'\bcfg_?\.(num|str|flag)\("[^"]*",')
    found = [
        f"{p.name}:{i}"
        for p in sorted((REPO / "csrc").rglob("*.cpp"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []


def test_the_checks_catch_what_they_look_for(tmp_path):
    """The grep-level checks are not vacuous: they find a planted default and a planted duplicate."""
    planted = tmp_path / "planted.py"
    planted.write_text('x = {"window": 1, "window": 2}\ndef f(cfg):\n    return cfg.get("window", 50000)\n')
    assert list(_dict_literals_with_duplicate_keys(planted)) == [(1, ["window"])]
    assert list(_defaulted_reads(planted, tmp_path)) == ["planted.py:3: cfg.get('window', 50000)"]
