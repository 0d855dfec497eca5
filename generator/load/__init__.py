"""Stage 1: read a spec file safely (``yaml_safe``), remember where every value came from
(``source_map``), apply its ``extends`` (``extends``) and check it against the JSON Schema of
the spec format (``schema``)."""

from __future__ import annotations

from pathlib import Path

from generator.load.extends import load_merged
from generator.load.schema import schema_problems, spec_schema
from generator.load.source_map import JsonPath, LoadedSpec, SourceMap
from generator.problems import Problem

__all__ = ["JsonPath", "LoadedSpec", "SourceMap", "load_spec", "schema_problems", "spec_schema"]


def load_spec(path: Path) -> tuple[LoadedSpec | None, list[Problem]]:
    """Read and schema-check one spec. Returns the spec (None if unreadable) and its problems."""
    raw = load_merged(path)
    if raw.data is None or raw.problems:
        return None, raw.problems
    problems = [
        problem
        for problem, where in schema_problems(raw.data, raw.source)
        if not any(where[: len(bad)] == bad for bad in raw.refused)
    ]
    return LoadedSpec(path, raw.data, raw.source), problems
