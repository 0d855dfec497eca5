"""A store from its URL: ``Tracker("sqlite:///dlr.db")``, ``Tracker("postgresql://user@host/db")``,
``dlr-track sqlite:///dlr.db``."""

from __future__ import annotations

from urllib.parse import urlsplit

from dlr_core.tracking.sqlite_store import SQLiteStore
from dlr_core.tracking.store import Store
from dlr_core.tracking.store_url import redact

__all__ = ["POSTGRES_SCHEMES", "open_store", "redact"]

POSTGRES_SCHEMES: tuple[str, ...] = ("postgresql", "postgres")


def open_store(url: str, *, create: bool = True) -> Store:
    """The store a URL names: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``,
    ``sqlite:///:memory:``, or ``postgresql://user:password@host:port/database`` (libpq's URL,
    its query parameters included; needs ``dlr-core[postgres]``). ``create=False`` opens only
    a store that exists."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite" and url.startswith("sqlite:///"):
        return SQLiteStore(url.removeprefix("sqlite:///"), create=create)
    if scheme in POSTGRES_SCHEMES:
        try:
            from dlr_core.tracking.postgres_store import PostgresStore
        except ImportError as error:
            raise ValueError(
                f"a PostgreSQL store needs psycopg ({error}): pip install 'dlr-core[postgres]'"
            ) from None
        return PostgresStore(url, create=create)
    raise ValueError(
        f"unsupported tracker store {redact(url)!r}: give sqlite:///path.db or postgresql://user@host/database"
    )
