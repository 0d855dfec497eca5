"""The whole generation as one pure function: specs in, ``{path: content}`` out.

``generate`` writes the map, ``check`` compares it with disk; both are thin consumers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from generator import model as m
from generator.formatting import format_files
from generator.loader import load_spec
from generator.parser import parse_provider
from generator.problems import Problem, SpecError, display_path
from generator.render import render_core, render_provider
from generator.writer import with_manifest


def spec_files(specs_dir: Path) -> list[Path]:
    return sorted(p for p in specs_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_providers(paths: list[Path]) -> tuple[list[m.Provider], list[Problem]]:
    providers: list[m.Provider] = []
    problems: list[Problem] = []
    for path in paths:
        spec, found = load_spec(path)
        problems.extend(found)
        if spec is None or found:
            continue
        provider, found = parse_provider(spec)
        problems.extend(found)
        if provider is not None:
            # Name the spec the same way whatever the working directory, so output is stable.
            providers.append(dataclasses.replace(provider, spec_file=f"{path.parent.name}/{path.name}"))
    return providers, sorted(problems)


def build(specs_dir: Path) -> dict[str, str]:
    """Every generated file, keyed by its path below the output directory.

    Raises SpecError with every problem found when any spec is broken."""
    if not specs_dir.is_dir():
        raise SpecError([Problem(display_path(specs_dir), 1, 1, "no such directory of specs")])
    paths = spec_files(specs_dir)
    if not paths:
        raise SpecError([Problem(display_path(specs_dir), 1, 1, "no *.yaml specs found")])
    providers, problems = load_providers(paths)
    if problems:
        raise SpecError(problems)
    files = render_core()
    for provider in providers:
        files.update(render_provider(provider))
    return with_manifest(format_files(files))
