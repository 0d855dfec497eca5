"""How a pushed delivery report proves it comes from the provider: a callback's ``verify``
section as data (``Verification`` and its parts), read from a spec (``verification_from_data``),
and the pieces ``dlr_core.callbacks`` checks and signs a push with (signature decoding, the
URL with and without its port, public-key signatures).

``dlr_core.callbacks`` re-exports the public types; import them from there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import urlsplit

from dlr_core.certificates import CertificateSource
from dlr_core.wire.read import MAX_JSON_DEPTH, nested_deeper
from dlr_core.signing import Bound, SigningError, bind_steps

__all__ = [
    "CallbackVerifier",
    "ClaimCheck",
    "Compare",
    "Equals",
    "JwtCheck",
    "PublicKey",
    "SignedTime",
    "Verification",
    "decode_signature",
    "fresh_nonce",
    "json_object",
    "reads_members",
    "jwt_sign",
    "jwt_time_refusal",
    "jwt_token_parts",
    "private_key_sign",
    "public_key_verifies",
    "verification_from_data",
    "with_and_without_port",
]

PUBLIC_KEY_ALGORITHMS = ("ed25519", "rsa_pkcs1v15_sha256", "rsa_pkcs1v15_sha1")
KEY_FORMATS = ("pem", "base64")
SIGNATURE_ENCODINGS = ("base64", "hex")
SIGNED_TIME_STYLES = ("unix_seconds", "unix_milliseconds", "iso8601_utc")
JWT_ALGORITHMS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
"""The JWS algorithms (RFC 7518 section 3.2) a pushed token may be signed with: HMAC with a
shared secret. ``none`` and public-key algorithms are never accepted for a push."""
JWT_TIME_CLAIMS = ("exp", "nbf", "iat")
MAX_JWT_CHARS = 8192
"""The longest token read: a longer header is refused before it is decoded."""
_ISO8601_UTC = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z", re.ASCII)
"""An ``iso8601_utc`` signed time: seconds, and an optional fraction of a second."""


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
            match = _ISO8601_UTC.fullmatch(text)
            if match is None:
                raise ValueError(text)
            moment = datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
            # A fraction of a second is read whatever its digits (providers send 3 to 7).
            return moment + timedelta(seconds=float(f"0.{match[2]}")) if match[2] else moment
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"the {self.header} header is not a {self.style} time") from None


@dataclass(frozen=True)
class Compare:
    """Where the signature is (a header, or with ``field`` a form field of the push), and
    the template of its expected value (usually a step's result, ``{signature}``):
    compared in constant time."""

    header: str
    value: str
    separator: str | None = None
    """The header may list several signatures (one per active key) separated by this: a
    push verifies when any of them matches."""
    also: tuple[str, ...] = ()
    """Templates of other forms the provider may sign a push with (its SDK accepts each):
    a push verifies when the header matches any form. ``sign`` uses ``value``."""
    field: str | None = None
    """The signature is this form field of the push (``header`` is then empty): some
    providers put ``signature`` among the pushed fields."""

    @property
    def where(self) -> str:
        """The header's name, or the form field's, for messages."""
        return f"{self.field} field" if self.field is not None else f"{self.header} header"


@dataclass(frozen=True)
class PublicKey:
    """A signature made with the provider's private key: ``input``'s UTF-8 bytes, signed
    with ``algorithm``, sent ``encoding``-encoded in ``header`` (or in the JSON body's
    member ``field``), checked with the public key held by the credential ``key`` (``pem``,
    or ``base64`` of the raw Ed25519 key), or with that of the X.509 certificate at the URL
    the body's member ``certificate_field`` names, fetched only from ``certificate``.

    ``algorithm_by`` (``(member, ((value, algorithm), ...))``) chooses the algorithm by the
    text of a body member (a signature version): a push naming no listed
    value is refused; the mock signs with the first."""

    algorithm: str
    key: str
    header: str
    input: str
    key_format: str = "pem"
    encoding: str = "base64"
    field: str = ""
    certificate: CertificateSource | None = None
    certificate_field: str = ""
    algorithm_by: tuple[str, tuple[tuple[str, str], ...]] | None = None


@dataclass(frozen=True)
class Equals:
    """A value the push must carry, equal to a template's text (compared in constant
    time): a JSON body member (``field``) or a header. A signature proves who sent a push,
    not that it is meant for you: a notification service signs every topic's messages
    alike, so the receiver checks the topic is its own."""

    value: str
    field: str = ""
    header: str = ""
    query: str = ""
    """Or a query parameter of the URL pushed to: a secret set in the URL the provider
    was given (when the provider signs nothing but pushes to that exact URL)."""


@dataclass(frozen=True)
class ClaimCheck:
    """A claim a pushed token must carry, equal to a template over the push (the hash of
    the URL it was sent to, of its body, the provider's name as issuer)."""

    key: str
    value: str
    only_if: str | None = None
    """A template (``{body}``): the claim is expected only when its text is not empty, and
    must then be absent when it is (a token for an empty body carries no body hash)."""


@dataclass(frozen=True)
class JwtCheck:
    """A JSON Web Token (RFC 7519) the provider sends in ``header``, signed with HMAC
    (``algorithms``, the token's ``alg`` must be one) keyed by the ``key`` template. Its
    claims must equal ``claims``' templates, those in ``required`` must be present and not
    empty, and its ``exp``, ``nbf`` and ``iat`` times (checked whenever present) must hold
    within ``leeway`` seconds. With ``read_claims`` the report is the token's claims, not
    the body (the provider signs the report as the claims and nothing binds the body)."""

    header: str
    key: str
    algorithms: tuple[str, ...] = ("HS256",)
    claims: tuple[ClaimCheck, ...] = ()
    required: tuple[str, ...] = ()
    leeway: float = 0.0
    read_claims: bool = False


@dataclass(frozen=True)
class Verification:
    """How a push proves it comes from the provider."""

    sign: tuple[Bound, ...] = ()
    timestamp: SignedTime | None = None
    compare: Compare | None = None
    public_key: PublicKey | None = None
    either_port: bool = False
    """The provider may sign the URL with or without its port: a push verifies with the URL
    without its port or with it (the scheme's default when it has none), as an official
    SDK's ``RequestValidator.validate`` does."""
    headers: tuple[tuple[str, str], ...] = ()
    """Request headers the signed text uses, as ``(variable, header)``: ``{variable}`` is the
    header's text as sent (a nonce). A push without one of them is refused; ``sign`` sends
    a fresh random value in each."""
    fields: tuple[tuple[str, str], ...] = ()
    """Form fields of the push the signed text uses, as ``(variable, field)`` (a
    ``token``), read and made like ``headers``."""
    equals: tuple[Equals, ...] = ()
    """Values the push must carry besides its signature (the topic it was published to)."""
    jwt: JwtCheck | None = None


def fresh_nonce() -> str:
    """A random value for a header a push's signature covers (a nonce): 20 decimal digits,
    text every provider's nonce header accepts."""
    return "".join(secrets.choice("0123456789") for _ in range(20))


def with_and_without_port(url: str) -> tuple[str, ...]:
    """``url`` without its port and with it (the scheme's default, 443 for https and 80
    otherwise, when it has none), as an official SDK's ``RequestValidator.validate`` tries
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


def verification_from_data(data: Mapping[str, Any]) -> Verification:
    """A callback's ``verify`` section as a ``Verification``; ``SigningError`` names what is
    wrong with it (the generator's parser reports it where the spec says it)."""
    unknown = set(data) - {
        "sign",
        "timestamp",
        "compare",
        "public_key",
        "either_port",
        "headers",
        "fields",
        "equals",
        "jwt",
    }
    if unknown:
        raise SigningError(f"unknown verify keys: {', '.join(sorted(unknown))}")
    checks = sum(key in data for key in ("compare", "public_key", "jwt"))
    if checks > 1 or (checks == 0 and "equals" not in data):
        raise SigningError("verify needs one of 'compare', 'public_key' and 'jwt', or 'equals' alone")
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
        if set(raw_compare) - {"header", "field", "value", "separator"}:
            raise SigningError(f"unknown compare keys {sorted(raw_compare)}")
        if ("header" in raw_compare) == ("field" in raw_compare):
            raise SigningError("compare names exactly one of 'header' and 'field'")
        separator = raw_compare.get("separator")
        forms = raw_compare["value"]
        forms = [forms] if isinstance(forms, str) else list(forms)
        if not forms or not all(isinstance(form, str) for form in forms):
            raise SigningError("compare value is a template, or a list of them")
        compare = Compare(
            str(raw_compare.get("header", "")),
            forms[0],
            str(separator) if separator else None,
            tuple(forms[1:]),
            str(raw_compare["field"]) if "field" in raw_compare else None,
        )
    public_key = None
    if "public_key" in data:
        public_key = _public_key(dict(data["public_key"]))
    equals = []
    for raw_equals in data.get("equals", ()):
        raw_equals = dict(raw_equals)
        places = [key for key in ("field", "header", "query") if key in raw_equals]
        if (
            set(raw_equals) - {"value", "field", "header", "query"}
            or len(places) != 1
            or "value" not in raw_equals
        ):
            raise SigningError("each of equals is {value, and one of field, header or query}")
        equals.append(Equals(**{k: str(v) for k, v in raw_equals.items()}))
    either_port = data.get("either_port", False)
    if not isinstance(either_port, bool):
        raise SigningError("either_port is true or false")
    named: dict[str, tuple[tuple[str, str], ...]] = {}
    for key in ("headers", "fields"):
        sent = data.get(key, {})
        if not isinstance(sent, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in sent.items()
        ):
            raise SigningError(f"verify {key} map a variable name to a {key[:-1]} name")
        named[key] = tuple((k, v) for k, v in sent.items())
    return Verification(
        tuple(bound),
        timestamp,
        compare,
        public_key,
        either_port,
        named["headers"],
        named["fields"],
        tuple(equals),
        _jwt_check(data["jwt"]) if "jwt" in data else None,
    )


def _public_key(raw: dict[str, Any]) -> PublicKey:
    """A ``public_key`` section: a credential's key or a fetched certificate, a header or a
    body member, one algorithm or one chosen by a body member."""
    known = {
        "algorithm",
        "algorithm_by",
        "key",
        "certificate",
        "header",
        "field",
        "input",
        "key_format",
        "encoding",
    }
    if set(raw) - known:
        raise SigningError(f"unknown public key keys {sorted(set(raw) - known)}")
    if ("key" in raw) == ("certificate" in raw) or ("header" in raw) == ("field" in raw):
        raise SigningError("public_key takes one of key and certificate, and one of header and field")
    if ("algorithm" in raw) == ("algorithm_by" in raw):
        raise SigningError("public_key takes one of algorithm and algorithm_by")
    certificate = certificate_field = None
    if "certificate" in raw:
        where = dict(raw["certificate"])
        if set(where) - {"field", "host_pattern", "path_pattern"} or not {"field", "host_pattern"} <= set(
            where
        ):
            raise SigningError("certificate is {field, host_pattern, path_pattern}")
        certificate = CertificateSource(str(where["host_pattern"]), str(where.get("path_pattern", "")))
        certificate_field = str(where["field"])
    algorithm_by = None
    if "algorithm_by" in raw:
        by = dict(raw["algorithm_by"])
        choices = by.get("choices")
        if set(by) != {"field", "choices"} or not isinstance(choices, Mapping) or not choices:
            raise SigningError("algorithm_by is {field, choices: {value: algorithm}}")
        algorithm_by = (str(by["field"]), tuple((str(k), str(v)) for k, v in choices.items()))
    public_key = PublicKey(
        algorithm=str(raw.get("algorithm", algorithm_by[1][0][1] if algorithm_by else "")),
        key=str(raw.get("key", "")),
        header=str(raw.get("header", "")),
        input=str(raw["input"]),
        key_format=str(raw.get("key_format", "pem")),
        encoding=str(raw.get("encoding", "base64")),
        field=str(raw.get("field", "")),
        certificate=certificate,
        certificate_field=certificate_field or "",
        algorithm_by=algorithm_by,
    )
    algorithms = [public_key.algorithm, *(name for _, name in (algorithm_by[1] if algorithm_by else ()))]
    if (
        any(name not in PUBLIC_KEY_ALGORITHMS for name in algorithms)
        or public_key.key_format not in KEY_FORMATS
        or public_key.encoding not in SIGNATURE_ENCODINGS
    ):
        raise SigningError(f"unknown public key check {public_key.algorithm!r}")
    if certificate is not None and any(name == "ed25519" for name in algorithms):
        raise SigningError("a certificate's key is checked with an RSA algorithm")
    return public_key


def reads_members(verify: Verification) -> bool:
    """Whether the check reads members of the JSON body (a signature or a certificate URL
    in the body, a value to equal)."""
    check = verify.public_key
    return bool(
        (check is not None and (check.field or check.certificate or check.algorithm_by))
        or any(each.field for each in verify.equals)
    )


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; an empty one when it is not one (the check then finds
    nothing it needs and refuses the push)."""
    if nested_deeper(body, MAX_JSON_DEPTH):
        return {}
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _jwt_check(data: Any) -> JwtCheck:
    if not isinstance(data, Mapping):
        raise SigningError("jwt is a mapping")
    unknown = set(data) - {"header", "key", "algorithms", "claims", "required", "leeway", "read_claims"}
    if unknown or not {"header", "key"} <= set(data):
        raise SigningError(f"a jwt check has header, key and optional keys; got {sorted(data)}")
    algorithms = tuple(data.get("algorithms", ("HS256",)))
    if not algorithms or any(a not in JWT_ALGORITHMS for a in algorithms):
        raise SigningError(f"jwt algorithms are some of {', '.join(JWT_ALGORITHMS)}")
    claims = []
    for raw in data.get("claims", ()):
        if (
            not isinstance(raw, Mapping)
            or set(raw) - {"key", "value", "only_if"}
            or not {"key", "value"} <= set(raw)
        ):
            raise SigningError("a jwt claim is {key, value, only_if}")
        only_if = raw.get("only_if")
        claims.append(
            ClaimCheck(str(raw["key"]), str(raw["value"]), None if only_if is None else str(only_if))
        )
    required = tuple(str(name) for name in data.get("required", ()))
    read_claims = data.get("read_claims", False)
    if not isinstance(read_claims, bool):
        raise SigningError("read_claims is true or false")
    return JwtCheck(
        str(data["header"]),
        str(data["key"]),
        algorithms,
        tuple(claims),
        required,
        float(data.get("leeway", 0)),
        read_claims,
    )


def _base64url_decode(text: str) -> bytes:
    if not text or set(text) - set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_token_parts(check: JwtCheck, token: str, key: bytes) -> dict[str, Any]:
    """The claims of ``token`` once its signature verifies with ``key``: ``ValueError``
    saying why not (not a compact JWS, an algorithm the check does not accept, ``none``
    included, or a signature that does not match). Nothing of the claims is trusted, or
    read, before the signature is checked."""
    if len(token) > MAX_JWT_CHARS:
        raise ValueError(f"the token is longer than {MAX_JWT_CHARS} characters")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ValueError("the token is not a compact JWT (three dot-separated parts)")
    try:
        header = json.loads(_base64url_decode(parts[0]))
    except (ValueError, RecursionError):
        raise ValueError("the token's header is not base64url JSON") from None
    algorithm = header.get("alg") if isinstance(header, dict) else None
    if algorithm not in check.algorithms:
        raise ValueError(
            f"the token is signed with {str(algorithm)[:16]!r}; accepted: {', '.join(check.algorithms)}"
        )
    try:
        signature = _base64url_decode(parts[2])
    except ValueError:
        raise ValueError("the token's signature is not base64url") from None
    expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode("ascii"), JWT_ALGORITHMS[algorithm]).digest()
    if not hmac.compare_digest(expected, signature):
        raise ValueError("the token's signature does not match")
    try:
        claims = json.loads(_base64url_decode(parts[1]))
    except (ValueError, RecursionError):
        raise ValueError("the token's claims are not base64url JSON") from None
    if not isinstance(claims, dict):
        raise ValueError("the token's claims are not a JSON object")
    return claims


def jwt_time_refusal(claims: Mapping[str, Any], now: float, leeway: float) -> str | None:
    """Why the token's times refuse it at ``now`` (Unix seconds), or ``None``: expired
    (``exp``, RFC 7519 4.1.4), not yet valid (``nbf``, 4.1.5) or issued in the future
    (``iat``), each with ``leeway`` seconds of clock skew allowed."""
    for name in JWT_TIME_CLAIMS:
        if name not in claims:
            continue
        moment = claims[name]
        if isinstance(moment, bool) or not isinstance(moment, (int, float)) or not math.isfinite(moment):
            return f"the token's {name} is not a time in Unix seconds"
        if name == "exp" and now >= moment + leeway:
            return f"the token expired at {moment:g} (exp), {now - moment:.0f} seconds ago"
        if name != "exp" and now + leeway < moment:
            return f"the token is valid only from {moment:g} ({name}), {moment - now:.0f} seconds from now"
    return None


def jwt_sign(algorithm: str, key: bytes, claims: Mapping[str, Any]) -> str:
    """A compact JWT of ``claims``, signed with ``key``, as a provider makes one (for the
    mock and tests of an endpoint)."""
    header = {"alg": algorithm, "typ": "JWT"}
    signing_input = ".".join(
        _base64url(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        for part in (header, claims)
    )
    signature = hmac.new(key, signing_input.encode("ascii"), JWT_ALGORITHMS[algorithm]).digest()
    return f"{signing_input}.{_base64url(signature)}"


def decode_signature(text: str, encoding: str) -> bytes:
    """A signature as sent (``hex`` or ``base64``) as bytes; ``ValueError`` when it is not."""
    try:
        if encoding == "hex":
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(encoding) from None


# -- public keys (cryptography: the optional dlr-core[crypto] extra) ------------------------


def _require_cryptography() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise SigningError(
            "public-key verification needs the cryptography package: pip install 'dlr-core[crypto]'"
        ) from None


def public_key_verifies(
    check: PublicKey, key_text: str, signature: bytes, data: bytes, *, key: Any = None, algorithm: str = ""
) -> bool:
    """Whether ``signature`` is ``check.algorithm``'s (or ``algorithm``'s) signature of
    ``data`` by the key ``key_text`` (or the loaded ``key``, a certificate's);
    ``SigningError`` for a key that is not one (or without cryptography)."""
    _require_cryptography()
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

    algorithm = algorithm or check.algorithm
    if key is None:
        try:
            if check.key_format == "base64":
                raw = base64.b64decode(key_text, validate=True)
                key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
            else:
                key = serialization.load_pem_public_key(key_text.encode("utf-8"))
        except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
            raise SigningError("the public key is not a valid key") from None
    try:
        if algorithm == "ed25519":
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise SigningError("the public key is not an Ed25519 key")
            key.verify(signature, data)
        else:
            if not isinstance(key, rsa.RSAPublicKey):
                raise SigningError("the public key is not an RSA key")
            digest = hashes.SHA1() if algorithm == "rsa_pkcs1v15_sha1" else hashes.SHA256()
            key.verify(signature, data, padding.PKCS1v15(), digest)
    except InvalidSignature:
        return False
    return True


def private_key_sign(algorithm: str, pem: str, data: bytes) -> bytes:
    """``data`` signed with the PEM private key, as a provider signs a push (for the mock
    and tests of an endpoint)."""
    _require_cryptography()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

    key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    if algorithm == "ed25519" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if algorithm != "ed25519" and isinstance(key, rsa.RSAPrivateKey):
        digest = hashes.SHA1() if algorithm == "rsa_pkcs1v15_sha1" else hashes.SHA256()
        return key.sign(data, padding.PKCS1v15(), digest)
    raise SigningError(f"the private key is not a {algorithm} key")
