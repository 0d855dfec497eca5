"""The manifest in the output directory: which files the generator owns, a hash of each,
and a hash of every input they were made from.

Only files listed here are ever replaced or deleted. The input hashes make generation
incremental; the file hashes notice hand edits, which the next ``generate`` undoes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path

MANIFEST = ".dlrgen-manifest.json"
CORE_UNIT = "dlr_core"


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
        try:
            data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
            inputs = data.get("inputs", {})
            files = data.get("files", {})
            if isinstance(files, list):  # the first manifests listed paths only
                files = {str(p): "" for p in files}
            return cls(dict(inputs.get("tools", {})), dict(inputs.get("specs", {})), dict(files))
        except (OSError, ValueError, AttributeError, TypeError):
            return None

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
