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
from urllib.parse import parse_qsl, urlsplit

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
from dlr_core.callback_app import MAX_CALLBACK_BYTES, Answer, CallbackApp, Endpoint
from dlr_core.callback_app import Handler as Handler, Parser as Parser  # explicit re-exports (1.2's names)
from dlr_core.callback_app import Receive as Receive, Scope as Scope, Send as Send
from dlr_core.callback_verification import (
    KEY_FORMATS as KEY_FORMATS,
    PUBLIC_KEY_ALGORITHMS as PUBLIC_KEY_ALGORITHMS,
    SIGNATURE_ENCODINGS as SIGNATURE_ENCODINGS,
    SIGNED_TIME_STYLES as SIGNED_TIME_STYLES,
    CallbackVerifier,
    Compare,
    PublicKey,
    SignedTime,
    Verification,
    decode_signature,
    fresh_nonce,
    private_key_sign,
    public_key_verifies,
    verification_from_data,
    with_and_without_port,
)
from dlr_core.signing import Bound, SigningError, StepRun, timestamp_text
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
        unknown = set(data) - {"method", "format", "array", "verify", "answer", "reject", "xml_root"}
        if unknown:
            raise SigningError(f"unknown callback keys: {', '.join(sorted(unknown))}")
        if data.get("format", "json") not in ("form", "json", "multipart", "xml"):
            raise SigningError(f"unknown callback format {data.get('format')!r}")
        if data.get("array") and data.get("format", "json") != "json":
            raise SigningError("only a JSON body can be a list of reports")
        raw_verify = data.get("verify")
        unsigned = in_code = None
        if isinstance(raw_verify, Mapping) and set(raw_verify) == {"unsigned"}:
            unsigned, raw_verify = str(raw_verify["unsigned"]), None
        elif isinstance(raw_verify, Mapping) and set(raw_verify) == {"in_code"}:
            in_code, raw_verify = str(raw_verify["in_code"]), None
        verify = verification_from_data(raw_verify) if raw_verify is not None else None
        return cls(
            provider=provider,
            name=name,
            method=str(data.get("method", "POST")).upper(),
            format=data.get("format", "json"),
            array=bool(data.get("array", False)),
            xml_root=str(data.get("xml_root", "")),
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
            return self._read(query.encode("utf-8"), "")
        return self._read(body, lower.get("content-type", ""))

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
            return [_first_of_each(pairs)]
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
                signature = decode_signature(sent.strip(), check.encoding)
            except ValueError:
                raise refused(f"the {check.header} header is not {check.encoding}") from None
            key = credentials.get(check.key, "")
            if not any(
                public_key_verifies(
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
        content_type: str = "",
    ) -> dict[str, str]:
        """Every step's result and the templates' texts (keyed by template)."""
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
        spec knows how to sign, and for these it does not say."""
        headers: dict[str, str] = {"Content-Type": self.content_type(body)}
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
        values = self._values(
            self.method, url, body, credentials, timestamp, verify.sign, sent_headers, headers["Content-Type"]
        )
        if verify.compare is not None:
            headers[verify.compare.header] = values[verify.compare.value]
        if verify.public_key is not None:
            check = verify.public_key
            if private_key is None:
                raise SigningError(f"signing a {check.algorithm} push needs the provider's private key")
            signature = private_key_sign(check.algorithm, private_key, values[check.input].encode("utf-8"))
            headers[check.header] = (
                base64.b64encode(signature).decode("ascii") if check.encoding == "base64" else signature.hex()
            )
        return headers


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
