"""The spec format is documented key by key, and the README's commands stay true."""

from __future__ import annotations

import json
import re
from typing import Any

from conftest import ROOT


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
