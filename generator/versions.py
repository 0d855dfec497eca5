"""Installed distributions' versions (black's, jsonschema's...), which the manifest records and
the generation cache's keys hold, read as ``importlib.metadata.version`` reads them.

Every run reads black's version, and a run that checks a spec or formats code reads others:
``importlib.metadata`` would bring ``email``, ``zipfile`` and ``csv`` with it and parse each
distribution's METADATA as an email message (together a few tens of milliseconds, a good
part of a one-spec change). Here the same search, over the same ``sys.path`` entries in the
same order, reads the ``Version:`` header of the first matching ``.dist-info`` folder's
METADATA directly; anything less plain (an egg, a zip, a folded header, a missing file) is
left to ``importlib.metadata`` itself, so the answer is always the one it gives.
"""

from __future__ import annotations

import os
import re
import sys
from functools import cache

_SEPARATORS = re.compile(r"[-_.]+")


@cache
def distribution_version(name: str) -> str:
    """The version of the installed distribution ``name``; ``PackageNotFoundError`` if none."""
    found = _plain_dist_info_version(name)
    if found is not None:
        return found
    from importlib.metadata import version

    return version(name)


def _normalized(name: str) -> str:
    return _SEPARATORS.sub("_", name).lower()


def _plain_dist_info_version(name: str) -> str | None:
    """The version from the first ``<name>-<version>.dist-info`` on ``sys.path``, as
    ``importlib.metadata`` finds it (each entry's listing in order, names compared
    normalized), or None when the search meets anything it does not handle alike."""
    wanted = _normalized(name)
    for entry in sys.path:
        folder = entry or "."
        if folder.lower().endswith(".egg"):
            return None  # an egg's own metadata layout
        try:
            children = os.listdir(folder)
        except NotADirectoryError:
            return None  # a zip on sys.path
        except OSError:
            continue  # a missing folder holds nothing
        for child in children:
            low = child.lower()
            if not low.endswith((".dist-info", ".egg-info")):
                continue
            if _normalized(low.rpartition(".")[0].partition("-")[0]) != wanted:
                continue
            if low.endswith(".egg-info"):
                return None
            return _version_header(os.path.join(folder, child, "METADATA"))
    return None


def _version_header(path: str) -> str | None:
    """The ``Version`` header of a METADATA file, or None when it is not there plainly."""
    try:
        with open(path, encoding="utf-8") as metadata:
            for line in metadata:
                if not line.strip():
                    return None  # the headers end: no version among them
                if line[:8].lower() == "version:":
                    following = next(metadata, "")
                    if following[:1] in (" ", "\t"):
                        return None  # folded over lines: as an email parser joins them
                    value = line[8:].lstrip(" \t").rstrip("\r\n")  # as the email parser reads it
                    return value or None
    except (OSError, UnicodeDecodeError):
        return None
    return None
