"""Spec trees the generation benchmark runs on: the four seed providers, one provider with
many operations, many providers. Built from the seed specs, so they stay valid as the format
grows. Benchmark-only code."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ("aliyun_dysms", "itnio_voice", "sgate_otp", "ucloud_usms")


def seed_specs(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for seed in SEEDS:
        written.append(Path(shutil.copy(ROOT / "specs" / f"{seed}.yaml", target)))
    return written


def _retitled(node: Any, suffix: str) -> Any:
    """Every model class renamed with a suffix, so copies of an operation stay distinct;
    descriptions and the example answer left out, so 400 copies stay under the loader's size
    budget (1 MiB)."""
    if isinstance(node, dict):
        return {
            key: (f"{value}{suffix}" if key == "title" else _retitled(value, suffix))
            for key, value in node.items()
            if key not in ("description", "example")
        }
    if isinstance(node, list):
        return [_retitled(item, suffix) for item in node]
    return node


def many_operations(target: Path, count: int) -> Path:
    """One provider (UCloud's spec) whose operation is there ``count`` times, each with its own
    models, parameters class and receipts function."""
    spec = yaml.safe_load((ROOT / "specs" / "ucloud_usms.yaml").read_text(encoding="utf-8"))
    ((name, operation),) = spec["operations"].items()
    spec["provider"] = "many_operations"
    spec["operations"] = {
        f"{name}_{index}": _retitled(copy.deepcopy(operation), str(index)) for index in range(count)
    }
    target.mkdir(parents=True, exist_ok=True)
    path = target / "many_operations.yaml"
    # Flow style for the innermost values, as people write specs, keeps 400 operations under
    # the loader's size budget.
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, default_flow_style=None, width=120)
    path.write_text(text, encoding="utf-8")
    return path


def many_providers(target: Path, count: int) -> list[Path]:
    """``count`` providers, copies of the seeds under other names."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(count):
        seed = SEEDS[index % len(SEEDS)]
        provider = f"{seed}_{index}"
        text = (ROOT / "specs" / f"{seed}.yaml").read_text(encoding="utf-8")
        path = target / f"{provider}.yaml"
        path.write_text(text.replace(f"provider: {seed}", f"provider: {provider}"), encoding="utf-8")
        written.append(path)
    return written
