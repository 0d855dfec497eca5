"""A per-user cache of work that depends only on its input: black's formatting of a chunk of
generated code, datamodel-code-generator's models of a schema, compiled templates.

Entries are found by the SHA-256 of everything they depend on (the tool's version included),
so an entry can never be stale, only unused. The cache only ever saves time: a run without
it (``DLRGEN_NO_CACHE=1``, an unusable directory, a full disk) produces the same bytes.

Where: ``$DLRGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/dlrgen``, else ``~/.cache/dlrgen``.
What is read from it becomes generated code, so the directory must belong to the user
running dlrgen and be writable by nobody else (as pip and black require of theirs); any
other directory is not used. Generated code read from the cache is still checked by
``generator.emit.verify`` like freshly formatted code.
"""

from __future__ import annotations

import os
import stat
from functools import cache
from pathlib import Path

_VERSION = "1"  # the layout of entries; a new layout starts a new folder


def directory(kind: str = "") -> Path | None:
    """The cache folder for this user (or its subfolder for one kind of entry), created if
    needed, or None when the cache is off or unsafe."""
    if os.environ.get("DLRGEN_NO_CACHE"):
        return None
    folder = _directory(os.environ.get("DLRGEN_CACHE_DIR", ""), os.environ.get("XDG_CACHE_HOME", ""))
    if folder is None or not kind:
        return folder
    try:
        (folder / kind).mkdir(exist_ok=True, mode=0o700)
    except OSError:
        return None
    return folder / kind


@cache
def _directory(configured: str, xdg: str) -> Path | None:
    if configured:
        root = Path(configured)
    else:
        root = Path(xdg or Path.home() / ".cache") / "dlrgen"
    folder = root / f"v{_VERSION}"
    try:
        for path in (root, folder):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not _private(path):
                return None
    except (OSError, RuntimeError):  # RuntimeError: no home directory to put it in
        return None
    return folder


def _private(path: Path) -> bool:
    """Whether only this user can write to ``path``. On Windows, where a folder's rights are
    an access list that ``stat`` does not show, the user's own profile folders are private
    by default: there, any folder is taken as it is."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    info = path.stat()
    return info.st_uid == getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _entry(kind: str, key: str) -> Path | None:
    folder = directory()
    return folder / kind / key[:2] / key if folder is not None else None


def get(kind: str, key: str) -> str | None:
    """The text kept under ``key``, or None."""
    path = _entry(kind, key)
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def put(kind: str, key: str, text: str) -> None:
    """Keep ``text`` under ``key``; written whole or not at all (staged as generated files
    are, then renamed), and never an error."""
    from generator.emit.writer import stage

    path = _entry(kind, key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = stage(path, text, 0o600)
    except OSError:
        return
    try:
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
