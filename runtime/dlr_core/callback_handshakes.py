"""Handshakes and envelopes. Handshakes: pushes that check a callback's endpoint instead of
reporting (a subscription to confirm by fetching a URL, a validation code to echo), as a
spec's ``handshakes`` describe them; envelopes: a report carried as JSON text in a member
of the pushed object (``unwrap``, ``unwrapped``). ``dlr_core.callbacks.Callback`` recognises one after verifying the push and
raises ``HandshakePush`` (``dlr_core.callback_app``), which ``CallbackApp`` answers.

``dlr_core.callbacks`` re-exports ``Confirm`` and ``Handshake``; import them from there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dlr_core.callback_app import Answer, HandshakePush
from dlr_core.certificates import CertificateSource
from dlr_core.errors import CallbackSignatureError, MalformedCallback
from dlr_core.steps import SigningError
from dlr_core.wire.read import MAX_JSON_DEPTH, nested_deeper

__all__ = [
    "Confirm",
    "Handshake",
    "answer_from_data",
    "handshake_from_data",
    "raise_if_handshake",
    "unwrapped",
]


@dataclass(frozen=True)
class Confirm:
    """A handshake confirmed by fetching a URL the push carries (a subscription's
    confirmation URL): the JSON member ``field`` holding it, and where it may point
    (``https``, a host and path pattern; a URL elsewhere is refused, never fetched)."""

    field: str
    source: CertificateSource


@dataclass(frozen=True)
class Handshake:
    """A push that is not a report but a provider's check of the endpoint (a subscription
    to confirm, a validation code to echo). Recognised by ``when``: a header's text
    (``header``) or a JSON member's (``member``, the spec's ``field``; of the first object of an array body)
    equal to ``equals``; verified like every push of its callback; answered with
    ``answer``, its body a JSON object of ``echo`` (member -> dotted path of the payload)
    when given; and, with ``confirm``, confirmed by fetching the URL the push carries."""

    name: str
    equals: str
    header: str = ""
    member: str = ""
    answer: Answer = field(default_factory=Answer)
    echo: tuple[tuple[str, str], ...] = ()
    confirm: Confirm | None = None

    def matches(self, headers: Mapping[str, str], first: Mapping[str, Any] | None) -> bool:
        if self.header:
            return headers.get(self.header.lower(), "").strip() == self.equals
        return first is not None and _member(first, self.member) == self.equals


def _member(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of an object (``data.validationCode``), or ``None``."""
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def handshake_from_data(name: str, data: Mapping[str, Any]) -> Handshake:
    unknown = set(data) - {"when", "answer", "echo", "confirm"}
    if unknown:
        raise SigningError(f"unknown handshake keys: {', '.join(sorted(unknown))}")
    when = dict(data.get("when") or {})
    if set(when) not in ({"header", "equals"}, {"field", "equals"}):
        raise SigningError("a handshake's when is {header or field, equals}")
    confirm = None
    if "confirm" in data:
        raw = dict(data["confirm"])
        if set(raw) - {"field", "host_pattern", "path_pattern"} or not {"field", "host_pattern"} <= set(raw):
            raise SigningError("a handshake's confirm is {field, host_pattern, path_pattern}")
        confirm = Confirm(
            str(raw["field"]), CertificateSource(str(raw["host_pattern"]), str(raw.get("path_pattern", "")))
        )
    echo = tuple((str(k), str(v)) for k, v in dict(data.get("echo") or {}).items())
    answer = answer_from_data(
        data.get("answer", {}), Answer(200, "application/json" if echo else Answer().content_type)
    )
    return Handshake(
        name=name,
        equals=str(when["equals"]),
        header=str(when.get("header", "")),
        member=str(when.get("field", "")),
        answer=answer,
        echo=echo,
        confirm=confirm,
    )


def raise_if_handshake(
    provider: str,
    handshakes: tuple[Handshake, ...],
    headers: Mapping[str, str],
    payloads: list[dict[str, Any]],
    body: bytes,
) -> None:
    """Raise ``HandshakePush`` for a (verified) push one of the handshakes recognises."""
    first = payloads[0] if payloads else None
    for handshake in handshakes:
        if not handshake.matches(headers, first):
            continue
        answer = handshake.answer
        if handshake.echo:
            echoed = {member: _member(first or {}, path) for member, path in handshake.echo}
            if not all(isinstance(value, str) for value in echoed.values()):
                raise MalformedCallback(
                    f"the {handshake.name} handshake lacks what it must echo",
                    provider=provider,
                    raw_body=body,
                )
            answer = Answer(answer.status, answer.content_type, json.dumps(echoed, separators=(",", ":")))
        confirm_url = None
        if handshake.confirm is not None:
            found = _member(first or {}, handshake.confirm.field)
            why = handshake.confirm.source.refusal(found) if isinstance(found, str) else "it has none"
            if why is not None:
                raise CallbackSignatureError(
                    f"the {handshake.name} handshake's {handshake.confirm.field}: {why}",
                    provider=provider,
                    raw_body=body,
                )
            confirm_url = found
        raise HandshakePush(provider, handshake.name, answer, confirm_url)


def answer_from_data(data: Mapping[str, Any], default: Answer) -> Answer:
    return Answer(
        status=int(data.get("status", default.status)),
        content_type=str(data.get("content_type", default.content_type)),
        body=str(data.get("body", default.body)),
    )


def unwrapped(provider: str, member: str, payload: Mapping[str, Any], body: bytes) -> dict[str, Any]:
    """The report a payload carries as JSON text in ``member`` (a notification
    envelope's message); ``MalformedCallback`` when it is not a JSON object's text."""
    inner = payload.get(member)
    if isinstance(inner, str):
        try:
            deep = nested_deeper(inner.encode("utf-8", "surrogatepass"), MAX_JSON_DEPTH)
            inner = None if deep else json.loads(inner)
        except (ValueError, RecursionError):
            inner = None
    if not isinstance(inner, dict):
        raise MalformedCallback(f"the push's {member} is not a JSON object", provider=provider, raw_body=body)
    return inner
