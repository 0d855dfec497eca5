"""Pushed delivery reports (status callbacks, DLR webhooks): verified, read, served.

A provider spec's ``callbacks`` section says how a push arrives (method, form or JSON, one
report or a JSON array of them), how it is authenticated and what the provider expects as
an answer. Generated packages carry each callback as data (``Callback.from_data``), as
they carry auth schemes, and this module interprets it:

- ``Callback.payloads`` checks a push (size, method, authentication) and returns its
  payload objects, raising ``CallbackSignatureError``, ``StaleCallback`` or
  ``MalformedCallback``;
- verification runs the same sign steps as requests (``dlr_core.steps``) over the pushed
  request, then compares the result with the signature sent, in constant time
  (``compare``), or checks a public-key signature (``public_key``: Ed25519, RSA);
  a scheme that signs a time has a ``timestamp`` with a tolerance;
- a verification the spec format cannot express is supplied in code: the spec says
  ``verify: {in_code: <what the provider does>}`` and the parser takes a ``verifier``
  (``CallbackVerifier``), called with the push before anything is read;
- ``with_keys`` gives receipts a stable ``idempotency_key``, so a repeated push is
  recognised;
- ``CallbackApp`` is a framework-neutral ASGI app routing ``/callbacks/<name>`` to the
  right parser, answering each provider as it expects and handing receipts to a function.

``Callback.sign`` signs a push as the provider would (for the mock and for tests of an
endpoint). Public-key schemes need ``cryptography`` (``pip install 'dlr-core[crypto]'``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import inspect
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import parse_qsl, urlsplit

import anyio
from pydantic import BaseModel, ValidationError

from dlr_core.wire.read import MAX_JSON_DEPTH, nested_deeper
from dlr_core.errors import (
    CallbackError,
    CallbackSignatureError,
    MalformedCallback,
    StaleCallback,
)
from dlr_core.receipt import Receipt
from dlr_core.request import PreparedRequest
from dlr_core.signing import Bound, SigningError, _Run, bind_steps, timestamp_text
from dlr_core.steps import Value

__all__ = [
    "MAX_CALLBACK_BYTES",
    "MAX_FORM_FIELDS",
    "Answer",
    "Callback",
    "CallbackApp",
    "CallbackVerifier",
    "Compare",
    "Endpoint",
    "PublicKey",
    "SignedTime",
    "Verification",
    "idempotency_key",
    "parse",
    "with_keys",
]

MAX_CALLBACK_BYTES = 1024 * 1024
"""The largest push read (1 MiB) unless a parser is told otherwise: a larger body is a
``MalformedCallback`` (HTTP 413 from ``CallbackApp``), read no further."""

MAX_FORM_FIELDS = 1000
"""The most fields a form push (or a GET push's query) may have: one with more is a
``MalformedCallback``, refused before its signature is computed."""

Clock = Callable[[], datetime]
Model = TypeVar("Model", bound=BaseModel)

PUBLIC_KEY_ALGORITHMS = ("ed25519", "rsa_pkcs1v15_sha256")
KEY_FORMATS = ("pem", "base64")
SIGNATURE_ENCODINGS = ("base64", "hex")
SIGNED_TIME_STYLES = ("unix_seconds", "unix_milliseconds", "iso8601_utc")


_log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CallbackVerifier(Protocol):
    """The escape hatch for pushes: verifies a push in code, for a check a spec cannot
    express (its spec says ``verify: {in_code: <what the provider does>}``).

    Called with the push as received, before anything of it is read: its ``method``, the
    ``url`` exactly as configured with the provider, its ``headers`` (names lowercased) and
    raw ``body``. It returns ``None`` when the push verifies and raises
    ``dlr_core.CallbackSignatureError`` (or ``StaleCallback``) when it does not; any other
    return value (``False`` too) is a ``TypeError``, never an accepted push. A plain
    function fits.
    """

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> None: ...


@dataclass(frozen=True)
class SignedTime:
    """The time a provider signs, sent in a header; pushes outside ``tolerance`` seconds of
    the receiver's clock are refused (``StaleCallback``): a captured push cannot be
    replayed later. ``{timestamp}`` is the header's text, as sent."""

    header: str
    style: str
    tolerance: float

    def moment(self, text: str) -> datetime:
        try:
            if self.style == "unix_seconds":
                return datetime.fromtimestamp(int(text), timezone.utc)
            if self.style == "unix_milliseconds":
                return datetime.fromtimestamp(int(text) / 1000, timezone.utc)
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"the {self.header} header is not a {self.style} time") from None


@dataclass(frozen=True)
class Compare:
    """The header holding the signature, and the template of its expected value (usually
    a step's result, ``{signature}``): compared in constant time."""

    header: str
    value: str
    separator: str | None = None
    """The header may list several signatures (one per active key) separated by this: a
    push verifies when any of them matches."""
    also: tuple[str, ...] = ()
    """Templates of other forms the provider may sign a push with (its SDK accepts each):
    a push verifies when the header matches any form. ``sign`` uses ``value``."""


@dataclass(frozen=True)
class PublicKey:
    """A signature made with the provider's private key: ``input``'s UTF-8 bytes, signed
    with ``algorithm``, sent ``encoding``-encoded in ``header``, checked with the public
    key held by the credential ``key`` (``pem``, or ``base64`` of the raw Ed25519 key)."""

    algorithm: str
    key: str
    header: str
    input: str
    key_format: str = "pem"
    encoding: str = "base64"


@dataclass(frozen=True)
class Verification:
    """How a push proves it comes from the provider."""

    sign: tuple[Bound, ...] = ()
    timestamp: SignedTime | None = None
    compare: Compare | None = None
    public_key: PublicKey | None = None
    either_port: bool = False
    """The provider may sign the URL with or without its port: a push verifies with the URL
    without its port or with it (the scheme's default when it has none), as twilio-python's
    ``RequestValidator.validate`` does."""
    headers: tuple[tuple[str, str], ...] = ()
    """Request headers the signed text uses, as ``(variable, header)``: ``{variable}`` is the
    header's text as sent (a nonce). A push without one of them is refused; ``sign`` sends
    a fresh random value in each."""


@dataclass(frozen=True)
class Answer:
    """What the provider expects back."""

    status: int = 200
    content_type: str = "text/plain; charset=utf-8"
    body: str = ""

    def encoded(self) -> bytes:
        return self.body.encode("utf-8")


@dataclass(frozen=True)
class Callback:
    """One kind of push of a provider, as its spec describes it."""

    provider: str
    name: str
    method: str = "POST"
    format: Literal["form", "json"] = "json"
    array: bool = False
    """The body is a JSON array of payloads (several reports in one push)."""
    verify: Verification | None = None
    answer: Answer = field(default_factory=Answer)
    reject: Answer = field(default_factory=lambda: Answer(403, body="forbidden"))
    """The answer to a push that fails verification."""
    unsigned: str | None = None
    """Why a push with no ``verify`` is accepted unverified (the provider signs nothing), as
    its spec states it; ``None`` when it is verified, or for a callback made without a spec."""
    in_code: str | None = None
    """What the provider does to sign its pushes, as its spec states it, when the check is
    supplied in code: every push is then given to a ``CallbackVerifier`` (required)."""

    @classmethod
    def from_data(cls, provider: str, name: str, data: Mapping[str, Any]) -> Callback:
        """A callback as a spec (and a generated ``callbacks.py``) writes it; ``SigningError``
        for anything it would not use."""
        unknown = set(data) - {"method", "format", "array", "verify", "answer", "reject"}
        if unknown:
            raise SigningError(f"unknown callback keys: {', '.join(sorted(unknown))}")
        if data.get("format", "json") not in ("form", "json"):
            raise SigningError(f"unknown callback format {data.get('format')!r}")
        if data.get("array") and data.get("format", "json") != "json":
            raise SigningError("only a JSON body can be a list of reports")
        raw_verify = data.get("verify")
        unsigned = in_code = None
        if isinstance(raw_verify, Mapping) and set(raw_verify) == {"unsigned"}:
            unsigned, raw_verify = str(raw_verify["unsigned"]), None
        elif isinstance(raw_verify, Mapping) and set(raw_verify) == {"in_code"}:
            in_code, raw_verify = str(raw_verify["in_code"]), None
        verify = _verification(raw_verify) if raw_verify is not None else None
        return cls(
            provider=provider,
            name=name,
            method=str(data.get("method", "POST")).upper(),
            format=data.get("format", "json"),
            array=bool(data.get("array", False)),
            verify=verify,
            answer=_answer(data.get("answer", {}), Answer()),
            reject=_answer(data.get("reject", {}), Answer(403, body="forbidden")),
            unsigned=unsigned,
            in_code=in_code,
        )

    def check_verifier(self, verifier: object) -> None:
        """``TypeError`` unless ``verifier`` fits this callback: a callable for a callback
        verified in code, ``None`` for one its spec verifies (or states unsigned)."""
        if self.in_code is not None and not callable(verifier):
            raise TypeError(
                f"{self.provider} {self.name} is verified in code ({self.in_code}): pass "
                "verifier=, a function (method, url, headers, body) that raises "
                "CallbackSignatureError for a push that does not verify"
            )
        if self.in_code is None and verifier is not None:
            raise TypeError(f"{self.provider} {self.name} is verified as its spec says; it takes no verifier")

    # -- receiving -----------------------------------------------------------------------

    def payloads(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        credentials: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        max_bytes: int = MAX_CALLBACK_BYTES,
        verifier: CallbackVerifier | None = None,
    ) -> list[dict[str, Any]]:
        """The payload objects of a push, once it is verified: one, or each of a list.

        ``url`` is the URL the provider pushed to, exactly as configured with it (signatures
        cover it); ``headers`` are matched ignoring case. A callback verified in code needs
        its ``verifier`` (``TypeError`` without one)."""
        self.check_verifier(verifier)
        if len(body) > max_bytes:
            raise MalformedCallback(
                f"the push has {len(body)} bytes; at most {max_bytes} are read",
                provider=self.provider,
                raw_body=body[: max_bytes + 1],
            )
        if method.upper() != self.method:
            raise MalformedCallback(
                f"{self.name} is pushed with {self.method}, not {method.upper()[:16]}",
                provider=self.provider,
                raw_body=body,
            )
        try:
            query = urlsplit(url).query
        except ValueError:  # "Invalid IPv6 URL": a Host header such as "["
            raise MalformedCallback(
                "the push's URL is not a URL", provider=self.provider, raw_body=body
            ) from None
        if query.count("&") >= MAX_FORM_FIELDS or (
            self.format == "form" and body.count(b"&") >= MAX_FORM_FIELDS
        ):
            raise MalformedCallback(
                f"the push has more than {MAX_FORM_FIELDS} fields", provider=self.provider, raw_body=body
            )
        lower = {k.lower(): v for k, v in headers.items()}
        if self.verify is not None:
            self._verify(method.upper(), url, lower, body, dict(credentials or {}), clock or _utc_now)
        if verifier is not None:
            outcome: object = verifier(method.upper(), url, lower, body)
            if outcome is not None:  # ``False`` must never pass for a verified push
                raise TypeError(
                    f"a verifier returns None or raises CallbackSignatureError; it returned {outcome!r:.40}"
                )
        if self.method == "GET":  # the report is the query
            return self._read(query.encode("utf-8"))
        return self._read(body)

    def _read(self, body: bytes) -> list[dict[str, Any]]:
        def malformed(why: str) -> MalformedCallback:
            return MalformedCallback(why, provider=self.provider, raw_body=body)

        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise malformed("the push is not UTF-8 text") from None
        if self.format == "form":
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
            if text.strip() and not pairs:
                raise malformed("the push is not a form (application/x-www-form-urlencoded)")
            form: dict[str, Any] = {}
            for key, value in pairs:
                form.setdefault(key, value)
            return [form]
        if nested_deeper(body, MAX_JSON_DEPTH):
            raise malformed(f"the push nests deeper than {MAX_JSON_DEPTH} levels")
        try:
            data = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError):
            raise malformed("the push is not JSON") from None
        try:  # an escaped lone surrogate ("\\ud800") loads, but is no text to store or hash
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise malformed("the push holds a lone surrogate: not Unicode text") from None
        if self.array:
            if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
                raise malformed("the push is not a JSON array of objects")
            return list(data)
        if not isinstance(data, dict):
            raise malformed("the push is not a JSON object")
        return [data]

    def _verify(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        credentials: dict[str, str],
        clock: Clock,
    ) -> None:
        verify = self.verify
        assert verify is not None
        empty = sorted(name for name, value in credentials.items() if not value)
        if empty:  # an HMAC with the empty key is one anyone can make: fail closed
            raise CallbackSignatureError(
                f"the credential {empty[0]} is empty: no push can be verified",
                provider=self.provider,
                raw_body=body,
            )

        def refused(why: str, error: type[CallbackError] = CallbackSignatureError) -> CallbackError:
            return error(why, provider=self.provider, raw_body=body)

        timestamp = None
        if verify.timestamp is not None:
            signed = verify.timestamp
            timestamp = headers.get(signed.header.lower())
            if not timestamp:
                raise refused(f"the push has no {signed.header} header", StaleCallback)
            try:
                moment = signed.moment(timestamp[:64])
            except ValueError as exc:
                raise refused(str(exc), StaleCallback) from None
            if abs((clock() - moment).total_seconds()) > signed.tolerance:
                raise refused(
                    f"the push was signed at {moment.isoformat()}, more than {signed.tolerance:g} "
                    "seconds from now",
                    StaleCallback,
                )
        sent_headers: dict[str, str] = {}
        for variable, header in verify.headers:
            value = headers.get(header.lower())
            if not value:
                raise refused(f"the push has no {header} header")
            sent_headers[variable] = value[:1024]
        urls = _with_and_without_port(url) if verify.either_port else (url,)
        try:
            each_values = [
                self._values(method, u, body, credentials, timestamp, verify.sign, sent_headers) for u in urls
            ]
        except SigningError as exc:
            raise refused(f"the push cannot be verified: {exc}") from None
        except UnicodeError:  # a lone surrogate in the URL or a header: not what was signed
            raise refused("the push's URL or headers are not Unicode text") from None
        if verify.compare is not None:
            sent = headers.get(verify.compare.header.lower())
            if not sent:
                raise refused(f"the push has no {verify.compare.header} header")
            each_given = [
                part.strip().encode("utf-8", errors="surrogatepass")
                for part in (
                    sent.split(verify.compare.separator)[:16] if verify.compare.separator else [sent]
                )
            ]
            matches = [
                hmac.compare_digest(values[form].encode("utf-8"), given)
                for values in each_values
                for form in (verify.compare.value, *verify.compare.also)
                for given in each_given
            ]
            if not any(matches):
                raise refused(
                    f"the {verify.compare.header} signature does not match the push received at {url[:2048]}"
                )
        if verify.public_key is not None:
            check = verify.public_key
            sent = headers.get(check.header.lower())
            if not sent:
                raise refused(f"the push has no {check.header} header")
            try:
                signature = _decode(sent.strip(), check.encoding)
            except ValueError:
                raise refused(f"the {check.header} header is not {check.encoding}") from None
            key = credentials.get(check.key, "")
            if not any(
                _public_key_verifies(
                    check, key, signature, values[check.input].encode("utf-8", "surrogatepass")
                )
                for values in each_values
            ):
                raise refused(
                    f"the {check.header} signature of the push received at {url[:2048]} does not "
                    "verify with the public key"
                )

    def _values(
        self,
        method: str,
        url: str,
        body: bytes,
        credentials: Mapping[str, str],
        timestamp: str | None,
        bound: Sequence[Bound],
        sent_headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Every step's result and the templates' texts (keyed by template)."""
        parts = urlsplit(url)
        text = body.decode("utf-8", errors="replace")
        request = PreparedRequest(
            method,
            f"{parts.scheme}://{parts.netloc}",
            parts.path or "/",
            query=parse_qsl(parts.query, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS),
            body_kind="form" if self.format == "form" else "json",
            form=(
                parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
                if self.format == "form"
                else []
            ),
            content=body,
        )
        pushed: dict[str, Value] = dict(
            url=url,
            method=method,
            host=parts.netloc,
            path=request.full_path,
            path_and_query=url[len(f"{parts.scheme}://{parts.netloc}") :] or "/",
            body=text,
        )
        if timestamp is not None:
            pushed["timestamp"] = timestamp
        pushed.update(sent_headers or {})
        clash = sorted(set(credentials) & (set(pushed) | {"timestamp"}))
        if clash:  # the push's values are the sender's: they must never stand for a secret
            raise SigningError(f"the credential {clash[0]!r} has the name of a value the push carries")
        values: dict[str, Value] = {**credentials, **pushed}
        run = _Run(request, values, _utc_now(), credentials, None)
        for each in bound:
            values[each.name] = each.step.apply(run)
        out: dict[str, str] = {}
        verify = self.verify
        assert verify is not None
        for template in (
            *((verify.compare.value, *verify.compare.also) if verify.compare else ()),
            verify.public_key.input if verify.public_key else None,
        ):
            if template is not None:
                out[template] = run.text(template)
        return out

    # -- sending (the mock, tests of an endpoint) ------------------------------------------

    def sign(
        self,
        url: str,
        body: bytes,
        *,
        credentials: Mapping[str, str],
        private_key: str | None = None,
        moment: datetime | None = None,
    ) -> dict[str, str]:
        """The headers the provider would send with this push: its signature (and signed
        time). A public-key scheme needs the PEM ``private_key`` matching the public key. A
        callback verified in code (``in_code``) or unsigned gets no signature: only the
        spec knows how to sign, and for these it does not say."""
        headers: dict[str, str] = {
            "Content-Type": (
                "application/x-www-form-urlencoded" if self.format == "form" else "application/json"
            )
        }
        verify = self.verify
        if verify is None:
            return headers
        moment = moment or _utc_now()
        timestamp = None
        if verify.timestamp is not None:
            timestamp = timestamp_text(moment, verify.timestamp.style)
            headers[verify.timestamp.header] = timestamp
        sent_headers = {variable: fresh_nonce() for variable, _ in verify.headers}
        for variable, header in verify.headers:
            headers[header] = sent_headers[variable]
        values = self._values(self.method, url, body, credentials, timestamp, verify.sign, sent_headers)
        if verify.compare is not None:
            headers[verify.compare.header] = values[verify.compare.value]
        if verify.public_key is not None:
            check = verify.public_key
            if private_key is None:
                raise SigningError(f"signing a {check.algorithm} push needs the provider's private key")
            signature = _private_key_sign(check.algorithm, private_key, values[check.input].encode("utf-8"))
            headers[check.header] = (
                base64.b64encode(signature).decode("ascii") if check.encoding == "base64" else signature.hex()
            )
        return headers


def fresh_nonce() -> str:
    """A random value for a header a push's signature covers (a nonce): 20 decimal digits,
    text every provider's nonce header accepts."""
    return "".join(secrets.choice("0123456789") for _ in range(20))


def _with_and_without_port(url: str) -> tuple[str, ...]:
    """``url`` without its port and with it (the scheme's default, 443 for https and 80
    otherwise, when it has none), as twilio-python's ``RequestValidator.validate`` tries
    them; the rest of the URL is kept exactly. A URL whose port cannot be read is tried
    only as given."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return (url,)
    prefix = f"{parts.scheme}://"
    if not url.startswith(prefix + parts.netloc):
        return (url,)
    rest = url[len(prefix + parts.netloc) :]
    if port is None:
        with_port = f"{parts.netloc}:{443 if parts.scheme == 'https' else 80}"
        return (url, prefix + with_port + rest)
    without_port = parts.netloc[: parts.netloc.rindex(":")]
    return (prefix + without_port + rest, url)


def _verification(data: Mapping[str, Any]) -> Verification:
    unknown = set(data) - {"sign", "timestamp", "compare", "public_key", "either_port", "headers"}
    if unknown:
        raise SigningError(f"unknown verify keys: {', '.join(sorted(unknown))}")
    if ("compare" in data) == ("public_key" in data):
        raise SigningError("verify needs exactly one of 'compare' and 'public_key'")
    bound = bind_steps(data.get("sign") or ())
    timestamp = None
    if "timestamp" in data:
        raw = dict(data["timestamp"])
        if raw.get("style") not in SIGNED_TIME_STYLES or set(raw) - {"header", "style", "tolerance"}:
            raise SigningError(f"unknown signed timestamp {sorted(raw)}")
        timestamp = SignedTime(str(raw["header"]), str(raw["style"]), float(raw["tolerance"]))
    compare = None
    if "compare" in data:
        raw_compare = dict(data["compare"])
        if set(raw_compare) - {"header", "value", "separator"}:
            raise SigningError(f"unknown compare keys {sorted(raw_compare)}")
        separator = raw_compare.get("separator")
        forms = raw_compare["value"]
        forms = [forms] if isinstance(forms, str) else list(forms)
        if not forms or not all(isinstance(form, str) for form in forms):
            raise SigningError("compare value is a template, or a list of them")
        compare = Compare(
            str(raw_compare["header"]),
            forms[0],
            str(separator) if separator else None,
            tuple(forms[1:]),
        )
    public_key = None
    if "public_key" in data:
        raw = dict(data["public_key"])
        public_key = PublicKey(**raw)
        if (
            public_key.algorithm not in PUBLIC_KEY_ALGORITHMS
            or public_key.key_format not in KEY_FORMATS
            or public_key.encoding not in SIGNATURE_ENCODINGS
        ):
            raise SigningError(f"unknown public key check {public_key.algorithm!r}")
    either_port = data.get("either_port", False)
    if not isinstance(either_port, bool):
        raise SigningError("either_port is true or false")
    sent = data.get("headers", {})
    if not isinstance(sent, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in sent.items()
    ):
        raise SigningError("verify headers map a variable name to a header name")
    return Verification(
        tuple(bound), timestamp, compare, public_key, either_port, tuple((k, v) for k, v in sent.items())
    )


def _answer(data: Mapping[str, Any], default: Answer) -> Answer:
    return Answer(
        status=int(data.get("status", default.status)),
        content_type=str(data.get("content_type", default.content_type)),
        body=str(data.get("body", default.body)),
    )


def _decode(text: str, encoding: str) -> bytes:
    try:
        if encoding == "hex":
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(encoding) from None


# -- public keys (cryptography: the optional dlr-core[crypto] extra) ------------------------


def _cryptography() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise SigningError(
            "public-key verification needs the cryptography package: pip install 'dlr-core[crypto]'"
        ) from None


def _public_key_verifies(check: PublicKey, key_text: str, signature: bytes, data: bytes) -> bool:
    _cryptography()
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

    try:
        if check.key_format == "base64":
            raw = base64.b64decode(key_text, validate=True)
            key: Any = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        else:
            key = serialization.load_pem_public_key(key_text.encode("utf-8"))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        raise SigningError("the public key is not a valid key") from None
    try:
        if check.algorithm == "ed25519":
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise SigningError("the public key is not an Ed25519 key")
            key.verify(signature, data)
        else:
            if not isinstance(key, rsa.RSAPublicKey):
                raise SigningError("the public key is not an RSA key")
            digest = hashes.SHA256()
            key.verify(signature, data, padding.PKCS1v15(), digest)
    except InvalidSignature:
        return False
    return True


def _private_key_sign(algorithm: str, pem: str, data: bytes) -> bytes:
    _cryptography()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

    key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    if algorithm == "ed25519" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if algorithm != "ed25519" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise SigningError(f"the private key is not a {algorithm} key")


# -- receipts ---------------------------------------------------------------------------------


def idempotency_key(receipt: Receipt) -> str:
    """A stable key of one report: the same report pushed again has the same key; another
    report (another message or recipient, or a later status of the same one) has another.
    The hex SHA-256 of the receipt as canonical JSON: every attribute (the message id, the
    recipient, the status, the details) and the record exactly as sent."""
    data = receipt.model_dump(mode="json", exclude={"idempotency_key"})
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def with_keys(receipts: Iterable[Receipt]) -> list[Receipt]:
    """The receipts, each with its ``idempotency_key``."""
    return [r.model_copy(update={"idempotency_key": idempotency_key(r)}) for r in receipts]


def parse(
    callback: Callback,
    model: type[Model],
    receipts: Callable[[Model], list[Receipt]],
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    credentials: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    max_bytes: int = MAX_CALLBACK_BYTES,
    verifier: CallbackVerifier | None = None,
) -> list[Receipt]:
    """A push as canonical receipts (with idempotency keys): verified (by ``verifier`` for
    a callback verified in code), each payload read as ``model`` and turned into receipts by
    the generated ``receipts`` function."""
    payloads = callback.payloads(
        method,
        url,
        headers,
        body,
        credentials=credentials,
        clock=clock,
        max_bytes=max_bytes,
        verifier=verifier,
    )
    out: list[Receipt] = []
    for payload in payloads:
        try:
            result = model.model_validate(payload)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:5])
            raise MalformedCallback(
                f"the push is not a {model.__name__} ({fields})", provider=callback.provider, raw_body=body
            ) from None
        out += receipts(result)
    return with_keys(out)


# -- serving: a framework-neutral ASGI app ------------------------------------------------------

Parser = Callable[[str, str, Mapping[str, str], bytes], list[Receipt]]
"""A push -> receipts: ``(method, url, headers, body)``, credentials already bound."""
Handler = Callable[[str, list[Receipt]], "Awaitable[object] | object"]


@dataclass(frozen=True)
class Endpoint:
    """One route of ``CallbackApp``: a provider's parser with its credentials bound, and the
    answers it expects. Generated packages make them (``callback_endpoint(...)``)."""

    provider: str
    parse: Parser
    answer: Answer
    reject: Answer
    max_bytes: int = MAX_CALLBACK_BYTES

    def __repr__(self) -> str:  # the parser holds credentials
        return f"Endpoint(provider={self.provider!r})"


Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


class CallbackApp:
    """An ASGI 3 app receiving pushed delivery reports.

    ``endpoints`` maps a route name to an ``Endpoint``: a push to ``{prefix}/<name>`` is
    parsed by it; its receipts go to ``on_receipts(name, receipts)`` (a function or a
    coroutine function), then the provider gets the answer it expects. A push that fails
    verification gets the provider's rejection (``Endpoint.reject``, 403 by default), a
    malformed one 400, a too large one 413, and an error in ``on_receipts`` 500 (so the
    provider pushes again later; receipts carry ``idempotency_key`` to recognise it).

    ``public_url`` is the public origin the provider pushes to (``https://hooks.example.com``,
    plus any path a proxy strips before the app sees it); the request's full path and query
    are appended to it to make the URL the provider signed. Behind a proxy the URL the app
    sees differs; without ``public_url`` it is rebuilt from the request (scheme, Host).
    Serve it with any ASGI server (uvicorn, hypercorn) or mount it in Starlette/FastAPI
    (routes are then below the mount point: give ``prefix=""``).

    The body must arrive within ``read_timeout`` seconds (``None``: no limit), or the push
    is answered 408 and nothing is parsed: a sender dripping a body cannot hold it open.
    """

    def __init__(
        self,
        endpoints: Mapping[str, Endpoint],
        on_receipts: Handler,
        *,
        prefix: str = "/callbacks",
        public_url: str | None = None,
        read_timeout: float | None = 30.0,
    ) -> None:
        self.endpoints: dict[str, Endpoint] = dict(endpoints)
        self.on_receipts: Handler = on_receipts
        self.prefix: str = prefix.rstrip("/")
        self.public_url: str | None = public_url.rstrip("/") if public_url else None
        self.read_timeout: float | None = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):  # mounted (Starlette's Mount): route below the mount
            path = path[len(root) :]
        name = path[len(self.prefix) + 1 :] if path.startswith(self.prefix + "/") else None
        endpoint = self.endpoints.get(name) if name else None
        if endpoint is None:
            await _respond(send, Answer(404, body="not found"))
            return
        with anyio.move_on_after(self.read_timeout) as reading:
            body, too_large = await _read_body(receive, endpoint.max_bytes)
        if reading.cancelled_caught:
            await _respond(send, Answer(408, body="timeout"))
            return
        if body is None:  # the client left before the push was whole: nothing to answer
            return
        if too_large:
            await _respond(send, Answer(413, body="too large"))
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers", ())}
        url = self._url(scope, headers)
        try:
            receipts = endpoint.parse(scope["method"], url, headers, body)
        except CallbackSignatureError as exc:
            # Signatures cover the URL: a refusal names the URL checked, so a URL that differs
            # from the one the provider signed (a proxy, a wrong public_url) is seen as such.
            _log.warning(
                "refused a push to %s: %s; the URL checked was %s (%s)",
                name,
                exc,
                url[:2048],
                (
                    f"public_url {self.public_url}"
                    if self.public_url is not None
                    else "rebuilt from the request; give public_url if the provider calls another"
                ),
            )
            await _respond(send, endpoint.reject)
            return
        except MalformedCallback:
            await _respond(send, Answer(400, body="malformed"))
            return
        except Exception:  # a misconfigured key, a bug: 500, its text for the server's log only
            await _respond(send, Answer(500, body="error"))
            raise
        try:
            outcome = self.on_receipts(name or "", receipts)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            await _respond(send, Answer(500, body="error"))
            raise
        await _respond(send, endpoint.answer)

    def _url(self, scope: Scope, headers: Mapping[str, str]) -> str:
        raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8")
        path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else str(raw_path)
        query = scope.get("query_string", b"").decode("latin-1")
        tail = path + (f"?{query}" if query else "")
        if self.public_url is not None:
            return self.public_url + tail
        host = {k.lower(): v for k, v in headers.items()}.get("host")
        if host is None:
            server = scope.get("server") or ("localhost", None)
            host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
        return f"{scope.get('scheme', 'http')}://{host}{tail}"


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, bool]:
    """The body, read no further than ``limit`` bytes (then ``(b"", True)``); ``None`` when
    the client disconnected before sending all of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


async def _respond(send: Send, answer: Answer) -> None:
    body = answer.encoded()
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", answer.content_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
