"""Credentials: read from the environment, matched to an auth scheme, and scrubbed from
anything shown (reprs, errors, logs) in their plain, JSON-escaped and URL-encoded forms."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Iterable, Mapping
from urllib.parse import quote, quote_plus
from typing import Any
from dlr_core.errors import EXCERPT_LIMIT, CredentialsError
from dlr_core.spec import ApiSpec

_MIN_SCRUBBED_LENGTH = 6
_MIN_SCRUBBED_LINE = 16
_UNESCAPED_RUN = re.compile(r"[A-Za-z0-9+=_-]{%d,}" % _MIN_SCRUBBED_LINE)
_REDACTED = "<redacted>"


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

    def get(self, name: str) -> str | None:
        """One credential's value (None when not given), without copying them all."""
        return self._values.get(name)

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
