"""Module names a newcomer cannot confuse: no two modules of a package differ by one letter
(``stage.py`` beside ``stages.py`` hid which one held the stage's code)."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "lcpipe"


def one_letter_apart(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with one letter added, removed or changed."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def test_the_check_sees_a_confusable_pair():
    assert one_letter_apart("stage", "stages") and one_letter_apart("model", "models")
    assert not one_letter_apart("stages", "train_stage") and not one_letter_apart("cli", "cli")


def test_no_package_has_modules_one_letter_apart():
    found = []
    for package in sorted({p.parent for p in PACKAGE.rglob("*.py")}):
        names = sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
        found += [
            f"{package.relative_to(PACKAGE.parent)}: {a}.py / {b}.py"
            for a, b in combinations(names, 2)
            if one_letter_apart(a, b)
        ]
    assert found == []


def test_stage_type_prefixes_name_their_packages():
    # `sink.console` is declared in lcpipe/sink/ and runs code from lcpipe/sink/: found by name alone.
    from lcpipe.registry import load_registry

    registry = load_registry(include_entry_points=False, env_extras=False)
    builtin = {n: st for n, st in registry.stage_types.items() if st.plugin.startswith("lcpipe.")}
    assert len(builtin) >= 20
    wrong = []
    for name, st in sorted(builtin.items()):
        prefix = name.split(".", 1)[0]
        for module in (st.plugin, st.factory.split(":", 1)[0]):
            if module.split(".")[1] != prefix:
                wrong.append(f"{name}: {module}")
    assert wrong == []
