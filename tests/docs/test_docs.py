"""The spec format is documented key by key, and the README's commands stay true."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def schema_keys(node: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            keys.add(key)
            keys |= schema_keys(value)
        for key, value in node.items():
            if key != "properties":
                keys |= schema_keys(value)
    elif isinstance(node, list):
        for item in node:
            keys |= schema_keys(item)
    return keys


def test_every_schema_key_is_documented() -> None:
    schema = json.loads((ROOT / "generator" / "spec.schema.json").read_text(encoding="utf-8"))
    doc = (ROOT / "docs" / "spec-format.md").read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", doc, flags=re.DOTALL)  # examples do not count as documentation
    spans = re.findall(r"`([^`\n]+)`", prose)
    documented = {span for span in spans if re.fullmatch(r"[a-z_][a-z0-9_]*", span)}
    documented |= {key for span in spans for key in re.findall(r"([a-z_][a-z0-9_]*):", span)}
    missing = sorted(schema_keys(schema) - documented)
    assert not missing, f"undocumented spec keys: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = next(line for line in readme.splitlines() if line.endswith(".venv/bin/pytest"))
    assert test_command in ci


# What a reader takes for a page but is only a site's front door: a link left to fill in.
PLACEHOLDER_LINK = re.compile(
    r"\]\((?:https?://(?:www\.)?(?:github\.com|gitlab\.com|example\.(?:com|org|net))/?|https?://|#?|TODO[^)]*)\)",
    re.I,
)


def _prose_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "runtime" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return files + sorted(p for p in (ROOT / "templates").rglob("*") if p.is_file())


def test_no_unfinished_or_placeholder_text_in_the_docs() -> None:
    found = []
    for path in _prose_files():
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            if re.search(r"not (?:generated|implemented|supported) yet", line, re.I):
                found.append(f"{path.relative_to(ROOT)}:{number}: unfinished: {line.strip()}")
            for match in PLACEHOLDER_LINK.finditer(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: placeholder link {match.group(0)}")
    assert not found, "\n".join(found)


def test_the_placeholder_check_catches_what_it_is_for() -> None:
    for bad in ("[dlrgen](https://github.com/)", "[x](https://example.com)", "[x]()", "[x](#)"):
        assert PLACEHOLDER_LINK.search(bad), bad
    for good in ("[pre-commit](https://pre-commit.com)", "[docs](docs/providers.md)", "[a](#commands)"):
        assert not PLACEHOLDER_LINK.search(good), good


def test_the_commands_table_names_every_file_generate_writes_outside_the_packages() -> None:
    from generator.emit.manifest import MANIFEST
    from generator.commands.release import RECORD

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `dlrgen generate` |"))
    for written in (f"generated/{MANIFEST}", "docs/providers.md"):
        assert f"`{written}`" in row, written
    # The release record is the build's: the row says generate leaves it alone.
    assert f"never writes `generated/{RECORD}`, which only `dlrgen build` records" in row


# A line count in the README names its file: "46 lines (`specs/x.yaml`, 36 without comments
# and blank lines)"; the test below holds each to the file.
LINE_COUNT_CLAIM = re.compile(
    r"(\d[\d,]*) lines \(`([^`]+)`(?:, (\d[\d,]*) without comments and blank lines)?\)"
)


def test_every_line_count_in_the_readme_is_the_files() -> None:
    readme = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    )
    mentions = re.findall(r"\b\d[\d,]*[- ]lines?\b", readme)
    claims = LINE_COUNT_CLAIM.findall(readme)
    assert claims, "the README's line counts are not found (the claim pattern changed?)"
    assert len(claims) == len(mentions), f"line counts naming no file: {mentions}"
    for total, path, without_comments in claims:
        lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
        assert int(total.replace(",", "")) == len(lines), path
        if without_comments:
            code = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
            assert int(without_comments.replace(",", "")) == len(code), path
