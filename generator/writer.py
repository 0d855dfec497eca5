"""Stage 5: write the in-memory file map to disk atomically, or compare it with disk.

A manifest in the output directory lists the files the generator owns. Only those are
ever replaced or deleted; anything else a user puts in ``generated/`` is left alone.
Every new file is first written next to its target; only when all writes succeeded are
they renamed into place, so a failure leaves the tree as it was.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from generator.manifest import MANIFEST, Manifest

_TEMP_SUFFIX = ".dlrgen-tmp"


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # added | changed | removed
    diff: str


def changes(out_dir: Path, files: dict[str, str]) -> list[Change]:
    """What writing ``files`` would change on disk, as unified diffs."""
    out: list[Change] = []
    for path in sorted(files):
        target = out_dir / path
        new = files[path]
        try:
            old = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            out.append(Change(path, "added", _diff(path, "", new)))
            continue
        except (OSError, UnicodeDecodeError):
            old = ""
        if old != new:
            out.append(Change(path, "changed", _diff(path, old, new)))
    owned = Manifest.read(out_dir)
    for path in sorted(set(owned.files if owned else ()) - set(files)):
        target = out_dir / path
        if target.is_file():
            out.append(Change(path, "removed", _diff(path, target.read_text(encoding="utf-8", errors="replace"), "")))
    return out


def _diff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def apply(out_dir: Path, write: dict[str, str], remove: set[str] = frozenset()) -> list[Change]:
    """Write ``write`` (skipping files already as wanted) and delete ``remove``; returns what
    changed. Nothing is replaced until every new file has been written in full."""
    pending = [c for c in changes(out_dir, write) if c.kind != "removed"]
    pending += [Change(path, "removed", "") for path in sorted(remove) if (out_dir / path).is_file()]
    staged: list[tuple[Path, Path]] = []
    try:
        for change in pending:
            if change.kind == "removed":
                continue
            target = out_dir / change.path
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(target.name + _TEMP_SUFFIX)
            temp.write_text(write[change.path], encoding="utf-8", newline="\n")
            staged.append((temp, target))
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    # The manifest goes last: until it is in place, the old one still describes the tree.
    staged.sort(key=lambda pair: pair[1].name == MANIFEST)
    for temp, target in staged:
        os.replace(temp, target)
    for change in pending:
        if change.kind == "removed":
            (out_dir / change.path).unlink(missing_ok=True)
            _prune_empty_dirs((out_dir / change.path).parent, out_dir)
    return pending


def write_files(out_dir: Path, files: dict[str, str]) -> list[Change]:
    """Bring ``out_dir`` in line with a full generation ``files`` (manifest included)."""
    owned = Manifest.read(out_dir)
    return apply(out_dir, files, set(owned.files if owned else ()) - set(files))


def _prune_empty_dirs(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent
