"""The spec format's general parts, each on a small variation of a seed spec, generated
into a temporary folder and imported (no test lists the providers)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from conftest import SPECS
from generator.pipeline import _render_unit, load_providers
from generator.writer import apply


def generate_package(tmp_path: Path, name: str, text: str) -> ModuleType:
    """Write ``text`` as specs/<name>.yaml, generate it, import its package."""
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    spec = specs / f"{name}.yaml"
    spec.write_text(text, encoding="utf-8")
    [provider], problems = load_providers([spec])
    assert not problems, problems
    out = tmp_path / "generated"
    apply(out, _render_unit(provider))
    package = provider.package
    for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[module]
    sys.path.insert(0, str(out / package))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(out / package))


@pytest.fixture
def cleanup_modules() -> Iterator[None]:
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("dlr_") and name != "dlr_core" and not name.startswith("dlr_core."):
            del sys.modules[name]


def test_status_values_documented_as_text_also_parse_when_sent_as_numbers(
    tmp_path: Path, cleanup_modules: None
) -> None:
    text = (SPECS / "itnio_voice.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "    class: FlowStatus\n    type: integer\n", "    class: FlowStatus\n    type: string\n"
    )
    for number in range(5):
        text = text.replace(f"{{value: {number}, member:", f'{{value: "{number}", member:')
    package = generate_package(tmp_path, "itnio_voice", text)
    answer = {"code": 0, "msg": "success", "data": {"keyId": 1, "status": 2, "nodeList": []}}
    result = package.RecallFlowDetail.model_validate(answer["data"])
    [receipt] = package.query_recall_flow_detail_receipts(
        result, package.QueryRecallFlowDetailParams(key_id=1)
    )
    assert receipt.status.value == "delivered"
    assert package.FlowStatus.parse(2) is package.FlowStatus.COMPLETED
