"""Request signing, interpreted from a provider spec's auth scheme.

A scheme is data (placements, ordered steps, templates); this module is the one generic
interpreter for all of them, so adding a provider with a common pattern (HMAC over a
canonical query, a V3-style canonical request, MD5 of concatenated values, RSA over a
digest) needs no code. Templates are ``{name}`` or ``{name|filter}``; ``{{`` and ``}}`` are
literal braces.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import secrets
import string
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dlr_core.request import PreparedRequest, percent_encode

if TYPE_CHECKING:  # cryptography is the optional dlr-core[rsa] extra
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

Value = str | bytes
# The vocabulary specs are written in. The generator validates specs against these names
# (it imports them), so the spec format and the runtime cannot drift apart.
VARIABLE_PATTERN = r"[a-z][a-z0-9_]*"
FILTER_PATTERN = r"[a-z0-9_]+"
_TEMPLATE = re.compile(rf"\{{\{{|\}}\}}|\{{({VARIABLE_PATTERN})((?:\|{FILTER_PATTERN})*)\}}")
STEP_KINDS = (
    "format",
    "canonical_query",
    "sorted_concat",
    "json_object",
    "canonical_request",
    "hash",
    "hmac",
    "rsa_sign",
)
TIMESTAMP_STYLES = ("unix_seconds", "unix_milliseconds", "iso8601_utc")
_HASHES: dict[str, Callable[..., Any]] = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}
_ALPHANUMERIC = string.ascii_letters + string.digits


class SigningError(Exception):
    """The scheme cannot be applied (a bad key, a missing variable); never shows secrets."""


def timestamp_text(moment: datetime, style: str) -> str:
    if style == "unix_seconds":
        return str(int(moment.timestamp()))
    if style == "unix_milliseconds":
        return str(int(moment.timestamp() * 1000))
    if style == "iso8601_utc":
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise SigningError(f"unknown timestamp style {style!r}")


def new_nonce(spec: Mapping[str, Any]) -> str:
    kind = spec.get("kind", "uuid4")
    if kind == "uuid4":
        return str(uuid.uuid4())
    length = int(spec.get("length", 32))
    if kind == "hex":
        return secrets.token_hex((length + 1) // 2)[:length]
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


class Signer:
    """Signs requests with one auth scheme of a provider spec.

    ``variables`` are the values templates may use besides the request's own: the
    credentials, and ``action`` / ``api_version``.
    """

    def __init__(
        self,
        scheme: Mapping[str, Any],
        variables: Mapping[str, str],
        *,
        clock: Callable[[], datetime],
        nonce: Callable[[], str] | None = None,
    ) -> None:
        self._scheme = scheme
        self._variables = dict(variables)
        self._clock = clock
        self._nonce = nonce

    def __repr__(self) -> str:
        return f"Signer({self._scheme.get('description', '')!r})"

    def sign(self, request: PreparedRequest) -> dict[str, Value]:
        """Add the scheme's values to ``request`` in place; returns every step's result
        (for diagnosis and tests)."""
        moment = self._clock()
        values: dict[str, Value] = dict(self._variables)
        if "timestamp" in self._scheme:
            values["timestamp"] = timestamp_text(moment, self._scheme["timestamp"])
        if "nonce" in self._scheme:
            values["nonce"] = self._nonce() if self._nonce else new_nonce(self._scheme["nonce"])
        values["method"] = request.method
        values["host"] = request.host
        values["path"] = request.full_path
        render = _Renderer(values, moment)
        added = self._scheme.get("add", {})
        for location in ("query", "body"):
            for name, template in added.get(location, {}).items():
                request.place(location, name, render(template))
        values["body"] = request.body().decode("utf-8")
        for name, template in added.get("header", {}).items():
            request.place("header", name, render(template))
        values["path_and_query"] = request.path_and_query
        for step in self._scheme.get("sign", []):
            values[step["as"]] = self._step(step, request, values, render)
        for location in ("query", "header", "body"):
            for name, template in self._scheme.get("attach", {}).get(location, {}).items():
                request.place(location, name, render(template))
        return values

    def _step(
        self,
        step: Mapping[str, Any],
        request: PreparedRequest,
        values: dict[str, Value],
        render: _Renderer,
    ) -> Value:
        if "format" in step:
            return render(step["format"])
        if "canonical_query" in step:
            return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(request.query))
        if "sorted_concat" in step:
            source = step["sorted_concat"]["source"]
            pairs = (request.query if source != "body" else []) + (request.form if source != "query" else [])
            return "".join(f"{k}{v}" for k, v in sorted(pairs))
        if "json_object" in step:
            obj: dict[str, Any] = {}
            for item in step["json_object"]:
                text = render(item["value"])
                obj[item["key"]] = int(text) if item.get("type") == "integer" else text
            return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        if "canonical_request" in step:
            spec = step["canonical_request"]
            text, signed = _canonical_request(request, spec["signed_headers"], render(spec["payload_hash"]))
            values["signed_headers"] = signed
            return text
        if "hash" in step:
            spec = step["hash"]
            digest = _HASHES[spec["algorithm"]](_bytes(render.value(spec["input"]))).digest()
            return _output(digest, spec["output"])
        if "hmac" in step:
            spec = step["hmac"]
            key = _bytes(render.value(spec["key"]))
            digest = hmac.new(key, _bytes(render.value(spec["input"])), _HASHES[spec["algorithm"]]).digest()
            return _output(digest, spec["output"])
        if "rsa_sign" in step:
            spec = step["rsa_sign"]
            return _output(
                _rsa_sign(
                    str(values[spec["key"]]),
                    spec["hash"],
                    _bytes(render.value(spec["input"])),
                ),
                spec["output"],
            )
        raise SigningError(f"unknown sign step: {sorted(step)}")


class _Renderer:
    def __init__(self, values: dict[str, Value], moment: datetime) -> None:
        self._values = values
        self._moment = moment

    def __call__(self, template: str) -> str:
        value = self.value(template)
        return value.decode("utf-8") if isinstance(value, bytes) else value

    def value(self, template: str) -> Value:
        """A template's value; one that is a single bytes-valued reference stays bytes
        (chained HMAC keys)."""
        whole = _TEMPLATE.fullmatch(template)
        if whole and whole.group(1) and not whole.group(2):
            found = self._lookup(whole.group(1))
            if isinstance(found, bytes):
                return found
        return _TEMPLATE.sub(self._substitute, template)

    def _substitute(self, match: re.Match[str]) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        name, filters = match.group(1), [f for f in match.group(2).split("|") if f]
        value = self._lookup(name)
        if isinstance(value, bytes):
            raise SigningError(f"{{{name}}} holds bytes; use it alone, e.g. as an HMAC key")
        for name_of_filter in filters:
            value = self._filter(name_of_filter, name, value)
        return value

    def _lookup(self, name: str) -> Value:
        if name not in self._values:
            raise SigningError(f"the auth scheme uses {{{name}}}, which has no value")
        return self._values[name]

    def _filter(self, name: str, variable: str, value: str) -> str:
        if name == "utc_date":  # the signing moment's date (the only filter of time)
            return self._moment.astimezone(timezone.utc).strftime("%Y-%m-%d")
        text_filter = TEXT_FILTERS.get(name)
        if text_filter is None:
            raise SigningError(f"unknown template filter {name!r}")
        return text_filter(value)


TEXT_FILTERS: dict[str, Callable[[str], str]] = {
    "percent": percent_encode,
    "lower": str.lower,
    "upper": str.upper,
    "sha256_hex": lambda value: hashlib.sha256(value.encode("utf-8")).hexdigest(),
    "base64": lambda value: base64.b64encode(value.encode("utf-8")).decode("ascii"),
}
FILTERS = frozenset(TEXT_FILTERS) | {"utc_date"}


def _canonical_request(
    request: PreparedRequest, signed: Mapping[str, Any], payload_hash: str
) -> tuple[str, str]:
    names = set(signed.get("names", ()))
    prefixes = tuple(signed.get("prefixes", ()))
    headers = {"host": request.host}
    headers.update({k.lower(): v.strip() for k, v in request.headers.items()})
    chosen = sorted(k for k in headers if k in names or k.startswith(prefixes))
    canonical_headers = "".join(f"{k}:{headers[k]}\n" for k in chosen)
    signed_headers = ";".join(chosen)
    canonical_query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(request.query))
    path = quote_path(request.full_path)
    text = "\n".join(
        [
            request.method,
            path,
            canonical_query,
            canonical_headers,
            signed_headers,
            payload_hash,
        ]
    )
    return text, signed_headers


def quote_path(path: str) -> str:
    return percent_encode(path).replace("%2F", "/")


def _bytes(value: Value) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _output(digest: bytes, style: str) -> Value:
    if style == "hex":
        return digest.hex()
    if style == "base64":
        return base64.b64encode(digest).decode("ascii")
    return digest


def _rsa_sign(pem: str, hash_name: str, data: bytes) -> bytes:
    try:
        from cryptography.hazmat.primitives import hashes
    except ImportError:
        raise SigningError(
            "RSA signing needs the cryptography package: pip install 'dlr-core[rsa]'"
        ) from None
    from cryptography.hazmat.primitives.asymmetric import padding

    algorithm = {"md5": hashes.MD5(), "sha1": hashes.SHA1(), "sha256": hashes.SHA256()}[hash_name]
    return _rsa_key(pem).sign(data, padding.PKCS1v15(), algorithm)


@functools.lru_cache(maxsize=16)
def _rsa_key(pem: str) -> "RSAPrivateKey":
    """Loading (and checking) an RSA key costs tens of milliseconds: do it once per key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError("the private key is not a valid unencrypted PEM RSA key") from exc
    if not isinstance(key, RSAPrivateKey):
        raise SigningError("the private key is not an RSA key")
    return key
