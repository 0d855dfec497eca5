"""The manifest in the output directory: which files the generator owns, a hash of each,
and a hash of every input they were made from.

Only files listed here are ever replaced or deleted. The input hashes make generation
incremental; the file hashes notice hand edits, which the next ``generate`` undoes.

The manifest is input like any other: a checkout can carry a hostile one. Every path it
lists must be a plain relative path that stays inside the output directory, or the whole
manifest is refused (``ManifestError``) before anything is read or deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

MANIFEST = ".dlrgen-manifest.json"
LOCK_FILE = ".dlrgen.lock"  # taken by every run on the directory; never output, never listed
TEMP_SUFFIX = ".dlrgen-tmp"  # a file being written; one left behind is a killed run's
CORE_UNIT = "dlr_core"

_DRIVE = re.compile(r"[A-Za-z]:")  # "C:x" is relative on POSIX but not on Windows
# Unicode's control characters (category Cc): C0, DEL and C1. A pattern, not a look-up per
# character: a manifest lists hundreds of paths, read on every run.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class OutputPathError(Exception):
    """A path the generator was asked to read, write or delete that is not safely inside
    the output directory. ``where`` is the file that named it; str() is one line."""

    def __init__(self, where: Path, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class ManifestError(OutputPathError):
    """The manifest lists a path outside the output directory: it is refused as a whole."""


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a plain relative POSIX path below a directory, or None if it is.

    Purely lexical; ``escapes`` adds the check through symlinks on disk."""
    if not path:
        return "it is empty"
    if _CONTROL.search(path):
        return "it contains a control character"
    if "\\" in path:
        return "it contains a backslash"
    if path.startswith("/") or _DRIVE.match(path):
        return "it is absolute"
    parts = path.split("/")
    if ".." in parts:
        return "it has a '..' component"
    if "" in parts or "." in parts:
        return "it has an empty or '.' component"
    if path == LOCK_FILE or any(part.endswith(TEMP_SUFFIX) for part in parts):
        return "it names a file dlrgen keeps for itself"
    return None


def escapes(out_dir: Path, path: str, folders: dict[str, Path] | None = None) -> bool:
    """True when ``out_dir / path`` resolves, through symlinks, outside ``out_dir``.

    ``folders`` keeps the folders resolved so far (the output directory's included) for
    many paths checked at once: every file in a folder shares its resolution, so a manifest
    of hundreds of files costs a resolution per folder, not per file. The path's last part
    is still resolved itself when it is a symlink."""
    folders = {} if folders is None else folders
    root = _resolved(out_dir, "", folders)
    folder, _, name = path.rpartition("/")
    resolved = _resolved(out_dir, folder, folders) / name
    if resolved.is_symlink():
        resolved = resolved.resolve()
    return resolved == root or not resolved.is_relative_to(root)


def _resolved(out_dir: Path, folder: str, folders: dict[str, Path]) -> Path:
    if folder not in folders:
        folders[folder] = (out_dir / folder).resolve()
    return folders[folder]


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_tree(root: Traversable, patterns: tuple[str, ...], extra: bytes = b"") -> str:
    """One hash over every file matching ``patterns`` below ``root``, names included."""
    digest = hashlib.sha256(extra)
    for name, data in sorted(_walk(root, "", patterns)):
        digest.update(name.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def _walk(node: Traversable, prefix: str, patterns: tuple[str, ...]) -> list[tuple[str, bytes]]:
    found = []
    for child in node.iterdir():
        name = f"{prefix}/{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                found.extend(_walk(child, name, patterns))
        elif any(Path(child.name).match(pattern) for pattern in patterns):
            found.append((name, child.read_bytes()))
    return found


def unit_of(path: str) -> str:
    """The generation unit a file belongs to: ``dlr_core`` or a provider id."""
    top = path.split("/", 1)[0]
    return CORE_UNIT if top == CORE_UNIT else top.removeprefix("dlr_")


@dataclass
class Manifest:
    tools: dict[str, str] = field(default_factory=dict)
    specs: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 of its content

    def add(self, path: str, digest: str) -> None:
        self.files[path] = digest

    def to_text(self) -> str:
        data = {
            "generator": "dlrgen",
            "inputs": {"tools": dict(sorted(self.tools.items())), "specs": dict(sorted(self.specs.items()))},
            "files": dict(sorted(self.files.items())),
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def read(cls, out_dir: Path) -> Manifest | None:
        """The manifest in ``out_dir``; None when there is none or it is not a manifest (then
        nothing is owned: files are rewritten, none deleted). Raises ManifestError when it is
        one but lists a path outside ``out_dir``: guessing which entries to trust is unsafe."""
        where = out_dir / MANIFEST
        if where.is_symlink():
            # Reading through it could print (in `check`'s diff) a file from anywhere.
            raise ManifestError(where, "is a symbolic link; delete it and run `dlrgen generate` again")
        try:
            data = json.loads(where.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        manifest = cls._from_json(data)
        if manifest is not None:
            manifest._check_paths(out_dir, where)
        return manifest

    @classmethod
    def _from_json(cls, data: Any) -> Manifest | None:
        if not isinstance(data, dict):
            return None
        inputs, files = data.get("inputs", {}), data.get("files", {})
        if not isinstance(inputs, dict) or not isinstance(files, dict):
            return None
        tools, specs = inputs.get("tools", {}), inputs.get("specs", {})
        if not all(isinstance(part, dict) and _all_str(part) for part in (tools, specs, files)):
            return None
        return cls(dict(tools), dict(specs), dict(files))

    def _check_paths(self, out_dir: Path, where: Path) -> None:
        folders: dict[str, Path] = {}
        for path in sorted(self.files):
            problem = path_problem(path)
            if problem is None and path == MANIFEST:
                problem = "it is the manifest itself"
            if problem is None and escapes(out_dir, path, folders):
                problem = "it leads outside the output directory through a symbolic link"
            if problem is not None:
                raise ManifestError(
                    where,
                    f"refusing to use it: it lists {path!r}, which is not a file inside the output "
                    f"directory ({problem}); delete the manifest and run `dlrgen generate` again",
                )

    def intact(self, out_dir: Path, unit: str) -> bool:
        """True when every file of ``unit`` is on disk exactly as generated."""
        paths = [p for p in self.files if unit_of(p) == unit]
        if not paths:
            return False
        for path in paths:
            try:
                if hash_bytes((out_dir / path).read_bytes()) != self.files[path]:
                    return False
            except OSError:
                return False
        return True


def _all_str(mapping: dict[Any, Any]) -> bool:
    return all(isinstance(key, str) and isinstance(value, str) for key, value in mapping.items())
