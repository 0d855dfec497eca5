"""Sign steps: each kind is one small class, registered once, here.

A step is a frozen dataclass whose fields are its keys in a spec (their types, allowed
values and defaults are the annotations; their meaning is ``field(metadata={"doc": ...})``)
and whose ``apply`` computes its result. ``STEPS`` (kind -> class) is the single source of:

- the runtime's reading of a scheme (``steps_data.build_step``: unknown, missing and mistyped keys
  are errors, so no key is accepted and then ignored);
- the generator's validation of a spec's steps (it calls ``steps_data.build_step`` and reports the
  problems at the spec's ``file:line``);
- the JSON Schema's ``sign_step`` definition and the step table of docs/spec-format.md
  (``dlr_core.steps_schema``: ``sign_step_schema`` and ``docs_table``).

Adding a kind is one class here plus ``@register``, its test and its docs row (which the
tests compare with ``steps_schema.docs_table``).

A step's keys are typed by role: ``Template`` text is rendered with the signing
variables (``{name|filter}``), ``Credential`` names a credential, any other ``str`` is
literal text.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol

from dlr_core.request import PreparedRequest, encode_query, percent_encode

if TYPE_CHECKING:  # cryptography is the optional dlr-core[rsa] extra
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

Value = str | bytes


class _Role:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


Template = Annotated[str, _Role("template")]
"""Text with ``{variable}`` / ``{variable|filter}`` references, rendered at signing time."""
Credential = Annotated[str, _Role("credential")]
"""The name of one of the spec's credentials."""
Json = Mapping[str, Any]
Path = tuple[str | int, ...]

HASHES: dict[str, Callable[..., Any]] = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}
Output = Literal["hex", "base64", "base64url", "base64url_padded", "raw"]


class SigningError(Exception):
    """The scheme cannot be applied (a bad key, a missing variable); never shows secrets."""


class Run(Protocol):
    """What a step sees while a request is signed (``dlr_core.signing`` provides it)."""

    request: PreparedRequest
    values: dict[str, Value]
    moment: datetime

    def text(self, template: str) -> str:
        """A template's text."""

    def value(self, template: str) -> Value:
        """A template's value: bytes when it is a single reference to bytes (chained keys)."""

    def credential(self, name: str) -> str:
        """A credential's value."""

    def token(self, step: Step) -> str:
        """The current token of a stateful step (fetched before signing)."""


class Step:
    """Base of every sign step kind. Subclasses are frozen dataclasses."""

    kind: ClassVar[str]
    result: ClassVar[str]
    """What the step's result is (one sentence, for the docs)."""
    body: ClassVar[str | None] = None
    """The one field a bare value stands for (``format: "<template>"``), if any."""
    binds: ClassVar[tuple[str, ...]] = ()
    """Variables the step binds besides its ``as`` name."""
    stateful: ClassVar[bool] = False
    """Whether the step holds state across requests (a fetched token)."""
    bytes_fields: ClassVar[frozenset[str]] = frozenset()
    """Template fields read as bytes (keys, digests' inputs): a reference standing alone there
    may be raw bytes (``{signing_key}``, ``{access_key|base64_decode}``); elsewhere it is text."""
    needs_rsa: ClassVar[bool] = False
    reads: ClassVar[frozenset[str] | None] = None
    """The parts of the request ``apply`` reads besides its templates' variables (``method``,
    ``host``, ``path``, ``query``, ``headers``, ``form``, ``body``); None: it may read any
    (a push checked against several URLs then runs it again for each)."""

    def apply(self, run: Run) -> Value:
        raise NotImplementedError

    def uses_rsa(self) -> bool:
        """Whether this step needs ``cryptography`` (the dlr-core[rsa] extra)."""
        return self.needs_rsa


STEPS: dict[str, type[Step]] = {}


def register(cls: type[Step]) -> type[Step]:
    """Add a step kind to the registry (its ``kind`` is its key in a spec)."""
    if cls.kind in STEPS:
        raise ValueError(f"sign step {cls.kind!r} is registered twice")
    STEPS[cls.kind] = cls
    return cls


def doc(text: str, **schema: Any) -> Any:
    """A step key's meaning (and extra JSON Schema keywords), as dataclass field metadata."""
    return {"doc": text, "schema": schema}


def output(digest: bytes, style: str) -> Value:
    if style == "hex":
        return digest.hex()
    if style == "base64":
        return base64.b64encode(digest).decode("ascii")
    if style == "base64url":
        return base64url(digest)
    if (
        style == "base64url_padded"
    ):  # RFC 4648 section 5 with its "=": as some SDKs' urlsafe_base64_encode keeps it
        return base64.urlsafe_b64encode(digest).decode("ascii")
    if style == "raw":
        return digest
    raise SigningError(f"unknown output {style!r}")


def hmac_digest(key: bytes, message: bytes, algorithm: str) -> bytes:
    """HMAC of ``message`` with ``key``: ``hmac.new(key, message, HASHES[algorithm])``'s
    digest. Setting up an HMAC costs more than copying one already keyed (a push's check
    computes two), so the standard library's HMAC is keyed once per key (``_keyed``) and
    copied for each message."""
    keyed = _keyed(key, algorithm).copy()
    keyed.update(message)
    return keyed.digest()


@functools.lru_cache(maxsize=64)  # a client's or a callback's few keys; derived keys pass through
def _keyed(key: bytes, algorithm: str) -> hmac.HMAC:
    """``hmac.new(key, digestmod=...)``, never updated: ``hmac_digest`` copies it."""
    return hmac.new(key, digestmod=HASHES[algorithm])


def base64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def as_bytes(value: Value) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


# -- the step kinds --------------------------------------------------------------------


@register
@dataclass(frozen=True)
class Format(Step):
    kind = "format"
    reads = frozenset()
    result = "The template's text."
    body = "template"
    template: Template = field(metadata=doc("The text, with `{variable}` references."))

    def apply(self, run: Run) -> Value:
        return run.text(self.template)


QUERY_ENCODINGS: dict[str, Callable[[str], str]] = {"rfc3986": percent_encode}


@register
@dataclass(frozen=True)
class CanonicalQuery(Step):
    kind = "canonical_query"
    reads = frozenset({"query"})
    result = "The query parameters sorted by name, each name and value percent-encoded, joined `a=1&b=2`."
    encoding: Literal["rfc3986"] = field(
        default="rfc3986",
        metadata=doc("`rfc3986`: only `A-Z a-z 0-9 - _ . ~` kept (space `%20`, `*` `%2A`)."),
    )

    def apply(self, run: Run) -> Value:
        if self.encoding == "rfc3986":
            return encode_query(sorted(run.request.query))
        encode = QUERY_ENCODINGS[self.encoding]
        return "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(run.request.query))


@register
@dataclass(frozen=True)
class SortedConcat(Step):
    kind = "sorted_concat"
    reads = frozenset({"query", "form"})
    result = (
        "Parameters sorted by name (byte order), concatenated as name+value with no escaping and, "
        "unless the separators below are given, no separators."
    )
    source: Literal["query", "body", "query_and_body"] = field(metadata=doc("Which parameters."))
    repeated: Literal["sorted", "unique", "as_sent"] = field(
        default="sorted",
        metadata=doc(
            "A name given several times: each value, the values sorted (`sorted`); each distinct "
            "value once, sorted (`unique`); each value in the order sent (`as_sent`)."
        ),
    )
    # Many providers sign the sorted parameters written like a query string but unescaped
    # ("a=1&b=2"), others with no separators at all: both are this step.
    name_value_separator: str | None = field(
        default=None, metadata=doc("Text between a name and its value (`=` writes `a=1`); none by default.")
    )
    pair_separator: str | None = field(
        default=None,
        metadata=doc("Text between one name+value and the next (`&` writes `a=1&b=2`); none by default."),
    )

    def apply(self, run: Run) -> Value:
        request = run.request
        pairs = (request.query if self.source != "body" else []) + (
            request.form if self.source != "query" else []
        )
        if self.repeated == "as_sent":
            ordered = sorted(pairs, key=lambda pair: pair[0])  # stable: values stay as sent
        else:
            ordered = sorted(set(pairs) if self.repeated == "unique" else pairs)
        between = self.name_value_separator or ""
        return (self.pair_separator or "").join(f"{k}{between}{v}" for k, v in ordered)


@dataclass(frozen=True)
class JsonField:
    key: str = field(metadata=doc("The member's name."))
    value: Template = field(metadata=doc("Template of its value."))
    type: Literal["string", "integer"] = field(
        default="string", metadata=doc("`integer` writes the value as a JSON number.")
    )

    def json_value(self, run: Run) -> str | int:
        text = run.text(self.value)
        if self.type == "integer":
            try:
                return int(text)
            except ValueError:
                raise SigningError(f"{self.key!r} is not an integer") from None
        return text


def _json_members(members: tuple[JsonField, ...], run: Run) -> dict[str, Any]:
    return {member.key: member.json_value(run) for member in members}


def _compact_json(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@register
@dataclass(frozen=True)
class JsonObject(Step):
    kind = "json_object"
    reads = frozenset()
    result = "A compact JSON object with the members in the order given."
    body = "members"
    members: tuple[JsonField, ...] = field(metadata=doc("`[{key, value, type}]`.", minItems=1))

    def apply(self, run: Run) -> Value:
        return _compact_json(_json_members(self.members, run))


@register
@dataclass(frozen=True)
class JsonFieldLines(Step):
    kind = "json_field_lines"
    reads = frozenset({"form", "body"})
    result = (
        "For each listed member of the JSON object body (or field of a form body) that is present "
        "(and not null), in the "
        "order listed: its name, a line feed, its text, a line feed (a notification service's string to sign)."
    )
    body = "fields"
    fields: tuple[str, ...] = field(metadata=doc("The members' names, in order.", minItems=1))

    def apply(self, run: Run) -> Value:
        request = run.request
        if request.form:  # a form body: its fields are the members (the first of a repeated name)
            data: dict[str, Any] = {}
            for name, value in request.form:
                data.setdefault(name, value)
        else:
            try:
                data = json.loads(request.body() or b"{}")  # no body: no members
            except (ValueError, RecursionError):
                raise SigningError("the body is neither JSON nor a form") from None
        if not isinstance(data, dict):
            raise SigningError("the body is not a JSON object")
        present = [(name, data[name]) for name in self.fields if data.get(name) is not None]
        if not all(isinstance(value, str) for _, value in present):  # a number has no one text form
            raise SigningError("a member signed is not text")
        return "".join(f"{name}\n{value}\n" for name, value in present)


@dataclass(frozen=True)
class SignedHeaders:
    names: tuple[str, ...] = field(
        default=(),
        metadata=doc("Header names to sign (lower case), e.g. `host`.", items_pattern="^[a-z0-9-]+$"),
    )
    prefixes: tuple[str, ...] = field(
        default=(),
        metadata=doc(
            "Sign every header starting with one of these, e.g. `x-acs-`.", items_pattern="^[a-z0-9-]+$"
        ),
    )


@register
@dataclass(frozen=True)
class CanonicalRequest(Step):
    kind = "canonical_request"
    reads = frozenset({"method", "host", "path", "query", "headers"})
    result = (
        "The V3-family (SigV4-style) canonical request: method, path, canonical query, lower-cased sorted "
        "signed headers, signed-header list, payload hash; also binds `{signed_headers}`."
    )
    binds = ("signed_headers",)
    signed_headers: SignedHeaders = field(metadata=doc("`{names, prefixes}`: the headers signed."))
    payload_hash: Template = field(metadata=doc("Template of the body's hash, e.g. `{body|sha256_hex}`."))

    def apply(self, run: Run) -> Value:
        request = run.request
        headers, chosen = _signed_headers(self.signed_headers, request)
        signed = ";".join(chosen)
        run.values["signed_headers"] = signed
        query = encode_query(sorted(request.query))
        return "\n".join(
            [
                request.method,
                quote_path(request.full_path),
                query,
                "".join(f"{k}:{headers[k]}\n" for k in chosen),
                signed,
                run.text(self.payload_hash),
            ]
        )


def _signed_headers(wanted: SignedHeaders, request: PreparedRequest) -> tuple[dict[str, str], list[str]]:
    """Headers by lower-case name (host too), trimmed; the sorted names ``wanted`` signs."""
    headers = {"host": request.host, **{k.lower(): v.strip() for k, v in request.headers.items()}}
    return headers, sorted(k for k in headers if k in wanted.names or k.startswith(wanted.prefixes))


@register
@dataclass(frozen=True)
class CanonicalHeaders(Step):
    kind = "canonical_headers"
    reads = frozenset({"host", "headers"})
    result = (
        "Signed headers as `name:value` lines (name lower-cased, value trimmed and encoded) sorted as "
        "written, not by name, joined by newlines, none after the last; binds `{signed_headers}` (names "
        "sorted, `;`-joined). For canonical requests not laid out like SigV4's, written with `format`."
    )
    binds = ("signed_headers",)
    signed_headers: SignedHeaders = field(metadata=doc("`{names, prefixes}`: the headers signed."))
    values: Literal["trimmed", "rfc3986"] = field(
        default="trimmed",
        metadata=doc(
            "How each value is written: `trimmed` as sent without surrounding spaces; `rfc3986` "
            "trimmed, then percent-encoded (only `A-Z a-z 0-9 - _ . ~` kept: `:` is `%3A`, `/` `%2F`)."
        ),
    )

    def apply(self, run: Run) -> Value:
        headers, chosen = _signed_headers(self.signed_headers, run.request)
        run.values["signed_headers"] = ";".join(chosen)
        encode: Callable[[str], str] = percent_encode if self.values == "rfc3986" else str
        return "\n".join(sorted(f"{name}:{encode(headers[name])}" for name in chosen))


def quote_path(path: str) -> str:
    return percent_encode(path).replace("%2F", "/")


@register
@dataclass(frozen=True)
class Hash(Step):
    kind = "hash"
    reads = frozenset()
    bytes_fields = frozenset({"input"})
    result = "A digest of the input."
    algorithm: Literal["md5", "sha1", "sha256", "sha512"] = field(metadata=doc("The hash."))
    input: Template = field(metadata=doc("Template of the bytes to digest (UTF-8)."))
    output: Output = field(
        metadata=doc("`hex`, `base64`, `base64url` (unpadded), `base64url_padded` (with `=`) or `raw` bytes.")
    )
    empty_input: Literal["digest", "empty"] = field(
        default="digest",
        metadata=doc(
            "An empty input: `digest` it like any other, or give `empty` text (a Content-MD5 "
            "line some providers leave blank for a request without a body)."
        ),
    )

    def apply(self, run: Run) -> Value:
        data = as_bytes(run.value(self.input))
        if self.empty_input == "empty" and not data:
            # The provider signs nothing in the digest's place, not the digest of nothing.
            return b"" if self.output == "raw" else ""
        return output(HASHES[self.algorithm](data).digest(), self.output)


@register
@dataclass(frozen=True)
class Hmac(Step):
    kind = "hmac"
    reads = frozenset()
    bytes_fields = frozenset({"key", "input"})
    result = "An HMAC of the input."
    algorithm: Literal["sha1", "sha256", "sha512"] = field(metadata=doc("The hash."))
    key: Template = field(metadata=doc("Template of the key (a single reference to raw bytes stays bytes)."))
    input: Template = field(metadata=doc("Template of the message (UTF-8)."))
    output: Output = field(
        metadata=doc("`hex`, `base64`, `base64url` (unpadded), `base64url_padded` (with `=`) or `raw` bytes.")
    )

    def apply(self, run: Run) -> Value:
        key = as_bytes(run.value(self.key))
        digest = hmac_digest(key, as_bytes(run.value(self.input)), self.algorithm)
        return output(digest, self.output)


@register
@dataclass(frozen=True)
class HmacChain(Step):
    kind = "hmac_chain"
    reads = frozenset()
    bytes_fields = frozenset({"key", "inputs"})
    result = (
        "A derived key: the HMAC of the first input keyed by `key`, then of each next input keyed by "
        "the previous result (SigV4's prefixed secret -> date -> region -> service -> scope terminator)."
    )
    algorithm: Literal["sha1", "sha256", "sha512"] = field(metadata=doc("The hash."))
    key: Template = field(metadata=doc("Template of the first key."))
    inputs: tuple[Template, ...] = field(metadata=doc("Templates of the messages, in order.", minItems=1))
    output: Output = field(
        metadata=doc("`hex`, `base64`, `base64url` (unpadded), `base64url_padded` (with `=`) or `raw` bytes.")
    )

    def apply(self, run: Run) -> Value:
        key = as_bytes(run.value(self.key))
        for message in self.inputs:
            key = hmac_digest(key, as_bytes(run.value(message)), self.algorithm)
        return output(key, self.output)


@register
@dataclass(frozen=True)
class RsaSign(Step):
    kind = "rsa_sign"
    reads = frozenset()
    bytes_fields = frozenset({"input"})
    result = "An RSA signature of the input."
    needs_rsa = True
    hash: Literal["md5", "sha1", "sha256"] = field(metadata=doc("The digest signed."))
    key: Credential = field(metadata=doc("The credential holding the PEM private key."))
    input: Template = field(metadata=doc("Template of the bytes to sign (UTF-8)."))
    output: Output = field(
        metadata=doc("`hex`, `base64`, `base64url` (unpadded), `base64url_padded` (with `=`) or `raw` bytes.")
    )
    padding: Literal["pkcs1v15"] = field(default="pkcs1v15", metadata=doc("`pkcs1v15` (PKCS#1 v1.5)."))

    def apply(self, run: Run) -> Value:
        signature = rsa_sign(
            run.credential(self.key), self.hash, as_bytes(run.value(self.input)), self.padding
        )
        return output(signature, self.output)


@register
@dataclass(frozen=True)
class Jwt(Step):
    kind = "jwt"
    reads = frozenset()
    bytes_fields = frozenset({"key"})
    result = (
        "A compact JWT (RFC 7519): base64url of the header `{alg, typ: JWT, ...}` and of the claims, "
        "each compact JSON, signed with HS256 or RS256 (RFC 7515)."
    )
    algorithm: Literal["HS256", "RS256"] = field(
        metadata=doc("HMAC-SHA256, or RSA PKCS#1 v1.5 with SHA-256.")
    )
    key: Template = field(metadata=doc("Template of the HMAC secret, or of the PEM private key for RS256."))
    claims: tuple[JsonField, ...] = field(
        default=(), metadata=doc("`[{key, value, type}]`: the claims besides `iat` and `exp`.")
    )
    header: tuple[JsonField, ...] = field(
        default=(),
        metadata=doc("`[{key, value, type}]`: header members besides `alg` and `typ` (e.g. `kid`)."),
    )
    issued_at: bool = field(default=True, metadata=doc("Add `iat`, the signing moment in Unix seconds."))
    expires_in: int | None = field(
        default=None, metadata=doc("Add `exp`, this many seconds after the signing moment.", minimum=1)
    )

    def uses_rsa(self) -> bool:
        return self.algorithm == "RS256"

    def apply(self, run: Run) -> Value:
        header = {"alg": self.algorithm, "typ": "JWT", **_json_members(self.header, run)}
        claims = _json_members(self.claims, run)
        now = int(run.moment.timestamp())
        if self.issued_at:
            claims["iat"] = now
        if self.expires_in is not None:
            claims["exp"] = now + self.expires_in
        signing_input = (
            f"{base64url(_compact_json(header).encode())}.{base64url(_compact_json(claims).encode())}"
        )
        signature = jws_signature(
            self.algorithm, as_bytes(run.value(self.key)), signing_input.encode("ascii")
        )
        return f"{signing_input}.{base64url(signature)}"


def jws_signature(algorithm: str, key: bytes, signing_input: bytes) -> bytes:
    """The JWS signature (RFC 7515/7518) of ``signing_input``: HS256 or RS256."""
    if algorithm == "HS256":
        return hmac_digest(key, signing_input, "sha256")
    if algorithm == "RS256":
        return rsa_sign(key.decode("utf-8"), "sha256", signing_input, "pkcs1v15")
    raise SigningError(f"unknown JWT algorithm {algorithm!r}")


@register
@dataclass(frozen=True)
class OAuth2ClientCredentials(Step):
    kind = "oauth2_client_credentials"
    result = (
        "An OAuth2 access token (RFC 6749 section 4.4), fetched with the client credentials grant, "
        "cached and fetched again shortly before it expires."
    )
    stateful = True
    token_url: str = field(
        metadata=doc(
            "The token endpoint: an `https://` URL, or a path on the client's own server.",
            pattern="^(https://[^/?#]+(/[^?#]*)?|/[^?#]*)$",
        )
    )
    client_id: Template = field(metadata=doc("Template of the client id."))
    client_secret: Template = field(metadata=doc("Template of the client secret."))
    client_auth: Literal["basic", "form"] = field(
        default="basic",
        metadata=doc("How the client authenticates: HTTP `basic` (the default), or `form` fields."),
    )
    scope: str | None = field(default=None, metadata=doc("The scope asked for, if any.", minLength=1))
    refresh_margin: int = field(
        default=60, metadata=doc("Seconds before expiry when the token is fetched again.", minimum=0)
    )

    def apply(self, run: Run) -> Value:
        return run.token(self)


# -- RSA (the optional dlr-core[rsa] extra) ----------------------------------------------


def rsa_sign(pem: str, hash_name: str, data: bytes, padding_name: str) -> bytes:
    try:
        from cryptography.hazmat.primitives import hashes
    except ImportError:
        raise SigningError(
            "RSA signing needs the cryptography package: pip install 'dlr-core[rsa]'"
        ) from None
    from cryptography.hazmat.primitives.asymmetric import padding

    paddings = {"pkcs1v15": padding.PKCS1v15}
    algorithm = {"md5": hashes.MD5(), "sha1": hashes.SHA1(), "sha256": hashes.SHA256()}[hash_name]
    return _rsa_key(pem).sign(data, paddings[padding_name](), algorithm)


@functools.lru_cache(maxsize=16)
def _rsa_key(pem: str) -> RSAPrivateKey:
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
