"""Pushing a provider's callbacks to an endpoint, signed as the provider signs them: for
testing a receiver end to end (``dlrgen mock <provider> --push URL``).

A push scenario maps a callback's name to the pushes to make, in order::

    status_callback:
      - payload: {MessageSid: SM1, MessageStatus: delivered, To: "+15558675310"}
      - payload: {MessageSid: SM1, MessageStatus: delivered, To: "+15558675310"}
        repeat: 2          # pushed twice: the receiver sees the same idempotency key twice
      - payload: {MessageSid: SM2, MessageStatus: failed}
        tamper: true       # signed, then one byte of the body changed: must be refused

A payload is a mapping, or for a callback whose body is an array (``array: true``) a list
of mappings (one push of several reports) or a mapping (one report). Each push is encoded
as the callback says (form, multipart form, XML or JSON), signed with the scenario's credentials (a public-key
callback with the matching private key), and sent with httpx; ``Pushed`` says what the
receiver answered. A callback verified in code (``verify: {in_code: ...}``) is pushed
unsigned: only the receiver's verifier knows the check.
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

_STEP_KEYS = frozenset({"payload", "repeat", "tamper"})


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


@dataclass(frozen=True)
class Pushed:
    """One push made and the receiver's answer."""

    callback: str
    status: int
    answer: bytes
    tampered: bool
    url: str = ""
    """The URL the push was made to and signed for."""

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


def encode(callback: Callback, payload: Any) -> bytes:
    """A payload as the provider sends it (form fields, multipart form fields, XML, or JSON)."""
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
    if callback.array and isinstance(payload, Mapping):
        payload = [payload]
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _tampered(callback: Callback, body: bytes) -> bytes:
    """The body with one byte added where a signature over it, or over its fields, notices:
    a multipart body's last field gets a trailing space (after its close delimiter, the
    space would be an epilogue no field holds)."""
    if callback.format == "multipart":
        end = body.rfind(b"\r\n--")
        return body[:end] + b" " + body[end:] if end > 0 else body + b" "
    return body + b" " if body else body


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
            if tamper and callbacks[name].verify is None:
                why = (
                    "is verified in code, which the mock cannot sign"
                    if callbacks[name].in_code is not None
                    else "is not signed"
                )
                raise PushScenarioError(
                    (*where, "tamper"), f"{name} {why}: a tampered push cannot be told apart"
                )
            try:
                body = encode(callbacks[name], step["payload"])
            except (TypeError, ValueError) as exc:
                raise PushScenarioError((*where, "payload"), str(exc)) from None
            steps.append(Step(name, body, repeat, tamper))
    return steps


def push(
    callbacks: Mapping[str, Callback],
    steps: Sequence[Step],
    url: str,
    *,
    credentials: Mapping[str, str],
    private_keys: Mapping[str, str] | None = None,
    clock: Any = None,
    http_client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> list[Pushed]:
    """Make each push to ``url`` (``{callback}`` in it is replaced by the callback's name),
    signed as the provider signs; returns the receiver's answers, in order.

    ``private_keys`` maps a public-key credential to the PEM private key that signs for it."""
    client = http_client or httpx.Client(timeout=timeout, follow_redirects=False)
    results: list[Pushed] = []
    try:
        for step in steps:
            callback = callbacks[step.callback]
            target = url.replace("{callback}", step.callback)
            for _ in range(step.repeat):
                if callback.method == "GET":
                    parts = urlsplit(target)
                    query = "&".join(q for q in (parts.query, step.body.decode("ascii")) if q)
                    target_url, body = urlunsplit(parts._replace(query=query)), b""
                else:
                    target_url, body = target, step.body
                private_key = None
                if callback.verify is not None and callback.verify.public_key is not None:
                    private_key = (private_keys or {}).get(callback.verify.public_key.key)
                moment: datetime | None = clock() if clock is not None else None
                headers = callback.sign(
                    target_url, body, credentials=credentials, private_key=private_key, moment=moment
                )
                if step.tamper:
                    body = _tampered(callback, body)
                    if not body:  # a GET: the query is what is signed
                        target_url += "&tampered=1"
                answer = client.request(callback.method, target_url, content=body, headers=headers)
                results.append(
                    Pushed(step.callback, answer.status_code, answer.content[:4096], step.tamper, target_url)
                )
    finally:
        if http_client is None:
            client.close()
    return results
