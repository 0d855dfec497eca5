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

import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlsplit

from dlr_core.wire import multipart
from dlr_core.errors import (
    CallbackError,
    CallbackSignatureError,
    MalformedCallback,
    StaleCallback,
)
from dlr_core.receipt_keys import idempotency_key as idempotency_key, keyed_as_built, with_keys as with_keys
from dlr_core import callback_jwt, callback_reading, callback_run, callback_sending
from dlr_core.callback_run import MAX_FORM_FIELDS as MAX_FORM_FIELDS, utc_now
from dlr_core.callback_app import (
    MAX_CALLBACK_BYTES,
    Answer,
    CallbackApp,
    Endpoint,
    HandshakePush,
    confirm_by_get,
)
from dlr_core.callback_handshakes import (
    Confirm as Confirm,
    Handshake as Handshake,
    answer_from_data,
    handshake_from_data,
    raise_if_handshake,
    unwrapped,
)
from dlr_core.callback_app import Handler as Handler, Parser as Parser  # explicit re-exports (1.2's names)
from dlr_core.callback_app import Receive as Receive, Scope as Scope, Send as Send
from dlr_core.certificates import CertificateError, default_store
from dlr_core.certificates import CertificateStore as CertificateStore  # generated parsers' type
from dlr_core.callback_verification import (
    KEY_FORMATS as KEY_FORMATS,
    PUBLIC_KEY_ALGORITHMS as PUBLIC_KEY_ALGORITHMS,
    SIGNATURE_ENCODINGS as SIGNATURE_ENCODINGS,
    SIGNED_TIME_STYLES as SIGNED_TIME_STYLES,
    CallbackVerifier,
    ClaimCheck,
    Compare,
    Equals,
    JwtCheck,
    PublicKey,
    SignedTime,
    Verification,
    decode_signature,
    json_object,
    reads_members,
    public_key_verifies,
    verification_from_data,
    with_and_without_port,
)
from dlr_core.signing import SigningError

if TYPE_CHECKING:  # pydantic where a push is read: ``Callback.from_data`` (dlrgen) needs none
    from pydantic import BaseModel
    from dlr_core.receipt import Receipt

__all__ = [
    "MAX_CALLBACK_BYTES",
    "MAX_FORM_FIELDS",
    "Answer",
    "Callback",
    "CallbackApp",
    "CertificateStore",
    "CallbackVerifier",
    "ClaimCheck",
    "Compare",
    "Confirm",
    "Endpoint",
    "Equals",
    "Handshake",
    "HandshakePush",
    "JwtCheck",
    "PublicKey",
    "SignedTime",
    "Verification",
    "confirm_by_get",
    "idempotency_key",
    "parse",
    "with_keys",
]

Clock = Callable[[], datetime]

BodyFormat = Literal["form", "json", "multipart", "xml"]
FORMATS: tuple[BodyFormat, ...] = ("form", "json", "multipart", "xml")
"""The body formats a push may have."""


def format_named_by(content_type: str) -> BodyFormat | None:
    """The body format a Content-Type names (``application/json; charset=utf-8``: json), or
    None for one that names none of them."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return "form"
    if media == "multipart/form-data":
        return "multipart"
    if media in ("application/json", "text/json") or media.endswith("+json"):
        return "json"
    if media in ("application/xml", "text/xml") or media.endswith("+xml"):
        return "xml"
    return None


Model = TypeVar("Model", bound="BaseModel")
_utc_now = utc_now  # the receiver's clock unless a test gives one


@dataclass(frozen=True)
class Callback:
    """One kind of push of a provider, as its spec describes it."""

    provider: str
    name: str
    method: str = "POST"
    format: BodyFormat = "json"
    """``form``: urlencoded fields; ``multipart``: multipart/form-data text fields; ``json``;
    ``xml``: a document whose root element's children are the fields."""
    formats: tuple[BodyFormat, ...] = ()
    """Every body format a push may arrive in, ``format`` first, when there are several
    (a spec's ``format: [form, json]``): each push is read in the one its Content-Type
    names, in ``format`` when it names none of them. Empty: ``format`` alone."""
    xml_root: str = ""
    """For ``xml``: the root element's name pushes are written with (any is read)."""
    array: bool = False
    """The body is a JSON array of payloads (several reports in one push)."""
    json_field: str | None = None
    """For a form push: the form field whose value is the report as a JSON document (an
    object, or an array with ``array``), instead of one field per value."""
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
    unwrap: str | None = None
    """The JSON member holding the report as JSON text (a notification envelope's message): each
    payload is that text, read as a JSON object."""
    handshakes: tuple[Handshake, ...] = ()
    """Pushes that check the endpoint rather than report (answered, never read as reports)."""

    @classmethod
    def from_data(cls, provider: str, name: str, data: Mapping[str, Any]) -> Callback:
        """A callback as a spec (and a generated ``callbacks.py``) writes it; ``SigningError``
        for anything it would not use."""
        unknown = set(data) - {
            "method",
            "format",
            "array",
            "json_field",
            "verify",
            "answer",
            "reject",
            "unwrap",
            "handshakes",
            "xml_root",
        }
        if unknown:
            raise SigningError(f"unknown callback keys: {', '.join(sorted(unknown))}")
        given = data.get("format", "json")
        formats = tuple(given) if isinstance(given, (list, tuple)) else (given,)
        if not formats or any(each not in FORMATS for each in formats) or len(set(formats)) < len(formats):
            raise SigningError(f"unknown callback format {given!r}")
        json_field = data.get("json_field")
        if json_field is not None and ("form" not in formats or not isinstance(json_field, str)):
            raise SigningError("json_field names the field of a form push (format: form) holding JSON")
        if data.get("array") and any(
            each != "json" and not (each == "form" and json_field is not None) for each in formats
        ):
            raise SigningError("only a JSON body (or a form's json_field) can be a list of reports")
        if len(formats) > 1 and str(data.get("method", "POST")).upper() != "POST":
            raise SigningError("a push read by its Content-Type is a POST (a GET's report is its query)")
        raw_verify = data.get("verify")
        unsigned = in_code = None
        if isinstance(raw_verify, Mapping) and set(raw_verify) == {"unsigned"}:
            unsigned, raw_verify = str(raw_verify["unsigned"]), None
        elif isinstance(raw_verify, Mapping) and set(raw_verify) == {"in_code"}:
            in_code, raw_verify = str(raw_verify["in_code"]), None
        verify = verification_from_data(raw_verify) if raw_verify is not None else None
        if verify is not None and (verify.fields or (verify.compare and verify.compare.field)):
            if formats != ("form",) or str(data.get("method", "POST")).upper() != "POST":
                raise SigningError(
                    "a signature among the pushed fields needs a form push (format: form, POST)"
                )
        return cls(
            provider=provider,
            name=name,
            method=str(data.get("method", "POST")).upper(),
            format=formats[0],
            formats=formats if len(formats) > 1 else (),
            array=bool(data.get("array", False)),
            json_field=json_field,
            xml_root=str(data.get("xml_root", "")),
            verify=verify,
            answer=answer_from_data(data.get("answer", {}), Answer()),
            reject=answer_from_data(data.get("reject", {}), Answer(403, body="forbidden")),
            unsigned=unsigned,
            in_code=in_code,
            unwrap=str(data["unwrap"]) if data.get("unwrap") else None,
            handshakes=tuple(
                handshake_from_data(str(name), dict(each))
                for name, each in dict(data.get("handshakes") or {}).items()
            ),
        )

    def as_received(self, content_type: str) -> Callback:
        """This callback reading one push: in the format its Content-Type names when the
        callback takes several (``formats``), else (or when it names none of them) in
        ``format``."""
        if not self.formats:
            return self
        named = format_named_by(content_type)
        return replace(self, format=named if named in self.formats else self.format, formats=())

    def in_format(self, body_format: str) -> Callback:
        """This callback pushing in ``body_format``, one of those it takes (for the mock);
        ``ValueError`` for another."""
        chosen = next((each for each in self.formats or (self.format,) if each == body_format), None)
        if chosen is None:
            raise ValueError(
                f"{self.name} is pushed as {' or '.join(self.formats or (self.format,))}, not {str(body_format)[:16]!r}"
            )
        return replace(self, format=chosen, formats=())

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
        certificates: CertificateStore | None = None,
    ) -> list[dict[str, Any]]:
        """The payload objects of a push, once it is verified: one, or each of a list.

        ``url`` is the URL the provider pushed to, exactly as configured with it (signatures
        cover it); ``headers`` are matched ignoring case. A callback verified in code needs
        its ``verifier`` (``TypeError`` without one). A verified handshake push raises
        ``HandshakePush``. Certificates a push names are fetched through ``certificates``
        (``dlr_core.certificates.default_store()`` by default)."""
        self.check_verifier(verifier)
        if self.formats:  # read in the format the push's Content-Type names
            content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
            return self.as_received(content_type).payloads(
                method,
                url,
                headers,
                body,
                credentials=credentials,
                clock=clock,
                max_bytes=max_bytes,
                verifier=verifier,
                certificates=certificates,
            )
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
        content_type = lower.get("content-type", "")
        # The body's fields are read once: the signature's steps see them (for each URL an
        # ``either_port`` check tries) and a form push's payload is made of them.
        fields = (
            callback_run.form_fields(self, body, body.decode("utf-8", errors="replace"), content_type)
            if self.verify is not None or (self.format == "form" and self.method != "GET")
            else None
        )
        claims = None
        if self.verify is not None:
            claims = self._verify(
                method.upper(),
                url,
                lower,
                body,
                dict(credentials or {}),
                clock or _utc_now,
                certificates,
                fields=fields or [],
            )
        if verifier is not None:
            outcome: object = verifier(method.upper(), url, lower, body)
            if outcome is not None:  # ``False`` must never pass for a verified push
                raise TypeError(
                    f"a verifier returns None or raises CallbackSignatureError; it returned {outcome!r:.40}"
                )
        jwt = self.verify.jwt if self.verify is not None else None
        if claims is not None and jwt is not None and jwt.read_claims:
            payloads = [claims]  # the signed report, whatever the body says
        else:
            # A GET's report is its query; a multipart body is read with its Content-Type's boundary.
            if self.method == "GET":
                payloads = callback_reading.read_payloads(self, query.encode("utf-8"), "")
            else:
                payloads = callback_reading.read_payloads(
                    self, body, content_type, form_pairs=fields if self.format == "form" else None
                )
        raise_if_handshake(self.provider, self.handshakes, lower, payloads, body)
        if self.unwrap is not None:
            payloads = [unwrapped(self.provider, self.unwrap, payload, body) for payload in payloads]
        return payloads

    def _verify(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        credentials: dict[str, str],
        clock: Clock,
        certificates: CertificateStore | None = None,
        *,
        fields: list[tuple[str, str]],
    ) -> dict[str, Any] | None:
        """Refuses a push that does not verify; returns a verified token's claims (``jwt``).
        ``fields``: the body's fields (``callback_run.form_fields``), read once per push."""
        verify = self.verify
        assert verify is not None
        content_type = headers.get("content-type", "")
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
        form = (
            callback_run.first_of_each(fields)
            if verify.fields or (verify.compare and verify.compare.field)
            else {}
        )
        for variable, name in verify.fields:
            value = form.get(name)
            if not value:
                raise refused(f"the push has no {name} field")
            sent_headers[variable] = value[:1024]
        urls = with_and_without_port(url) if verify.either_port else (url,)
        try:
            each_values = callback_run.push_values_each(
                self,
                method,
                urls,
                body,
                credentials,
                timestamp,
                verify.sign,
                sent_headers,
                content_type,
                fields=fields,
            )
        except SigningError as exc:
            raise refused(f"the push cannot be verified: {exc}") from None
        except UnicodeError:  # a lone surrogate in the URL or a header: not what was signed
            raise refused("the push's URL or headers are not Unicode text") from None
        if verify.compare is not None:
            compare = verify.compare
            sent = (
                form.get(compare.field) if compare.field is not None else headers.get(compare.header.lower())
            )
            if not sent:
                raise refused(f"the push has no {compare.where}")
            each_given = [
                # a header's surrounding spaces are not its value; a field's text is exact
                (part.strip() if compare.field is None else part).encode("utf-8", errors="surrogatepass")
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
                    f"the {compare.where} signature does not match the push received at {url[:2048]}"
                )
        members = json_object(body) if reads_members(verify) else {}
        if verify.public_key is not None:
            check = verify.public_key
            where = f"{check.header} header" if check.header else f"{check.field} member"
            sent = headers.get(check.header.lower()) if check.header else members.get(check.field)
            if not sent or not isinstance(sent, str):
                raise refused(f"the push has no {where}")
            try:
                signature = decode_signature(sent.strip(), check.encoding)
            except ValueError:
                raise refused(f"the {where} is not {check.encoding}") from None
            algorithm = check.algorithm
            if check.algorithm_by is not None:
                member, choices = check.algorithm_by
                chosen = dict(choices).get(str(members.get(member)))
                if chosen is None:
                    raise refused(f"the push's {member} is not one the spec allows")
                algorithm = chosen
            loaded: Any = None
            if check.certificate is not None:
                certificate_url = members.get(check.certificate_field)
                if not isinstance(certificate_url, str):
                    raise refused(f"the push has no {check.certificate_field} member")
                try:  # the URL is checked against the spec's pattern before anything is fetched
                    loaded = (certificates or default_store()).public_key(certificate_url, check.certificate)
                except CertificateError as exc:
                    raise refused(f"the push's {check.certificate_field}: {exc}") from None
            key = credentials.get(check.key, "")
            if not any(
                public_key_verifies(
                    check,
                    key,
                    signature,
                    values[check.input].encode("utf-8", "surrogatepass"),
                    key=loaded,
                    algorithm=algorithm,
                )
                for values in each_values
            ):
                raise refused(
                    f"the {where} signature of the push received at {url[:2048]} does not "
                    "verify with the public key"
                )
        for equals in verify.equals:
            if equals.query:
                query = dict(
                    parse_qsl(urlsplit(url).query, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
                )
                carried: Any = query.get(equals.query)
            elif equals.header:
                carried = headers.get(equals.header.lower())
            else:
                carried = members.get(equals.field)
            expected = each_values[0][equals.value]
            if not isinstance(carried, str) or not hmac.compare_digest(
                carried.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
            ):
                raise refused(
                    f"the push's {equals.query or equals.header or equals.field} is not the one expected"
                )
        if verify.jwt is not None:
            return callback_jwt.verify_jwt(
                self,
                verify.jwt,
                method,
                urls,
                headers,
                body,
                credentials,
                timestamp,
                sent_headers,
                clock,
                fields=fields,
            )
        return None

    def content_type(self, body: bytes) -> str:
        """The Content-Type the provider sends ``body`` with (a multipart body's names the
        boundary ``dlr_core.wire.multipart.encode_fields`` wrote into it)."""
        if self.format == "multipart":
            try:
                return multipart.content_type(body)
            except multipart.MultipartError as exc:
                raise SigningError(str(exc)) from None
        if self.format == "xml":
            return "application/xml; charset=utf-8"
        return "application/x-www-form-urlencoded" if self.format == "form" else "application/json"

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
        spec knows how to sign, and for these it does not say. A signature carried in the
        body (a JSON member, or among the form fields) changes the body too: use
        ``sign_push``."""
        headers, signed_body = callback_sending.sign_push(
            self, url, body, credentials=credentials, private_key=private_key, moment=moment
        )
        if signed_body != body:
            raise SigningError(f"{self.name} is signed in its body: use sign_push, which returns the body")
        return headers

    def push_url(self, url: str, credentials: Mapping[str, str]) -> str:
        """``url`` with the query parameters the check expects in it (``equals`` with
        ``query``) added, as the URL the provider was given carries them."""
        return callback_sending.push_url(self, url, credentials)

    def sign_push(
        self,
        url: str,
        body: bytes,
        *,
        credentials: Mapping[str, str],
        private_key: str | None = None,
        moment: datetime | None = None,
        certificate_url: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The headers and the body the provider would send with this push: ``sign``'s
        headers, and for a signature carried in the JSON body (``public_key.field``) the
        body with it (and with the first ``algorithm_by`` choice's value); for one among the
        form fields, fresh values in ``fields`` and the signature in ``compare.field``, each
        replacing a field of that name. A check with a
        certificate needs its URL in the body, or ``certificate_url`` (put in the body when
        it names none): the receiver must be given the matching certificate for it."""
        return callback_sending.sign_push(
            self,
            url,
            body,
            credentials=credentials,
            private_key=private_key,
            moment=moment,
            certificate_url=certificate_url,
        )


def _answer(data: Mapping[str, Any], default: Answer) -> Answer:
    return Answer(
        status=int(data.get("status", default.status)),
        content_type=str(data.get("content_type", default.content_type)),
        body=str(data.get("body", default.body)),
    )


# -- receipts ---------------------------------------------------------------------------------


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
    certificates: CertificateStore | None = None,
) -> list[Receipt]:
    """A push as canonical receipts (with idempotency keys): verified (by ``verifier`` for
    a callback verified in code), each payload read as ``model`` and turned into receipts by
    the generated ``receipts`` function. A handshake push raises ``HandshakePush``."""
    from pydantic import ValidationError  # loaded with the model already: a lookup

    payloads = callback.payloads(
        method,
        url,
        headers,
        body,
        credentials=credentials,
        clock=clock,
        max_bytes=max_bytes,
        verifier=verifier,
        certificates=certificates,
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
    return keyed_as_built(out)  # receipts the generated function just built: keyed without a copy
