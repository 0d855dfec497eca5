"""Shared test setup. The generated packages are imported straight from ``generated/``
(as checked in), so the tests exercise exactly what users install."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
SPECS = ROOT / "specs"
RUNTIME = ROOT / "runtime"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

for distribution in sorted(GENERATED.glob("dlr_*")):
    if str(distribution) not in sys.path:
        sys.path.insert(0, str(distribution))


def spec_data(path: Path) -> dict[str, Any]:
    """A spec as the generator reads it (its ``extends`` applied), not as raw YAML."""
    from generator.loader import load_spec

    spec, problems = load_spec(path)
    assert spec is not None and not problems, problems
    return spec.data


def provider_specs() -> list[Path]:
    """Every provider's spec (``_*.yaml`` files are bases, not providers)."""
    from generator.pipeline import spec_files

    return spec_files(SPECS)


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def fixture_json() -> Any:
    return load_fixture
