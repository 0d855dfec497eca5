"""A store from its URL: ``Tracker("sqlite:///dlr.db")``, ``dlr-track sqlite:///dlr.db``."""

from __future__ import annotations

from urllib.parse import urlsplit

from dlr_core.tracking.sqlite_store import SQLiteStore
from dlr_core.tracking.store import Store


def open_store(url: str, *, create: bool = True) -> Store:
    """The store a URL names: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``
    or ``sqlite:///:memory:``; ``create=False`` opens only a store that exists."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite" and url.startswith("sqlite:///"):
        return SQLiteStore(url.removeprefix("sqlite:///"), create=create)
    raise ValueError(f"unsupported tracker store {url!r}: give sqlite:///path.db")
