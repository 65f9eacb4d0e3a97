"""One JSON Schema for the whole spec language, installed plugins included.

Editors (e.g. VS Code's YAML extension) use it for completion and checks:
each stage's ``with`` block is checked against its type's settings schema.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from lcpipe.registry import Registry
from lcpipe.spec.validate import document_schema


def full_schema(registry: Registry) -> dict[str, Any]:
    schema = copy.deepcopy(document_schema())
    stage = schema["$defs"]["stage"]
    names = sorted(registry.stage_types)
    stage["properties"]["use"] = {"description": "The stage type (see `lcpipe stages`).", "enum": names}
    rules = []
    for name in names:
        st = registry.stage_types[name]
        ref = "#/$defs/settings/" + name
        rules.append({"if": {"properties": {"use": {"const": name}}, "required": ["use"]},
                      "then": {"properties": {"with": {"anyOf": [{"$ref": ref}, {"type": "null"}]}}}})
        schema["$defs"].setdefault("settings", {})[name] = {"description": st.description, **st.schema}
    stage["allOf"] = rules
    return schema


def write_schema_dir(registry: Registry, out: Path) -> list[Path]:
    """schemas/pipeline.schema.json, schemas/lcpipe.schema.json (everything)
    and schemas/stages/<type>.schema.json for each stage type."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "stages").mkdir(exist_ok=True)
    written = []

    def dump(path: Path, data: dict) -> None:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        written.append(path)

    dump(out / "pipeline.schema.json", document_schema())
    dump(out / "lcpipe.schema.json", full_schema(registry))
    for name, st in sorted(registry.stage_types.items()):
        dump(out / "stages" / f"{name}.schema.json",
             {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": name,
              "description": st.description, **st.schema})
    return written
