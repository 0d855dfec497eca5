"""Request signing, interpreted from a provider spec's auth scheme.

A scheme is data: placements, ordered sign steps and templates. ``Scheme.from_data`` reads
one (as a spec writes it, and as generated ``api.py`` files carry it) into typed objects,
refusing anything it would not use; ``Signer`` applies it to a request. The step kinds are
the classes registered in ``dlr_core.steps``. Templates are ``{name}`` or
``{name|filter}``; ``{{`` and ``}}`` are literal braces.

A scheme that a spec cannot express is supplied in code instead: any object with
``sign(request, variables)`` (the ``RequestSigner`` protocol), passed to a generated
client as ``signer=``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import secrets
import string
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

from dlr_core import steps, steps_data
from dlr_core.request import PreparedRequest, percent_encode
from dlr_core.steps import STEPS, SigningError, Step, Value, quote_path
from dlr_core.times import compile_pattern, parse_zone

if TYPE_CHECKING:
    from dlr_core.identity import TokenSource

__all__ = [
    "BYTES_FILTERS",
    "FILTERS",
    "FILTER_FUNCTIONS",
    "PLACEMENTS",
    "RequestSigner",
    "Scheme",
    "Signer",
    "SigningError",
    "STEP_KINDS",
    "TEXT_FILTERS",
    "TIMESTAMP_STYLES",
    "TimestampPattern",
    "TimestampStyle",
    "quote_path",
    "timestamp_moment",
    "timestamp_text",
]

# The vocabulary specs are written in. The generator validates specs against these names
# (it imports them), so the spec format and the runtime cannot drift apart.
VARIABLE_PATTERN = r"[a-z][a-z0-9_]*"
FILTER_PATTERN = r"[a-z0-9_]+"
_TEMPLATE = re.compile(rf"\{{\{{|\}}\}}|\{{({VARIABLE_PATTERN})((?:\|{FILTER_PATTERN})*)\}}")
STEP_KINDS = tuple(STEPS)
PLACEMENTS = ("query", "header", "body")
NONCE_KINDS = ("uuid4", "alphanumeric", "hex")
_ALPHANUMERIC = string.ascii_letters + string.digits

TIMESTAMP_STYLES: dict[str, Callable[[datetime], str]] = {
    "unix_seconds": lambda moment: str(int(moment.timestamp())),
    "unix_milliseconds": lambda moment: str(int(moment.timestamp() * 1000)),
    "iso8601_utc": lambda moment: moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "iso8601_basic_utc": lambda moment: moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
    # RFC 7231 section 7.1.1.1's IMF-fixdate (RFC 1123 form): English names whatever the
    # locale, always GMT. x-ms-date and HTTP Date headers.
    "http_date": lambda moment: _http_date_text(moment),
}
"""How ``{timestamp}`` is written, by style name."""

_TIMESTAMP_READERS: dict[str, Callable[[str], datetime]] = {
    "unix_seconds": lambda text: datetime.fromtimestamp(int(text), timezone.utc),
    "unix_milliseconds": lambda text: datetime.fromtimestamp(int(text) / 1000, timezone.utc),
    "iso8601_utc": lambda text: datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc),
    "iso8601_basic_utc": lambda text: datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc),
    "http_date": lambda text: _http_date(text),
}


def _http_date_text(moment: datetime) -> str:
    # email.utils (socket with it) here, where a date is written: reading a spec needs none
    from email.utils import format_datetime

    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def _http_date(text: str) -> datetime:
    from email.utils import parsedate_to_datetime

    moment = parsedate_to_datetime(text)
    if moment.tzinfo is None:  # "-0000": RFC 5322's "no zone known"; HTTP dates are GMT
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class TimestampPattern:
    """A ``{timestamp}`` written with a date pattern (``yyyyMMddHHmmss``, see
    ``dlr_core.times``) as the wall-clock time of a fixed UTC offset (``+08:00``): for
    providers that sign their local time rather than UTC or a Unix count."""

    pattern: str
    utc_offset: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> TimestampPattern:
        """The style as a spec writes it; ``SigningError`` when the pattern or the offset
        cannot be read."""
        if set(data) != {"pattern", "utc_offset"}:
            raise SigningError(
                f"a timestamp pattern needs exactly pattern and utc_offset, got {sorted(data)}"
            )
        style = cls(str(data["pattern"]), str(data["utc_offset"]))
        try:
            compile_pattern(style.pattern)
            parse_zone(style.utc_offset)
        except ValueError as error:
            raise SigningError(f"timestamp pattern: {error}") from None
        return style

    def write(self, moment: datetime) -> str:
        return compile_pattern(self.pattern).format(moment.astimezone(parse_zone(self.utc_offset)))

    def read(self, text: str) -> datetime:
        parsed = compile_pattern(self.pattern).parse(text)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=parse_zone(self.utc_offset))


TimestampStyle = str | TimestampPattern
"""How ``{timestamp}`` is written: a ``TIMESTAMP_STYLES`` name or a ``TimestampPattern``."""


def timestamp_writer(style: TimestampStyle) -> Callable[[datetime], str] | None:
    """The function writing a moment in ``style``; None for an unknown style name."""
    if isinstance(style, TimestampPattern):
        return style.write
    return TIMESTAMP_STYLES.get(style)


def timestamp_text(moment: datetime, style: TimestampStyle) -> str:
    write = timestamp_writer(style)
    if write is None:
        raise SigningError(f"unknown timestamp style {style!r}; styles: {', '.join(TIMESTAMP_STYLES)}")
    return write(moment)


def timestamp_moment(text: str, style: TimestampStyle) -> datetime | None:
    """The moment a ``{timestamp}`` written in ``style`` stands for (a receiver re-signing a
    request with its own time, or checking it is fresh); None when it cannot be read."""
    read = style.read if isinstance(style, TimestampPattern) else _TIMESTAMP_READERS.get(style)
    if read is None or not text:
        return None
    try:
        return read(text)
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None


def _utc_moment(text: str) -> datetime:
    """The moment a timestamp's text stands for: Unix seconds, an ISO 8601 date-time
    (``2015-08-30T12:36:00Z``, the basic ``20150830T123600Z``, or with an offset) or an HTTP
    date (``Sun, 30 Aug 2015 12:36:00 GMT``)."""
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), timezone.utc)
        for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y%m%dT%H%M%S%z"):
            try:
                return datetime.strptime(text.replace("Z", "+0000"), pattern).astimezone(timezone.utc)
            except ValueError:
                continue
    except (OverflowError, OSError, ValueError):
        pass
    moment = timestamp_moment(text, "http_date")
    if moment is None:
        raise SigningError(
            "a date filter needs Unix seconds or an ISO 8601 UTC date-time (or an HTTP date), "
            f"got {len(text)} characters"
        )
    return moment


def _needs_text(name: str, change: Callable[[str], str]) -> Callable[[Value], Value]:
    """A filter of text: raw bytes (a decoded key, a raw digest) are refused, not guessed at."""

    def apply(value: Value) -> Value:
        if isinstance(value, bytes):
            raise SigningError(f"the {name} filter reads text, and the value is raw bytes")
        return change(value)

    return apply


def _base64_decode(value: Value) -> Value:
    """Standard base64 (RFC 4648 section 4, padding optional) to raw bytes; never shows the
    value, which is usually a secret key."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (ValueError, binascii.Error):
        raise SigningError("the base64_decode filter was given text that is not base64") from None


FILTER_FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    "percent": _needs_text("percent", percent_encode),
    # Its inverse: the text a server decodes a request's path to, before checking what was
    # signed (a path parameter is sent percent-encoded, %2B for "+").
    "percent_decode": _needs_text("percent_decode", unquote),
    "lower": _needs_text("lower", str.lower),
    "upper": _needs_text("upper", str.upper),
    # Digests and encodings read text as its UTF-8 bytes, and raw bytes as they are.
    "sha256_hex": lambda value: hashlib.sha256(steps.as_bytes(value)).hexdigest(),
    "base64": lambda value: base64.b64encode(steps.as_bytes(value)).decode("ascii"),
    "base64url": lambda value: steps.base64url(steps.as_bytes(value)),
    "base64_decode": _base64_decode,
    "utc_date": _needs_text("utc_date", lambda value: _utc_moment(value).strftime("%Y-%m-%d")),
    "utc_date_basic": _needs_text("utc_date_basic", lambda value: _utc_moment(value).strftime("%Y%m%d")),
}
"""Template filters, by name: each maps a value (text, or raw bytes) to a new one."""
FILTERS = frozenset(FILTER_FUNCTIONS)
BYTES_FILTERS = frozenset({"base64_decode"})
"""Filters whose result is raw bytes: a template may use such a reference only alone (an
HMAC key, a digest's input), never inside other text."""
TEXT_FILTERS = {name: f for name, f in FILTER_FUNCTIONS.items() if name not in BYTES_FILTERS}
"""The filters whose result is text."""
TEXT_ONLY_FILTERS = frozenset({"percent", "percent_decode", "lower", "upper", "utc_date", "utc_date_basic"})
"""Filters that read text only: given raw bytes, they are an error."""
DATE_FILTERS = frozenset({"utc_date", "utc_date_basic"})
"""Filters that read their input as a timestamp (Unix seconds, ISO 8601 UTC or an HTTP date)."""


@dataclass(frozen=True)
class Nonce:
    kind: str = "uuid4"
    length: int = 32

    def new(self) -> str:
        if self.kind == "uuid4":
            return str(uuid.uuid4())
        if self.kind == "hex":
            return secrets.token_hex((self.length + 1) // 2)[: self.length]
        return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(self.length))


@dataclass(frozen=True)
class Bound:
    """A sign step and the name its result is bound to."""

    name: str
    step: Step


Placement = Mapping[str, Mapping[str, str]]
"""location (``query``, ``header``, ``body``) -> name -> template."""


def bind_steps(raw_steps: Iterable[Mapping[str, Any]]) -> list[Bound]:
    """A ``sign`` list as a spec writes it, as typed steps bound to their names;
    ``SigningError`` naming the first step the registry refuses."""
    bound = []
    for index, raw_step in enumerate(raw_steps):
        name, step, problems = steps_data.build_step(raw_step)
        if step is None:
            where = ", ".join(f"{'/'.join(map(str, p.path)) or 'step'}: {p.message}" for p in problems)
            raise SigningError(f"sign step {index}: {where}")
        bound.append(Bound(name, step))
    return bound


@dataclass(frozen=True)
class Scheme(Mapping[str, Any]):
    """One auth scheme of a spec, read into typed objects (generated ``api.py`` files
    write them out). Read as a mapping, it is the scheme's data as a spec writes it."""

    description: str = ""
    docs: str | None = None
    timestamp: TimestampStyle | None = None
    nonce: Nonce | None = None
    add: Placement | None = None
    sign: tuple[Bound, ...] = ()
    attach: Placement | None = None

    @classmethod
    def from_data(cls, data: Scheme | Mapping[str, Any]) -> Scheme:
        """A scheme as a spec writes it; ``SigningError`` for anything it would not use."""
        if isinstance(data, Scheme):
            return data
        unknown = set(data) - {"description", "docs", "timestamp", "nonce", "add", "sign", "attach"}
        if unknown:
            raise SigningError(f"unknown auth scheme keys: {', '.join(sorted(unknown))}")
        timestamp = data.get("timestamp")
        if isinstance(timestamp, Mapping):
            timestamp = TimestampPattern.from_data(timestamp)
        elif isinstance(timestamp, TimestampPattern):
            pass
        elif timestamp is not None and timestamp not in TIMESTAMP_STYLES:
            raise SigningError(
                f"unknown timestamp style {timestamp!r}; styles: {', '.join(TIMESTAMP_STYLES)}"
            )
        nonce = None
        if "nonce" in data:
            raw = dict(data["nonce"])
            if raw.get("kind", "uuid4") not in NONCE_KINDS or set(raw) - {"kind", "length"}:
                raise SigningError(f"unknown nonce {raw!r}")
            nonce = Nonce(raw.get("kind", "uuid4"), int(raw.get("length", 32)))
        bound = bind_steps(data.get("sign") or ())
        for part in ("add", "attach"):
            if set(data.get(part) or {}) - set(PLACEMENTS):
                raise SigningError(f"{part}: unknown locations {sorted(set(data[part]) - set(PLACEMENTS))}")
        return cls(
            description=str(data.get("description", "")),
            docs=data.get("docs"),
            timestamp=timestamp,
            nonce=nonce,
            add=data.get("add"),
            sign=tuple(bound),
            attach=data.get("attach"),
        )

    @functools.cached_property
    def _data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"description": self.description}
        if self.docs is not None:
            data["docs"] = self.docs
        if isinstance(self.timestamp, TimestampPattern):
            data["timestamp"] = {"pattern": self.timestamp.pattern, "utc_offset": self.timestamp.utc_offset}
        elif self.timestamp is not None:
            data["timestamp"] = self.timestamp
        if self.nonce is not None:
            data["nonce"] = {"kind": self.nonce.kind}
            if self.nonce.kind != "uuid4":
                data["nonce"]["length"] = self.nonce.length
        if self.add is not None:
            data["add"] = self.add
        if self.sign:
            data["sign"] = [{"as": b.name, b.step.kind: steps_data.step_data(b.step)} for b in self.sign]
        if self.attach is not None:
            data["attach"] = self.attach
        return data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    @functools.cached_property
    def variables(self) -> frozenset[str]:
        """Every variable the scheme's templates name: a signer works out only those of the
        request's that are costly (the encoded body, the encoded query)."""
        text = json.dumps(self._data, ensure_ascii=False)
        return frozenset(match.group(1) for match in _TEMPLATE.finditer(text) if match.group(1))

    def placed(self, *locations: str) -> set[str]:
        """The names the scheme puts in these locations (before or after signing)."""
        return {
            name
            for part in (self.add, self.attach)
            for loc in locations
            for name in (part or {}).get(loc, {})
        }

    def stateful_steps(self) -> tuple[Step, ...]:
        return tuple(bound.step for bound in self.sign if bound.step.stateful)


class RequestSigner(Protocol):
    """The escape hatch: signs a request in code, for a scheme a spec cannot express.

    ``sign`` changes ``request`` in place (headers, query, body fields) before it is sent;
    ``variables`` are the client's credentials (and ``action`` / ``api_version``). The
    request still goes only to the client's own origin, and is signed afresh for every
    attempt.
    """

    def sign(self, request: PreparedRequest, variables: Mapping[str, str]) -> object: ...


class Signer:
    """Signs requests with one auth scheme of a provider spec.

    ``variables`` are the values templates may use besides the request's own: the
    credentials, and ``action`` / ``api_version``. ``tokens`` holds the tokens of
    stateful steps (a ``dlr_core.identity.TokenSource``), fetched before signing.
    """

    def __init__(
        self,
        scheme: Scheme | Mapping[str, Any],
        variables: Mapping[str, str],
        *,
        clock: Callable[[], datetime],
        nonce: Callable[[], str] | None = None,
        tokens: TokenSource | None = None,
    ) -> None:
        self._scheme = Scheme.from_data(scheme)
        self._variables = dict(variables)
        self._clock = clock
        self._nonce = nonce
        self._tokens = tokens
        # What the scheme places, in the order it is placed, read once (not per request).
        added = self._scheme.add or {}
        self._added_fields = [
            (location, name, template)
            for location in ("query", "body")
            for name, template in added.get(location, {}).items()
        ]
        self._added_headers = list(added.get("header", {}).items())
        attach = self._scheme.attach or {}
        self._attached = [
            (location, name, template)
            for location in PLACEMENTS
            for name, template in attach.get(location, {}).items()
        ]
        self._uses_body = "body" in self._scheme.variables
        self._uses_path_and_query = "path_and_query" in self._scheme.variables

    def __repr__(self) -> str:
        return f"Signer({self._scheme.description!r})"

    def sign(self, request: PreparedRequest) -> dict[str, Value]:
        """Add the scheme's values to ``request`` in place; returns every step's result
        (for diagnosis and tests)."""
        scheme = self._scheme
        moment = self._clock()
        values: dict[str, Value] = dict(self._variables)
        if scheme.timestamp is not None:
            values["timestamp"] = timestamp_text(moment, scheme.timestamp)
        if scheme.nonce is not None:
            values["nonce"] = self._nonce() if self._nonce else scheme.nonce.new()
        values["method"] = request.method
        values["host"] = request.host
        values["path"] = request.full_path
        run = StepRun(request, values, moment, self._variables, self._tokens)
        for location, name, template in self._added_fields:
            request.place(location, name, run.text(template))
        if self._uses_body:  # encoding the body again is the one costly part
            values["body"] = request.body().decode("utf-8")
        for name, template in self._added_headers:
            request.place("header", name, run.text(template))
        if self._uses_path_and_query:
            values["path_and_query"] = request.path_and_query
        for bound in scheme.sign:
            values[bound.name] = bound.step.apply(run)
        for location, name, template in self._attached:
            request.place(location, name, run.text(template))
        return values


@dataclass(frozen=True)
class TemplateReference:
    """``{name|filter|...}`` in a template: a variable's name and the filters applied to its
    value, in order. ``compile_template`` gives them; the mock reads them to find a signed
    request's variables (``dlr_core.mock_auth``)."""

    name: str
    filters: tuple[str, ...]


@functools.lru_cache(maxsize=1024)
def compile_template(template: str) -> tuple[str | TemplateReference, ...]:
    """A template read once into its literal text and its references, in order (a client
    signs with the same few templates on every call; only the values change)."""
    parts: list[str | TemplateReference] = []
    literal: list[str] = []
    position = 0
    for match in _TEMPLATE.finditer(template):
        literal.append(template[position : match.start()])
        position = match.end()
        if match.group(1) is None:  # {{ or }}
            literal.append(match.group(0)[0])
            continue
        if "".join(literal):
            parts.append("".join(literal))
        literal = []
        parts.append(TemplateReference(match.group(1), tuple(f for f in match.group(2).split("|") if f)))
    literal.append(template[position:])
    if "".join(literal) or not parts:
        parts.append("".join(literal))
    return tuple(parts)


def render(template: str, variables: Mapping[str, Value], moment: datetime) -> str:
    """A template's text outside of a request (a token request's client id, say)."""
    run = StepRun(PreparedRequest("POST", "https://localhost", "/"), dict(variables), moment, {}, None)
    return run.text(template)


class StepRun:
    """A request being signed: what the sign steps see (the ``dlr_core.steps.Run``
    protocol): the request, the values computed so far, the signing moment, the credentials
    and the client's tokens. ``Signer`` makes one per request; ``dlr_core.callbacks`` makes
    one to recompute a push's signature."""

    def __init__(
        self,
        request: PreparedRequest,
        values: dict[str, Value],
        moment: datetime,
        credentials: Mapping[str, str],
        tokens: TokenSource | None,
    ) -> None:
        self.request = request
        self.values = values
        self.moment = moment
        self._credentials = credentials
        self._tokens = tokens
        self._filtered: dict[TemplateReference, tuple[Value, Value]] = {}

    def text(self, template: str) -> str:
        value = self.value(template)
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                raise SigningError(
                    f"template {template!r} gives raw bytes where text is needed; encode them "
                    "(|base64) or use them as an HMAC key"
                ) from None
        return value

    def value(self, template: str) -> Value:
        """A template's value; one that is a single reference stays bytes when its value
        (after its filters) is bytes: chained HMAC keys, a base64-decoded key."""
        parts = compile_template(template)
        if len(parts) == 1 and type(parts[0]) is TemplateReference:
            return self._filtered_value(parts[0])  # bytes stay bytes
        pieces = []
        for part in parts:
            pieces.append(part if type(part) is str else self._substitute(part))  # type: ignore[arg-type]
        return "".join(pieces)

    def credential(self, name: str) -> str:
        if name not in self._credentials:
            raise SigningError(f"the auth scheme uses the credential {name!r}, which has no value")
        return self._credentials[name]

    def token(self, step: Step) -> str:
        if self._tokens is None:
            raise SigningError(f"a {step.kind} step needs a token, fetched by the client before signing")
        return self._tokens.current(step)

    def _substitute(self, reference: TemplateReference) -> str:
        """A reference inside other text: its value must be text."""
        value = self._filtered_value(reference)
        if isinstance(value, bytes):
            raise SigningError(
                f"{{{reference.name}{''.join('|' + f for f in reference.filters)}}} is raw bytes; "
                "use it alone, e.g. as an HMAC key"
            )
        return value

    def _filtered_value(self, reference: TemplateReference) -> Value:
        value = self._lookup(reference.name)
        if not reference.filters:
            return value
        known = self._filtered.get(reference)
        if known is not None and known[0] is value:
            return known[1]  # the body's hash in a header and in the canonical request
        filtered = value
        for name_of_filter in reference.filters:
            apply_filter = FILTER_FUNCTIONS.get(name_of_filter)
            if apply_filter is None:
                raise SigningError(f"unknown template filter {name_of_filter!r}")
            filtered = apply_filter(filtered)
        self._filtered[reference] = (value, filtered)
        return filtered

    def _lookup(self, name: str) -> Value:
        if name not in self.values:
            raise SigningError(f"the auth scheme uses {{{name}}}, which has no value")
        return self.values[name]
