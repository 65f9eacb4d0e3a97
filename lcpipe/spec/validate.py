"""Validates a loaded spec against JSON Schema (the document's and each stage
type's settings) and fills in defaults from the schemas.

Every problem becomes a ``SpecError`` with the place it was written and a hint;
all problems are collected so a user fixes them in one go.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema

from lcpipe.registry import Registry
from lcpipe.settings import fill_defaults, nonfinite_paths, run_checks
from lcpipe.spec.errors import SpecError, SpecErrors, did_you_mean
from lcpipe.spec.loader import SpecDocument

_JSON_TYPES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    bool: "true/false",
    int: "an integer",
    float: "a number",
    type(None): "nothing (null)",
}


@lru_cache(maxsize=1)
def document_schema() -> dict[str, Any]:
    text = resources.files("lcpipe.spec").joinpath("pipeline.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _describe(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _expected_type(schema_type: Any) -> str:
    names = {
        "object": "a mapping",
        "array": "a list",
        "string": "a string",
        "boolean": "true or false",
        "integer": "an integer",
        "number": "a number",
        "null": "null",
    }
    if isinstance(schema_type, list):
        return " or ".join(names.get(t) or str(t) for t in schema_type)
    return names.get(schema_type, str(schema_type))


def _errors_for(error: jsonschema.ValidationError, doc: SpecDocument, base: tuple) -> list[SpecError]:
    path = base + tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    v = error.validator
    if v == "additionalProperties" and isinstance(error.instance, dict):
        known = list((schema.get("properties") or {}).keys())
        out = []
        for key in error.instance:
            if key in known:
                continue
            if schema.get("patternProperties"):
                continue
            moved = (schema.get("x-moved") or {}).get(key)  # a setting that moved elsewhere says where
            hint = moved or (did_you_mean(key, known, "keys") if known else "this mapping takes no keys")
            out.append(doc.error(f"unknown key {key!r}", path + (key,), hint, prefer_key=True))
        return out
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        prop = (schema.get("properties") or {}).get(missing, {})
        about = f" ({prop['description']})" if isinstance(prop, dict) and prop.get("description") else ""
        return [doc.error(f"missing required key {missing!r}{about}", path, f"add '{missing}: ...' here")]
    if v == "type":
        return [
            doc.error(
                f"expected {_expected_type(error.validator_value)}, got {_describe(error.instance)} "
                f"{json.dumps(error.instance, default=str)[:60]}",
                path,
                schema.get("description", ""),
            )
        ]
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }[v]
        about = f" ({schema['description']})" if schema.get("description") else ""
        return [
            doc.error(
                f"{error.instance} is out of range",
                path,
                f"use a value {bound} {error.validator_value}{about}",
            )
        ]
    if v in ("enum", "const"):
        allowed = error.validator_value if v == "enum" else [error.validator_value]
        hint = ""
        if isinstance(error.instance, str):
            hint = did_you_mean(error.instance, [str(a) for a in allowed], "values")
        else:
            hint = "allowed: " + ", ".join(json.dumps(a) for a in allowed)
        return [doc.error(f"{json.dumps(error.instance, default=str)} is not allowed here", path, hint)]
    if v in ("anyOf", "oneOf"):
        desc = schema.get("description", "")
        return [doc.error(f"{json.dumps(error.instance, default=str)[:60]} does not fit here", path, desc)]
    if v == "pattern" and "propertyNames" in error.schema_path:
        return [
            doc.error(
                f"the name {error.instance!r} is not allowed",
                path + (error.instance,),
                "names use letters, digits, '_' and '-' (no spaces), starting with a letter or '_'",
                prefer_key=True,
            )
        ]
    if v == "pattern":
        desc = schema.get("description", "")
        return [
            doc.error(
                f"{error.instance!r} does not match the required form {error.validator_value}", path, desc
            )
        ]
    if False:
        return [
            doc.error(f"{error.instance!r} does not match the required form {error.validator_value}", path)
        ]
    if v == "minProperties" and error.validator_value == 1 and not error.instance:
        return [doc.error("must not be empty", path, "add at least one entry")]
    return [doc.error(error.message, path)]


_VALIDATORS: dict[int, tuple[dict, jsonschema.Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """One validator per schema object (building one is the slow part)."""
    hit = _VALIDATORS.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = (schema, jsonschema.Draft202012Validator(schema))
        _VALIDATORS[id(schema)] = hit
    return hit[1]


def check_schema(
    instance: Any, schema: dict[str, Any], doc: SpecDocument, base: tuple = ()
) -> list[SpecError]:
    validator = _validator(schema)
    out: list[SpecError] = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        out.extend(_errors_for(error, doc, base))
    return out


def _nonfinite_errors(
    instance: Any, schema: dict[str, Any], doc: SpecDocument, base: tuple = ()
) -> list[SpecError]:
    # JSON Schema lets nan pass every bound (each comparison is false): reject it first.
    return [
        doc.error(
            f"{_value_at(instance, path)} is not a finite number",
            base + path,
            "use a finite value (nan and infinity are not allowed here)",
        )
        for path in nonfinite_paths(instance, schema)
    ]


def _value_at(instance: Any, path: tuple) -> Any:
    for part in path:
        instance = instance[part]
    return instance


def validate_document(doc: SpecDocument, registry: Registry) -> list[SpecError]:
    """Check the document and every stage's settings (their schemas, then their
    cross-field checks); fill defaults in place."""
    errors = _nonfinite_errors({k: v for k, v in doc.data.items() if k != "stages"}, document_schema(), doc)
    errors += check_schema(doc.data, document_schema(), doc)
    stages = doc.data.get("stages")
    if not isinstance(stages, dict):
        return errors
    for name, stage in stages.items():
        if not isinstance(stage, dict) or not isinstance(stage.get("use"), str):
            continue
        st = registry.get(stage["use"])
        if st is None:
            errors.append(
                doc.error(
                    f"unknown stage type {stage['use']!r}",
                    ("stages", name, "use"),
                    did_you_mean(stage["use"], registry.stage_types, "stage types")
                    + " (`lcpipe stages` lists them)",
                )
            )
            continue
        settings = stage.get("with") or {}
        if not isinstance(settings, dict):
            continue  # already reported by the document schema
        base = ("stages", name, "with")
        found = _nonfinite_errors(settings, st.schema, doc, base) + check_schema(
            settings, st.schema, doc, base
        )
        errors.extend(found)
        stage["with"] = fill_defaults(st.schema, settings)
        if not found:
            for problem in run_checks(st.checks, stage["with"]):
                errors.append(doc.error(problem.message, base + tuple(problem.path), problem.hint))
    doc.data["runtime"] = fill_defaults(document_schema()["properties"]["runtime"], doc.data.get("runtime"))
    return errors


def raise_if(errors: list[SpecError]) -> None:
    if errors:
        raise SpecErrors(errors)
