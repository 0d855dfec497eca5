"""The project's PEP 517 build backend: setuptools, with ``dlrgen generate`` run first.

``pip install .``, ``pip install -e .`` and ``python -m build`` all go through here, so a
build regenerates ``generated/`` from ``specs/`` (incrementally: a current tree costs a few
hashes) and fails, naming every ``file:line`` problem, when a spec is broken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (  # noqa: F401 - re-exported hooks
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)


class GenerationFailed(Exception):
    """The specs are broken: the build stops with every problem."""


def regenerate(root: Path | None = None) -> None:
    root = root or Path.cwd()  # frontends run the hooks in the project's directory
    specs = root / "specs"
    if not specs.is_dir():
        return  # e.g. building from an sdist that carries no specs: nothing to regenerate
    from generator.pipeline import plan
    from generator.problems import SpecError
    from generator.writer import apply, locked, remove_stray_temp_files

    out = root / "generated"
    with locked(out):  # as `dlrgen generate`: another run must not come between plan and apply
        remove_stray_temp_files(out)
        try:
            todo = plan(specs, out)
        except SpecError as exc:
            problems = "\n".join(str(problem) for problem in exc.problems)
            raise GenerationFailed(f"dlrgen: the specs have problems; nothing was built:\n{problems}") from None
        changed = apply(out, todo.write, todo.remove)
    print(f"dlrgen: build hook: {len(changed)} generated file(s) updated")


def build_wheel(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                metadata_directory: str | None = None) -> str:
    regenerate()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                   metadata_directory: str | None = None) -> str:
    regenerate()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    regenerate()
    return _setuptools.build_sdist(sdist_directory, config_settings)
