"""Stage 1c: check a loaded spec against the JSON Schema of the spec format, each violation
shaped into a message for a person (a close match for a typo'd key, the allowed values, what
a pattern means), located where the value stands.

jsonschema is imported only when a spec is checked for real: a spec found valid is
remembered in the cache (``generator.emit.cache``) under the hash of its merged data, the
schema, this module and the library's version, so a run over specs that did not change
never imports it."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.emit import cache as dlrgen_cache
from generator.load.source_map import JsonPath, SourceMap
from generator.problems import Problem

if TYPE_CHECKING:
    import jsonschema


@cache
def spec_schema() -> dict[str, Any]:
    """The JSON Schema of the spec format (also printed by ``dlrgen schema``)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


@cache
def _schema_text() -> str:
    return resources.files("generator").joinpath("spec.schema.json").read_text(encoding="utf-8")


@cache
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema

    # "regex" is the one format the spec relies on (a parameter's pattern): the generated code
    # compiles it with Python's re, so an invalid one must be refused here, not on import.
    validator_class: type[jsonschema.protocols.Validator]
    validator_class = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator,
        {"pattern": _pattern_keyword},
        # JSON Schema counts 3.0 (and 9.2e18) as an integer; the generated code would carry
        # the float (max_items=3.0, which mypy refuses, or one no library can read as a count).
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _whole_number),
    )
    return validator_class(spec_schema(), format_checker=jsonschema.FormatChecker(["regex"]))


def _whole_number(checker: object, instance: object) -> bool:
    """An integer written as one: YAML's ``3``, never ``3.0`` (nor a boolean)."""
    return isinstance(instance, int) and not isinstance(instance, bool)


def _pattern_keyword(
    validator: jsonschema.protocols.Validator, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """JSON Schema's ``pattern``, with ``$`` meaning the end of the text as in JSON Schema's regexes.

    Python's ``$`` also matches before a final newline, so "X-Key\\n" would pass as a header name
    and "demo_sms\\n" as a snake_case name."""
    import jsonschema

    if validator.is_type(instance, "string") and not re.search(_python_pattern(pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _python_pattern(pattern: str) -> str:
    """A JSON Schema pattern for Python's re: a final unescaped ``$`` becomes ``\\Z``."""
    body = pattern.removesuffix("$")
    trailing_backslashes = len(body) - len(body.rstrip("\\"))
    if body != pattern and trailing_backslashes % 2 == 0:
        return body + r"\Z"
    return pattern


_HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"

_PATTERN_HINTS = {
    "^[a-z][a-z0-9]*(_[a-z0-9]+)*$": (
        "must be a snake_case name (a-z, 0-9 and single underscores, starting with a letter)"
    ),
    "^[A-Z][A-Za-z0-9]*$": "must be a PascalCase class name (letters and digits, starting with a capital)",
    "^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$": "must be an UPPER_SNAKE_CASE member name",
    "^https?://[^\\s]+$": "must be an http(s) URL",
    "^[0-9]+(ms|s|m|h|d)$": "must be a duration such as 500ms, 60s, 5m, 12h or 2d",
    _HEADER_NAME_PATTERN: (
        "must be an HTTP header name (ASCII letters, digits and !#$%&'*+-.^_`|~; no spaces)"
    ),
}


def schema_problems(data: dict[str, Any], source: SourceMap) -> list[tuple[Problem, JsonPath]]:
    """Each schema violation, described for a person, with the path of the value at fault."""
    key = _validation_key(data)
    if key is not None and dlrgen_cache.get(_VALID, key) is not None:
        return []
    problems: list[tuple[Problem, JsonPath]] = []
    for error in _validator().iter_errors(data):
        path = tuple(error.absolute_path)
        problems.extend((problem, path) for problem in _describe(error, source))
    if key is not None and not problems:
        dlrgen_cache.put(_VALID, key, "valid\n")  # only a pass is kept: problems are always checked afresh
    return problems


_VALID = "valid"  # the cache's folder of specs the schema accepted


def _validation_key(data: dict[str, Any]) -> str | None:
    """What the schema's verdict on ``data`` depends on, hashed: the data itself (its ``repr``
    tells ``1`` from ``"1"``, ``1.0`` and ``True``, as the schema does), the schema, the
    checks this module adds to it, the library and Python (whose ``re`` checks patterns).
    None (no caching) when the cache is off."""
    if dlrgen_cache.directory() is None:
        return None
    digest = hashlib.sha256(_validator_identity().encode())
    digest.update(b"\0" + repr(data).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


@cache
def _validator_identity() -> str:
    from generator.versions import distribution_version

    this_module = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    schema = hashlib.sha256(_schema_text().encode("utf-8")).hexdigest()
    return f"{schema} {this_module} jsonschema {distribution_version('jsonschema')} python {sys.version}"


def _describe(error: jsonschema.ValidationError, source: SourceMap) -> list[Problem]:
    import jsonschema

    path: JsonPath = tuple(error.absolute_path)
    where = _where(path)
    if error.validator in ("oneOf", "anyOf") and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        return _describe(best, source) if best is not None else []
    if "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str):
        # A bad mapping key: jsonschema reports the mapping, so point at the key itself.
        hint = _PATTERN_HINTS.get(str(error.validator_value), "is not a valid name")
        return [
            source.problem(path + (error.instance,), f"{where}: key {error.instance!r} {hint}", at_key=True)
        ]
    if error.validator == "format" and error.validator_value == "regex":
        return [source.problem(path, f"invalid regular expression: {error.cause}")]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(_schema_of(error).get("properties", {}))
        out = []
        for key in error.instance:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            suggestion = (
                f"; did you mean {close[0]!r}?" if close else f"; expected one of: {', '.join(allowed)}"
            )
            out.append(
                source.problem(path + (key,), f"unknown key {key!r} in {where}{suggestion}", at_key=True)
            )
        return out
    if error.validator == "required":
        key = error.message.split(chr(39))[1]
        hint = ""
        allowed_values = _enum_of(_schema_of(error).get("properties", {}).get(key, {}))
        if allowed_values:
            hint = f" (one of: {', '.join(str(v) for v in allowed_values)})"
        return [source.problem(path, f"{where} is missing the required key {key!r}{hint}")]
    if error.validator == "enum":
        values = list(error.validator_value) if isinstance(error.validator_value, list) else []
        options = ", ".join(repr(v) for v in values)
        hint = ""
        if isinstance(error.instance, str):
            close = difflib.get_close_matches(error.instance, [str(v) for v in values], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
        return [source.problem(path, f"{where}: {error.instance!r} is not one of {options}{hint}")]
    if error.validator == "pattern":
        hint = _PATTERN_HINTS.get(str(error.validator_value), f"must match {error.validator_value}")
        return [source.problem(path, f"{where}: {error.instance!r} {hint}")]
    if error.validator == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        got = _kind(error.instance) + (f" {error.instance!r}" if error.instance is not None else "")
        return [source.problem(path, f"{where}: expected {expected_text}, got {got}")]
    if error.validator == "const":
        return [source.problem(path, f"{where}: must be {error.validator_value!r}, got {error.instance!r}")]
    if error.validator in ("minProperties", "minItems"):
        return [source.problem(path, f"{where} must not be empty")]
    return [source.problem(path, f"{where}: {error.message}")]


def _schema_of(error: jsonschema.ValidationError) -> Mapping[str, Any]:
    """The (sub)schema an error comes from; a boolean schema has no keywords."""
    return error.schema if isinstance(error.schema, Mapping) else {}


def _enum_of(schema: Mapping[str, Any]) -> list[Any]:
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
