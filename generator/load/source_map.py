"""Where each value of a loaded spec came from: a file and a ``line:col`` for every value
and mapping key, so every later problem (schema, parser) is located in the spec's own text."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.problems import Problem

JsonPath = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a loaded spec stands in its file."""

    file: str
    values: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    # For a spec that extends a base: the values that come from another file, and which.
    files: dict[JsonPath, str] = field(default_factory=dict)

    def problem(self, path: JsonPath, message: str, *, at_key: bool = False) -> Problem:
        line, column = self.locate(path, at_key=at_key)
        return Problem(self.file_of(path), line, column, message)

    def locate(self, path: JsonPath, *, at_key: bool = False) -> tuple[int, int]:
        if at_key and path in self.keys:
            return self.keys[path]
        return self.values.get(self._known(path), (1, 1))

    def file_of(self, path: JsonPath) -> str:
        return self.files.get(self._known(path), self.file)

    def _known(self, path: JsonPath) -> JsonPath:
        probe = path
        while probe not in self.values and probe:
            probe = probe[:-1]
        return probe


@dataclass
class LoadedSpec:
    path: Path
    data: dict[str, Any]
    source: SourceMap
