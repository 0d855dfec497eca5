"""What the mock checks of a request's auth, for any scheme a spec can express.

The mock signs as the client does (``dlr_core.signing.Signer``, the same step registry)
and compares. What it cannot know in advance are the values the client makes up for each
request: the scheme's ``{nonce}`` and ``{timestamp}``, and the token a stateful step
fetched. ``recover`` reads them back from wherever the scheme placed them: each placed
value is matched against its template, compiled into a regular expression whose
``{variable}`` / ``{variable|filter}`` slots capture (so ``Nonce="{nonce}",
Created="{timestamp}"`` inside one header works as well as a header that is only
``{timestamp}``). A variable placed several times must agree; the mock then re-signs with
what it recovered and compares every placed value, so a value recovered wrongly can only
make a request refused, never accepted.

A slot's pattern is learned from the variable's own generator, not from a table: a few
sample nonces, or timestamps written in the scheme's style (``TIMESTAMP_STYLES``), passed
through the slot's filters (``FILTER_FUNCTIONS``), give its shape (``\\d{4}-\\d{2}...``) or, when
the samples differ in shape, its characters. A new timestamp style or filter therefore
needs nothing here. When that strict pattern does not match, a loose one (any text) is
tried as well.

``TokenIssuer`` is the other half: the OAuth2 client-credentials token endpoint(s) the
scheme's ``oauth2_client_credentials`` steps declare, checking the client credentials as
the flow sends them and issuing tokens that expire.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import secrets
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from dlr_core.signing import (
    FILTER_FUNCTIONS,
    Scheme,
    SigningError,
    TemplateReference,
    TimestampStyle,
    timestamp_moment,
    timestamp_writer,
    compile_template,
    render,
)
from dlr_core.steps import Format, OAuth2ClientCredentials, Step, Value
from dlr_core.tokens import sent_path

Placed = tuple[str, str, str]
"""(location, name, template) of one value a scheme places."""

_SAMPLES = 8
_MAX_CANDIDATES = 4


def placed_values(scheme: Scheme) -> list[Placed]:
    """Every value the scheme places, before signing (``add``) and after (``attach``)."""
    return [
        (location, name, template)
        for part in (scheme.add, scheme.attach)
        for location, values in (part or {}).items()
        for name, template in values.items()
    ]


def generated(scheme: Scheme) -> dict[str, Callable[[], str]]:
    """The variables the client makes up for each request, each with a generator of
    sample values (to learn the pattern of a slot that holds it)."""
    made: dict[str, Callable[[], str]] = {}
    style = scheme.timestamp
    write = None if style is None else timestamp_writer(style)
    if write is not None:
        moments = _sample_moments()
        made["timestamp"] = lambda: write(next(moments))
    nonce = scheme.nonce
    if nonce is not None:
        made["nonce"] = nonce.new
    return made


def _sample_moments() -> Iterator[datetime]:
    """Moments spread over days, months, hours and fractions of a second, near now."""
    now = datetime.now(timezone.utc)
    index = 0
    while True:
        index += 1
        yield now + timedelta(
            days=37 * index, hours=5 * index, seconds=13 * index, microseconds=123457 * index
        )


def token_steps(scheme: Scheme) -> dict[str, Step]:
    """The scheme's stateful steps (a fetched token), by the name their result is bound to."""
    return {bound.name: bound.step for bound in scheme.sign if bound.step.stateful}


def token_path(step: OAuth2ClientCredentials) -> str:
    """The path the mock serves ``step``'s token endpoint at, on its own port: the path of
    its ``token_url`` as a client sends it, whatever host that names."""
    return sent_path(step.token_url)


def mock_token_url(scheme: Scheme, origin: str) -> str | dict[str, str] | None:
    """The ``token_url=`` that makes a client using ``scheme`` fetch its tokens from a mock
    at ``origin`` (``http://127.0.0.1:8080``): one URL when every token step fetches from
    one path, else one per step name; None for a scheme that fetches no token."""
    urls = {
        name: origin.rstrip("/") + token_path(step)
        for name, step in token_steps(scheme).items()
        if isinstance(step, OAuth2ClientCredentials)
    }
    if not urls:
        return None
    distinct = set(urls.values())
    return distinct.pop() if len(distinct) == 1 else urls


# -- slot patterns -----------------------------------------------------------------------


def _runs(text: str) -> list[tuple[str, int]]:
    """``text`` as runs of digits (``d``), ASCII letters (``a``) and single other characters."""
    runs: list[tuple[str, int]] = []
    for char in text:
        kind = (
            "d" if char.isascii() and char.isdigit() else "a" if char.isascii() and char.isalpha() else char
        )
        if runs and kind in ("d", "a") and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + 1)
        else:
            runs.append((kind, 1))
    return runs


_RUN_CLASSES = {"d": r"\d", "a": "[A-Za-z]"}


def learned_pattern(samples: Sequence[str]) -> str:
    """A regular expression every sample matches: their common shape (runs of digits,
    letters and punctuation, with fixed lengths where the samples agree), else the class of
    characters they use."""
    shapes = [_runs(sample) for sample in samples]
    if samples and all([k for k, _ in shape] == [k for k, _ in shapes[0]] for shape in shapes):
        parts = []
        for position, (kind, _) in enumerate(shapes[0]):
            lengths = {shape[position][1] for shape in shapes}
            if kind not in _RUN_CLASSES:
                parts.append(re.escape(kind))
                continue
            quantifier = f"{{{lengths.pop()}}}" if len(lengths) == 1 else "+"
            parts.append(_RUN_CLASSES[kind] + quantifier)
        return "".join(parts)
    chars = set("".join(samples))
    members = []
    if any(c.isdigit() and c.isascii() for c in chars):
        members.append("0-9")
    if any(c.islower() and c.isascii() for c in chars):
        members.append("a-z")
    if any(c.isupper() and c.isascii() for c in chars):
        members.append("A-Z")
    members += [re.escape(c) for c in sorted(chars) if not (c.isascii() and c.isalnum())]
    if not members:
        return ".*?"
    lengths = {len(sample) for sample in samples}
    quantifier = f"{{{lengths.pop()}}}" if len(lengths) == 1 else "+?"
    return f"[{''.join(members)}]{quantifier}"


def _filtered(value: str, filters: tuple[str, ...]) -> str:
    result: Value = value
    for name in filters:  # a placed value is text; a bytes filter inside a chain is encoded later
        result = FILTER_FUNCTIONS[name](result)
    return result if isinstance(result, str) else result.decode("latin-1")


@dataclass
class TemplateMatcher:
    """A template compiled into a regular expression whose slots capture.

    ``known`` variables (credentials, constants) become their literal text; ``patterns``
    gives a learned pattern for a slot ``(name, filters)``; any other slot matches any text.
    """

    template: str
    known: Mapping[str, str]
    patterns: Mapping[tuple[str, tuple[str, ...]], str]
    strict: bool = True

    def __post_init__(self) -> None:
        self.groups: dict[str, tuple[str, tuple[str, ...]]] = {}
        parts = []
        seen: dict[tuple[str, tuple[str, ...]], str] = {}
        for part in compile_template(self.template):
            if isinstance(part, str):
                parts.append(re.escape(part))
                continue
            assert isinstance(part, TemplateReference)
            slot = (part.name, part.filters)
            literal = self._literal(part)
            if literal is not None:
                parts.append(re.escape(literal))
            elif slot in seen:  # the same variable again: the same text
                parts.append(f"(?P={seen[slot]})")
            else:
                group = f"g{len(seen)}"
                seen[slot] = group
                self.groups[group] = slot
                pattern = self.patterns.get(slot, ".*?") if self.strict else ".*?"
                parts.append(f"(?P<{group}>{pattern})")
        self.regex: re.Pattern[str] = re.compile("".join(parts), re.S)

    def _literal(self, reference: TemplateReference) -> str | None:
        if reference.name not in self.known:
            return None
        try:
            return _filtered(self.known[reference.name], reference.filters)
        except (SigningError, ValueError, KeyError):
            return None

    def match(self, value: str) -> dict[tuple[str, tuple[str, ...]], str] | None:
        """The text of each slot in ``value``, or None when it does not fit the template."""
        found = self.regex.fullmatch(value)
        if found is None:
            return None
        return {slot: found.group(group) for group, slot in self.groups.items()}


# Filters a placed value can be read back through, each with its inverse: a value placed as
# ``{step|base64}`` (an Authorization of base64("<id>:{timestamp}")) still gives up the
# variables of the format step inside it.
_INVERSE_FILTERS: dict[str, Callable[[str], str]] = {
    "base64": lambda text: base64.b64decode(text, validate=True).decode("utf-8"),
    "base64url": lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8"),
}


def _format_templates(scheme: Scheme) -> dict[str, str]:
    """The template of each ``format`` sign step, by the name its text is bound to."""
    return {bound.name: bound.step.template for bound in scheme.sign if isinstance(bound.step, Format)}


def _read_through(
    template: str,
    value: str,
    known: Mapping[str, str],
    patterns: Mapping[tuple[str, tuple[str, ...]], str],
    strict: bool,
    formats: Mapping[str, str],
) -> dict[tuple[str, tuple[str, ...]], str] | None:
    """The slots of ``template`` in ``value``; a slot holding a format step's text through
    reversible filters only is decoded and read through that step's template as well (its
    slots are added; a text that does not decode or fit adds nothing)."""
    found = TemplateMatcher(template, known, patterns, strict).match(value)
    if found is None:
        return None
    for (variable, filters), text in list(found.items()):
        inner = formats.get(variable)
        if inner is None or not all(name in _INVERSE_FILTERS for name in filters):
            continue
        try:
            for name in reversed(filters):
                text = _INVERSE_FILTERS[name](text)
        except (ValueError, UnicodeDecodeError):
            continue
        inside = TemplateMatcher(inner, known, patterns, strict).match(text)
        for slot, slot_text in (inside or {}).items():
            found.setdefault(slot, slot_text)
    return found


def recover(
    scheme: Scheme,
    received: Mapping[tuple[str, str], str],
    known: Mapping[str, str],
    wanted: Sequence[str],
) -> list[dict[str, str]]:
    """The values of the ``wanted`` variables that the placed values ``received``
    ((location, name) -> value) hold, read back through the scheme's templates: a list of
    candidate assignments, the strict reading first. A variable found in several places
    must agree; one placed only through a filter is not recovered (filters need not be
    reversible), and is left out of the assignment."""
    samples = {name: [make() for _ in range(_SAMPLES)] for name, make in generated(scheme).items()}
    placed = placed_values(scheme)
    formats = _format_templates(scheme)
    slots = {
        (part.name, part.filters)
        for template in [t for _, _, t in placed] + list(formats.values())
        for part in compile_template(template)
        if isinstance(part, TemplateReference) and part.name in samples
    }
    patterns = {}
    for name, filters in slots:
        try:
            patterns[(name, filters)] = learned_pattern([_filtered(s, filters) for s in samples[name]])
        except (SigningError, ValueError, KeyError):
            continue
    candidates: list[dict[str, str]] = []
    for strict in (True, False):
        assignment: dict[str, str] | None = {}
        for location, name, template in placed:
            if assignment is None:
                break
            value = received.get((location, name))
            if value is None:
                assignment = None
                break
            slots_found = _read_through(template, value, known, patterns, strict, formats)
            if slots_found is None:
                assignment = None
                break
            for (variable, filters), text in slots_found.items():
                if variable not in wanted or filters:
                    continue
                if assignment.setdefault(variable, text) != text:
                    assignment = None  # placed twice, with two values
                    break
        if assignment is not None and assignment not in candidates:
            candidates.append(assignment)
    return candidates[:_MAX_CANDIDATES]


def without_generators(scheme: Scheme, given: Mapping[str, str]) -> Scheme:
    """The scheme with the timestamp and nonce given as variables instead of made up: the
    client's own text is signed again, exactly, in whatever style it is written."""
    return dataclasses.replace(
        scheme,
        timestamp=None if "timestamp" in given else scheme.timestamp,
        nonce=None if "nonce" in given else scheme.nonce,
    )


def moment_of(text: str, style: TimestampStyle, near: datetime, window: float) -> datetime | None:
    """The moment a timestamp's text (written in ``style``) stands for, or None when the
    mock cannot tell. The style's own reader is tried first; otherwise this works from the
    style's writer alone: a numeric style is read as a
    linear count (seconds, milliseconds, ...); any other is parsed as ISO 8601 or an HTTP
    date when it can be, and otherwise searched for, second by second, within ``window``
    seconds of ``near``."""
    write = timestamp_writer(style)
    if write is None:
        return None
    try:
        # The style's own reader first, where it has one: a digits-only date pattern
        # (yyyyMMddHHmmss) is not a linear count.
        moment = timestamp_moment(text, style)
        if moment is not None and write(moment) == text:
            return moment
        if text.isdigit() and write(near).isdigit():
            base = int(write(near))
            unit = (int(write(near + timedelta(seconds=1000))) - base) / 1000
            if unit > 0:
                return near + timedelta(seconds=(int(text) - base) / unit)
            return None
        start = near.replace(microsecond=0)
        for offset in range(int(window) + 1):
            for moment in (start - timedelta(seconds=offset), start + timedelta(seconds=offset)):
                if write(moment) == text:
                    return moment
    except (OverflowError, OSError, ValueError):
        return None
    return None


# -- OAuth2 client credentials -----------------------------------------------------------


DEFAULT_TOKEN_LIFETIME = 3600
"""Seconds a token the mock issues is valid (its ``expires_in``)."""
_KEPT_TOKENS = 256


@dataclass
class _Issued:
    step: OAuth2ClientCredentials
    expires: datetime


class TokenIssuer:
    """The token endpoints of a provider's OAuth2 client-credentials steps, served by the
    mock: ``answer`` checks a token request, ``valid`` whether a bearer token is one it
    issued, for that step, not expired nor revoked."""

    def __init__(
        self,
        schemes: Sequence[Scheme],
        variables: Mapping[str, str],
        *,
        lifetime: int = DEFAULT_TOKEN_LIFETIME,
        clock: Callable[[], datetime],
    ) -> None:
        self._variables = dict(variables)
        self._lifetime = lifetime
        self._clock = clock
        self._issued: dict[str, _Issued] = {}
        self._lock = threading.Lock()
        self.endpoints: dict[str, list[OAuth2ClientCredentials]] = {}
        """Token endpoint path -> the steps fetching from it."""
        for scheme in schemes:
            for step in token_steps(scheme).values():
                if isinstance(step, OAuth2ClientCredentials):
                    self.endpoints.setdefault(token_path(step), []).append(step)

    def __repr__(self) -> str:
        return f"TokenIssuer(endpoints={sorted(self.endpoints)}, issued={len(self._issued)})"

    def answer(
        self, method: str, path: str, headers: Mapping[str, str], form: Sequence[tuple[str, str]]
    ) -> tuple[int, dict[str, Any]]:
        """The token endpoint's answer (RFC 6749 sections 4.4 and 5): a token for client
        credentials sent as the step sends them, else the OAuth2 error."""
        if method != "POST":
            return 405, {"error": "invalid_request", "error_description": "the token endpoint takes POST"}
        fields: dict[str, str] = {}
        for name, value in form:
            if name in fields:
                return 400, {"error": "invalid_request", "error_description": f"{name} given twice"}
            fields[name] = value
        if fields.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        for step in self.endpoints.get(path, []):
            if not self._client_matches(step, headers, fields):
                continue
            if step.scope is not None and fields.get("scope") != step.scope:
                return 400, {"error": "invalid_scope"}
            token = secrets.token_urlsafe(24)
            with self._lock:
                now = self._clock()
                self._issued = {t: i for t, i in self._issued.items() if i.expires > now}
                if len(self._issued) >= _KEPT_TOKENS:
                    self._issued.pop(next(iter(self._issued)))
                self._issued[token] = _Issued(step, now + timedelta(seconds=self._lifetime))
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self._lifetime}
        return 401, {"error": "invalid_client"}

    def _client_matches(
        self, step: OAuth2ClientCredentials, headers: Mapping[str, str], fields: Mapping[str, str]
    ) -> bool:
        moment = self._clock()
        try:
            client_id = render(step.client_id, self._variables, moment)
            client_secret = render(step.client_secret, self._variables, moment)
        except SigningError:
            return False
        if step.client_auth == "form":
            return fields.get("client_id") == client_id and fields.get("client_secret") == client_secret
        scheme_name, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme_name.lower() != "basic" or "client_secret" in fields:
            return False
        try:
            pair = base64.b64decode(encoded, validate=True).decode("utf-8")
        except ValueError:
            return False
        given_id, colon, given_secret = pair.partition(":")
        return (
            bool(colon)  # RFC 6749 2.3.1: each form-urlencoded before Basic
            and urllib.parse.unquote_plus(given_id) == client_id
            and urllib.parse.unquote_plus(given_secret) == client_secret
        )

    def valid(self, step: Step, token: str) -> bool:
        with self._lock:
            issued = self._issued.get(token)
            return issued is not None and issued.step == step and issued.expires > self._clock()

    def live(self, step: Step) -> list[str]:
        """The tokens of ``step`` still valid, newest first."""
        with self._lock:
            now = self._clock()
            return [t for t, i in reversed(self._issued.items()) if i.step == step and i.expires > now]

    def revoke(self) -> None:
        """Every token issued so far is refused from now on (a scenario's ``revoke_tokens``)."""
        with self._lock:
            self._issued.clear()


class GivenTokens:
    """The tokens a request carried, for re-signing it (``Signer(tokens=...)``)."""

    def __init__(self, tokens: Mapping[int, str]) -> None:
        self._tokens = dict(tokens)

    def __repr__(self) -> str:
        return "GivenTokens(<redacted>)"

    def current(self, step: Step) -> str:
        token = self._tokens.get(id(step))
        if token is None:
            raise SigningError(f"no {step.kind} token in the request")
        return token
