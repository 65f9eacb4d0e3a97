"""Typed setting declarations: the one place a setting's name, type, default,
limits and description are written.

A stage type declares its ``with:`` block as a mapping of names to
``field(...)`` (one value) or ``group(...)`` (a nested mapping of fields);
``settings(...)`` turns that into the closed JSON Schema which validation,
default filling, ``lcpipe stages``, docs/stages.md and editors' completion all
read. Rules that involve several settings are *checks*: functions of the
validated, defaulted settings that yield ``Problem``s; ``lcpipe validate`` runs
them and reports each at the place the setting was written.

Imports nothing heavy: stage declarations are loaded by ``lcpipe validate``.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

__all__ = [
    "Field",
    "Group",
    "Problem",
    "Check",
    "field",
    "group",
    "settings",
    "defaults",
    "normalize",
    "run_checks",
    "fill_defaults",
    "nonfinite_paths",
    "is_group_schema",
    "NO_DEFAULT",
]

_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
# A marker for the JSON Schema walker in lcpipe.spec.validate: this number may be nan/inf.
NONFINITE_KEY = "x-lcpipe-nonfinite"
UNIT_KEY = "x-lcpipe-unit"


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class Problem:
    """A broken rule between settings: ``path`` inside the ``with:`` block, what is wrong, how to fix it."""

    path: tuple
    message: str
    hint: str = ""


Check = Callable[[dict], Iterable[Problem]]


@dataclass(frozen=True)
class Field:
    """One setting (see ``field``)."""

    type: str | tuple[str, ...]
    default: Any
    description: str
    enum: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    unit: str = ""
    items: Field | Group | None = None
    values: Field | None = None
    keys: tuple[str, ...] | None = None
    max_items: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    unique: bool = False
    finite: bool = True
    pattern: str | None = None
    multiple_of: int | None = None

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        out["type"] = list(types) if len(types) > 1 else types[0]
        if self.enum is not None:
            out["enum"] = list(self.enum)
        for key, value in (
            ("minimum", self.minimum),
            ("maximum", self.maximum),
            ("exclusiveMinimum", self.exclusive_minimum),
            ("exclusiveMaximum", self.exclusive_maximum),
            ("maxItems", self.max_items),
            ("minLength", self.min_length),
            ("maxLength", self.max_length),
            ("pattern", self.pattern),
            ("multipleOf", self.multiple_of),
        ):
            if value is not None:
                out[key] = value
        if self.items is not None:
            out["items"] = self.items.schema()
        if self.unique:
            out["uniqueItems"] = True
        if self.values is not None:
            out["additionalProperties"] = self.values.schema()
            if self.keys is not None:
                out["propertyNames"] = {"enum": list(self.keys)}
        if self.default is not NO_DEFAULT:
            out["default"] = copy.deepcopy(self.default)
        if self.description:
            out["description"] = self.description + (f" [{self.unit}]" if self.unit else "")
        if self.unit:
            out[UNIT_KEY] = self.unit
        if not self.finite:
            out[NONFINITE_KEY] = True
        return out


@dataclass(frozen=True)
class Group:
    """A nested mapping of settings (see ``group``)."""

    description: str
    fields: Mapping[str, Field | Group]
    required: tuple[str, ...] = ()
    strings: tuple[str, ...] = ()  # words accepted in place of the mapping

    def default(self) -> dict[str, Any]:
        return defaults(self.fields)

    def schema(self) -> dict[str, Any]:
        out = _object_schema(self.fields, self.required)
        if self.strings:  # "pattern" constrains strings only, "properties" mappings only
            out["type"] = ["object", "string"]
            out["pattern"] = "^(" + "|".join(re.escape(s) for s in self.strings) + ")$"
        if not self.required:
            out["default"] = self.default()
        if self.description:
            out["description"] = self.description
        return out


def _is_integer_type(type_: str | tuple[str, ...]) -> bool:
    return "integer" in (type_ if isinstance(type_, tuple) else (type_,))


def field(
    type: str | list[str] | tuple[str, ...],
    default: Any = NO_DEFAULT,
    description: str = "",
    *,
    enum: Iterable | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: float | None = None,
    exclusive_maximum: float | None = None,
    unit: str = "",
    items: Field | Group | None = None,
    values: Field | None = None,
    keys: Iterable[str] | None = None,
    max_items: int | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    unique: bool = False,
    finite: bool = True,
    pattern: str | None = None,
    multiple_of: int | None = None,
) -> Field:
    """Declare one setting.

    ``type`` is a JSON type (or several); integers need a real upper bound
    (``maximum`` or ``enum``) so that a typo of 30 digits is an error, not a
    stalled run. Numbers reject nan and infinity unless ``finite=False``.
    ``unit`` (e.g. "s", "MiB") is shown with the description. Arrays take
    ``items`` (a field or group without default); mappings with free keys take
    ``values`` (and optionally the allowed ``keys``); strings may take a
    regular-expression ``pattern``, integers a ``multiple_of``.
    """
    types = tuple(type) if isinstance(type, (list, tuple)) else (type,)
    unknown = [t for t in types if t not in _TYPES]
    if unknown:
        raise ValueError(f"unknown setting type(s) {unknown}; use {list(_TYPES)}")
    if _is_integer_type(types) and maximum is None and exclusive_maximum is None and enum is None:
        raise ValueError("an integer setting needs an upper bound (maximum=...) or an enum")
    return Field(
        types if len(types) > 1 else types[0],
        default,
        description,
        tuple(enum) if enum is not None else None,
        minimum,
        maximum,
        exclusive_minimum,
        exclusive_maximum,
        unit,
        items,
        values,
        tuple(keys) if keys is not None else None,
        max_items,
        min_length,
        max_length,
        unique,
        finite,
        pattern,
        multiple_of,
    )


def group(
    description: str,
    fields: Mapping[str, Field | Group],
    required: Iterable[str] = (),
    strings: Iterable[str] = (),
) -> Group:
    """Declare a nested mapping of settings; its default is its fields' defaults. ``strings``:
    words the user may write instead of the mapping (the code reading it resolves them)."""
    return Group(description, dict(fields), tuple(required), tuple(strings))


def is_group_schema(schema: dict[str, Any]) -> bool:
    """A schema of nested settings (a group, also one that accepts words in its place)."""
    types = schema.get("type")
    return "object" in (types if isinstance(types, list) else [types]) and bool(schema.get("properties"))


def _object_schema(fields: Mapping[str, Any], required: Iterable[str] = ()) -> dict[str, Any]:
    props = {}
    for name, decl in fields.items():
        props[name] = decl.schema() if isinstance(decl, (Field, Group)) else copy.deepcopy(decl)
    out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": props}
    required = list(required)
    if required:
        out["required"] = required
    return out


# Schema keyword (an extension validators ignore) of settings that were removed: name -> what to
# write instead, the hint of the "unknown key" error a spec that still sets one gets.
REMOVED = "x-removed"


def settings(
    fields: Mapping[str, Any], required: list[str] | None = None, removed: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The closed JSON Schema of a stage's ``with:`` block.

    Values are ``field``/``group`` declarations (raw JSON Schema mappings are
    still accepted for plugins written before the helper existed). ``removed``: settings a
    stage had, each with the hint that says what replaces it.
    """
    out = _object_schema(fields, required or ())
    if removed:
        out[REMOVED] = dict(removed)
    return out


def removed_hint(schema: Mapping[str, Any], key: str) -> str:
    """What replaces a removed setting of this (object) schema; '' for any other key."""
    return str((schema.get(REMOVED) or {}).get(key, ""))


def defaults(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared default, nested groups included."""
    out: dict[str, Any] = {}
    for name, decl in fields.items():
        if isinstance(decl, Group):
            if not decl.required:
                out[name] = decl.default()
        elif isinstance(decl, Field):
            if decl.default is not NO_DEFAULT:
                out[name] = copy.deepcopy(decl.default)
        elif isinstance(decl, dict) and "default" in decl:
            out[name] = copy.deepcopy(decl["default"])
    return out


def fill_defaults(schema: dict[str, Any], instance: Any) -> Any:
    """A copy of ``instance`` with every schema default filled in (deeply)."""
    if not isinstance(schema, dict):
        return instance
    if instance is None and "default" in schema:
        instance = copy.deepcopy(schema["default"])
    items = schema.get("items")
    if isinstance(instance, list) and isinstance(items, dict) and "properties" in items:
        return [fill_defaults(items, element) for element in instance]
    props = schema.get("properties")
    if props is None:
        return instance
    if instance is None:
        instance = {}
    if not isinstance(instance, dict):
        return instance
    out = dict(instance)
    for key, sub in props.items():
        if not isinstance(sub, dict):
            continue
        if key in out:
            out[key] = fill_defaults(sub, out[key])
        elif "default" in sub:
            out[key] = fill_defaults(sub, copy.deepcopy(sub["default"]))
        elif is_group_schema(sub):
            out[key] = fill_defaults(sub, {})
    return out


def nonfinite_paths(value: Any, schema: dict[str, Any] | None, path: tuple = ()) -> Iterable[tuple]:
    """Paths of nan/inf numbers that their schema does not allow."""
    schema = schema if isinstance(schema, dict) else {}
    if isinstance(value, float) and not math.isfinite(value):
        if not schema.get(NONFINITE_KEY):
            yield path
    elif isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            yield from nonfinite_paths(
                sub, props.get(key, extra if isinstance(extra, dict) else None), path + (key,)
            )
    elif isinstance(value, list):
        items = schema.get("items")
        for i, sub in enumerate(value):
            yield from nonfinite_paths(sub, items if isinstance(items, dict) else None, path + (i,))


def run_checks(checks: Iterable[Check], config: dict) -> list[Problem]:
    """Every problem the checks find in a validated, defaulted configuration."""
    out: list[Problem] = []
    for check in checks:
        out.extend(check(config) or ())
    return out


def normalize(
    schema: dict[str, Any],
    given: Mapping[str, Any] | None,
    checks: Iterable[Check] = (),
    where: str = "stage",
) -> dict[str, Any]:
    """Defaults filled, the schema and checks applied, for settings that do not come from a spec
    (tool commands, tests); raises ValueError naming the first offending setting."""
    config = fill_defaults(schema, copy.deepcopy(dict(given or {})))
    for path in nonfinite_paths(config, schema):
        raise ValueError(f"{_dotted(where, path)}: nan and infinity are not allowed")
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is not None:
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            unknown = sorted(set(error.instance) - set(error.schema.get("properties") or {}))
            hints = "".join(
                f" ({k}: {removed_hint(error.schema, k)})" for k in unknown if removed_hint(error.schema, k)
            )
            raise ValueError(f"unknown {_dotted(where, error.absolute_path)} settings: {unknown}{hints}")
        raise ValueError(f"{_dotted(where, error.absolute_path)}: {error.message}")
    for problem in run_checks(checks, config):
        hint = f" ({problem.hint})" if problem.hint else ""
        raise ValueError(f"{_dotted(where, problem.path)}: {problem.message}{hint}")
    return config


def _dotted(where: str, path: Iterable) -> str:
    return ".".join([where, *(str(p) for p in path)])
