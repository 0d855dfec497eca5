"""A store URL as messages show it: its password never (a module of its own, so that the
stores and ``connect`` all use it without importing each other)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


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
