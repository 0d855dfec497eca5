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
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from pydantic import BaseModel, ValidationError

from dlr_core.wire import multipart, xml_body
from dlr_core.wire.read import MAX_JSON_DEPTH, nested_deeper
from dlr_core.errors import (
    CallbackError,
    CallbackSignatureError,
    MalformedCallback,
    StaleCallback,
)
from dlr_core.receipt import Receipt
from dlr_core.request import PreparedRequest
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
    fresh_nonce,
    json_object,
    reads_members,
    jwt_sign,
    jwt_time_refusal,
    jwt_token_parts,
    private_key_sign,
    public_key_verifies,
    verification_from_data,
    with_and_without_port,
)
from dlr_core.signing import Bound, SigningError, StepRun, timestamp_text
from dlr_core.steps import Value, as_bytes

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

MAX_FORM_FIELDS = 1000
"""The most fields a form push (or a GET push's query) may have: one with more is a
``MalformedCallback``, refused before its signature is computed."""

Clock = Callable[[], datetime]
Model = TypeVar("Model", bound=BaseModel)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Callback:
    """One kind of push of a provider, as its spec describes it."""

    provider: str
    name: str
    method: str = "POST"
    format: Literal["form", "json", "multipart", "xml"] = "json"
    """``form``: urlencoded fields; ``multipart``: multipart/form-data text fields; ``json``;
    ``xml``: a document whose root element's children are the fields."""
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
        if data.get("format", "json") not in ("form", "json", "multipart", "xml"):
            raise SigningError(f"unknown callback format {data.get('format')!r}")
        json_field = data.get("json_field")
        if json_field is not None and (data.get("format") != "form" or not isinstance(json_field, str)):
            raise SigningError("json_field names the field of a form push (format: form) holding JSON")
        if data.get("array") and data.get("format", "json") != "json" and json_field is None:
            raise SigningError("only a JSON body (or a form's json_field) can be a list of reports")
        raw_verify = data.get("verify")
        unsigned = in_code = None
        if isinstance(raw_verify, Mapping) and set(raw_verify) == {"unsigned"}:
            unsigned, raw_verify = str(raw_verify["unsigned"]), None
        elif isinstance(raw_verify, Mapping) and set(raw_verify) == {"in_code"}:
            in_code, raw_verify = str(raw_verify["in_code"]), None
        verify = verification_from_data(raw_verify) if raw_verify is not None else None
        if verify is not None and (verify.fields or (verify.compare and verify.compare.field)):
            if data.get("format") != "form" or str(data.get("method", "POST")).upper() != "POST":
                raise SigningError(
                    "a signature among the pushed fields needs a form push (format: form, POST)"
                )
        return cls(
            provider=provider,
            name=name,
            method=str(data.get("method", "POST")).upper(),
            format=data.get("format", "json"),
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
        claims = None
        if self.verify is not None:
            claims = self._verify(
                method.upper(), url, lower, body, dict(credentials or {}), clock or _utc_now, certificates
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
                payloads = self._read(query.encode("utf-8"), "")
            else:
                payloads = self._read(body, lower.get("content-type", ""))
        raise_if_handshake(self.provider, self.handshakes, lower, payloads, body)
        if self.unwrap is not None:
            payloads = [unwrapped(self.provider, self.unwrap, payload, body) for payload in payloads]
        return payloads

    def _read(self, body: bytes, content_type: str) -> list[dict[str, Any]]:
        def malformed(why: str) -> MalformedCallback:
            return MalformedCallback(why, provider=self.provider, raw_body=body)

        if self.format == "multipart":
            try:
                pairs = multipart.read_fields(body, content_type, max_fields=MAX_FORM_FIELDS)
            except multipart.MultipartError as exc:
                raise malformed(str(exc)) from None
            return [_first_of_each(pairs)]
        if self.format == "xml":
            try:
                return [xml_body.read_document(body, max_depth=MAX_JSON_DEPTH, max_elements=MAX_FORM_FIELDS)]
            except xml_body.XmlBodyError as exc:
                raise malformed(str(exc)) from None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise malformed("the push is not UTF-8 text") from None
        if self.format == "form":
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
            if text.strip() and not pairs:
                raise malformed("the push is not a form (application/x-www-form-urlencoded)")
            form = _first_of_each(pairs)
            if self.json_field is None:
                return [form]
            if not isinstance(form.get(self.json_field), str):
                raise malformed(f"the push has no {self.json_field[:64]} field")
            return self._json_payloads(form[self.json_field], malformed, percent_encoded_again=True)
        return self._json_payloads(text, malformed)

    def _json_payloads(
        self, text: str, malformed: Callable[[str], MalformedCallback], percent_encoded_again: bool = False
    ) -> list[dict[str, Any]]:
        """The payloads of a JSON document: the body, or a form's ``json_field``. A field's
        value may come percent-encoded once more (a provider's docs warn that some receivers
        need two decoding passes): a value starting with ``%``, which no JSON document does,
        is decoded again."""
        if percent_encoded_again and text.lstrip().startswith("%"):
            text = unquote_plus(text)
        if nested_deeper(text.encode("utf-8"), MAX_JSON_DEPTH):
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
        certificates: CertificateStore | None = None,
    ) -> dict[str, Any] | None:
        """Refuses a push that does not verify; returns a verified token's claims (``jwt``)."""
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
        form = self._pushed_fields(body) if verify.fields or (verify.compare and verify.compare.field) else {}
        for variable, name in verify.fields:
            value = form.get(name)
            if not value:
                raise refused(f"the push has no {name} field")
            sent_headers[variable] = value[:1024]
        urls = with_and_without_port(url) if verify.either_port else (url,)
        try:
            each_values = [
                self._values(method, u, body, credentials, timestamp, verify.sign, sent_headers, content_type)
                for u in urls
            ]
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
            return self._verify_jwt(
                verify.jwt, method, urls, headers, body, credentials, timestamp, sent_headers, clock
            )
        return None

    def _verify_jwt(
        self,
        check: JwtCheck,
        method: str,
        urls: Sequence[str],
        headers: Mapping[str, str],
        body: bytes,
        credentials: Mapping[str, str],
        timestamp: str | None,
        sent_headers: Mapping[str, str],
        clock: Clock,
    ) -> dict[str, Any]:
        """The claims of the push's token, once its signature, claims and times verify."""

        def refused(why: str, error: type[CallbackError] = CallbackSignatureError) -> CallbackError:
            return error(why, provider=self.provider, raw_body=body)

        token = headers.get(check.header.lower())
        if not token:
            raise refused(f"the push has no {check.header} header")
        why = f"the {check.header} token does not verify"
        for url in urls:
            try:
                run = self._run(
                    method,
                    url,
                    body,
                    credentials,
                    timestamp,
                    self.verify.sign if self.verify else (),
                    sent_headers,
                    headers.get("content-type", ""),
                )
                key = as_bytes(run.value(check.key))
                expected = [
                    (claim, run.text(claim.value), run.text(claim.only_if) if claim.only_if else None)
                    for claim in check.claims
                ]
            except SigningError as exc:
                raise refused(f"the push cannot be verified: {exc}") from None
            except UnicodeError:
                raise refused("the push's URL or headers are not Unicode text") from None
            try:
                claims = jwt_token_parts(check, token, key)
            except ValueError as exc:
                raise refused(f"the {check.header} token does not verify: {exc}") from None
            mismatch = _claims_mismatch(claims, expected, check.required)
            if mismatch is None:
                late = jwt_time_refusal(claims, clock().timestamp(), check.leeway)
                if late is not None:
                    raise refused(late, StaleCallback)
                return claims
            why = f"the {check.header} token does not fit the push received at {url[:2048]}: {mismatch}"
        raise refused(why)

    @staticmethod
    def _pushed_fields(body: bytes) -> dict[str, str]:
        """A form push's fields (the first of a repeated name), for a signature among them."""
        text = body.decode("utf-8", errors="replace")
        fields: dict[str, str] = {}
        for key, value in parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS):
            fields.setdefault(key, value)
        return fields

    def _values(
        self,
        method: str,
        url: str,
        body: bytes,
        credentials: Mapping[str, str],
        timestamp: str | None,
        bound: Sequence[Bound],
        sent_headers: Mapping[str, str] | None = None,
        content_type: str = "",
    ) -> dict[str, str]:
        """Every step's result and the templates' texts (keyed by template)."""
        run = self._run(method, url, body, credentials, timestamp, bound, sent_headers, content_type)
        out: dict[str, str] = {}
        verify = self.verify
        assert verify is not None
        for template in (
            *((verify.compare.value, *verify.compare.also) if verify.compare else ()),
            verify.public_key.input if verify.public_key else None,
            *(equals.value for equals in verify.equals),
        ):
            if template is not None:
                out[template] = run.text(template)
        return out

    def _run(
        self,
        method: str,
        url: str,
        body: bytes,
        credentials: Mapping[str, str],
        timestamp: str | None,
        bound: Sequence[Bound],
        sent_headers: Mapping[str, str] | None = None,
        content_type: str = "",
    ) -> StepRun:
        """The push's values (``url``, ``body``, ...) and every step's result, run."""
        parts = urlsplit(url)
        text = body.decode("utf-8", errors="replace")
        request = PreparedRequest(
            method,
            f"{parts.scheme}://{parts.netloc}",
            parts.path or "/",
            query=parse_qsl(parts.query, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS),
            body_kind="form" if self.format in ("form", "multipart") else "json",
            form=self._form_fields(body, text, content_type),
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
        run = StepRun(request, values, _utc_now(), credentials, None)
        for each in bound:
            values[each.name] = each.step.apply(run)
        return run

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

    def _form_fields(self, body: bytes, text: str, content_type: str) -> list[tuple[str, str]]:
        """The fields sign steps read (``sorted_concat`` over the body): a form's, or a
        multipart body's text fields (none when it is malformed: ``_read`` then says so)."""
        if self.format == "form":
            return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        if self.format == "multipart":
            try:
                return multipart.read_fields(body, content_type, max_fields=MAX_FORM_FIELDS)
            except multipart.MultipartError:
                return []
        return []

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
        headers, signed_body = self.sign_push(
            url, body, credentials=credentials, private_key=private_key, moment=moment
        )
        if signed_body != body:
            raise SigningError(f"{self.name} is signed in its body: use sign_push, which returns the body")
        return headers

    def push_url(self, url: str, credentials: Mapping[str, str]) -> str:
        """``url`` with the query parameters the check expects in it (``equals`` with
        ``query``) added, as the URL the provider was given carries them."""
        verify = self.verify
        wanted = [each for each in (verify.equals if verify else ()) if each.query]
        if not wanted:
            return url
        values = self._values("POST", url, b"", credentials, None, (), {})
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        present = {name for name, _ in pairs}
        pairs += [(each.query, values[each.value]) for each in wanted if each.query not in present]
        return parts._replace(query=urlencode(pairs)).geturl()

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
        check = self.verify.public_key if self.verify is not None else None
        if check is not None and check.field:
            members = json_object(body)
            if not members:
                raise SigningError(f"{self.name} is signed in its JSON body; this body is not a JSON object")
            if check.algorithm_by is not None:
                members.setdefault(check.algorithm_by[0], check.algorithm_by[1][0][0])
            if check.certificate is not None and certificate_url is not None:
                members.setdefault(check.certificate_field, certificate_url)
            if check.certificate is not None and not isinstance(members.get(check.certificate_field), str):
                raise SigningError(
                    f"the push names no certificate: give {check.certificate_field} in the payload"
                )
            body = json.dumps(members, ensure_ascii=False).encode("utf-8")
        return self._sign_headers(url, body, credentials, private_key, moment)

    def _sign_headers(
        self,
        url: str,
        body: bytes,
        credentials: Mapping[str, str],
        private_key: str | None,
        moment: datetime | None,
    ) -> tuple[dict[str, str], bytes]:
        verify = self.verify
        values_of: dict[str, str] = {}
        if verify is not None and (verify.fields or (verify.compare and verify.compare.field)):
            made = {name: fresh_nonce() for _, name in verify.fields}
            body = self._with_fields(body, made)
            values_of = {variable: made[name] for variable, name in verify.fields}
        headers: dict[str, str] = {"Content-Type": self.content_type(body)}
        if verify is None:
            return headers, body
        moment = moment or _utc_now()
        timestamp = None
        if verify.timestamp is not None:
            timestamp = timestamp_text(moment, verify.timestamp.style)
            headers[verify.timestamp.header] = timestamp
        sent_headers: dict[str, str] = {}
        for variable, header in verify.headers:
            # A signed header the push carries anyway (its Content-Type) keeps its value;
            # any other (a nonce) gets a fresh random one.
            sent = next((value for name, value in headers.items() if name.lower() == header.lower()), None)
            sent_headers[variable] = fresh_nonce() if sent is None else sent
            if sent is None:
                headers[header] = sent_headers[variable]
        sent_headers.update(values_of)
        values = self._values(
            self.method, url, body, credentials, timestamp, verify.sign, sent_headers, headers["Content-Type"]
        )
        if verify.compare is not None and verify.compare.field is not None:
            body = self._with_fields(body, {verify.compare.field: values[verify.compare.value]})
        elif verify.compare is not None:
            headers[verify.compare.header] = values[verify.compare.value]
        for equals in verify.equals:  # a header the check expects (query parameters: push_url)
            if equals.header:
                headers[equals.header] = values[equals.value]
        if verify.public_key is not None:
            check = verify.public_key
            if private_key is None:
                raise SigningError(f"signing a {check.algorithm} push needs the provider's private key")
            algorithm = check.algorithm
            if check.algorithm_by is not None:  # as the body names it (the first choice by default)
                member, choices = check.algorithm_by
                algorithm = dict(choices).get(str(json_object(body).get(member)), algorithm)
            signature = private_key_sign(algorithm, private_key, values[check.input].encode("utf-8"))
            text = (
                base64.b64encode(signature).decode("ascii") if check.encoding == "base64" else signature.hex()
            )
            if check.field:
                members = json_object(body)
                members[check.field] = text
                body = json.dumps(members, ensure_ascii=False).encode("utf-8")
            else:
                headers[check.header] = text
        if verify.jwt is not None:
            headers[verify.jwt.header] = self._signed_token(
                verify.jwt, url, body, credentials, timestamp, sent_headers, moment
            )
        return headers, body

    @staticmethod
    def _with_fields(body: bytes, fields: Mapping[str, str]) -> bytes:
        """A form body with these fields set: each replaces the field of its name (the last
        one set goes last, where a changed byte of the body changes it)."""
        pairs = [
            (key, value)
            for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            if key not in fields
        ]
        return urlencode(pairs + list(fields.items())).encode("ascii")

    def _signed_token(
        self,
        check: JwtCheck,
        url: str,
        body: bytes,
        credentials: Mapping[str, str],
        timestamp: str | None,
        sent_headers: Mapping[str, str],
        moment: datetime,
    ) -> str:
        """The token the provider would send: the report itself as claims when they are what
        is read, every claim the check expects, and a value for each it requires (a minute
        of validity for ``exp``, the moment for ``nbf`` and ``iat``, a random ``jti``)."""
        assert self.verify is not None
        run = self._run(
            self.method,
            url,
            body,
            credentials,
            timestamp,
            self.verify.sign,
            sent_headers,
            self.content_type(body),
        )
        claims: dict[str, Any] = {}
        if check.read_claims:
            claims.update(json.loads(body.decode("utf-8")) if body.strip() else {})
        for claim in check.claims:
            if claim.only_if is None or run.text(claim.only_if):
                claims[claim.key] = run.text(claim.value)
        now = int(moment.timestamp())
        for name in check.required:
            if name not in claims:
                claims[name] = now + 60 if name == "exp" else now if name in ("nbf", "iat") else fresh_nonce()
        return jwt_sign(check.algorithms[0], as_bytes(run.value(check.key)), claims)


def _claims_mismatch(
    claims: Mapping[str, Any],
    expected: Sequence[tuple[ClaimCheck, str, str | None]],
    required: Sequence[str],
) -> str | None:
    """Which claim does not fit the push (``None`` when every one does): each expected claim
    equal to its value (text; another JSON value as its compact JSON), compared in constant
    time, absent when its ``only_if`` text is empty; each required claim present, not empty."""

    def present(name: str) -> bool:
        return claims.get(name) not in (None, "")

    for claim, value, only_if in expected:
        if only_if is not None and not only_if:
            if present(claim.key):
                return f"the claim {claim.key} is set, but there is nothing for it to cover"
            continue
        if not present(claim.key):
            return f"the claim {claim.key} is missing"
        sent = claims[claim.key]
        text = sent if isinstance(sent, str) else json.dumps(sent, separators=(",", ":"))
        if not hmac.compare_digest(
            text.encode("utf-8", "surrogatepass"), value.encode("utf-8", "surrogatepass")
        ):
            return f"the claim {claim.key} does not match"
    for name in required:
        if not present(name):
            return f"the claim {name} is missing"
    return None


def _first_of_each(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A form's fields as a payload object: a field given several times keeps its first value."""
    form: dict[str, Any] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def _answer(data: Mapping[str, Any], default: Answer) -> Answer:
    return Answer(
        status=int(data.get("status", default.status)),
        content_type=str(data.get("content_type", default.content_type)),
        body=str(data.get("body", default.body)),
    )


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
    certificates: CertificateStore | None = None,
) -> list[Receipt]:
    """A push as canonical receipts (with idempotency keys): verified (by ``verifier`` for
    a callback verified in code), each payload read as ``model`` and turned into receipts by
    the generated ``receipts`` function. A handshake push raises ``HandshakePush``."""
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
    return with_keys(out)
