"""``extends``: a brand spec written over a base, as a JSON Merge Patch, with problems
located in whichever file the value came from."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import SPECS, spec_data
from generator.pipeline import Inputs, load_providers, spec_files

BRAND = """dlrgen: 1
extends: _base
provider: brand
title: Brand
servers: {default: main, choices: {default: null, main: {url: "https://brand.example.com"}}}
"""


def _pair(tmp_path: Path, brand: str = BRAND) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(SPECS / "itnio_voice.yaml", specs / "_base.yaml")
    (specs / "brand.yaml").write_text(brand, encoding="utf-8")
    return specs


def test_the_brand_is_merged_over_its_base(tmp_path: Path) -> None:
    specs = _pair(tmp_path)
    data = spec_data(specs / "brand.yaml")
    base = spec_data(SPECS / "itnio_voice.yaml")
    assert data["provider"] == "brand" and data["title"] == "Brand"
    assert data["servers"] == {"default": "main", "choices": {"main": {"url": "https://brand.example.com"}}}
    assert data["operations"] == base["operations"] and data["statuses"] == base["statuses"]
    assert "extends" not in data


def test_bases_are_not_providers_and_changing_one_regenerates_its_brands(tmp_path: Path) -> None:
    specs = _pair(tmp_path)
    assert [p.name for p in spec_files(specs)] == ["brand.yaml"]
    before = Inputs.read(specs).specs["brand"][1]
    base = specs / "_base.yaml"
    base.write_text(
        base.read_text(encoding="utf-8").replace("Calls are being made.", "Calls go out."), "utf-8"
    )
    assert Inputs.read(specs).specs["brand"][1] != before


def test_a_problem_is_located_in_the_file_its_value_came_from(tmp_path: Path) -> None:
    specs = _pair(tmp_path, BRAND + "docs: not-a-url\n")
    base = specs / "_base.yaml"
    lines = base.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if "canonical: delivered" in line)
    lines[index] = lines[index].replace("canonical: delivered", "canonical: delivred")
    base.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, problems = load_providers([specs / "brand.yaml"])
    where = {(Path(p.file).name, p.line) for p in problems}
    assert ("brand.yaml", 6) in where  # docs: not-a-url
    assert ("_base.yaml", index + 1) in where  # the misspelt canonical status


def test_null_removes_and_lists_replace(tmp_path: Path) -> None:
    specs = _pair(
        tmp_path, BRAND + "description: null\nerrors: [{code: -1, kind: authentication, description: x}]\n"
    )
    data = spec_data(specs / "brand.yaml")
    assert "description" not in data
    assert data["errors"] == [{"code": -1, "kind": "authentication", "description": "x"}]


def test_missing_bases_and_cycles_are_located_problems(tmp_path: Path) -> None:
    specs = _pair(tmp_path, BRAND.replace("extends: _base", "extends: _nowhere"))
    _, problems = load_providers([specs / "brand.yaml"])
    assert [(p.line, p.message) for p in problems] == [(2, "no base spec _nowhere.yaml next to brand.yaml")]
    (specs / "_base.yaml").write_text("extends: brand\n", encoding="utf-8")
    (specs / "brand.yaml").write_text(BRAND, encoding="utf-8")
    _, problems = load_providers([specs / "brand.yaml"])
    [problem] = problems  # found where the circle closes: the base that extends the brand
    assert "circle" in problem.message and Path(problem.file).name == "_base.yaml" and problem.line == 1


def test_a_null_that_removes_nothing_is_a_problem_at_its_key(tmp_path: Path) -> None:
    # A plain scalar with a comma, in a {flow: mapping}, splits into a key with a null value:
    # merged as a patch, that null would silently remove nothing and cut the text short.
    brand = BRAND + "auth:\n  credentials:\n    api_key: {description: Key ID, the user name}\n"
    specs = _pair(tmp_path, brand)
    _, problems = load_providers(spec_files(specs))
    assert [(p.file.endswith("brand.yaml"), p.line) for p in problems] == [(True, 8)]
    assert "null removes 'the user name', but _base.yaml has no 'the user name' here" in problems[0].message


def test_a_brand_keeps_its_bases_order(tmp_path: Path) -> None:
    # Patching one operation must not move it behind the others: the first operation with
    # receipts is the one fetch_receipts uses.
    base = spec_data(SPECS / "twilio_messaging.yaml")
    brand = BRAND + "operations:\n  fetch_message:\n    summary: Patched.\n"
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(SPECS / "twilio_messaging.yaml", specs / "_base.yaml")
    (specs / "brand.yaml").write_text(brand.replace("https://brand.example.com", "https://api.twilio.com"))
    data = spec_data(specs / "brand.yaml")
    assert list(data["operations"]) == list(base["operations"])
    assert data["operations"]["fetch_message"]["summary"] == "Patched."
