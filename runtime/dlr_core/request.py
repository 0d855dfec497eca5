"""A request being built: parameters in their places, encoded exactly once.

Query strings are percent-encoded per RFC 3986 (space ``%20``, ``*`` ``%2A``, ``~`` kept),
the encoding that canonical-request (V3-family) and canonical-query signatures expect.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import SplitResult, parse_qsl, quote, quote_plus, urljoin, urlsplit

BodyKind = Literal["none", "form", "json"]

# Text made only of these is its own encoding (most names and values are): no need to
# ask urllib, which costs a few microseconds a value.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


@functools.lru_cache(maxsize=4096)  # names and most values come back on every call
def percent_encode(text: str) -> str:
    """RFC 3986 percent-encoding: only ``A-Z a-z 0-9 - _ . ~`` stay as they are."""
    return text if _UNRESERVED.fullmatch(text) else quote(text, safe="-_.~")


@functools.lru_cache(maxsize=1024)  # an operation's field names are the same on every call
def _form_name(name: str) -> str:
    return name if _UNRESERVED.fullmatch(name) else quote_plus(name)


def form_encode(pairs: list[tuple[str, str]]) -> str:
    """``application/x-www-form-urlencoded`` text, as ``urllib.parse.urlencode`` writes it
    (space ``+``). Names are encoded once (cached); values, which may be secrets, never
    stay in a cache."""
    plain = _UNRESERVED.fullmatch
    return "&".join([f"{_form_name(k)}={v if plain(v) else quote_plus(v)}" for k, v in pairs])


@functools.lru_cache(maxsize=64)
def _split(base_url: str) -> SplitResult:
    """A base URL's parts (a client sends every request from the same one)."""
    return urlsplit(base_url)


def encode_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in pairs)


@dataclass
class PreparedRequest:
    """Everything about one HTTP request that a signature can cover."""

    method: str
    base_url: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body_kind: BodyKind = "none"
    form: list[tuple[str, str]] = field(default_factory=list)
    json: dict[str, Any] | list[Any] = field(default_factory=dict)
    """The JSON body: an object of named fields, or an array (an ``in: body`` parameter)."""
    content: bytes | None = None  # exact body bytes, when the caller has them already

    @classmethod
    def from_url(cls, method: str, url: str, base_url: str) -> PreparedRequest:
        """A request for a link the provider gave (absolute, or relative to the server)."""
        target = urlsplit(urljoin(base_url + "/", url))
        return cls(
            method,
            f"{target.scheme}://{target.netloc}",
            target.path or "/",
            query=parse_qsl(target.query, keep_blank_values=True),
        )

    @property
    def host(self) -> str:
        return _split(self.base_url).netloc

    @property
    def full_path(self) -> str:
        """The path as the server sees it: the base URL's path plus the operation's."""
        base = _split(self.base_url).path.rstrip("/")
        return f"{base}{self.path}" or "/"

    @property
    def query_string(self) -> str:
        return encode_query(self.query)

    @property
    def path_and_query(self) -> str:
        query = self.query_string
        return f"{self.full_path}?{query}" if query else self.full_path

    @property
    def url(self) -> str:
        parts = _split(self.base_url)
        query = self.query_string
        return f"{parts.scheme}://{parts.netloc}{self.path_and_query if query else self.full_path}"

    def body(self) -> bytes:
        if self.content is not None:
            return self.content
        if self.body_kind == "form":
            return form_encode(self.form).encode("ascii")
        if self.body_kind == "json":
            return json.dumps(self.json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return b""

    def set_content_type(self) -> None:
        if self.body_kind == "form":
            self.headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif self.body_kind == "json":
            self.headers["Content-Type"] = "application/json;charset=UTF-8"

    def json_fields(self) -> dict[str, Any]:
        """The JSON body's object, to add a field to; a ValueError when the body is an array."""
        if isinstance(self.json, list):
            raise ValueError("the JSON body is an array: a named value cannot be added to it")
        return self.json

    def place(self, location: str, name: str, value: str) -> None:
        """Put a value in the query, a header, or the body (form field or JSON key)."""
        if location == "query":
            self.query.append((name, value))
        elif location == "header":
            self.headers[name] = value
        elif self.body_kind == "json":
            self.json_fields()[name] = value
        else:
            if self.body_kind == "none":
                self.body_kind = "form"
                self.set_content_type()
            self.form.append((name, value))
