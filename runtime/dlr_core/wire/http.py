"""What the clients read of URLs and answers the way httpx does: a URL's origin (scheme,
host, port), a URL as httpx writes it, and the cookies an answer sets."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

import httpx

Origin = tuple[str, str, int | None]
_DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.lru_cache(maxsize=256)
def parsed_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once: without a query, an operation's URL is the same on
    every call."""
    return httpx.URL(url)


@functools.lru_cache(maxsize=256)
def normalized(url: str) -> tuple[str, Origin]:
    """A URL without a query as httpx writes it (percent-encoded, default port left out),
    and its origin: an operation's is the same on every call."""
    parsed = httpx.URL(url)
    return str(parsed), origin_of(parsed)


@functools.lru_cache(maxsize=64)
def split_base(base_url: str) -> tuple[str, str]:
    """A base URL's scheme and network location (a client sends every request from one)."""
    parts = urlsplit(base_url)
    return parts.scheme, parts.netloc


def origin_of(url: httpx.URL) -> Origin:
    """Scheme, host and port, lower-cased, the port filled in when it is the default."""
    scheme = url.scheme.lower()
    return (
        scheme,
        url.raw_host.decode("ascii").lower(),
        url.port or _DEFAULT_PORTS.get(scheme),
    )


def origin_text(origin: Origin) -> str:
    scheme, host, port = origin
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def keep_cookies(http: httpx.Client | httpx.AsyncClient, response: httpx.Response) -> None:
    """The cookies an answer sets, kept in ``http``'s jar as its ``send`` keeps them (the
    next request sends them back); an answer that sets none costs nothing (the jar's way
    of reading one costs a few tens of microseconds)."""
    headers = response.headers
    if "set-cookie" in headers or "set-cookie2" in headers:
        http.cookies.extract_cookies(response)
