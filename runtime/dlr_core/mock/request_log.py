"""The mock's request log: ``MockRequest`` (one request received, and what the mock made of
it), bounded as the log keeps it, and ``MockAnswer`` (what the mock sends back).

``dlr_core.mock`` re-exports ``MockRequest``; import it from there.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_LOGGED_BODY_BYTES",
    "MAX_FORM_FIELDS",
    "BadRequest",
    "MockAnswer",
    "MockRequest",
    "json_body",
]

DEFAULT_LOGGED_BODY_BYTES = 4 << 10
MAX_FORM_FIELDS = 10_000
"""A form body with more fields is answered 400 (parsed, each costs ~150 bytes)."""
_LOGGED_PAIRS = 128
_LOGGED_PAIR_CHARS = 8 << 10


class BadRequest(Exception):
    """The request's body cannot be read: answered 400."""


@dataclass
class MockRequest:
    """One request the mock received, and what it made of it.

    In ``MockProvider.requests`` (the log), ``body`` holds at most the first
    ``logged_body_bytes`` of the body and ``body_length`` its whole length; ``form`` and
    ``json`` still give the parameters (at most 128, 8 KiB, when the body was longer), and
    ``truncated`` says whether anything was cut.
    """

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # names in lower case
    body: bytes
    operation: str | None = None
    authenticated: bool = False
    body_length: int = -1
    """The body's length in bytes (when refused with 413: as declared, or as far as read)."""
    status: int | None = None
    """The HTTP status the mock answered (None while it is answering)."""
    truncated: bool = False
    """Whether this logged request holds less than was received (body or parameters)."""
    _logged: bool = field(default=False, init=False, repr=False, compare=False)
    _params_body: bytes | None = field(default=None, init=False, repr=False, compare=False)
    _parsed: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.body_length < 0:
            self.body_length = len(self.body)

    @classmethod
    def received(
        cls, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> MockRequest:
        """A request as read off the wire: ``target`` is the path and query as sent (still
        percent-encoded: signatures cover it so), header names in any case."""
        split = urllib.parse.urlsplit(target)
        return cls(
            method,
            split.path,
            urllib.parse.parse_qsl(split.query, keep_blank_values=True),
            {name.lower(): value for name, value in headers},
            body,
        )

    @property
    def form(self) -> list[tuple[str, str]]:
        if not self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return []
        cached: list[tuple[str, str]] | None = self._parsed.get("form")
        if cached is not None:
            return cached
        source = self.body if self._params_body is None else self._params_body
        try:
            pairs = urllib.parse.parse_qsl(
                source.decode("utf-8", "replace"),
                keep_blank_values=True,
                max_num_fields=MAX_FORM_FIELDS,
            )
        except ValueError:
            if self._logged:
                return []
            raise BadRequest(f"the form body has more than {MAX_FORM_FIELDS} fields") from None
        if not self._logged:  # a logged request parses again rather than hold more
            self._parsed["form"] = pairs
        return pairs

    @property
    def json(self) -> dict[str, Any]:
        if not self.headers.get("content-type", "").startswith("application/json"):
            return {}
        cached: dict[str, Any] | None = self._parsed.get("json")
        if cached is not None:
            return cached
        source = self.body if self._params_body is None else self._params_body
        try:
            value = json.loads(source or b"{}")
        except ValueError:
            value = {}
        except RecursionError:
            if self._logged:
                return {}
            raise BadRequest("the JSON body is nested too deeply") from None
        found: dict[str, Any] = value if isinstance(value, dict) else {}
        if not self._logged:
            self._parsed["json"] = found
        return found

    def value(self, location: str, name: str) -> str | None:
        """A value as the client placed it: in the query, a header, or the body."""
        if location == "query":
            return next((v for k, v in self.query if k == name), None)
        if location == "header":
            return self.headers.get(name.lower())
        found = next((v for k, v in self.form if k == name), None)
        if found is None and name in self.json:
            found = str(self.json[name])
        return found

    def has_param(self, location: str, name: str) -> bool:
        if location == "body":  # the whole JSON body (an array)
            return bool(self.body.strip())
        if location == "json":
            return name in self.json
        pairs = self.query if location == "query" else self.form if location == "form" else []
        if location == "header":
            return name.lower() in self.headers
        return any(k == name or k.startswith(f"{name}.") for k, _ in pairs)

    def _excerpt(self, body_bytes: int, *, parameters: bool = True) -> MockRequest:
        """This request as the log keeps it: bounded, whatever the client sent."""
        query, cut_query = _bounded(self.query)
        headers, cut_headers = _bounded(list(self.headers.items()))
        entry = MockRequest(
            self.method,
            self.path,
            query,
            dict(headers),
            self.body[:body_bytes],
            self.operation,
            self.authenticated,
            body_length=self.body_length,
            status=self.status,
        )
        entry._logged = True
        whole = len(self.body) <= body_bytes and self.body_length == len(self.body)
        if not parameters:
            entry._params_body, cut_params = b"", bool(self.body)
        elif whole:
            entry._params_body, cut_params = None, False  # parsed from the body itself
        else:
            entry._params_body, cut_params = self._bounded_parameters()
        entry.truncated = not whole or cut_query or cut_headers or cut_params
        return entry

    def _bounded_parameters(self) -> tuple[bytes, bool]:
        """The body's parameters, at most ``_LOGGED_PAIRS`` of them in
        ``_LOGGED_PAIR_CHARS``, encoded as the body was; and whether some were left out.
        """
        try:
            form = self.form
        except BadRequest:
            return b"", True
        if form:
            pairs, cut = _bounded(form)
            return urllib.parse.urlencode(pairs).encode(), cut
        try:
            data = self.json
        except BadRequest:
            return b"", True
        kept: dict[str, Any] = {}
        size, cut = 0, False
        for name, value in data.items():
            try:
                size += len(json.dumps({name: value}, ensure_ascii=False))
            except (TypeError, ValueError, RecursionError):
                cut = True
                continue
            if len(kept) >= _LOGGED_PAIRS or size > _LOGGED_PAIR_CHARS:
                cut = True
                break
            kept[name] = value
        return (json.dumps(kept, ensure_ascii=False).encode() if kept else b""), cut


def _bounded(pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], bool]:
    """The first pairs that fit ``_LOGGED_PAIRS`` and ``_LOGGED_PAIR_CHARS``; whether some
    were left out."""
    kept: list[tuple[str, str]] = []
    size = 0
    for name, value in pairs:
        if len(kept) >= _LOGGED_PAIRS:
            return kept, True
        size += len(name) + len(value)
        if size > _LOGGED_PAIR_CHARS:
            return kept, True
        kept.append((name, value))
    return kept, False


@dataclass
class MockAnswer:
    """What the mock sends back: a status, a body (and its type), after ``delay`` seconds."""

    status: int
    body: bytes
    content_type: str = "application/json"
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)


def json_body(value: Any) -> bytes:
    """``value`` as a JSON answer's body (UTF-8, non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
