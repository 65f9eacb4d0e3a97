"""Reads a pipeline YAML file into plain data plus the position of every node.

Handles ``extends:`` (a base spec whose keys the child overrides, mappings
merged deeply), ``--set`` overrides, and ``${var}`` / ``${env:NAME}``
interpolation. Positions survive all of it so every later error can point at
the file, line and column the value came from.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lcpipe.spec.errors import Mark, SpecError, SpecErrors, did_you_mean

_VAR = re.compile(r"\$\{([^}]*)\}")
# Bounds that keep a hostile or broken spec from taking time and memory: a spec
# file is a few KiB and a few hundred values.
MAX_SPEC_BYTES = 1 << 20
MAX_VALUES = 100_000  # after alias expansion ("billion laughs" stays small)
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")
}
# libyaml's parser when PyYAML has it (several times faster); marks are the same.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = yaml.SafeLoader("")


@dataclass
class SpecDocument:
    """A loaded spec: merged data, and marks for keys and values by path."""

    path: Path
    data: dict[str, Any]
    key_marks: dict[tuple, Mark] = field(default_factory=dict)
    value_marks: dict[tuple, Mark] = field(default_factory=dict)

    def mark(self, path: tuple, prefer_key: bool = False) -> Mark | None:
        """Best mark for a path: the node itself, else its nearest ancestor."""
        path = tuple(path)
        while True:
            first, second = (
                (self.key_marks, self.value_marks) if prefer_key else (self.value_marks, self.key_marks)
            )
            if path in first:
                return first[path]
            if path in second:
                return second[path]
            if not path:
                return None
            path = path[:-1]

    def error(self, message: str, path: tuple = (), hint: str = "", prefer_key: bool = False) -> SpecError:
        return SpecError(message, self.mark(path, prefer_key), tuple(path), hint)


def _mark(node: yaml.Node, file: str) -> Mark:
    return Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns composed YAML nodes into plain data, recording marks; aliases are
    expanded with a bound on the values built and no cycles."""

    def __init__(self, file: str, doc: SpecDocument, errors: list[SpecError]):
        self.file, self.doc, self.errors = file, doc, errors
        self.values = 0
        self.open: set[int] = set()  # ids of the collections being built (an alias back to one is a cycle)

    def build(self, node: yaml.Node, path: tuple) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise SpecErrors(
                [
                    SpecError(
                        f"the document expands to more than {MAX_VALUES} values",
                        _mark(node, self.file),
                        path,
                        "a YAML alias (*name) is repeated too often; write the values out or use vars",
                    )
                ]
            )
        if node.tag not in _PLAIN_TAGS and (node.tag.startswith("!") or node.tag.startswith("tag:")):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise SpecErrors(
                [
                    SpecError(
                        f"unknown YAML tag {tag!r}",
                        _mark(node, self.file),
                        path,
                        "specs hold plain values (mappings, lists, strings, numbers, booleans): "
                        "remove the tag",
                    )
                ]
            )
        self.doc.value_marks[path] = _mark(node, self.file)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if id(node) in self.open:
                raise SpecErrors(
                    [
                        SpecError(
                            "an alias refers to a value that contains it",
                            _mark(node, self.file),
                            path,
                            "a YAML alias (*name) cannot point at an enclosing value",
                        )
                    ]
                )
            self.open.add(id(node))
            try:
                if isinstance(node, yaml.MappingNode):
                    return self._mapping(node, path)
                return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        return _SCALARS.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: tuple) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.errors.append(
                    SpecError("mapping keys must be plain names", _mark(key_node, self.file), path)
                )
                continue
            key = key_node.value
            if key == "<<":
                self.errors.append(
                    SpecError(
                        "YAML merge keys ('<<') are not supported",
                        _mark(key_node, self.file),
                        path,
                        "use 'extends:' to build on another spec",
                    )
                )
                continue
            if key in out:
                self.errors.append(
                    SpecError(
                        f"key {key!r} appears twice",
                        _mark(key_node, self.file),
                        path + (key,),
                        "remove one of them: the second would silently replace the first",
                    )
                )
                continue
            if id(value_node) in self.open:
                raise SpecErrors(
                    [
                        SpecError(
                            f"the value of {key!r} is an alias of a mapping that contains it",
                            _mark(key_node, self.file),
                            path + (key,),
                            "a YAML alias (*name) cannot point at an enclosing value",
                        )
                    ]
                )
            self.doc.key_marks[path + (key,)] = _mark(key_node, self.file)
            out[key] = self.build(value_node, path + (key,))
        return out


def _parse_yaml(text: str, file: str) -> tuple[Any, SpecDocument, list[SpecError]]:
    doc = SpecDocument(Path(file), {})
    errors: list[SpecError] = []
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        m = exc.problem_mark or exc.context_mark
        mark = Mark(file, m.line + 1, m.column + 1) if m else Mark(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecErrors(
            [
                SpecError(
                    f"invalid YAML: {problem}",
                    mark,
                    (),
                    "check indentation, colons and quoting around this place",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise SpecErrors([SpecError(f"invalid YAML: {exc}", Mark(file, 1, 1))]) from None
    if node is None:
        raise SpecErrors(
            [
                SpecError(
                    "the file is empty",
                    Mark(file, 1, 1),
                    (),
                    "a pipeline needs at least 'lcpipe: 1', 'name' and 'stages'",
                )
            ]
        )
    try:
        data = _Builder(file, doc, errors).build(node, ())
    except yaml.YAMLError as exc:
        raise SpecErrors([SpecError(f"invalid YAML value: {exc}", _mark(node, file))]) from None
    return data, doc, errors


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if value is None and key in out and key != "with":
                out.pop(key)  # `key: null` in a child removes the base's entry (e.g. a stage)
            else:
                out[key] = _merge(out[key], value) if key in out else value
        return out
    return over


class _Unreadable(ValueError):
    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


def read_spec_text(path: Path) -> str:
    """A spec file's text: a regular file of at most MAX_SPEC_BYTES (never a device or a pipe)."""
    with open(path, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise _Unreadable(f"{path} is not a regular file", "a spec is a YAML file")
        data = f.read(MAX_SPEC_BYTES + 1)
    if len(data) > MAX_SPEC_BYTES:
        raise _Unreadable(
            f"{path} is larger than {MAX_SPEC_BYTES // 1024} KiB",
            "a spec is a short YAML file; is this the right file?",
        )
    return data.decode("utf-8")


def load_document(path: str | Path, _seen: tuple = ()) -> SpecDocument:
    """Load one spec file with its ``extends`` chain (no interpolation yet)."""
    path = Path(path)
    file = str(path)
    try:
        text = read_spec_text(path)
    except FileNotFoundError:
        raise SpecErrors([SpecError(f"no such file: {file}")]) from None
    except _Unreadable as exc:
        raise SpecErrors([SpecError(str(exc), Mark(file, 1, 1), (), exc.hint)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecErrors([SpecError(f"cannot read {file}: {exc}")]) from None
    data, doc, errors = _parse_yaml(text, file)
    if not isinstance(data, dict):
        raise SpecErrors(
            [
                doc.error(
                    "a pipeline spec must be a mapping (key: value) at the top level",
                    (),
                    "start with 'lcpipe: 1', 'name: ...' and 'stages:'",
                )
            ]
        )
    if errors:
        raise SpecErrors(errors)
    base_ref = data.get("extends")
    if base_ref is None:
        doc.data = data
        return doc
    if not isinstance(base_ref, str):
        raise SpecErrors([doc.error("'extends' must be a path to another spec file", ("extends",))])
    base_path = (path.parent / base_ref).resolve()
    if base_path in _seen or base_path == path.resolve():
        raise SpecErrors(
            [
                doc.error(
                    f"'extends' forms a loop through {base_ref}",
                    ("extends",),
                    "a spec cannot extend itself, directly or through others",
                )
            ]
        )
    if not base_path.exists():
        near = did_you_mean(Path(base_ref).name, [p.name for p in base_path.parent.glob("*.yaml")], "files")
        raise SpecErrors([doc.error(f"'extends' names {base_ref}, which does not exist", ("extends",), near)])
    try:
        read_spec_text(base_path)
    except _Unreadable as exc:
        raise SpecErrors([doc.error(f"'extends' names {base_ref}: {exc}", ("extends",), exc.hint)]) from None
    base = load_document(base_path, _seen + (path.resolve(),))
    merged = SpecDocument(path, _merge(base.data, {k: v for k, v in data.items() if k != "extends"}))
    # marks: the base's first, then the child's where it wrote something
    merged.key_marks = {**base.key_marks, **doc.key_marks}
    merged.value_marks = {**base.value_marks, **doc.value_marks}
    return merged


def _parse_override(text: str) -> tuple[list[str], Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise SpecErrors(
            [SpecError(f"--set {text!r}: expected KEY=VALUE, e.g. stages.batches.with.batch_size=512")]
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(doc: SpecDocument, overrides: list[str]) -> None:
    """Apply ``--set a.b.c=value`` (value parsed as YAML)."""
    for text in overrides:
        keys, value = _parse_override(text)
        node = doc.data
        for i, key in enumerate(keys[:-1]):
            nxt = node.get(key) if isinstance(node, dict) else None
            if nxt is None:
                nxt = {}
                node[key] = nxt
            if not isinstance(nxt, dict):
                raise SpecErrors(
                    [
                        SpecError(
                            f"--set {text!r}: {'.'.join(keys[: i + 1])} is not a mapping, cannot set a key inside it"
                        )
                    ]
                )
            node = nxt
        node[keys[-1]] = value
        mark = Mark("<--set>", 1, 1)
        doc.value_marks[tuple(keys)] = mark
        doc.key_marks[tuple(keys)] = mark


def _lookup_var(expr: str, variables: dict[str, Any], allow_env: bool) -> tuple[bool, Any, str]:
    if expr.startswith("env:"):
        name, _, default = expr[4:].partition(":-")
        if name in os.environ:
            return True, os.environ[name], ""
        if ":-" in expr:
            return True, default, ""
        return (
            False,
            None,
            f"environment variable {name!r} is not set (give a default: ${{env:{name}:-value}})",
        )
    if expr not in variables:
        return False, None, did_you_mean(expr, variables, "variables") or "define it under 'vars:'"
    return True, variables[expr], ""


def interpolate(doc: SpecDocument) -> None:
    """Replace ``${name}`` (from ``vars``) and ``${env:NAME}`` everywhere.

    A string that is exactly one ``${...}`` takes the variable's own type.
    Variables may use other variables; loops are reported.
    """
    errors: list[SpecError] = []
    raw_vars = doc.data.get("vars") or {}
    if not isinstance(raw_vars, dict):
        raise SpecErrors([doc.error("'vars' must be a mapping of names to values", ("vars",))])
    resolved: dict[str, Any] = {}

    def resolve_var(name: str, stack: tuple) -> Any:
        if name in resolved:
            return resolved[name]
        if name in stack:
            raise SpecErrors(
                [
                    doc.error(
                        f"variable {name!r} refers to itself through {' -> '.join(stack + (name,))}",
                        ("vars", name),
                        "give one of these variables a plain value",
                    )
                ]
            )
        resolved[name] = sub(raw_vars[name], ("vars", name), stack + (name,))
        return resolved[name]

    def sub(value: Any, path: tuple, stack: tuple = ()) -> Any:
        if isinstance(value, dict):
            return {k: sub(v, path + (k,), stack) for k, v in value.items()}
        if isinstance(value, list):
            return [sub(v, path + (i,), stack) for i, v in enumerate(value)]
        if not isinstance(value, str) or "${" not in value:
            return value

        def one(expr: str) -> Any:
            expr = expr.strip()
            if not expr.startswith("env:") and expr in raw_vars:
                return resolve_var(expr, stack)
            ok, got, hint = _lookup_var(expr, raw_vars, True)
            if not ok:
                errors.append(doc.error(f"unknown variable ${{{expr}}}", path, hint))
                return ""
            return got

        whole = _VAR.fullmatch(value)
        if whole:
            return one(whole.group(1))
        return _VAR.sub(lambda m: str(one(m.group(1))), value).replace("$${", "${")

    for name in raw_vars:
        resolve_var(name, ())
    doc.data = {k: (resolved if k == "vars" else sub(v, (k,))) for k, v in doc.data.items()}
    if errors:
        raise SpecErrors(errors)


def load_spec(path: str | Path, overrides: list[str] | None = None) -> SpecDocument:
    """Load, extend, override and interpolate a spec (not yet validated)."""
    doc = load_document(path)
    if overrides:
        apply_overrides(doc, overrides)
    interpolate(doc)
    return doc
