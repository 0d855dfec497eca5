"""Stage 2, shared by every part of the parser: the ``ParseContext`` each parse function is
given (the spec being read, the problems found, the registries the parts fill in), and
the one namespace of module-level names a spec introduces.

Each part of the parser is a module of free functions over an explicit context
(``parse_x(ctx, path, raw)``): what a function finds wrong goes into ``ctx.problems`` at
the spec's ``file:line:col``, and it returns what it could read. A caller that must know
whether one part of the spec failed (an auth scheme, a callback) runs it in
``ctx.part()``, which collects that part's problems apart.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from generator import model as m
from generator.load import JsonPath, LoadedSpec, SourceMap
from generator.python.names import Scope, reserved
from generator.problems import Problem

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def pascal(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def duration_seconds(text: str | None) -> float | None:
    if text is None:
        return None
    match = re.fullmatch(r"([0-9]+)(ms|s|m|h|d)", text)
    assert match is not None  # the JSON Schema checked the pattern
    return int(match.group(1)) * _DURATION_SECONDS[match.group(2)]


@dataclass
class ParseContext:
    """What the parse functions share: problems are collected here, never raised.

    The registries are filled in as the spec is read, in the order ``parse_provider``
    reads it; they are mutated in place, never rebound, so a ``part()`` shares them."""

    spec: LoadedSpec
    problems: list[Problem] = field(default_factory=list)
    # status key -> its enum (read before operations and callbacks refer to them)
    statuses: dict[str, m.StatusEnum] = field(default_factory=dict)
    # module-level name -> where the spec introduced it (one namespace: see claim_module_name)
    class_names: dict[str, JsonPath] = field(default_factory=dict)
    # model class -> its JSON Schema, for the model generator
    defs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "Class.wire" -> Python field name, where they differ
    aliases: dict[str, str] = field(default_factory=dict)
    # status rule key -> the rule, as the receipts that use it resolved it
    rules_used: dict[str, m.StatusRule] = field(default_factory=dict)
    time_patterns: dict[tuple[str, str], m.TimePattern] = field(default_factory=dict)
    time_choices: dict[tuple[m.TimeFormat, ...], m.TimeChoice] = field(default_factory=dict)
    # credentials and variables some auth scheme, parameter or callback uses
    used_in_auth: set[str] = field(default_factory=set)
    # environment variable -> credential
    env_owners: dict[str, str] = field(default_factory=dict)

    @property
    def data(self) -> dict[str, Any]:
        return self.spec.data

    @property
    def source(self) -> SourceMap:
        return self.spec.source

    def part(self) -> ParseContext:
        """The same spec and registries, with a problem list of its own: the problems of
        one part of the spec, so its caller can tell whether that part failed (and then
        add them to its own, in order)."""
        return dataclasses.replace(self, problems=[])

    def problem(self, path: JsonPath, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.source.problem(path, message, at_key=at_key))

    def check_unique_classes(self, names: Iterable[tuple[JsonPath, str]]) -> None:
        for path, name in names:
            self.claim_module_name(path, name, "class name")

    def claim_module_name(self, path: JsonPath, name: str, what: str, *, at_key: bool = False) -> None:
        """Every module-level name the spec introduces is one namespace (the package's
        ``__init__`` re-exports them all): free of Python's and the generated code's names,
        and used once."""
        why = reserved("module", name)
        if why is not None:
            self.problem(path, f"{what} {name!r} is {why}; give another name", at_key=at_key)
        elif name in self.class_names:
            first = self.source.locate(self.class_names[name])
            self.problem(path, f"{what} {name!r} is already used (line {first[0]})", at_key=at_key)
        else:
            self.class_names[name] = path

    def check_name(self, scope: Scope, path: JsonPath, name: str, what: str, *, at_key: bool = False) -> None:
        why = reserved(scope, name)
        if why is not None:
            self.problem(path, f"{what} {name!r} is {why}; give another name", at_key=at_key)

    def check_python_name(self, path: JsonPath, name: str, *, at_key: bool = False) -> None:
        self.check_name("field", path, name, "field name", at_key=at_key)
