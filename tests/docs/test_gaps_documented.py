"""docs/providers.md's section "What the format cannot say yet" is rendered from the specs'
``gaps`` (never written by hand): every gap a spec in specs/ states is a row of it, and a
specs folder's gaps, whatever they are, are what ``dlrgen docs`` writes there."""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.pipeline import build_docs
from generator.python import escape
from tests.conftest import ROOT, catalog_providers

SECTION = "## What the format cannot say yet"
CASES = ROOT / "tests" / "cases"


def _section(text: str) -> str:
    start = text.index(SECTION)
    return text[start : text.index("\n## ", start + len(SECTION))]


def _rows(section: str) -> list[str]:
    return [line for line in section.splitlines() if line.startswith("| `")]


def test_every_gap_a_spec_states_is_a_row_of_providers_md() -> None:
    section = _section((ROOT / "docs" / "providers.md").read_text(encoding="utf-8"))
    expected = [
        f"| `{provider.id}` {escape.markdown(provider.title)} | {escape.markdown(gap.what)} | "
        f"{escape.markdown(gap.why)} |"
        for provider in catalog_providers()
        for gap in provider.gaps
    ]
    assert expected, "the catalog states gaps (BulkSMS's paging, Huawei's push AK/SK check, ...)"
    assert _rows(section) == expected


def test_the_section_lists_the_gaps_of_the_specs_it_is_built_from(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(CASES / "gaps" / "specs" / "demo.yaml", specs / "demo.yaml")
    assert _rows(_section(build_docs(specs))) == [
        "| `demo` Demo SMS | Paging the message list by id&lt;N | The list's cursor is a clause "
        "joined into the caller's own filter text (a \\| b), which &lt;no&gt; pagination key "
        "composes; ask page by page yourself. |",
        "| `demo` Demo SMS | The push's optional HMAC check | The signed headers are named "
        "inside each push. |",
    ]


def test_specs_stating_no_gap_say_so(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(CASES / "minimal" / "specs" / "demo.yaml", specs / "demo.yaml")
    section = _section(build_docs(specs))
    assert _rows(section) == []
    assert "No spec states a gap." in section
    assert "**SMSAPI**" in section and "**CM.com**" in section  # providers with no spec at all
