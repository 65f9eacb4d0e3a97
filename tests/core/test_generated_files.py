"""schemas/ and docs/stages.md are generated from the registered stages; they
must match what the built-in stages declare, whatever plugins happen to be
installed (regenerate with `lcpipe schema --builtin --dir schemas --docs docs/stages.md`)."""

from __future__ import annotations

import json
from pathlib import Path

from lcpipe.registry import builtin_registry
from lcpipe.spec.schema_export import full_schema, stage_reference

REPO = Path(__file__).resolve().parents[2]
HINT = "regenerate with: lcpipe schema --builtin --dir schemas --docs docs/stages.md"


def test_stage_reference_is_up_to_date():
    assert (REPO / "docs" / "stages.md").read_text() == stage_reference(builtin_registry()), HINT


def test_schemas_are_up_to_date():
    registry = builtin_registry()
    assert json.loads((REPO / "schemas" / "lcpipe.schema.json").read_text()) == full_schema(registry), HINT
    for name, st in registry.stage_types.items():
        on_disk = json.loads((REPO / "schemas" / "stages" / f"{name}.schema.json").read_text())
        assert on_disk["properties"] == st.schema.get("properties"), f"{name}: {HINT}"
    on_disk = {p.name for p in (REPO / "schemas" / "stages").glob("*.schema.json")}
    assert on_disk == {f"{name}.schema.json" for name in registry.stage_types}, HINT


def test_protocol_schemas_are_up_to_date():
    from lcpipe.daemon.protocol import schemas

    for name, schema in schemas().items():
        assert json.loads((REPO / "schemas" / "protocol" / name).read_text()) == schema, f"{name}: {HINT}"
    on_disk = {p.name for p in (REPO / "schemas" / "protocol").iterdir()}
    assert on_disk == set(schemas()), HINT
