"""Stage 2, shared by every part of the parser: the spec being read, the problems found,
and the one namespace of module-level names a spec introduces."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from generator import model as m
from generator.loader import JsonPath, LoadedSpec, SourceMap
from generator.names import Scope, reserved
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


class ParserBase:
    """State every part of the parser shares; problems are collected, never raised."""

    def __init__(self, spec: LoadedSpec) -> None:
        self.spec = spec
        self.data = spec.data
        self.source: SourceMap = spec.source
        self.problems: list[Problem] = []
        self.statuses: dict[str, m.StatusEnum] = {}
        self.class_names: dict[str, JsonPath] = {}
        self.defs: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}
        self.rules_used: dict[str, m.StatusRule] = {}
        self.time_patterns: dict[tuple[str, str], m.TimePattern] = {}
        self.time_choices: dict[tuple[m.TimeFormat, ...], m.TimeChoice] = {}
        self.used_in_auth: set[str] = set()
        self.env_owners: dict[str, str] = {}  # environment variable -> credential

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
