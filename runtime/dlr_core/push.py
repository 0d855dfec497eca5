"""Pushing a provider's callbacks to an endpoint, signed as the provider signs them: for
testing a receiver end to end (``dlrgen mock <provider> --push URL``).

A push scenario maps a callback's name to the pushes to make, in order::

    status_callback:
      - payload: {MessageSid: SM1, MessageStatus: delivered, To: "+15558675310"}
      - payload: {MessageSid: SM1, MessageStatus: delivered, To: "+15558675310"}
        repeat: 2          # pushed twice: the receiver sees the same idempotency key twice
      - payload: {MessageSid: SM2, MessageStatus: failed}
        tamper: true       # signed, then one byte of the body changed: must be refused
      - handshake: subscription_validation   # a handshake the callback's spec describes
        payload: {data: {validationCode: "512d38b6"}}

A callback that takes several body formats (``format: [form, json]``) is pushed in the
first; ``format: json`` in a step pushes that one in another of them.

A payload is a mapping, or for a callback whose body is an array (``array: true``) a list
of mappings (one push of several reports) or a mapping (one report). Each push is encoded
as the callback says (form, multipart form, XML or JSON), signed with the scenario's credentials (a public-key
callback with the matching private key), and sent with httpx; ``Pushed`` says what the
receiver answered. A callback verified in code (``verify: {in_code: ...}``) is pushed
unsigned: only the receiver's verifier knows the check.

A ``handshake`` step pushes one of the callback's handshakes: the header or member its
``when`` tests is set, and the payload is pushed as it is (signed like any push). For a
callback whose report is JSON text in a member (``unwrap``), a payload giving that member
as a mapping has it encoded as JSON text. A signature checked with a certificate the push
names (``public_key.certificate``) is made with the private key ``certificate_keys`` gives
for the URL the payload names (or, when the payload names none and one key is given, for
that key's URL, which the push then names): the receiver is given the matching certificate
for that URL (``dlr_core.certificates.StaticCertificates``; ``make_test_certificate`` makes
a pair).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from dlr_core.callbacks import Callback
from dlr_core.wire import multipart, xml_body

__all__ = ["PushScenarioError", "Pushed", "encode", "push", "read_scenario"]

_STEP_KEYS = frozenset({"payload", "repeat", "tamper", "handshake", "format"})


class PushScenarioError(ValueError):
    """A push scenario is not what this module reads; ``path`` locates the problem."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Step:
    callback: str
    body: bytes
    repeat: int
    tamper: bool
    headers: tuple[tuple[str, str], ...] = ()
    handshake: str | None = None
    format: str | None = None
    """The body format pushed in, for a callback that takes several (None: its first)."""


@dataclass(frozen=True)
class Pushed:
    """One push made and the receiver's answer."""

    callback: str
    status: int
    answer: bytes
    tampered: bool
    url: str = ""
    """The URL the push was made to and signed for."""
    handshake: str | None = None
    """The handshake pushed, if the push was one."""

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


def encode(callback: Callback, payload: Any) -> bytes:
    """A payload as the provider sends it (form fields, multipart form fields, XML, or JSON)."""
    if callback.unwrap and isinstance(payload, Mapping) and isinstance(payload.get(callback.unwrap), Mapping):
        # The report travels as JSON text inside this member of the envelope.
        payload = {**payload, callback.unwrap: json.dumps(payload[callback.unwrap], ensure_ascii=False)}
    if callback.array and isinstance(payload, Mapping):
        payload = [payload]
    if callback.format == "form" and callback.json_field is not None:
        # One field holding the report(s) as JSON, percent-encoded once by the form.
        return urlencode([(callback.json_field, json.dumps(payload, ensure_ascii=False))]).encode("ascii")
    if callback.format in ("form", "multipart"):
        if not isinstance(payload, Mapping):
            raise ValueError(f"a {callback.format} push is a mapping of fields")
        fields = [(str(k), _text(v)) for k, v in payload.items()]
        if callback.format == "multipart":
            return multipart.encode_fields(fields)
        return urlencode(fields).encode("ascii")
    if callback.format == "xml":
        if not isinstance(payload, Mapping):
            raise ValueError("an xml push is a mapping of fields (the root element's children)")
        return xml_body.encode_document(callback.xml_root or "Report", payload)
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _certificate_url(member: str, body: bytes, keys: Mapping[str, str]) -> str | None:
    """The certificate URL a push names, or the one certificate key's URL when it names none."""
    try:
        named = json.loads(body).get(member)
    except (ValueError, AttributeError):
        named = None
    if isinstance(named, str):
        return named
    return next(iter(keys)) if len(keys) == 1 else None


def _tampered(callback: Callback, body: bytes) -> bytes:
    """The signed body with one byte changed: a space added (to a multipart body's last
    field: after its close delimiter the space would be an epilogue no field holds), or, for
    a signature carried in the JSON body (where spacing is not signed), an "x" added to the
    first text member the check does not itself read."""
    if callback.format == "multipart":  # the last field, before its close delimiter
        end = body.rfind(b"\r\n--")
        return body[:end] + b" " + body[end:] if end > 0 else body + b" "
    check = callback.verify.public_key if callback.verify is not None else None
    if check is None or not check.field:
        return body + b" "
    members = json.loads(body)
    own = {check.field, check.certificate_field, check.algorithm_by[0] if check.algorithm_by else ""}
    for name, value in members.items():
        if isinstance(value, str) and name not in own:
            members[name] = value + "x"
            break
    return json.dumps(members, ensure_ascii=False).encode("utf-8")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def read_scenario(callbacks: Mapping[str, Callback], data: Any) -> list[Step]:
    """The pushes a scenario's ``callbacks`` section asks for; ``PushScenarioError`` for a
    callback the provider does not have, or a step this module does not read."""
    if not isinstance(data, Mapping):
        raise PushScenarioError((), "callbacks: a mapping of callback name -> pushes")
    steps: list[Step] = []
    for name, pushes in data.items():
        if name not in callbacks:
            raise PushScenarioError(
                (name,), f"no callback {name!r}; this provider has: {', '.join(callbacks) or 'none'}"
            )
        if not isinstance(pushes, list) or not pushes:
            raise PushScenarioError((name,), f"{name}: a list of pushes")
        for index, step in enumerate(pushes):
            where: tuple[str | int, ...] = (name, index)
            if not isinstance(step, Mapping) or "payload" not in step:
                raise PushScenarioError(where, "a push is a mapping with 'payload'")
            unknown = set(step) - _STEP_KEYS
            if unknown:
                raise PushScenarioError(
                    (*where, sorted(unknown)[0]),
                    f"unknown key {sorted(unknown)[0]!r}; keys: {', '.join(sorted(_STEP_KEYS))}",
                )
            repeat = step.get("repeat", 1)
            if not isinstance(repeat, int) or isinstance(repeat, bool) or not 1 <= repeat <= 100:
                raise PushScenarioError((*where, "repeat"), "repeat is a number of pushes, 1 to 100")
            tamper = step.get("tamper", False)
            if not isinstance(tamper, bool):
                raise PushScenarioError((*where, "tamper"), "tamper is true or false")
            verify = callbacks[name].verify
            if tamper and (verify is None or (verify.compare is None and verify.public_key is None)):
                why = (
                    "is verified in code, which the mock cannot sign"
                    if callbacks[name].in_code is not None
                    else "is not signed"
                )
                raise PushScenarioError(
                    (*where, "tamper"), f"{name} {why}: a tampered push cannot be told apart"
                )
            payload = step["payload"]
            headers: tuple[tuple[str, str], ...] = ()
            handshake_name = step.get("handshake")
            if handshake_name is not None:
                known = {each.name: each for each in callbacks[name].handshakes}
                if handshake_name not in known:
                    raise PushScenarioError(
                        (*where, "handshake"),
                        f"{name} has no handshake {handshake_name!r}; it has: {', '.join(known) or 'none'}",
                    )
                handshake = known[handshake_name]
                if handshake.header:
                    headers = ((handshake.header, handshake.equals),)
                elif isinstance(payload, Mapping):
                    payload = {**payload, handshake.member: handshake.equals}
            body_format = step.get("format")
            try:
                callback = callbacks[name] if body_format is None else callbacks[name].in_format(body_format)
            except (TypeError, ValueError) as exc:
                raise PushScenarioError((*where, "format"), str(exc)) from None
            try:
                body = encode(callback, payload)
            except (TypeError, ValueError) as exc:
                raise PushScenarioError((*where, "payload"), str(exc)) from None
            steps.append(Step(name, body, repeat, tamper, headers, handshake_name, body_format))
    return steps


def push(
    callbacks: Mapping[str, Callback],
    steps: Sequence[Step],
    url: str,
    *,
    credentials: Mapping[str, str],
    private_keys: Mapping[str, str] | None = None,
    certificate_keys: Mapping[str, str] | None = None,
    clock: Any = None,
    http_client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> list[Pushed]:
    """Make each push to ``url`` (``{callback}`` in it is replaced by the callback's name),
    signed as the provider signs; returns the receiver's answers, in order.

    ``private_keys`` maps a public-key credential to the PEM private key that signs for it;
    ``certificate_keys`` maps a certificate URL to the PEM private key of its certificate."""
    client = http_client or httpx.Client(timeout=timeout, follow_redirects=False)
    results: list[Pushed] = []
    try:
        for step in steps:
            callback = callbacks[step.callback]
            if step.format is not None:  # one of the formats the callback takes
                callback = callback.in_format(step.format)
            target = callback.push_url(url.replace("{callback}", step.callback), credentials)
            for _ in range(step.repeat):
                if callback.method == "GET":
                    parts = urlsplit(target)
                    query = "&".join(q for q in (parts.query, step.body.decode("ascii")) if q)
                    target_url, body = urlunsplit(parts._replace(query=query)), b""
                else:
                    target_url, body = target, step.body
                private_key = certificate_url = None
                if callback.verify is not None and callback.verify.public_key is not None:
                    check = callback.verify.public_key
                    if check.certificate is not None:
                        certificate_url = _certificate_url(
                            check.certificate_field, body, certificate_keys or {}
                        )
                        private_key = (certificate_keys or {}).get(certificate_url or "")
                    else:
                        private_key = (private_keys or {}).get(check.key)
                moment: datetime | None = clock() if clock is not None else None
                headers, body = callback.sign_push(
                    target_url,
                    body,
                    credentials=credentials,
                    private_key=private_key,
                    moment=moment,
                    certificate_url=certificate_url,
                )
                headers.update(step.headers)
                if step.tamper:
                    token = callback.verify.jwt if callback.verify is not None else None
                    if token is not None and token.read_claims:  # the report is the token's claims
                        headers[token.header] = _tampered_token(headers[token.header])
                    body = _tampered(callback, body) if body else body
                    if not body:  # a GET: the query is what is signed
                        target_url += "&tampered=1"
                answer = client.request(callback.method, target_url, content=body, headers=headers)
                results.append(
                    Pushed(
                        step.callback,
                        answer.status_code,
                        answer.content[:4096],
                        step.tamper,
                        target_url,
                        step.handshake,
                    )
                )
    finally:
        if http_client is None:
            client.close()
    return results


def _tampered_token(token: str) -> str:
    """``token`` with one character of its claims changed: what the report is read from when
    a token carries it (``jwt`` with ``read_claims``), so the body alone is not what is signed."""
    header, claims, signature = token.split(".")
    middle = len(claims) // 2
    changed = "B" if claims[middle] != "B" else "C"
    return f"{header}.{claims[:middle]}{changed}{claims[middle + 1:]}.{signature}"
