"""The settings helper: what a declaration emits, what it refuses, and how
settings given outside a spec are normalised."""

from __future__ import annotations

import jsonschema
import pytest

from lcpipe.settings import Problem, defaults, field, fill_defaults, group, normalize, settings

DECL = {
    "rate": field("number", 0.5, "Fraction kept.", exclusive_minimum=0, maximum=1),
    "size": field("integer", 8, "Items.", minimum=1, maximum=1024, unit="MiB"),
    "mode": field("string", "fast", "How.", enum=["fast", "slow"]),
    "tags": field("array", ["a"], "Names.", items=field("string", enum=["a", "b"]), unique=True),
    "queue": group("A queue.", {"capacity": field("integer", 4, "Slots.", minimum=1, maximum=100)}),
    "rules": field(
        "array",
        [],
        "Rules.",
        items=group(
            "",
            {
                "pattern": field("string", description="Glob.", min_length=1),
                "scale": field("number", 1.0, "Factor.", minimum=0),
            },
            required=["pattern"],
        ),
    ),
}
SCHEMA = settings(DECL)


def test_declaration_emits_json_schema_with_bounds_enums_units_and_defaults():
    props = SCHEMA["properties"]
    assert SCHEMA["additionalProperties"] is False
    assert props["rate"] == {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 1,
        "default": 0.5,
        "description": "Fraction kept.",
    }
    assert props["size"]["description"] == "Items. [MiB]" and props["size"]["x-lcpipe-unit"] == "MiB"
    assert props["mode"]["enum"] == ["fast", "slow"] and props["mode"]["type"] == "string"
    assert props["tags"]["items"] == {"type": "string", "enum": ["a", "b"]} and props["tags"]["uniqueItems"]
    assert props["queue"]["default"] == {"capacity": 4}
    assert props["rules"]["items"]["required"] == ["pattern"]
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_defaults_come_from_the_declaration_only():
    assert defaults(DECL) == {
        "rate": 0.5,
        "size": 8,
        "mode": "fast",
        "tags": ["a"],
        "queue": {"capacity": 4},
        "rules": [],
    }


def test_an_integer_setting_needs_an_upper_bound():
    with pytest.raises(ValueError, match="needs an upper bound"):
        field("integer", 1, "Unbounded.", minimum=0)
    field("integer", 1, "Bounded by its values.", enum=[1, 2])


def test_an_unknown_type_is_refused_at_declaration():
    with pytest.raises(ValueError, match="unknown setting type"):
        field("float", 1.0, "Not a JSON type.")


def test_fill_defaults_reaches_into_groups_and_list_items():
    filled = fill_defaults(SCHEMA, {"queue": {}, "rules": [{"pattern": "*"}]})
    assert filled["queue"] == {"capacity": 4}
    assert filled["rules"] == [{"pattern": "*", "scale": 1.0}]
    assert filled["rate"] == 0.5


def test_normalize_fills_defaults_and_names_the_offending_setting():
    assert normalize(SCHEMA, {"size": 16})["size"] == 16
    with pytest.raises(ValueError, match=r"^demo\.size: 4096 is greater than the maximum of 1024"):
        normalize(SCHEMA, {"size": 4096}, where="demo")
    with pytest.raises(ValueError, match=r"^demo\.mode: 'medium' is not one of"):
        normalize(SCHEMA, {"mode": "medium"}, where="demo")
    with pytest.raises(ValueError, match=r"^unknown stage settings: \['sise'\]$"):
        normalize(SCHEMA, {"sise": 3})
    with pytest.raises(ValueError, match=r"^unknown demo\.queue settings: \['size'\]$"):
        normalize(SCHEMA, {"queue": {"size": 3}}, where="demo")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_unless_allowed(value):
    with pytest.raises(ValueError, match=r"stage\.rate: nan and infinity are not allowed"):
        normalize(SCHEMA, {"rate": value})
    loose = settings({"limit": field("number", 1.0, "May be infinite.", finite=False)})
    assert normalize(loose, {"limit": value})["limit"] is value


def test_checks_run_on_defaulted_settings_and_report_with_a_hint():
    def rate_fits_size(cfg):
        if cfg["rate"] * cfg["size"] < 1:
            yield Problem(("rate",), "keeps nothing", "raise rate")

    assert normalize(SCHEMA, {}, (rate_fits_size,))["size"] == 8
    with pytest.raises(ValueError, match=r"^stage\.rate: keeps nothing \(raise rate\)$"):
        normalize(SCHEMA, {"rate": 0.1}, (rate_fits_size,))


def test_a_group_may_accept_words_in_place_of_its_mapping():
    schema = settings(
        {"model": group("A model.", {"width": field("integer", 8, "Width.", maximum=64)}, strings=["auto"])}
    )
    assert normalize(schema, {"model": "auto"}) == {"model": "auto"}  # left for the reader to resolve
    assert normalize(schema, {}) == {"model": {"width": 8}}
    assert normalize(schema, {"model": {}}) == {"model": {"width": 8}}
    with pytest.raises(ValueError, match="stage.model"):
        normalize(schema, {"model": "autp"})
    with pytest.raises(ValueError, match="stage.model.width"):
        normalize(schema, {"model": {"width": 100}})


def test_a_removed_setting_is_refused_with_what_replaces_it():
    schema = settings(DECL, removed={"swa": "use a train.swa stage"})
    jsonschema.Draft202012Validator.check_schema(schema)  # the hint is an extension keyword
    assert "swa" not in schema["properties"]
    with pytest.raises(ValueError, match=r"unknown stage settings: \['swa'\] \(swa: use a train.swa stage\)"):
        normalize(schema, {"swa": {"enabled": True}})
    with pytest.raises(ValueError, match=r"settings: \['sise'\]$"):  # other unknown keys: no hint
        normalize(schema, {"sise": 3})
