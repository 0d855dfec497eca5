"""Spec problems are values: every stage returns them instead of raising on the first one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a spec, located as ``file:line:col``."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class SpecError(Exception):
    """Raised at the pipeline's edge when specs have problems; carries all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))  # each once, however many stages found it
        super().__init__("\n".join(str(p) for p in self.problems))


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class FormattingError(Exception):
    """Generated code black cannot parse: a generator bug, reported with the file."""


class UnsafeOutputError(FormattingError):
    """Rendered code would not keep spec text inert (``generator.emit.verify``): a dlrgen bug,
    caught before anything is written."""
