"""Stage 1: read a spec file safely, remember where every value came from, check it
against the JSON Schema of the spec format.

PyYAML's composer gives nodes with source marks; we build plain Python data from them
ourselves so each value keeps its ``line:col``. Scalars are constructed by PyYAML's
SafeConstructor, so any tag it does not know (``!!python/object`` and friends) is refused.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from generator.problems import Problem, display_path

JsonPath = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a loaded spec stands in its file."""

    file: str
    values: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def problem(self, path: JsonPath, message: str, *, at_key: bool = False) -> Problem:
        line, column = self.locate(path, at_key=at_key)
        return Problem(self.file, line, column, message)

    def locate(self, path: JsonPath, *, at_key: bool = False) -> tuple[int, int]:
        if at_key and path in self.keys:
            return self.keys[path]
        probe = path
        while probe not in self.values and probe:
            probe = probe[:-1]
        return self.values.get(probe, (1, 1))


@dataclass
class LoadedSpec:
    path: Path
    data: dict[str, Any]
    source: SourceMap


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.bad_paths: list[JsonPath] = []  # values refused; schema errors there would only repeat it
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self.source.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                return self._bad_tag(node, path)
            result: dict[str, Any] = {}
            merged: set[str] = set()  # keys from a merge (<<), which explicit keys may override
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                    for source in sources:
                        value = self.build(source, path)
                        if not isinstance(value, dict):
                            line, col = _mark(source)
                            self.problems.append(Problem(self.source.file, line, col, "a merge (<<) needs a mapping"))
                            continue
                        for merged_key, merged_value in value.items():
                            if merged_key not in result:
                                result[merged_key] = merged_value
                                merged.add(merged_key)
                    continue
                key = self.build(key_node, path + ("<key>",))
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    line, col = _mark(key_node)
                    self.problems.append(Problem(self.source.file, line, col, f"mapping keys must be text, not {key!r}"))
                    continue
                key = str(key)
                if key in result and key not in merged:
                    line, col = _mark(key_node)
                    self.problems.append(Problem(self.source.file, line, col, f"duplicate key {key!r}"))
                    continue
                merged.discard(key)
                self.source.keys[path + (key,)] = _mark(key_node)
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                return self._bad_tag(node, path)
            return [self.build(item, path + (index,)) for index, item in enumerate(node.value)]
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            return self._bad_tag(node, path)

    def _bad_tag(self, node: yaml.Node, path: JsonPath) -> None:
        self.bad_paths.append(path)
        line, col = _mark(node)
        self.problems.append(
            Problem(self.source.file, line, col, f"YAML tag {node.tag!r} is not allowed (specs are loaded safely)")
        )


def load_spec(path: Path) -> tuple[LoadedSpec | None, list[Problem]]:
    """Read and schema-check one spec. Returns the spec (None if unreadable) and its problems."""
    shown = display_path(path)
    source = SourceMap(shown)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(shown, 1, 1, f"cannot read spec: {exc}")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"invalid YAML: {exc.problem or exc}"
        if exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            # "while parsing a flow sequence" -> where that sequence starts, often the real culprit.
            message += f" ({exc.context.removeprefix('while parsing ')} that starts at line {exc.context_mark.line + 1})"
        return None, [Problem(shown, line, col, message)]
    except yaml.YAMLError as exc:
        return None, [Problem(shown, 1, 1, f"invalid YAML: {exc}")]
    if root is None:
        return None, [Problem(shown, 1, 1, "the spec is empty")]
    builder = _Builder(source)
    data = builder.build(root, ())
    if not isinstance(data, dict):
        return None, builder.problems + [Problem(shown, 1, 1, "a spec must be a mapping of keys to values")]
    problems = builder.problems + [
        problem
        for problem, path in schema_problems(data, source)
        if not any(path[: len(bad)] == bad for bad in builder.bad_paths)
    ]
    return LoadedSpec(path, data, source), problems


@cache
def spec_schema() -> dict[str, Any]:
    """The JSON Schema of the spec format (also printed by ``dlrgen schema``)."""
    text = resources.files("generator").joinpath("spec.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(spec_schema())


_PATTERN_HINTS = {
    "^[a-z][a-z0-9]*(_[a-z0-9]+)*$": "must be a snake_case name (a-z, 0-9 and single underscores, starting with a letter)",
    "^[A-Z][A-Za-z0-9]*$": "must be a PascalCase class name (letters and digits, starting with a capital)",
    "^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$": "must be an UPPER_SNAKE_CASE member name",
    "^https?://[^\\s]+$": "must be an http(s) URL",
    "^[0-9]+(s|m|h|d)$": "must be a duration such as 60s, 5m, 12h or 2d",
}


def schema_problems(data: dict[str, Any], source: SourceMap) -> list[tuple[Problem, JsonPath]]:
    """Each schema violation, described for a person, with the path of the value at fault."""
    problems: list[tuple[Problem, JsonPath]] = []
    for error in _validator().iter_errors(data):
        path = tuple(error.absolute_path)
        problems.extend((problem, path) for problem in _describe(error, source))
    return problems


def _describe(error: jsonschema.ValidationError, source: SourceMap) -> list[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    where = _where(path)
    if error.validator in ("oneOf", "anyOf") and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        return _describe(best, source) if best is not None else []
    if "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str):
        # A bad mapping key: jsonschema reports the mapping, so point at the key itself.
        hint = _PATTERN_HINTS.get(error.validator_value, "is not a valid name")
        return [source.problem(path + (error.instance,), f"{where}: key {error.instance!r} {hint}", at_key=True)]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        out = []
        for key in error.instance:
            if key in allowed:
                continue
            hint = difflib.get_close_matches(key, allowed, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; expected one of: {', '.join(allowed)}"
            out.append(source.problem(path + (key,), f"unknown key {key!r} in {where}{suggestion}", at_key=True))
        return out
    if error.validator == "required":
        key = error.message.split(chr(39))[1]
        hint = ""
        options = _enum_of(error.schema.get("properties", {}).get(key, {}))
        if options:
            hint = f" (one of: {', '.join(str(o) for o in options)})"
        return [source.problem(path, f"{where} is missing the required key {key!r}{hint}")]
    if error.validator == "enum":
        options = ", ".join(repr(v) for v in error.validator_value)
        hint = ""
        if isinstance(error.instance, str):
            close = difflib.get_close_matches(error.instance, [str(v) for v in error.validator_value], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
        return [source.problem(path, f"{where}: {error.instance!r} is not one of {options}{hint}")]
    if error.validator == "pattern":
        hint = _PATTERN_HINTS.get(error.validator_value, f"must match {error.validator_value}")
        return [source.problem(path, f"{where}: {error.instance!r} {hint}")]
    if error.validator == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else expected
        return [source.problem(path, f"{where}: expected {expected_text}, got {_kind(error.instance)}" + (f" {error.instance!r}" if error.instance is not None else ""))]
    if error.validator == "const":
        return [source.problem(path, f"{where}: must be {error.validator_value!r}, got {error.instance!r}")]
    if error.validator in ("minProperties", "minItems"):
        return [source.problem(path, f"{where} must not be empty")]
    return [source.problem(path, f"{where}: {error.message}")]


def _enum_of(schema: dict[str, Any]) -> list[Any]:
    """The allowed values of a property, following one local $ref."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        schema = spec_schema()["$defs"].get(ref.rsplit("/", 1)[1], {})
    return list(schema.get("enum", []))


def _where(path: JsonPath) -> str:
    if not path:
        return "the spec"
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "boolean", int: "integer", float: "number", str: "text", list: "list", dict: "mapping"}.get(
        type(value), type(value).__name__
    )
