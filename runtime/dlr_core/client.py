"""The machinery every generated client shares: building and signing a request from the
spec's description of it, sending it with httpx, and reading the answer's envelope into a
typed model or a typed error.

Generated clients are thin: their methods take typed keyword arguments, validate them
with the generated parameter model, and call ``dlr_call`` with the operation's description.

For a signature that does not match, and for accounts that need more than the spec says:

- ``client.prepare("operation", **arguments)`` returns the exact request the operation
  method would send (an ``httpx.Request``: method, URL, headers, body), its arguments
  checked as the method checks them (``ParameterError``) and signed with the client's
  ``clock``, ``nonce`` and credentials, without sending anything; its ``repr`` shows only
  the method and URL, secrets scrubbed.
- ``defaults={"region": "cn-zj"}`` gives per-call parameters a value for every call that
  passes none (keys are the operations' Python parameter names; the caller's value wins;
  a key no operation takes is a ``ParameterError`` when the client is made).
- ``extra_params={"WireName": "value"}``, on every operation method, sends parameters the
  spec does not declare where the operation's own go (its form or JSON body, else the
  query), signed with the rest; a name the spec declares (or the signature sets) is a
  ``ParameterError``. A link to the next page is followed as given, without them.

``clock`` is wall time, for the signatures' timestamps (a fixed one makes them
reproducible); how long something has taken (the retry deadline, ``wait_for_final``'s
timeout) is measured with ``monotonic`` (``time.monotonic`` unless given), so a fixed
``clock`` never keeps a wait from ending.

What the client sends and reads is bounded, whatever the provider (or whoever answers in
its place) does:

- every request goes to the client's own origin (scheme, host and port): a link to the
  next page that leads elsewhere is not followed (``UnsafeLinkError``), and redirects are
  never followed, whatever the ``http_client`` says (``UnexpectedRedirect``);
- an answer is read as a stream, at most ``max_response_bytes`` after decompression
  (``ResponseTooLarge``), within ``timeout`` seconds for the whole attempt, reading the
  body included (``RequestTimeout``);
- JSON nested deeper than 64 levels is refused (``ProviderResponseError``), and errors
  keep a bounded excerpt of the answer, with secrets scrubbed in their plain,
  JSON-escaped and URL-encoded forms.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import os
import re
import time
import zlib
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Sized,
)
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from types import TracebackType
import urllib.request
from urllib.parse import quote, quote_plus
from typing import Any, ClassVar, Generic, Literal, TypeVar

import anyio
import httpx
import sniffio
from pydantic import BaseModel, ValidationError
from typing_extensions import Self

from dlr_core.errors import (
    EXCERPT_LIMIT,
    AuthenticationError,
    CredentialsError,
    DlrError,
    ErrorTable,
    InvalidRequest,
    NotFound,
    ParameterError,
    PermissionDenied,
    ProviderError,
    ProviderResponseError,
    RateLimited,
    RequestTimeout,
    ResponseTooLarge,
    TransportError,
    UnexpectedRedirect,
    UnsafeLinkError,
    error_class,
)
from dlr_core.options import per_call_option
from dlr_core.polling import PollingHints, PollResult
from dlr_core.receipt import Receipt
from dlr_core.request import PreparedRequest
from dlr_core.retry import (
    RetryPolicy,
    may_have_consumed,
    may_repeat_with_new_token,
    next_delay,
    parse_retry_after,
    resolve,
)
from dlr_core.signing import RequestSigner, Scheme, Signer
from dlr_core.tokens import TokenKeeper
from dlr_core.tokens import TokenUrl as TokenUrl  # re-exported: generated clients annotate token_url with it
from dlr_core.status import DeliveryStatus
from dlr_core.times import compile_pattern, parse_zone

Model = TypeVar("Model", bound=BaseModel)
Clock = Callable[[], datetime]
Nonce = Callable[[], str]
Sleep = Callable[[float], None]
AsyncSleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]
Retries = RetryPolicy | int | None
Item = TypeVar("Item")
Params = TypeVar("Params", bound=BaseModel)

logger: logging.Logger = logging.getLogger("dlr_core")

_MISSING = object()
_MIN_SCRUBBED_LENGTH = 6
_MIN_SCRUBBED_LINE = 16
_UNESCAPED_RUN = re.compile(r"[A-Za-z0-9+=_-]{%d,}" % _MIN_SCRUBBED_LINE)
_REDACTED = "<redacted>"
_BODY_EXCERPT = 200
_LOCATION_EXCERPT = 200

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
"""The largest answer a client reads (after decompression), unless told otherwise."""
MAX_JSON_DEPTH = 64
"""Answers whose JSON nests deeper than this are refused (no provider needs half of it)."""
_ACCEPT_ENCODING = "gzip, deflate"  # the encodings decoded here, in bounded pieces
_PIECE = 64 * 1024  # most bytes decompressed at once
_HEAD_BYTES = 64 * 1024  # the beginning of an oversized answer kept for its error
_DEADLINE_GRACE = 0.25  # async: seconds past the budget before the attempt is cancelled
_DEFAULT_PORTS = {"http": 80, "https": 443}

DEFAULT_MAX_CONCURRENCY = 20
"""Requests an async client has in flight at once, unless told otherwise (``max_concurrency``):
the others wait their turn in front of the HTTP pool, whose own queue then stays empty
(httpx walks every queued request and connection for each request it places)."""
HttpTransport = Literal["httpx", "aiohttp"]
"""What an async client sends with when it makes its own ``http_client``: httpx's own
transport, or aiohttp's (the ``dlr-core[aiohttp]`` extra, through ``httpx-aiohttp``)."""


@dataclass(frozen=True)
class ParamSpec:
    """How one parameter travels: its Python name, wire name, place and encoding."""

    name: str
    wire: str
    location: str  # query | json | form | header | path | body (the whole JSON body)
    type: str  # string | integer | number | boolean | date | datetime | array
    date_format: str | None = None
    """For date and datetime: the wire pattern (``dlr_core.times``), e.g. ``yyyyMMdd``."""
    time_zone: str | None = None
    """For datetime: ``UTC`` or an offset; an aware datetime is converted to it first."""
    array_style: str | None = None  # indexed | repeat | comma | json
    index_start: int = 0
    const: str | int | None = None
    required: bool = False
    from_credential: str | None = None
    """Filled from this credential rather than from the caller (an account id in the path)."""
    default_from_credential: str | None = None
    """Filled from this credential when the caller gives no value (a caller may override it)."""
    minimum: float | None = None
    maximum: float | None = None
    max_items: int | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class OperationSpec:
    name: str
    method: str
    path: str
    action: str | None
    params: tuple[ParamSpec, ...]
    example: Any = None
    """The provider's documented example answer (the whole body), served by the mock."""
    consuming: bool = False
    """The operation reads a queue: the provider hands each record out once. A failed
    attempt that may have reached the provider is then never retried (see
    ``dlr_core.retry.may_have_consumed``)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Fixed request headers (``Accept``, ``Content-Type``), placed before signing."""
    alternatives: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Groups of parameters of which a call gives exactly one, whole (ids, or a time
    window, never both): ``((group name, parameter names), ...)``."""


@dataclass(frozen=True)
class EnvelopeSpec:
    """How answers say success: ``success_mode`` is ``equals`` (a field equals a value),
    ``absent`` (a field, such as an error object, is missing) or ``http`` (a 2xx status).
    Field names may be dotted paths into nested objects."""

    success_fields: tuple[str, ...]
    success_value: int | str | tuple[int | str, ...] | None
    """The value (or any of the values) that means success."""
    code_fields: tuple[str, ...] = ()
    message_fields: tuple[str, ...] = ()
    request_id_fields: tuple[str, ...] = ()
    data_field: str | None = None
    success_mode: str = "equals"


@dataclass(frozen=True)
class ApiSpec:
    """Everything a client needs to know about a provider's API, from its spec."""

    provider: str
    servers: Mapping[str, str]
    default_server: str
    api_version: str | None
    envelope: EnvelopeSpec
    auth_schemes: Mapping[str, Mapping[str, Any]]
    default_scheme: str
    credentials: tuple[str, ...]
    """The credentials every client needs, whatever its auth scheme."""
    secret_credentials: tuple[str, ...]
    errors: ErrorTable
    pem_credentials: tuple[str, ...] = ()
    operations: tuple[OperationSpec, ...] = ()
    retry: RetryPolicy = RetryPolicy()
    polling: PollingHints = PollingHints()
    require_base_url: bool = False
    scheme_credentials: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The credentials each auth scheme needs."""
    constants: Mapping[str, str] = field(default_factory=dict)
    """Named constants the auth templates use (such as a signing service name)."""
    credential_env: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Every credential the provider has, and the environment variables it is read from
    (first set wins)."""


class TransportCause(Exception):
    """The cause of a ``TransportError``, as text: the httpx error's type and message with
    secrets scrubbed (the httpx error itself holds the signed request)."""


def credentials_from_env(api: ApiSpec, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The provider's credentials found in the environment (``os.environ`` by default): for
    each, the first of its variables that is set and not empty."""
    source = os.environ if environ is None else environ
    found = {}
    for name, variables in api.credential_env.items():
        value = next((source[v] for v in variables if source.get(v)), None)
        if value is not None:
            found[name] = value
    return found


def choose_auth_scheme(
    api: ApiSpec, given: Collection[str], requested: str | None, *, signer: bool = False
) -> str:
    """The auth scheme a client signs with: the one asked for, else the one the credentials
    given are for (the default scheme when they fit several equally). ``CredentialsError``
    names what is missing, and the variables that would provide it, or asks for
    ``auth_scheme=`` when the credentials belong to several schemes."""
    if requested is not None and requested not in api.auth_schemes:
        raise ValueError(f"unknown auth scheme {requested!r}; choose one of: {', '.join(api.auth_schemes)}")
    # A signer given in code replaces the scheme, and so the credentials only it uses.
    needs = {
        scheme: {*api.credentials, *(() if signer else api.scheme_credentials.get(scheme, ()))}
        for scheme in api.auth_schemes
    }
    present = set(given)
    chosen_in_code = requested is not None
    if requested is None:
        fitting = [scheme for scheme, needed in needs.items() if needed <= present]
        if fitting:
            # Prefer the scheme that uses the most of what was given, then the default.
            most = max(len(needs[scheme] & present) for scheme in fitting)
            best = [scheme for scheme in fitting if len(needs[scheme] & present) == most]
            if len(best) == 1 or api.default_scheme in best:
                requested = best[0] if len(best) == 1 else api.default_scheme
            else:
                raise CredentialsError(
                    f"the credentials given fit the auth schemes {' and '.join(best)}: "
                    "pass auth_scheme= to choose one"
                )
        else:
            requested = api.default_scheme
    order = list(api.credential_env) or sorted(needs[requested])  # the spec's order, when known
    missing = tuple(name for name in order if name in needs[requested] - present)
    if missing:
        variables = tuple(v for name in missing for v in api.credential_env.get(name, ())[:1])
        hint = f", or set {' and '.join(variables)}" if variables else ""
        raise CredentialsError(
            f"{api.provider}: credential{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} required (auth scheme {requested!r}): pass "
            f"{', '.join(f'{name}=' for name in missing)}{hint}",
            missing=missing,
            variables=variables,
        )
    others = present - needs[requested] - set(api.credentials)
    unused = sorted(
        name
        for name in others
        if any(name in needs[scheme] for scheme in api.auth_schemes if scheme != requested)
    )
    if unused and not signer and not chosen_in_code:  # a scheme chosen in code: its own is used
        raise CredentialsError(
            f"{', '.join(unused)} {'belong' if len(unused) > 1 else 'belongs'} to another auth scheme than "
            f"{requested!r}: give the credentials of one scheme"
        )
    return requested


@dataclass(frozen=True)
class Paging(Generic[Model]):
    """How an operation pages: by page number up to a total, by a record offset and count
    (until a short page, the total or the provider's ceiling), or by following the link to
    the next page until there is none."""

    items: Callable[[Model], Sized]
    page_param: str | None = None
    first_page: int = 1
    total: Callable[[Model], int | None] | None = None
    next_url: Callable[[Model], str | None] | None = None
    offset_param: str | None = None
    limit_param: str | None = None
    max_records: int | None = None

    def first(self) -> dict[str, int]:
        """The paging arguments of the first request."""
        if self.offset_param is not None:
            return {self.offset_param: 0}
        return {self.page_param: self.first_page} if self.page_param else {}

    def after(
        self, current: dict[str, int], params: BaseModel, count: int, seen: int, total: int | None
    ) -> dict[str, int] | None:
        """The paging arguments of the next request, or None when this page was the last.
        ``count`` records came on this page, ``seen`` in all so far."""
        if count == 0 or (total is not None and seen >= total):
            return None
        if self.offset_param is not None:
            limit = getattr(params, self.limit_param or "", None)
            if isinstance(limit, int) and count < limit:
                return None  # a short page: nothing more
            if self.max_records is not None and seen >= self.max_records:
                return None
            return {self.offset_param: current[self.offset_param] + count}
        if total is None or self.page_param is None:
            return None
        return {self.page_param: current[self.page_param] + 1}


def _secret_forms(value: str) -> set[str]:
    """The ways a secret can appear in an answer: as it is, JSON-escaped (``\\n``, ``\\/``,
    ``\\uXXXX`` in either case, ``<>&`` as Go escapes them) and URL-encoded."""
    forms = {value}
    for ensure_ascii in (True, False):
        escaped = json.dumps(value, ensure_ascii=ensure_ascii)[1:-1]
        for form in (escaped, escaped.replace("/", "\\/")):
            go = form.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            for variant in (form, go):
                forms.add(variant)
                forms.add(
                    re.sub(
                        r"\\u[0-9a-fA-F]{4}",
                        lambda m: "\\u" + m.group(0)[2:].upper(),
                        variant,
                    )
                )
    for encoded in (
        quote(value, safe=""),
        quote(value, safe="/"),
        quote_plus(value, safe=""),
        quote_plus(value, safe="/"),
    ):
        forms.add(encoded)
        forms.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded))
    return forms


def _scrubbed_head(
    pattern: re.Pattern[Any] | None,
    data: Any,
    marker: Any,
    limit: int,
    keep_clear: int,
    longest: int,
) -> tuple[Any, bool]:
    """The beginning of ``data`` (str or bytes) with every match of ``pattern`` replaced by
    ``marker``, at most ``limit`` long, and whether it is all of ``data``. Matches are
    replaced whole before anything is cut, so no part of a secret is kept; nothing from
    the last ``keep_clear`` characters of ``data`` (where a secret may be cut off) is.
    Only what can reach the head is searched: ``longest`` bounds a match's length.
    """
    end = len(data) - keep_clear
    pieces: list[Any] = []
    size = position = 0
    while pattern is not None and size < limit:
        # A match that starts within the room left ends within ``longest`` after it.
        window = min(len(data), position + (limit - size) + longest)
        match = pattern.search(data, position, window)
        if match is None or match.start() >= end or size + match.start() - position >= limit:
            break
        pieces += (data[position : match.start()], marker)
        size += match.start() - position + len(marker)
        position = match.end()
    stop = max(position, min(end, position + max(0, limit - size)))
    pieces.append(data[position:stop])
    head = data[:0].join(pieces)
    complete = keep_clear == 0 and stop >= len(data) and len(head) <= limit
    return head[:limit], complete


class Credentials:
    """Credential values; secret ones never show in ``repr`` and are scrubbed from errors,
    in their plain, JSON-escaped and URL-encoded forms (and, for multi-line secrets such
    as PEM keys, line by line)."""

    def __init__(self, values: Mapping[str, str], secret: Iterable[str]) -> None:
        self._values = dict(values)
        self._secret = frozenset(secret)
        self._patterns: tuple[re.Pattern[str], re.Pattern[bytes]] | None = None
        self._longest = 0
        self._fetched: list[str] = []  # tokens fetched for signing: scrubbed like secrets

    def add_secret(self, value: str) -> None:
        """Scrub ``value`` too (a token fetched for signing), from now on."""
        self._fetched = [*self._fetched[-3:], value]
        self._patterns = None

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'<redacted>' if name in self._secret else repr(value)}"
            for name, value in self._values.items()
        )
        return f"Credentials({shown})"

    def as_variables(self) -> dict[str, str]:
        return dict(self._values)

    def _scrubbable(self) -> list[str]:
        # Very short values would mangle ordinary words; no real secret is that short.
        values = [self._values.get(name, "") for name in self._secret] + self._fetched
        return [v for v in values if len(v) >= _MIN_SCRUBBED_LENGTH]

    def _compiled(self) -> tuple[re.Pattern[str], re.Pattern[bytes]] | None:
        if self._patterns is None:
            forms: set[str] = set()
            for value in self._scrubbable():
                forms |= _secret_forms(value)
                for line in value.splitlines() if "\n" in value else ():
                    line = line.strip()
                    if len(line) >= _MIN_SCRUBBED_LINE and not line.startswith("-----"):
                        forms |= _secret_forms(line)
                # Runs that no JSON escaping changes, however often applied (an answer
                # quoting our JSON request inside its JSON, say): a key's base64 between
                # slashes stays recognisable.
                forms.update(_UNESCAPED_RUN.findall(value))
            # Longest first: a whole secret is replaced before any of its lines.
            ordered = sorted(
                (f for f in forms if len(f) >= _MIN_SCRUBBED_LENGTH),
                key=lambda f: (-len(f), f),
            )
            if not ordered:
                return None
            self._longest = max(len(f.encode("utf-8")) for f in ordered)
            self._patterns = (
                re.compile("|".join(map(re.escape, ordered))),
                re.compile(b"|".join(re.escape(f.encode("utf-8")) for f in ordered)),
            )
        return self._patterns

    def scrub(self, text: str) -> str:
        patterns = self._compiled()
        return patterns[0].sub(_REDACTED, text) if patterns else text

    def scrub_bytes(self, data: bytes) -> bytes:
        patterns = self._compiled()
        return patterns[1].sub(_REDACTED.encode(), data) if patterns else data

    def scrub_head(self, data: bytes, limit: int, *, prefix: bool = False) -> tuple[bytes, bool]:
        """At most ``limit`` scrubbed bytes from the beginning of ``data``, and whether
        they are all of it. With ``prefix`` (``data`` is the beginning of a longer
        answer), the end of ``data``, where a secret may be cut off, is left out."""
        patterns = self._compiled()
        keep_clear = max(0, self._longest - 1) if prefix else 0
        head, complete = _scrubbed_head(
            patterns[1] if patterns else None,
            data,
            _REDACTED.encode(),
            limit,
            keep_clear,
            self._longest,
        )
        return bytes(head), complete and not prefix

    def excerpt(self, text: str, limit: int = EXCERPT_LIMIT) -> str:
        """``text`` scrubbed and, when long, cut to fit in ``limit`` with a marker."""
        if len(text) <= limit // 2:
            return self.scrub(text)  # a redaction grows a secret by 4 at most
        patterns = self._compiled()
        head, complete = _scrubbed_head(
            patterns[0] if patterns else None,
            text,
            _REDACTED,
            limit - 80,
            0,
            self._longest,
        )
        if complete:
            return str(head)
        return f"{head}... [truncated: {len(text)} characters in all]"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _check_alternatives(operation: OperationSpec, values: Mapping[str, object]) -> None:
    """Exactly one group of an operation's alternatives is given, and given whole."""
    if not operation.alternatives:
        return
    given = [
        (group, names)
        for group, names in operation.alternatives
        if any(values.get(n) is not None for n in names)
    ]
    described = "; or ".join(f"{group} ({', '.join(names)})" for group, names in operation.alternatives)
    if len(given) != 1:
        first = given[0][1][0] if given else operation.alternatives[0][1][0]
        problem = "give only one of" if given else "give one of"
        raise ParameterError(first, f"{problem}: {described}")
    group, names = given[0]
    missing = [name for name in names if values.get(name) is None]
    if missing:
        raise ParameterError(missing[0], f"{group} needs {', '.join(names)} together")


def _time_argument(param: ParamSpec, value: object) -> date:
    """A caller's date or date-time argument, checked: a ``date``/``datetime`` as is (an
    aware one for a datetime), or text in the parameter's pattern (or ISO 8601)."""
    if isinstance(value, str):
        moment = _parse_time_text(param, value)
        if param.type == "date":
            return moment.date()
        value = moment if moment.tzinfo is not None else _provider_local(param, moment, value)
    if param.type == "datetime":
        if not isinstance(value, datetime):
            raise ParameterError(param.name, f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ParameterError(
                param.name,
                "a naive datetime is ambiguous: give it a timezone, e.g. datetime.now(timezone.utc)",
            )
        return value
    if isinstance(value, datetime):
        raise ParameterError(param.name, "expected a date, got a datetime (use .date())")
    if not isinstance(value, date):
        raise ParameterError(param.name, f"expected a date, got {type(value).__name__}")
    return value


def _parse_time_text(param: ParamSpec, text: str) -> datetime:
    """Text in the parameter's wire pattern, or (for a date-time) ISO 8601."""
    try:
        return compile_pattern(param.date_format or "").parse(text)
    except ValueError:
        pass
    if param.type == "datetime":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    kind = "date" if param.type == "date" else "date-time"
    raise ParameterError(param.name, f"{text!r} is not a {kind} in the format {param.date_format!r}")


def _provider_local(param: ParamSpec, moment: datetime, text: str) -> datetime:
    """Text in the wire pattern without an offset is in the provider's zone, as written."""
    if param.time_zone is None:
        raise ParameterError(
            param.name, f"{text!r} has no UTC offset and the spec names no timezone: pass an aware datetime"
        )
    return moment.replace(tzinfo=parse_zone(param.time_zone))


def _time_text(param: ParamSpec, value: date) -> str:
    """A date or date-time in the parameter's wire pattern, in the provider's zone."""
    if isinstance(value, datetime) and param.time_zone is not None:
        value = value.astimezone(parse_zone(param.time_zone))
    return compile_pattern(param.date_format or "").format(value)


def _loose_equal(received: object, expected: int | str) -> bool:
    """``0`` and ``"0"`` are the same result code: providers drift between them."""
    if isinstance(received, bool):
        return False
    return str(received).strip() == str(expected)


def _lookup(body: Any, path: str) -> Any:
    """A dotted path into nested objects; _MISSING where any step is absent."""
    for part in path.split("."):
        if not isinstance(body, Mapping) or part not in body:
            return _MISSING
        body = body[part]
    return body


def _first(body: Mapping[str, Any], fields: tuple[str, ...]) -> Any:
    for field in fields:
        found = _lookup(body, field)
        if found is not _MISSING:
            return found
    return _MISSING


def _text(value: object) -> str | None:
    return None if value is _MISSING or value is None else str(value)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_DEFAULT_POLL_INTERVAL = 60.0
_DEFAULT_POLL_TIMEOUT = 3600.0


def _seconds(value: Any, default: float) -> float:
    return value.total_seconds() if value is not None else default


def _poll_result(receipts: list[Receipt]) -> PollResult:
    return PollResult(receipts=receipts, open=[r for r in receipts if not r.status.is_final])


def _class_for_status(status: int) -> type[ProviderError] | None:
    """The error an HTTP status means by itself; None for a status that says nothing."""
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDenied
    if status == 404:
        return NotFound
    if status == 429:
        return RateLimited
    if 400 <= status < 500:
        return InvalidRequest
    if status >= 500:
        return ProviderError
    return None


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def _nested_deeper(content: bytes, limit: int) -> bool:
    """Whether the JSON in ``content`` nests deeper than ``limit``, found without parsing:
    strings are dropped, then innermost bracket pairs are removed ``limit`` times. Text
    whose brackets do not pair up is left to the JSON parser to refuse."""
    if content.count(b"[") + content.count(b"{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", content))
    run = re.compile(rb"[\[{]{%d}" % (limit + 1))
    for _ in range(limit):
        if not brackets:
            return False
        if run.search(brackets):
            return True
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not removed:
            return False
    return bool(brackets)


@functools.lru_cache(maxsize=256)
def _parsed_url(url: str) -> httpx.URL:
    return httpx.URL(url)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    scheme = url.scheme.lower()
    return (
        scheme,
        url.raw_host.decode("ascii").lower(),
        url.port or _DEFAULT_PORTS.get(scheme),
    )


def _origin_text(origin: tuple[str, str, int | None]) -> str:
    scheme, host, port = origin
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


class _Unreadable(Exception):
    """Reading an answer's body stopped at one of the client's limits."""


class _TooSlow(_Unreadable):
    pass


class _TooLarge(_Unreadable):
    def __init__(self, head: bytes, size: int) -> None:
        super().__init__()
        self.head = head
        self.size = size


class _BadEncoding(_Unreadable):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Inflater:
    """gzip or deflate decoding that hands its output out in pieces of at most 64 KiB: a
    few compressed bytes can stand for a gigabyte, which must never be held at once."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._deflate = encoding == "deflate"
        wbits = zlib.MAX_WBITS if self._deflate else zlib.MAX_WBITS | 16
        self._zlib = zlib.decompressobj(wbits)
        self._fresh = True

    def _decompress(self, data: bytes) -> bytes:
        try:
            return self._zlib.decompress(data, _PIECE)
        except zlib.error:
            if self._deflate and self._fresh:
                # Some servers send raw deflate, without the zlib wrapper.
                self._fresh = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._decompress(data)
            raise _BadEncoding(f"the answer's {self._encoding} encoding is corrupt") from None

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._zlib.eof:
            return  # bytes after the end of the compressed stream are ignored
        out = self._decompress(data)
        self._fresh = False
        while True:
            if out:
                yield out
            tail = self._zlib.unconsumed_tail
            if self._zlib.eof or (not tail and len(out) < _PIECE):
                return
            out = self._decompress(tail)


class _BodyReader:
    """An answer's body, read chunk by chunk under a size cap (counting decoded bytes)
    and a deadline (checked between chunks)."""

    def __init__(self, content_encoding: str, limit: int, deadline: float) -> None:
        encodings = [
            e.strip().lower()
            for e in content_encoding.split(",")
            if e.strip().lower() not in ("", "identity")
        ]
        if len(encodings) > 1 or (encodings and encodings[0] not in ("gzip", "x-gzip", "deflate")):
            raise _BadEncoding(
                f"the answer's Content-Encoding {content_encoding[:100]!r} is not "
                f"supported (asked for {_ACCEPT_ENCODING})"
            )
        self._inflater = _Inflater(encodings[0]) if encodings else None
        self._limit = limit
        self._deadline = deadline
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> None:
        if time.monotonic() > self._deadline:
            raise _TooSlow()
        if self._inflater is None:
            self._add(data)
            return
        for piece in self._inflater.decode(data):
            self._add(piece)

    def finish(self) -> bytes:
        if time.monotonic() > self._deadline:
            raise _TooSlow()
        return b"".join(self._parts)

    def _add(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self._limit:
            head: list[bytes] = []
            for part in [*self._parts, piece]:
                head.append(part)
                if sum(map(len, head)) >= _HEAD_BYTES:
                    break
            self._parts.clear()
            raise _TooLarge(b"".join(head), self._size)
        self._parts.append(piece)


class SignedRequest(httpx.Request):
    """What ``prepare`` returns: the ``httpx.Request`` an operation would send, signed.
    Its ``repr`` (method and URL) has secret credentials scrubbed, should a scheme put one
    in the URL."""

    def __init__(self, request: httpx.Request, scrub: Callable[[str], str]) -> None:
        super().__init__(
            request.method,
            request.url,
            headers=request.headers,
            content=request.content,
            extensions=request.extensions,
        )
        self._scrub = scrub

    def __repr__(self) -> str:
        return self._scrub(super().__repr__())


@dataclass(frozen=True)
class _WithExtra(OperationSpec):
    """An operation as one call sends it: with that call's ``extra_params``."""

    extra: tuple[tuple[str, str], ...] = ()

    def place_extra(self, request: PreparedRequest) -> None:
        """Put the extra parameters where the operation's own go: its JSON or form body
        when it has one, else the query."""
        locations = {p.location for p in self.params}
        where = "json" if "json" in locations else "form" if "form" in locations else "query"
        if where == "json":
            request.body_kind = "json"  # also when no declared parameter had a value
        for name, value in self.extra:
            request.place(where, name, value)


def _caller_params(operation: OperationSpec) -> dict[str, ParamSpec]:
    """The parameters a caller passes (not fixed by the spec, nor filled from a credential)."""
    return {p.name: p for p in operation.params if p.const is None and p.from_credential is None}


class ClientCore:
    """State and request logic shared by the sync and async clients.

    ``timeout`` is the budget of one attempt in seconds, from sending to the last byte of
    the answer; ``max_response_bytes`` caps an answer's size after decompression. (The
    async client cancels an attempt 0.25 s past its budget, wherever it is; the sync
    client checks the budget as the body arrives, while a status line and headers sent a
    byte at a time are bounded only by httpx's timeout for each read.)

    ``clock`` gives wall time (signatures' timestamps, ``sent_at``, Retry-After dates) and
    ``monotonic`` measures elapsed time (retry deadlines, ``wait_for_final``'s timeout).
    ``defaults`` fills per-call parameters the caller leaves out (see ``_arguments``).

    ``token_url`` sends the auth scheme's OAuth2 token requests to another endpoint than the
    spec's (a mock's, a proxy's; ``dlr_core.tokens.token_endpoints``). It is only ever
    given: a ``base_url`` never moves the token requests of an absolute ``token_url``, so
    the client secret goes only to hosts the user chose.
    """

    # -- the contract with generated code ---------------------------------------------------
    # Generated clients use only the ``dlr_``-prefixed names below (and the module-level names
    # of ``dlr_core.contract``): public, documented in runtime/README.md ("The contract with
    # generated code"), kept for the whole of a major version. The prefix keeps them apart
    # from the spec's operation names (``generator.names`` refuses an operation that takes
    # one of a client's attribute names). The underscored names packages generated before
    # 1.4 use stay as aliases for 1.x, silently: those packages must not become noisy.

    dlr_operations: ClassVar[Mapping[str, tuple[OperationSpec, type[BaseModel]]]] = {}
    """For generated code: each operation's description and parameter model, by name."""
    _operations: ClassVar[Mapping[str, tuple[OperationSpec, type[BaseModel]]]] = {}
    """Deprecated: ``dlr_operations`` as packages generated before dlr-core 1.4 set it."""

    def _known_operations(self) -> Mapping[str, tuple[OperationSpec, type[BaseModel]]]:
        return self.dlr_operations or self._operations

    @property
    def dlr_api(self) -> ApiSpec:
        """For generated code: the provider's description the client was made with."""
        return self._api

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str | None],
        *,
        server: str | None,
        base_url: str | None,
        auth_scheme: str | None,
        timeout: float,
        retries: Retries,
        clock: Clock | None,
        nonce: Nonce | None,
        max_response_bytes: int | None = None,
        monotonic: Monotonic | None = None,
        defaults: Mapping[str, object] | None = None,
        signer: RequestSigner | None = None,
        token_url: TokenUrl = None,
    ) -> None:
        self._api = api
        server = server or api.default_server
        if server not in api.servers:
            raise ValueError(f"unknown server {server!r}; choose one of: {', '.join(api.servers)}")
        given = {name: value for name, value in credentials.items() if value}
        if not given:  # none in code: the environment, as the providers' own SDKs do
            given = credentials_from_env(api)
        scheme = choose_auth_scheme(api, given, auth_scheme, signer=signer is not None)
        if api.require_base_url and not base_url:
            raise ValueError(f"{api.provider} has one endpoint per account: pass base_url")
        self.base_url: str = (base_url or api.servers[server]).rstrip("/")
        self._origin = _origin(httpx.URL(self.base_url))
        self.auth_scheme: str = scheme
        self.timeout: float = timeout
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self.max_response_bytes: int = (
            DEFAULT_MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes
        )
        if self.max_response_bytes <= 0:
            raise ValueError("max_response_bytes must be positive")
        self.retry_policy: RetryPolicy = resolve(retries, api.retry)
        self._credentials = Credentials(given, api.secret_credentials)
        self._clock = clock or _utc_now
        self._nonce = nonce
        self._monotonic = monotonic or time.monotonic
        self._defaults = self._checked_defaults(defaults or {})
        self._signer = signer
        self._scheme = Scheme() if signer is not None else Scheme.from_data(api.auth_schemes[scheme])
        self._signers: dict[str | None, Signer] = {}
        if token_url is not None and not self._scheme.stateful_steps():
            what = "a signer= replaces the auth scheme" if signer is not None else f"auth scheme {scheme!r}"
            raise ValueError(f"token_url: the client fetches no token ({what}); it is for OAuth2 token flows")
        self._tokens = TokenKeeper(
            self._scheme,
            {**api.constants, **self._credentials.as_variables()},
            base_url=self.base_url,
            clock=self._clock,
            timeout=timeout,
            on_token=self._credentials.add_secret,
            token_url=token_url,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self._api.provider!r}, base_url={self.base_url!r}, auth_scheme={self.auth_scheme!r})"

    # -- debugging and per-account arguments ----------------------------------------------

    def prepare(self, operation: str, /, **arguments: Any) -> SignedRequest:
        """The exact request ``operation`` would send with these arguments, signed, without
        sending it: to compare with another SDK's request when a signature does not match.

        ``arguments`` are the operation method's keyword arguments (``extra_params``
        included; ``retries`` is ignored), checked as the method checks them
        (``ParameterError``), with the client's ``defaults`` filled in. The signature uses
        the client's ``clock``, ``nonce`` and credentials, afresh on every call. The result
        is an ``httpx.Request`` (``method``, ``url``, ``headers``, ``content``), built by the
        client's ``http_client``, whose ``repr`` shows the method and URL, secrets scrubbed.
        """
        known = self._known_operations().get(operation)
        if known is None:
            names = ", ".join(sorted(self._known_operations())) or "none"
            raise ParameterError(
                "operation", f"{operation!r} is not an operation of {self._api.provider} (it has: {names})"
            )
        spec, model = known
        http = self._http_client()
        if self._tokens and isinstance(http, httpx.Client):
            self._tokens.ensure(http)  # an async client's prepare() uses the token its calls fetched
        accepted = _caller_params(spec)
        extra = arguments.pop(per_call_option("extra_params", accepted), None)
        arguments.pop(per_call_option("retries", accepted), None)  # nothing is sent, nor retried
        for name in arguments:
            if name not in accepted:
                raise ParameterError(name, f"not a parameter of {operation}")
        params = self.dlr_params(spec, model, self.dlr_arguments(spec, arguments))
        request = self._prepare(self.dlr_with_extra(spec, extra), params)
        return SignedRequest(self._outgoing(self._http_client(), request), self._credentials.scrub)

    def _http_client(self) -> httpx.Client | httpx.AsyncClient:
        raise NotImplementedError  # each base has its own

    def _checked_defaults(self, defaults: Mapping[str, object]) -> dict[str, object]:
        """The client's ``defaults``, each the Python name of a parameter that some operation
        takes from its caller without a default of its own (else ``ParameterError``)."""
        checked = dict(defaults)
        for name in checked:
            takers = [op for op in self._api.operations if name in _caller_params(op)]
            if not takers:
                raise ParameterError(
                    name, f"no {self._api.provider} operation takes it, so it cannot have a default"
                )
            for op in takers:
                known = self._known_operations().get(op.name)
                info = known[1].model_fields.get(name) if known is not None else None
                if info is not None and not info.is_required() and info.default is not None:
                    raise ParameterError(
                        name, f"{op.name} has a default of its own ({info.default!r}): pass it per call"
                    )
        return checked

    def dlr_arguments(self, operation: OperationSpec, values: Mapping[str, object]) -> dict[str, object]:
        """For generated code: a call's arguments with the client's ``defaults`` where the
        caller passed none (None): the caller's value wins."""
        merged = dict(values)
        if self._defaults:
            taken = _caller_params(operation)
            for name, value in self._defaults.items():
                if name in taken and merged.get(name) is None:
                    merged[name] = value
        return merged

    def dlr_with_extra(self, operation: OperationSpec, extra: Mapping[str, str] | None) -> OperationSpec:
        """For generated code: ``operation`` as one call sends it: with the call's ``extra_params`` (wire names
        the spec does not declare, and their text), which never replace a declared
        parameter nor one the signature sets (``ParameterError``)."""
        if not extra:
            return operation
        if not isinstance(extra, Mapping):
            raise ParameterError(
                "extra_params", f"expected a mapping of wire names to text, got {type(extra).__name__}"
            )
        signed = self._scheme.placed("query", "body")
        pairs: list[tuple[str, str]] = []
        for wire, value in extra.items():
            if not isinstance(wire, str) or not wire:
                raise ParameterError("extra_params", f"{wire!r} is not a parameter name")
            if not isinstance(value, str):
                raise ParameterError("extra_params", f"{wire}: expected text, got {type(value).__name__}")
            for param in operation.params:
                item = rf"{re.escape(param.wire)}\.\d+"  # SessionNoSet.0 of an indexed SessionNoSet
                if wire == param.wire or (param.array_style == "indexed" and re.fullmatch(item, wire)):
                    given = param.name in _caller_params(operation)
                    how = f"pass {param.name}=" if given else "it is set for you"
                    raise ParameterError(
                        "extra_params", f"{wire!r} is {operation.name}'s parameter {param.name!r}: {how}"
                    )
            if wire in signed:
                raise ParameterError("extra_params", f"{wire!r} is set by the {self.auth_scheme!r} signature")
            pairs.append((wire, value))
        copied = {
            f.name: getattr(operation, f.name)
            for f in dataclasses.fields(operation)
            if f.init and f.name != "extra"
        }
        return _WithExtra(**copied, extra=tuple(pairs))

    # -- parameters ---------------------------------------------------------------------

    def dlr_params(self, operation: OperationSpec, model: type[Model], values: Mapping[str, object]) -> Model:
        """For generated code: the caller's arguments validated against the spec's
        constraints, before sending (``ParameterError``)."""
        _check_alternatives(operation, values)
        prepared = dict(values)
        credentials = self._credentials.as_variables()
        for param in operation.params:
            value = prepared.get(param.name)
            if value is None and param.default_from_credential is not None:
                prepared[param.name] = value = credentials.get(param.default_from_credential)
            if param.type in ("date", "datetime") and param.date_format and value is not None:
                prepared[param.name] = _time_argument(param, value)
        try:
            return model.model_validate(prepared)
        except ValidationError as exc:
            error = exc.errors()[0]
            wire_to_name = {p.wire: p.name for p in operation.params}
            where = str(error["loc"][0]) if error["loc"] else "parameters"
            name = wire_to_name.get(where, where)
            raise ParameterError(name, f"{error['msg']} (got {error.get('input')!r})") from None

    # -- requests -----------------------------------------------------------------------

    def _prepare(
        self, operation: OperationSpec, params: BaseModel, url: str | None = None
    ) -> PreparedRequest:
        """The signed request for a call; with ``url`` (a next-page link, resolved by
        ``_next_link``), a GET of that URL instead of the operation's own parameters."""
        if url is not None:
            self._check_origin(httpx.URL(url), "the link to the next page")
            request = PreparedRequest.from_url("GET", url, self.base_url)
        else:
            request = self._build(operation, params)
            if isinstance(operation, _WithExtra):
                operation.place_extra(request)
        request.set_content_type()
        if self._signer is not None:
            self._signer.sign(request, self._variables(operation.action))
        else:
            signer = self._signers.get(operation.action)
            if signer is None:
                # One signer per action, made once: the variables that do not change
                # between calls (credentials, constants, action, API version) are set.
                signer = Signer(
                    self._scheme,
                    self._variables(operation.action),
                    clock=self._clock,
                    nonce=self._nonce,
                    tokens=self._tokens,
                )
                self._signers[operation.action] = signer
            signer.sign(request)
        return request

    def _variables(self, action: str | None) -> dict[str, str]:
        """What a signature's templates may use besides the request: the spec's constants,
        the credentials, the operation's action and the API version."""
        variables = {**self._api.constants, **self._credentials.as_variables()}
        if action is not None:
            variables["action"] = action
        if self._api.api_version is not None:
            variables["api_version"] = self._api.api_version
        return variables

    def _check_origin(self, url: httpx.URL, what: str) -> None:
        """Refuse to send anything (credentials included) outside the client's origin."""
        origin = _origin(url)
        if origin != self._origin:
            shown = self._credentials.scrub(_origin_text(origin))
            raise UnsafeLinkError(
                f"{what} leads to {shown}, not to {_origin_text(self._origin)}: not "
                "followed, since the request would carry the credentials there",
                provider=self._api.provider,
                origin=shown,
            )

    def _next_link(self, current: str, link: str) -> str:
        """The absolute URL of a next-page link (resolved against the URL of the page that
        gave it), when it stays on the client's origin; UnsafeLinkError otherwise."""
        try:
            target = httpx.URL(current).join(link)
        except (httpx.InvalidURL, ValueError, TypeError):
            shown = self._credentials.excerpt(str(link), _LOCATION_EXCERPT)
            raise ProviderResponseError(
                f"the link to the next page is not a URL: {shown!r}",
                provider=self._api.provider,
            ) from None
        self._check_origin(target, "the link to the next page")
        return str(target)

    def _outgoing(self, http: httpx.Client | httpx.AsyncClient, request: PreparedRequest) -> httpx.Request:
        """The httpx request for a prepared one, checked to go to the client's origin."""
        headers = dict(request.headers)
        ours = {name.lower() for name in headers}
        if "accept-encoding" not in ours:
            headers["Accept-Encoding"] = _ACCEPT_ENCODING
            ours.add("accept-encoding")
        if http.cookies or http.params:
            # What build_request merges besides headers: the slow path, as httpx does it.
            outgoing = http.build_request(
                request.method,
                request.url,
                headers=headers,
                content=request.body(),
                timeout=self.timeout,
            )
        else:
            # build_request's result, without its generic merging: the URL is absolute, and
            # the http_client's own headers go first, those of the request replace them.
            merged = [(name, value) for name, value in http.headers.multi_items() if name not in ours]
            merged.extend(headers.items())
            outgoing = httpx.Request(
                request.method,
                # Without a query, an operation's URL is the same on every call: parsed once.
                request.url if request.query else _parsed_url(request.url),
                headers=merged,
                content=request.body(),
                extensions={"timeout": dict(self._timeouts)},
            )
        self._check_origin(outgoing.url, "the request")
        return outgoing

    def _open_body(self, response: httpx.Response, started: float) -> _BodyReader:
        """Check an answer's status line and headers, and get ready to read its body
        within what is left of the attempt's budget."""
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("Location")
            shown = self._credentials.excerpt(location, _LOCATION_EXCERPT) if location is not None else None
            raise UnexpectedRedirect(
                f"HTTP {status}: the provider redirects to {shown!r}; a signed request is "
                "never redirected, since the credentials would go along",
                provider=self._api.provider,
                http_status=status,
                location=shown,
            )
        deadline = started + self.timeout
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _TooSlow()
        # httpx waits up to the read timeout for each chunk: no longer than what is left.
        timeouts = response.request.extensions.get("timeout")
        if isinstance(timeouts, dict):
            read = timeouts.get("read")
            timeouts["read"] = remaining if read is None else min(read, remaining)
        return _BodyReader(
            # A body read already (by an in-memory transport or an event hook) is decoded.
            ("" if response.is_stream_consumed else response.headers.get("Content-Encoding", "")),
            self.max_response_bytes,
            deadline,
        )

    @staticmethod
    def _read_already(response: httpx.Response) -> list[bytes] | None:
        """The body of a response read before it came here, or None to stream it."""
        if not response.is_stream_consumed:
            return None
        try:
            return [response.content]
        except httpx.ResponseNotRead:
            raise _BadEncoding("the answer's body was consumed elsewhere") from None

    def _unreadable(self, problem: _Unreadable, request: PreparedRequest, status: int) -> DlrError:
        """The typed error for an answer whose body went past a limit."""
        if isinstance(problem, _TooLarge):
            head, _ = self._credentials.scrub_head(problem.head, EXCERPT_LIMIT, prefix=True)
            return ResponseTooLarge(
                f"HTTP {status}: the answer is larger than max_response_bytes "
                f"({self.max_response_bytes} bytes after decompression); reading stopped",
                provider=self._api.provider,
                http_status=status,
                limit=self.max_response_bytes,
                raw_body=head,
                raw_body_length=problem.size,
            )
        if isinstance(problem, _BadEncoding):
            return ProviderResponseError(
                f"HTTP {status}: {problem.reason}",
                provider=self._api.provider,
                http_status=status,
            )
        return RequestTimeout(
            f"{self._api.provider}: no whole answer within {self.timeout}s from "
            f"{request.method} {request.base_url}{request.path}"
        )

    def _raw_body(self, content: bytes) -> dict[str, Any]:
        """``raw_body`` (and ``raw_body_length`` when cut) for an error: scrubbed, bounded."""
        head, complete = self._credentials.scrub_head(content, EXCERPT_LIMIT)
        if complete:
            return {"raw_body": head}
        return {"raw_body": head, "raw_body_length": len(content)}

    def _build(self, operation: OperationSpec, params: BaseModel) -> PreparedRequest:
        values = params.model_dump()
        credentials = self._credentials.as_variables()
        path = operation.path
        for param in operation.params:
            if param.location == "path":
                segment = credentials.get(param.from_credential or "") or values.get(param.name)
                path = path.replace(f"{{{param.wire}}}", quote(_scalar(segment), safe=""))
        request = PreparedRequest(operation.method, self.base_url, path)
        for name, text in operation.headers.items():
            request.place("header", name, text)
        locations = {p.location for p in operation.params}
        request.body_kind = (
            "json" if locations & {"json", "body"} else "form" if "form" in locations else "none"
        )
        for param in operation.params:
            if param.location == "path":
                continue
            if param.const is not None:
                value: object = param.const
            elif param.from_credential is not None:
                value = credentials.get(param.from_credential)
            else:
                value = values.get(param.name)
            if value is None:
                continue
            self._encode(request, param, value)
        if request.body_kind == "json" and request.json == {}:  # an array body is sent, even []
            request.body_kind = "none"
        return request

    @staticmethod
    def _encode(request: PreparedRequest, param: ParamSpec, value: object) -> None:
        if isinstance(value, date) and param.date_format:
            value = _time_text(param, value)
        if param.location == "body":  # the whole body is this array
            request.json = list(value) if isinstance(value, (list, tuple)) else [value]
            return
        if param.location == "json":
            request.json_fields()[param.wire] = value
            return
        if isinstance(value, (list, tuple)):
            items = [_scalar(item) for item in value]
            if param.array_style == "indexed":
                for index, item in enumerate(items, start=param.index_start):
                    request.place(param.location, f"{param.wire}.{index}", item)
            elif param.array_style == "comma":
                request.place(param.location, param.wire, ",".join(items))
            else:  # repeat
                for item in items:
                    request.place(param.location, param.wire, item)
            return
        request.place(param.location, param.wire, _scalar(value))

    # -- responses ----------------------------------------------------------------------

    def _parse(
        self,
        status: int,
        headers: httpx.Headers,
        content: bytes,
        model: type[Model],
    ) -> Model:
        try:
            return self._read(status, content, model)
        except ProviderError as error:
            error.retry_after = parse_retry_after(headers.get("Retry-After"), self._clock())
            raise

    def _read(self, status: int, content: bytes, model: type[Model]) -> Model:
        envelope = self._api.envelope
        too_deep = f"the answer nests deeper than {MAX_JSON_DEPTH} levels"
        if _nested_deeper(content, MAX_JSON_DEPTH):
            raise self._error_for_status(status, content, too_deep)
        try:
            body = json.loads(content)
        except RecursionError:
            raise self._error_for_status(status, content, too_deep) from None
        except ValueError:
            raise self._error_for_status(status, content, "the answer is not JSON") from None
        if isinstance(body, list) and envelope.data_field is None and envelope.success_mode != "equals":
            # A top-level array answer (a RootModel): it carries no envelope fields, so its
            # HTTP status (or the absence of an error object) says whether it succeeded.
            if not 200 <= status < 300:
                raise self._error_for_status(status, content, "the answer is an array with an error status")
            return self._validated(model, body, status, content, None)
        if not isinstance(body, dict):
            raise self._error_for_status(status, content, "the answer is not a JSON object")
        request_id = _text(_first(body, envelope.request_id_fields))
        if envelope.success_mode == "http":
            succeeded = 200 <= status < 300
        elif envelope.success_mode == "absent":
            found = _first(body, envelope.success_fields)
            succeeded = found is _MISSING or found is None
        else:
            result = _first(body, envelope.success_fields)
            if result is _MISSING:
                fields = " or ".join(envelope.success_fields)
                raise self._error_for_status(status, content, f"the answer has no {fields} field")
            expected = envelope.success_value
            wanted = expected if isinstance(expected, tuple) else () if expected is None else (expected,)
            succeeded = any(_loose_equal(result, value) for value in wanted)
        if not succeeded:
            raise self._envelope_error(body, status, content, request_id)
        if status >= 400:
            raise self._error_for_status(status, content, "the answer says success with an error status")
        payload: Any = body
        if envelope.data_field is not None:
            payload = _lookup(body, envelope.data_field)
            payload = None if payload is _MISSING else payload
        return self._validated(model, payload, status, content, request_id)

    def _validated(
        self, model: type[Model], payload: Any, status: int, content: bytes, request_id: str | None
    ) -> Model:
        too_deep = f"the answer nests deeper than {MAX_JSON_DEPTH} levels"
        try:
            return model.model_validate(payload)
        except RecursionError:
            raise self._error_for_status(status, content, too_deep) from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or model.__name__}: {e['msg']}"
                for e in exc.errors()[:3]
            )
            raise ProviderResponseError(
                self._credentials.excerpt(f"unexpected {model.__name__}: {problems}"),
                provider=self._api.provider,
                request_id=request_id,
                http_status=status,
                **self._raw_body(content),
            ) from None

    def _envelope_error(
        self,
        body: Mapping[str, Any],
        status: int,
        content: bytes,
        request_id: str | None,
    ) -> ProviderError:
        """The typed error for an answer whose envelope says failure."""
        envelope = self._api.envelope
        code = _text(_first(body, envelope.code_fields))
        if code is None and envelope.success_mode == "equals":
            code = _text(_first(body, envelope.success_fields))
        message = _text(_first(body, envelope.message_fields))
        info = self._api.errors.lookup(code)
        # A code the spec does not list may still tell its kind through the HTTP status.
        cls = error_class(info.kind) if info else (_class_for_status(status) or ProviderError)
        fallback = info.description if info else "the provider reported an error"
        return cls(
            self._credentials.excerpt(message or fallback),
            provider=self._api.provider,
            code=None if code is None else self._credentials.excerpt(code, 200),
            request_id=(None if request_id is None else self._credentials.excerpt(request_id, 200)),
            http_status=status,
            retryable=info.retryable if info else (status == 429 or status >= 500),
            **self._raw_body(content),
        )

    def _error_for_status(self, status: int, content: bytes, problem: str) -> ProviderError:
        """An error from the HTTP status alone, for answers without a readable envelope."""
        cls = _class_for_status(status) or ProviderResponseError
        # Scrubbed before it is cut, so that no part of a secret is left at the cut.
        head, _ = self._credentials.scrub_head(content, _BODY_EXCERPT)
        excerpt = head.decode("utf-8", errors="replace")
        return cls(
            self._credentials.scrub(f"HTTP {status}: {problem}: {excerpt!r}"),
            provider=self._api.provider,
            http_status=status,
            retryable=status == 429 or status >= 500,
            **self._raw_body(content),
        )

    def _elapsed(self, started: float) -> float:
        """Seconds since ``started`` (a ``monotonic`` reading), whatever ``clock`` says."""
        return self._monotonic() - started

    def _retry_delay(
        self,
        policy: RetryPolicy,
        error: DlrError,
        attempt: int,
        started: float,
        operation: OperationSpec,
        renewed: bool = False,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to raise ``error``. A
        request repeated with a new token (``renewed``) is one more in ``error.attempts``,
        not a retry."""
        error.attempts = attempt + (1 if renewed else 0)
        if operation.consuming and may_have_consumed(error):
            self._mark_consumed(error, operation)
            return None
        delay = next_delay(
            policy,
            error,
            attempt,
            self._elapsed(started),
            consuming=operation.consuming,
        )
        if delay is not None:
            logger.info(
                "%s: attempt %d failed (%s); retrying in %.2fs",
                self._api.provider,
                attempt,
                type(error).__name__,
                delay,
            )
        elif isinstance(error, ProviderError) and error.retry_after is not None:
            logger.info(
                "%s: attempt %d failed (%s) and the provider asks to wait %ss: not retried",
                self._api.provider,
                error.attempts,
                type(error).__name__,
                error.retry_after,
            )
        return delay

    def _renew_token(
        self, error: DlrError, operation: OperationSpec, used: tuple[str, ...], renewed: bool
    ) -> bool:
        """After an authentication error: drop the tokens the refused request carried (the
        next request fetches a new one), and say whether to send it again now, with the new
        token. Once per call, and only when that is safe (``may_repeat_with_new_token``)."""
        if not isinstance(error, AuthenticationError) or not self._tokens:
            return False
        self._tokens.forget(used)
        if renewed or not may_repeat_with_new_token(operation.method, operation.consuming, error):
            return False
        logger.info(
            "%s: %s was refused for authentication; repeating it once with a new token",
            self._api.provider,
            operation.name,
        )
        return True

    def _poll_plan(
        self, timeout: float | None, interval: float | None, sent_at: datetime | None
    ) -> tuple[float, float, float]:
        """(first wait, interval, deadline) in seconds, from the arguments or the spec's hints."""
        hints = self._api.polling
        every = interval if interval is not None else _seconds(hints.interval, _DEFAULT_POLL_INTERVAL)
        limit = timeout if timeout is not None else _seconds(hints.give_up_after, _DEFAULT_POLL_TIMEOUT)
        first = 0.0
        if sent_at is not None and hints.first_check_after is not None:
            first = max(0.0, (sent_at + hints.first_check_after - self._clock()).total_seconds())
        return first, every, limit

    @staticmethod
    def _mark_consumed(error: DlrError, operation: OperationSpec) -> None:
        """Say on a failed queue read that its batch may be gone (and why no retry)."""
        note = (
            f" [{operation.name} reads a queue: the provider may have handed this batch "
            "out already, so it was not retried; its records may be lost]"
        )
        error.may_have_consumed = True
        if isinstance(error, ProviderError):
            error.message += note
            error.args = (error.message,)
        else:
            error.args = (f"{error.args[0] if error.args else ''}{note}",)

    def _transport_error(self, exc: httpx.HTTPError, request: PreparedRequest) -> TransportError:
        target = f"{request.method} {request.base_url}{request.path}"
        # Only these fail before the request could leave: no connection, none free.
        sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeout(
                f"{self._api.provider}: no answer within {self.timeout}s from {target}",
                request_sent=sent,
            )
        return TransportError(
            f"{self._api.provider}: {type(exc).__name__} calling {target}",
            request_sent=sent,
        )

    def _cause(self, exc: httpx.HTTPError) -> TransportCause:
        """What went wrong underneath, for ``__cause__``: the httpx error's type and text,
        scrubbed of secrets, without the request it holds (whose headers may sign)."""
        text = self._credentials.scrub(str(exc) or repr(exc.__cause__ or exc.__context__ or ""))
        return TransportCause(f"{type(exc).__module__}.{type(exc).__name__}: {text}")

    def _log(self, request: PreparedRequest, status: int, started: float) -> None:
        logger.debug(
            "%s %s%s -> %s in %.3fs",
            request.method,
            request.base_url,
            request.path,
            status,
            time.monotonic() - started,
        )

    # Deprecated aliases, for packages generated before dlr-core 1.4 (kept for 1.x).
    _arguments = dlr_arguments
    _with_extra = dlr_with_extra
    _params = dlr_params


class SyncClientBase(ClientCore):
    """Base of every generated synchronous client."""

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str | None],
        *,
        http_client: httpx.Client | None,
        sleep: Sleep | None = None,
        **options: Any,
    ) -> None:
        if isinstance(http_client, httpx.AsyncClient):
            raise TypeError(
                f"{type(self).__name__} sends with an httpx.Client, not an httpx.AsyncClient: "
                "give it an httpx.Client, or use the package's AsyncClient"
            )
        super().__init__(api, credentials, **options)
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client()
        self._sleep = sleep or time.sleep

    def _http_client(self) -> httpx.Client:
        return self._http

    def dlr_call(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        retries: Retries = None,
        url: str | None = None,
    ) -> Model:
        """For generated code: one operation's answer as ``model``, the request signed afresh
        for every attempt, retried per ``retries`` (else the client's policy), a refused
        token renewed once; ``url`` replaces the operation's (a next-page link)."""
        policy = resolve(retries, self.retry_policy)
        started = self._monotonic()
        attempt, renewed = 1, False
        while True:
            used: tuple[str, ...] = ()
            try:
                if self._tokens:
                    used = self._tokens.ensure(self._http)
                return self._attempt(operation, params, model, url)
            except (ProviderError, TransportError) as error:
                if self._renew_token(error, operation, used, renewed):
                    renewed = True
                    continue
                delay = self._retry_delay(policy, error, attempt, started, operation, renewed)
                if delay is None:
                    raise
            self._sleep(delay)
            attempt += 1

    def _attempt(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        url: str | None,
    ) -> Model:
        # Signed afresh for every attempt: a new timestamp and nonce (the token is fetched
        # by dlr_call).
        request = self._prepare(operation, params, url)
        outgoing = self._outgoing(self._http, request)
        started = time.monotonic()
        try:
            # Never redirected, whatever the http_client says: see _open_body.
            response = self._http.send(outgoing, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request) from self._cause(exc)
        try:
            body = self._open_body(response, started)
            for chunk in self._read_already(response) or response.iter_raw():
                body.feed(chunk)
            content = body.finish()
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request) from self._cause(exc)
        except _Unreadable as problem:
            raise self._unreadable(problem, request, response.status_code) from None
        finally:
            response.close()
        self._log(request, response.status_code, started)
        return self._parse(response.status_code, response.headers, content, model)

    def dlr_pages(
        self,
        operation: OperationSpec,
        params_model: type[Params],
        model: type[Model],
        values: Mapping[str, object],
        paging: Paging[Model],
        retries: Retries,
    ) -> Iterator[tuple[Params, Model]]:
        """For generated code: each page of a paged operation, with the parameters that
        fetched it, fetched only when the caller gets to it."""
        position: dict[str, int] | None = paging.first()
        seen, url = 0, None
        while position is not None:
            params = self.dlr_params(operation, params_model, {**values, **position})
            result = self.dlr_call(operation, params, model, retries, url)
            yield params, result
            count = len(paging.items(result))
            if paging.next_url is not None:
                link = paging.next_url(result)
                if not link or count == 0:
                    return
                # Followed only on the client's own origin (UnsafeLinkError otherwise).
                url = self._next_link(url or self._build(operation, params).url, link)
                continue
            seen += count
            total = paging.total(result) if paging.total is not None else None
            position = paging.after(position, params, count, seen, total)

    def dlr_wait_for_final(
        self,
        fetch: Callable[[], list[Receipt]],
        timeout: float | None,
        interval: float | None,
        sent_at: datetime | None,
    ) -> PollResult:
        """For generated code: ``fetch`` until every receipt is final or ``timeout`` passes."""
        first, every, limit = self._poll_plan(timeout, interval, sent_at)
        started = self._monotonic()
        if first:
            self._sleep(first)
        while True:
            result = _poll_result(fetch())
            if result.complete or self._elapsed(started) + every > limit:
                return result
            self._sleep(every)

    # Deprecated aliases, for packages generated before dlr-core 1.4 (kept for 1.x).
    _call = dlr_call
    _pages = dlr_pages
    _wait_for_final = dlr_wait_for_final

    def close(self) -> None:
        """Close the HTTP client if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClientBase(ClientCore):
    """Base of every generated asynchronous client.

    At most ``max_concurrency`` requests are in flight at once (None: no bound); the others
    wait for a slot, which is not part of an attempt's ``timeout``. Without an
    ``http_client``, the client makes one with a connection per slot, sending with
    ``transport`` (``"httpx"``, or ``"aiohttp"`` with the ``dlr-core[aiohttp]`` extra).
    """

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str | None],
        *,
        http_client: httpx.AsyncClient | None,
        sleep: AsyncSleep | None = None,
        transport: HttpTransport = "httpx",
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
        **options: Any,
    ) -> None:
        if max_concurrency is not None and (
            isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1
        ):
            raise ValueError(f"max_concurrency must be a positive number or None, got {max_concurrency!r}")
        if isinstance(http_client, httpx.Client):
            raise TypeError(
                f"{type(self).__name__} sends with an httpx.AsyncClient, not an httpx.Client: "
                "give it an httpx.AsyncClient, or use the package's Client"
            )
        if transport not in ("httpx", "aiohttp"):
            raise ValueError(f"unknown transport {transport!r}; choose httpx or aiohttp")
        if transport != "httpx" and http_client is not None:
            raise ValueError(
                "transport= chooses how the client's own http_client sends: with an http_client given, "
                "give it the transport instead"
            )
        super().__init__(api, credentials, **options)
        self.max_concurrency: int | None = max_concurrency
        """Requests in flight at once (None: no limit but the HTTP pool's)."""
        self.transport: HttpTransport = transport
        self._owns_http = http_client is None
        # The client's own http_client sends each request through its one transport directly:
        # httpx's AsyncClient.send (auth and redirect flows, event hooks: none of them used
        # here) costs about a quarter of a request at high concurrency.
        self._direct: httpx.AsyncBaseTransport | None = None
        if http_client is None:
            self._http, self._direct = _async_http_client(transport, max_concurrency)
        else:
            self._http = http_client
        self._sleep = sleep or asyncio.sleep
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def _http_client(self) -> httpx.AsyncClient:
        return self._http

    async def dlr_call(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        retries: Retries = None,
        url: str | None = None,
    ) -> Model:
        """For generated code: one operation's answer as ``model``, the request signed afresh
        for every attempt, retried per ``retries`` (else the client's policy), a refused
        token renewed once; ``url`` replaces the operation's (a next-page link)."""
        policy = resolve(retries, self.retry_policy)
        started = self._monotonic()
        attempt, renewed = 1, False
        while True:
            used: tuple[str, ...] = ()
            try:
                if self._tokens:
                    used = await self._tokens.aensure(self._http)
                return await self._attempt(operation, params, model, url)
            except (ProviderError, TransportError) as error:
                if self._renew_token(error, operation, used, renewed):
                    renewed = True
                    continue
                delay = self._retry_delay(policy, error, attempt, started, operation, renewed)
                if delay is None:
                    raise
            await self._sleep(delay)
            attempt += 1

    async def _attempt(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        url: str | None,
    ) -> Model:
        # Signed afresh for every attempt: a new timestamp and nonce (the token is fetched
        # by dlr_call).
        slots = self._semaphore()
        if slots is None:
            return await self._attempt_now(operation, params, model, url)
        async with slots:  # waiting for a slot is not part of the attempt's budget
            return await self._attempt_now(operation, params, model, url)

    def _semaphore(self) -> asyncio.Semaphore | None:
        """The client's ``max_concurrency`` slots, for the running event loop."""
        if self.max_concurrency is None:
            return None
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.max_concurrency))
        return self._slots[1]

    async def _attempt_now(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        url: str | None,
    ) -> Model:
        request = self._prepare(operation, params, url)
        outgoing = self._outgoing(self._http, request)
        started = time.monotonic()
        response: httpx.Response | None = None
        try:
            # The whole attempt, headers included, within the budget (and a little grace
            # for the deadline checks between chunks to speak first).
            async with _deadline(self.timeout + _DEADLINE_GRACE):
                try:
                    response = await self._send(outgoing)
                    body = self._open_body(response, started)
                    read = self._read_already(response)
                    for chunk in read or ():
                        body.feed(chunk)
                    if read is None:
                        async for chunk in response.aiter_raw():
                            body.feed(chunk)
                    content = body.finish()
                except httpx.HTTPError as exc:
                    raise self._transport_error(exc, request) from self._cause(exc)
        except TimeoutError:
            raise self._unreadable(_TooSlow(), request, 0) from None
        except _Unreadable as problem:
            status = response.status_code if response is not None else 0
            raise self._unreadable(problem, request, status) from None
        finally:
            if response is not None:
                await response.aclose()
        self._log(request, response.status_code, started)
        return self._parse(response.status_code, response.headers, content, model)

    async def _send(self, outgoing: httpx.Request) -> httpx.Response:
        """The response's headers, its body still to read. Never redirected, whatever the
        http_client says: see _open_body."""
        if self._direct is None or self._http.is_closed:
            return await self._http.send(outgoing, stream=True, follow_redirects=False)
        response = await self._direct.handle_async_request(outgoing)
        response.request = outgoing
        self._http.cookies.extract_cookies(response)  # as send does: the next request sends them
        return response

    async def dlr_call_each(
        self,
        operation: OperationSpec,
        batches: Sequence[BaseModel],
        model: type[Model],
        retries: Retries = None,
    ) -> list[Model]:
        """For generated code: ``dlr_call`` for each batch's parameters, concurrently (at most ``max_concurrency``
        batches at once; the client's slots bound the requests), the results in the order
        of ``batches``. When a batch fails (after its retries), the others still running
        are cancelled and the error of the first batch, in order, that failed is raised."""
        if len(batches) <= 1:
            return [await self.dlr_call(operation, params, model, retries) for params in batches]
        results: list[Model | None] = [None] * len(batches)
        failures: dict[int, BaseException] = {}
        queue = iter(enumerate(batches))

        async def worker() -> None:
            for index, params in queue:
                try:
                    results[index] = await self.dlr_call(operation, params, model, retries)
                except Exception as error:
                    failures[index] = error
                    raise

        workers = min(len(batches), self.max_concurrency or len(batches))
        tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if failures:
            raise failures[min(failures)]
        return [result for result in results if result is not None]

    async def dlr_pages(
        self,
        operation: OperationSpec,
        params_model: type[Params],
        model: type[Model],
        values: Mapping[str, object],
        paging: Paging[Model],
        retries: Retries,
    ) -> AsyncIterator[tuple[Params, Model]]:
        """For generated code: each page of a paged operation, with the parameters that
        fetched it, fetched only when the caller gets to it."""
        position: dict[str, int] | None = paging.first()
        seen, url = 0, None
        while position is not None:
            params = self.dlr_params(operation, params_model, {**values, **position})
            result = await self.dlr_call(operation, params, model, retries, url)
            yield params, result
            count = len(paging.items(result))
            if paging.next_url is not None:
                link = paging.next_url(result)
                if not link or count == 0:
                    return
                # Followed only on the client's own origin (UnsafeLinkError otherwise).
                url = self._next_link(url or self._build(operation, params).url, link)
                continue
            seen += count
            total = paging.total(result) if paging.total is not None else None
            position = paging.after(position, params, count, seen, total)

    async def dlr_wait_for_final(
        self,
        fetch: Callable[[], Awaitable[list[Receipt]]],
        timeout: float | None,
        interval: float | None,
        sent_at: datetime | None,
    ) -> PollResult:
        """For generated code: ``fetch`` until every receipt is final or ``timeout`` passes."""
        first, every, limit = self._poll_plan(timeout, interval, sent_at)
        started = self._monotonic()
        if first:
            await self._sleep(first)
        while True:
            result = _poll_result(await fetch())
            if result.complete or self._elapsed(started) + every > limit:
                return result
            await self._sleep(every)

    # Deprecated aliases, for packages generated before dlr-core 1.4 (kept for 1.x).
    _call = dlr_call
    _pages = dlr_pages
    _wait_for_final = dlr_wait_for_final
    _call_each = dlr_call_each

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _deadline(seconds: float) -> contextlib.AbstractAsyncContextManager[object]:
    """``TimeoutError`` when the block takes longer than ``seconds``: asyncio's own timeout
    where there is one (Python 3.11+; half anyio's cost), else anyio's."""
    if _ASYNCIO_TIMEOUT is not None and sniffio.current_async_library() == "asyncio":
        return _ASYNCIO_TIMEOUT(seconds)
    return _AnyioDeadline(seconds)


_ASYNCIO_TIMEOUT: Callable[[float], contextlib.AbstractAsyncContextManager[object]] | None = getattr(
    asyncio, "timeout", None
)


class _AnyioDeadline(contextlib.AbstractAsyncContextManager[object]):
    def __init__(self, seconds: float) -> None:
        self._scope = anyio.fail_after(seconds)

    async def __aenter__(self) -> object:
        return self._scope.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        return self._scope.__exit__(exc_type, exc, traceback)


def _async_http_client(
    transport: HttpTransport, limit: int | None
) -> tuple[httpx.AsyncClient, httpx.AsyncBaseTransport | None]:
    """The http_client an async client makes for itself, a pool of as many connections as
    the client has slots, over httpx's transport or aiohttp's; and the transport every
    request goes through when there is only one (no proxy from the environment), which the
    client then sends through directly."""
    limits = (
        httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        if limit is not None
        else httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's own
    )
    if transport == "httpx":
        if urllib.request.getproxies():  # httpx mounts a proxy per scheme: let it choose
            return httpx.AsyncClient(limits=limits), None
        direct: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(limits=limits, trust_env=True)
    else:
        from dlr_core.transports import AiohttpTransport  # ImportError without the extra

        direct = AiohttpTransport(limits=limits)
    return httpx.AsyncClient(transport=direct), direct


def in_chunks(items: Sequence[Item], size: int) -> list[Sequence[Item]]:
    """Split ``items`` into consecutive chunks of at most ``size`` (array-capped APIs)."""
    return [items[start : start + size] for start in range(0, len(items), size)] or [items[:0]]


def in_input_order(receipts: list[Receipt], ids: Sequence[object]) -> list[Receipt]:
    """Receipts sorted by the position of their message id among the ids asked for; receipts
    for ids not asked for keep their order, after the others."""
    position = {str(value): index for index, value in enumerate(ids)}
    return sorted(receipts, key=lambda r: position.get(r.message_id or "", len(position)))


def answered_in_order(
    receipts: list[Receipt], ids: Sequence[object], field: str, provider: str
) -> list[Receipt]:
    """The receipts of an id lookup, grouped by the ids asked for, in that order: the
    receipts of each id asked for (one, or one per recipient when an id stands for several),
    and nothing else. A receipt for an id not asked for (or for none) is dropped, and
    counted in a debug log: it is never returned as if asked for. An id the provider did
    not answer (many providers leave out ids they have no report for yet, and only count
    them) becomes an open receipt (``DeliveryStatus.UNKNOWN``, ``details["answered"] is
    False``), so it is neither lost nor taken for final. Without ids (the lookup was not by
    id: a time window, a queue), the receipts are returned as they are."""
    if not ids:
        return receipts
    by_id: dict[str, list[Receipt]] = {}
    unnamed = 0  # receipts that name no id: none can be taken for one asked for
    for receipt in receipts:
        named = getattr(receipt, field)
        if named is None:
            unnamed += 1
        else:
            by_id.setdefault(str(named), []).append(receipt)
    ordered: list[Receipt] = []
    for value in dict.fromkeys(str(item) for item in ids):
        answered = by_id.pop(value, None)
        if answered is None:
            answered = [
                Receipt(
                    provider=provider,
                    status=DeliveryStatus.UNKNOWN,
                    raw_status={},
                    details={"answered": False},
                    raw={},
                    message_id=value if field == "message_id" else None,
                    recipient=value if field == "recipient" else None,
                )
            ]
        ordered.extend(answered)
    if by_id or unnamed:
        logger.debug(
            "%s: %d receipt(s) for ids not asked for dropped (%d naming no id)",
            provider,
            sum(map(len, by_id.values())) + unnamed,
            unnamed,
        )
    return ordered
