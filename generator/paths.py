"""Where the generator's own resources are, in a checkout and in an installed wheel."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


def templates_root() -> Traversable:
    """``templates/`` beside the package in a checkout (and an editable install),
    ``generator/templates`` inside an installed wheel."""
    checkout = Path(__file__).resolve().parent.parent / "templates"
    if checkout.is_dir():
        return checkout
    return resources.files("generator").joinpath("templates")
