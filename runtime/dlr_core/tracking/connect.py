"""A store from its URL: ``Tracker("sqlite:///dlr.db")``, ``Tracker("postgresql://user@host/db")``,
``dlr-track sqlite:///dlr.db``."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dlr_core.tracking.sqlite_store import SQLiteStore
from dlr_core.tracking.store import Store

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


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None and "password=" not in parts.query:
        return url
    if parts.password is not None:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    if "password=" in parts.query:  # libpq takes it as a query parameter too
        query = [(name, "***" if name == "password" else value) for name, value in parse_qsl(parts.query)]
        parts = parts._replace(query=urlencode(query, safe="*"))
    return urlunsplit(parts)
