"""Sign steps as spec data: a step read from a spec's ``{"as": name, kind: body}`` mapping
(every key checked against the step's dataclass fields, with located problems), written back,
and the templates and credentials a step uses. The step kinds themselves are in
``dlr_core.steps``; the JSON Schema built from them in ``dlr_core.steps_schema``."""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from dlr_core.steps import STEPS, Credential, Json, Path, Step, Template


@dataclass(frozen=True)
class Problem:
    path: Path
    """Relative to the step (the ``{kind: ...}`` mapping)."""
    message: str


def build_step(data: Json) -> tuple[str, Step | None, list[Problem]]:
    """A sign step from spec data (``{"as": name, kind: body}``): its ``as`` name, the
    step (None when there are problems) and the problems, paths relative to the step."""
    name = data.get("as")
    kinds = [k for k in data if k != "as"]
    problems: list[Problem] = []
    if not isinstance(name, str):
        problems.append(Problem((), "a sign step needs 'as': the name its result is bound to"))
    known = [k for k in kinds if k in STEPS]
    if len(known) != 1 or len(kinds) != 1:
        unknown = [k for k in kinds if k not in STEPS]
        message = f"a sign step needs exactly one of: {', '.join(STEPS)}"
        if unknown:
            message += f" (unknown: {', '.join(map(str, unknown))})"
        elif known:
            message += f" (found {', '.join(known)})"
        problems.append(Problem((), message))
        return str(name), None, problems
    kind = known[0]
    cls = STEPS[kind]
    body = data[kind]
    if cls.body is not None:
        body = {cls.body: body}
        step, found = _build(cls, body, (kind,), bare=cls.body)
    else:
        step, found = _build(cls, body, (kind,))
    problems += found
    return str(name), (step if not problems else None), problems


def step_fields(cls: type) -> Iterator[tuple[dataclasses.Field[Any], Any]]:
    """A step class's (or a step part's) fields with their resolved annotations, ``Template``
    and ``Credential`` roles kept: what reading, the JSON Schema and the docs table walk."""
    return iter(_fields_and_hints(cls))


@functools.cache
def _fields_and_hints(cls: type) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    # Resolved once per class: ``get_type_hints`` evaluates every annotation's text again on
    # each call, and every step of every spec read (and every value written) walks its class.
    hints = typing.get_type_hints(cls, include_extras=True)
    return tuple((f, hints[f.name]) for f in dataclasses.fields(cls))


def _build(cls: type, data: Any, path: Path, bare: str | None = None) -> tuple[Any, list[Problem]]:
    if not isinstance(data, Mapping):
        return None, [Problem(path, f"expected a mapping, got {_type_name(data)}")]
    problems: list[Problem] = []
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            problems.append(Problem(path + (key,), f"unknown key {key!r}; keys: {', '.join(names)}"))
    values: dict[str, Any] = {}
    for f, hint in step_fields(cls):
        where = path if f.name == bare else path + (f.name,)
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append(Problem(path, f"missing key {f.name!r}"))
            continue
        value, found = _convert(hint, data[f.name], where)
        problems += found or _bounds(f.metadata.get("schema", {}), value, where)
        values[f.name] = value
    if problems:
        return None, problems
    return cls(**values), []


def _bounds(schema: Mapping[str, Any], value: Any, path: Path) -> list[Problem]:
    """The JSON Schema bounds a key declares (``doc(..., minimum=1)``), checked here too."""
    problems = []
    if "minimum" in schema and value < schema["minimum"]:
        problems.append(Problem(path, f"{value} is less than {schema['minimum']}"))
    if "minItems" in schema and len(value) < schema["minItems"]:
        problems.append(Problem(path, f"needs at least {schema['minItems']} item(s)"))
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(Problem(path, "must not be empty"))
    texts = [value] if "pattern" in schema else list(value) if "items_pattern" in schema else []
    pattern = schema.get("pattern") or schema.get("items_pattern")
    for text in texts:
        if not re.search(str(pattern), text):
            problems.append(Problem(path, f"{text!r} does not match {pattern}"))
    return problems


def _convert(hint: Any, value: Any, path: Path) -> tuple[Any, list[Problem]]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):  # X | None: None only by leaving the key out
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, path)
    if origin is Literal:
        if value not in args or isinstance(value, bool):
            return None, [Problem(path, f"{value!r} is not one of: {', '.join(map(str, args))}")]
        return value, []
    if origin is tuple:
        if not isinstance(value, list):
            return None, [Problem(path, f"expected a list, got {_type_name(value)}")]
        items, problems = [], []
        for index, item in enumerate(value):
            converted, found = _convert(args[0], item, path + (index,))
            items.append(converted)
            problems += found
        return tuple(items), problems
    if dataclasses.is_dataclass(hint):
        return _build(typing.cast(type, hint), value, path)
    expected = _PLAIN_TYPES[_base(hint)]
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return None, [Problem(path, f"expected {_TYPE_NAMES[expected]}, got {_type_name(value)}")]
    return value, []


def _base(hint: Any) -> Any:
    """``str`` for a ``Template`` or ``Credential``: the type beneath a role."""
    return typing.get_args(hint)[0] if typing.get_origin(hint) is Annotated else hint


_PLAIN_TYPES: dict[Any, type] = {str: str, int: int, bool: bool}
_TYPE_NAMES = {str: "text", int: "an integer", bool: "true or false"}


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {str: "text", int: "an integer", float: "a number", list: "a list", dict: "a mapping"}.get(
        type(value), type(value).__name__
    )


def step_data(step: Step) -> Any:
    """A step's body as a spec writes it (what ``build_step`` reads back)."""
    data = _data(step)
    return data[step.body] if step.body is not None else data


def _data(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {
            f.name: _data(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if getattr(obj, f.name) not in (None, ())  # absent, or an empty default
        }
    if isinstance(obj, tuple):
        return [_data(item) for item in obj]
    return obj


def templates(step: Step, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every template in a step, with its path (for checking its variables)."""
    yield from _templates(step, path + (step.kind,), type(step).body)


def _templates(obj: Any, path: Path, bare: str | None = None) -> Iterator[tuple[Path, str]]:
    for f, hint in step_fields(type(obj)):
        value = getattr(obj, f.name)
        where = path if f.name == bare else path + (f.name,)
        if hint == Template:
            yield where, value
        elif typing.get_origin(hint) is tuple:
            (item,) = typing.get_args(hint)[:1]
            for index, element in enumerate(value):
                if item == Template:
                    yield where + (index,), element
                elif dataclasses.is_dataclass(item):
                    yield from _templates(element, where + (index,))
        elif dataclasses.is_dataclass(hint) and value is not None:
            yield from _templates(value, where)


def credentials(step: Step, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every credential a step names directly (not through a template)."""
    for f, hint in step_fields(type(step)):
        if hint == Credential:
            yield path + (step.kind, f.name), getattr(step, f.name)
