"""Stage 1b: a spec's ``extends``, applied before any schema check (so the merged spec is
what gets checked): the brand spec is a JSON Merge Patch (RFC 7386) over its base, and every
merged value keeps the location of the file it came from."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from generator.load.source_map import JsonPath, SourceMap
from generator.load.yaml_safe import Located, load_located

MAX_EXTENDS_DEPTH = 4  # a brand of a brand of a base is plenty; also ends any cycle


def load_merged(path: Path, chain: tuple[Path, ...] = ()) -> Located:
    """A spec's data with every value located, its ``extends`` applied."""
    located = load_located(path)
    if located.data is not None and "extends" in located.data and not located.problems:
        return _extend(path, located, chain + (path,))
    return located


def _extend(path: Path, brand: Located, chain: tuple[Path, ...]) -> Located:
    """Apply the brand spec over its base as a JSON Merge Patch (RFC 7386): mappings merge
    key by key, anything else (lists included) replaces, ``null`` removes a key."""
    assert brand.data is not None
    base_name = brand.data.pop("extends")
    where = ("extends",)
    if not isinstance(base_name, str) or not _BASE_NAME.match(base_name):
        return Located(
            None,
            brand.source,
            [
                brand.source.problem(
                    where,
                    "extends names a spec file in the same " "folder, without .yaml, e.g. _white_label_api",
                )
            ],
        )
    base_path = path.parent / f"{base_name}.yaml"
    if base_path in chain or len(chain) > MAX_EXTENDS_DEPTH:
        cycle = " -> ".join(p.stem for p in (*chain, base_path))
        return Located(
            None,
            brand.source,
            [brand.source.problem(where, f"extends goes round in a circle or too " f"deep ({cycle})")],
        )
    if not base_path.is_file():
        return Located(
            None,
            brand.source,
            [brand.source.problem(where, f"no base spec {base_path.name} next to " f"{path.name}")],
        )
    base = load_merged(base_path, chain)
    if base.data is None or base.problems:
        return Located(
            None, brand.source, base.problems or [brand.source.problem(where, "the base is unreadable")]
        )
    removals = [
        brand.source.problem(
            at, f"null removes {at[-1]!r}, but {base_path.name} has no {at[-1]!r} here", at_key=True
        )
        for at in _removals_of_nothing(base.data, brand.data, ())
    ]
    if removals:  # a typo'd key, or a plain scalar cut short at a comma in a {flow: mapping}
        return Located(None, brand.source, removals)
    source = SourceMap(brand.source.file)
    # A package's identity is its own: a brand never inherits its base's name or version.
    data = _merge_patch({k: v for k, v in base.data.items() if k != "package"}, brand.data)
    _relocate(data, (), base.source, brand.source, source)
    return Located(data, source, [], base.refused + brand.refused)


_BASE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


def _removals_of_nothing(base: Any, patch: Any, path: JsonPath) -> Iterator[JsonPath]:
    """Where a brand's null (which removes a key) names a key its base does not have."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return
    for key, value in patch.items():
        if value is None and key not in base:
            yield path + (key,)
        elif key in base:
            yield from _removals_of_nothing(base[key], value, path + (key,))


def _merge_patch(base: Any, patch: Any) -> Any:
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return patch
    # The base's order is kept (a brand's operations stay in the base's order, so the one
    # fetch_receipts uses does not change); keys only the brand has come after.
    merged = {}
    for key, value in base.items():
        if key not in patch:
            merged[key] = value
        elif patch[key] is not None:
            merged[key] = _merge_patch(value, patch[key])
    for key, value in patch.items():
        if key not in base and value is not None:
            merged[key] = value
    return merged


def _relocate(data: Any, path: JsonPath, base: SourceMap, patch: SourceMap, out: SourceMap) -> None:
    """Each merged value is located where it came from: the brand when the brand has it."""
    source = patch if path in patch.values else base
    if path in source.values:
        out.values[path] = source.values[path]
        out.files[path] = source.file_of(path)
    if path in source.keys:
        out.keys[path] = source.keys[path]
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in children:
        _relocate(value, path + (key,), base, patch, out)
