"""The push path's cost (issue #25): a verified form push's body is parsed into fields once,
however many URLs its signature is checked against; an idempotency key is exactly the
hash its docstring defines; the read timeout holds on the event loops CallbackApp serves."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from dlr_core import DeliveryStatus, Receipt
from dlr_core import callback_app, callback_reading, callback_run
from dlr_core.callbacks import CallbackApp, Endpoint, idempotency_key, with_keys

from test_callbacks_runtime import (
    BATCH,
    TWILIO_PARAMS,
    TWILIO_SIGNATURE,
    TWILIO_TOKEN,
    TWILIO_URL,
    demo_endpoint,
    twilio,
)


def test_a_verified_form_push_is_parsed_into_fields_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twilio's published vector: the signature is checked against the URL as given and with
    :443 (either_port), and the payload is the same fields; the body is parsed once for all."""
    body_text = urlencode(TWILIO_PARAMS)
    parsed: list[str] = []

    real = callback_run.read_form

    def counting(text: str, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        parsed.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(callback_run, "read_form", counting)
    monkeypatch.setattr(callback_reading, "read_form", counting)
    [payload] = twilio().payloads(
        "POST",
        TWILIO_URL,
        {"X-Twilio-Signature": TWILIO_SIGNATURE},
        body_text.encode(),
        credentials={"auth_token": TWILIO_TOKEN},
    )
    assert payload == TWILIO_PARAMS
    assert parsed.count(body_text) == 1


# Forms read_form must read exactly as parse_qsl does: blanks, a name alone, empty pieces, "+"
# and "%2B", escapes of "&" and "=", invalid and truncated escapes, invalid UTF-8 (U+FFFD),
# text that is not ASCII, a lone surrogate, separators only.
FORM_EDGES = [
    "",
    "a",
    "a=",
    "=",
    "=b",
    "&",
    "&&",
    "a=1&&b=2&",
    "&a=1",
    "a=1=2",
    "a+b=c+d",
    "a%2Bb=%2B1+2",
    "a%26b=c%3Dd%26e",
    "a=%",
    "a=%4",
    "a=%zz",
    "a=%4g1",
    "a=%C3%A9",
    "a=%C3",
    "a=%C3&b=%A9",
    "a=%ff%fe",
    "a=%e6%97%a5%e6%9c%ac",
    "é=ü&日本=%E6%97%A5",
    "a=\ud800",
    "a=%ED%A0%80",
    "a=%00",
    "a=1;b=2",
    " a = b ",
    "a=1&a=2&a=",
]


@pytest.mark.parametrize("text", FORM_EDGES)
def test_read_form_reads_exactly_what_parse_qsl_reads(text: str) -> None:
    assert callback_run.read_form(text) == parse_qsl(
        text, keep_blank_values=True, max_num_fields=callback_run.MAX_FORM_FIELDS
    )


def test_read_form_is_parse_qsl_on_any_text() -> None:
    # hypothesis is the repository's test dependency, not dlr-core's (see test_per_call.py).
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    relaxed = hypothesis.settings(
        max_examples=400, suppress_health_check=[hypothesis.HealthCheck.too_slow], deadline=None
    )
    # Mostly the characters a form's syntax is made of, so escapes and separators meet often.
    form_like = st.text(alphabet=st.sampled_from("ab=&+%2BCc3Ffé9\x00 ;"), max_size=40)

    @relaxed
    @hypothesis.given(form_like | st.text(max_size=30))
    def same(text: str) -> None:
        assert callback_run.read_form(text) == parse_qsl(text, keep_blank_values=True, max_num_fields=1000)

    same()


@pytest.mark.parametrize("fields", [3, 4, 5])
def test_read_form_refuses_more_fields_than_allowed_as_parse_qsl_does(fields: int) -> None:
    text = "&".join(f"f{i}=1" for i in range(fields))
    try:
        expected: object = parse_qsl(text, keep_blank_values=True, max_num_fields=4)
    except ValueError as exc:
        expected = str(exc)
    try:
        got: object = callback_run.read_form(text, max_fields=4)
    except ValueError as exc:
        got = str(exc)
    assert got == expected and (fields > 4) == isinstance(got, str)


def test_a_form_push_that_is_not_utf8_is_refused_as_before() -> None:
    """The fields the signature saw (read with replacement characters) are not what is read
    as the payload: a body that is not UTF-8 is malformed even when its signature matches."""
    from dlr_core import MalformedCallback

    body = b"MessageSid=SM1&To=%2B1&Bad=\xff"
    url = "https://mycompany.com/hook"
    headers = twilio().sign(url, body, credentials={"auth_token": TWILIO_TOKEN})
    with pytest.raises(MalformedCallback, match="not UTF-8"):
        twilio().payloads("POST", url, headers, body, credentials={"auth_token": TWILIO_TOKEN})


def test_the_idempotency_key_is_the_sha256_of_the_receipt_as_canonical_json() -> None:
    """The definition its docstring gives, computed here by hand: keys stored by a receiver
    stay valid across versions only if it never changes."""
    receipt = Receipt(
        provider="demo",
        status=DeliveryStatus.DELIVERED,
        raw_status={"stat": "DELIVRD", "code": 0},
        message_id="m-ü",
        recipient="+4915100000",
        completed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        details={"z": [1, 2.5, None], "a": {"b": "é"}},
        raw={"Zeta": "1", "alpha": {"nested": True}, "text": "日本"},
    )
    data = receipt.model_dump(mode="json", exclude={"idempotency_key"})
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert '"alpha":{"nested":true}' in text and "日本" in text  # sorted, compact, not escaped
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert idempotency_key(receipt) == expected
    [keyed] = with_keys([receipt])
    assert keyed.idempotency_key == expected and keyed.model_copy(update={"idempotency_key": None}) == receipt


def _dripping_push(app: CallbackApp) -> list[Mapping[str, Any]]:
    sent: list[Mapping[str, Any]] = []
    chunks = [{"type": "http.request", "body": b"[", "more_body": True}]

    async def receive() -> Mapping[str, Any]:
        if chunks:
            return chunks.pop()
        await asyncio.Event().wait()  # the rest never comes
        raise AssertionError("unreachable")

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/callbacks/demo", "headers": [], "query_string": b""}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=60))
    return sent


@pytest.mark.parametrize("timeout", ["asyncio", "anyio"])
def test_a_dripping_body_is_answered_408_with_either_timeout(
    timeout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On asyncio (3.11+) the read is bounded by a deadline its loop watches (callback_deadlines); elsewhere (trio, 3.10)
    by anyio's: both answer a body that never ends 408 and parse nothing."""
    if timeout == "anyio":
        monkeypatch.setattr(callback_app, "_asyncio_deadline", None)
    elif callback_app._asyncio_deadline is None:
        pytest.skip("asyncio.timeout needs Python 3.11")
    got: list[list[Receipt]] = []
    app = CallbackApp(
        {"demo": demo_endpoint()}, lambda name, receipts: got.append(receipts), read_timeout=0.05
    )
    sent = _dripping_push(app)
    assert [m.get("status") for m in sent] == [408, None] and sent[1]["body"] == b"timeout" and got == []


@pytest.mark.parametrize("timeout", ["asyncio", "anyio"])
def test_a_whole_body_within_the_timeout_is_read_with_either_timeout(
    timeout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if timeout == "anyio":
        monkeypatch.setattr(callback_app, "_asyncio_deadline", None)
    got: list[list[Receipt]] = []
    endpoint = Endpoint("demo", demo_endpoint().parse, BATCH.answer, BATCH.reject)
    app = CallbackApp({"demo": endpoint}, lambda name, receipts: got.append(receipts), read_timeout=5)
    sent: list[Mapping[str, Any]] = []
    messages = [
        {"type": "http.request", "body": b'[{"id": "m-1",', "more_body": True},
        {"type": "http.request", "body": b' "status": "ok"}]', "more_body": False},
    ]

    async def receive() -> Mapping[str, Any]:
        return messages.pop(0)

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/callbacks/demo", "headers": [], "query_string": b""}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200 and [r.message_id for r in got[0]] == ["m-1"]


def test_a_push_checked_at_two_urls_runs_again_only_the_steps_the_url_reaches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """either_port: the steps whose inputs are the same for both URLs (the sorted fields, the
    body's hash) run once; those reading the URL (a variable, the request's host, a result
    of such a step) run for each; every URL's values are those of a run of its own."""
    from dlr_core import steps
    from dlr_core.callbacks import Callback

    callback = Callback.from_data(
        "demo",
        "push",
        {
            "format": "form",
            "verify": {
                "sign": [
                    {"as": "fields", "sorted_concat": {"source": "body", "name_value_separator": "="}},
                    {"as": "digest", "hash": {"algorithm": "sha256", "input": "{body}", "output": "hex"}},
                    {"as": "lines", "canonical_headers": {"signed_headers": {"names": ["host"]}}},
                    {"as": "where", "format": "{host}|{digest}"},
                    {"as": "both", "format": "{fields}/{digest}"},
                    {"as": "again", "format": "{where}!"},
                    {
                        "as": "signature",
                        "hmac": {
                            "algorithm": "sha256",
                            "key": "{secret}",
                            "input": "{again}{lines}{both}",
                            "output": "hex",
                        },
                    },
                ],
                "compare": {"header": "X-Sig", "value": "{signature}"},
                "either_port": True,
            },
        },
    )
    applied: list[str] = []
    for kind in (steps.SortedConcat, steps.Hash, steps.CanonicalHeaders, steps.Format, steps.Hmac):
        real = kind.apply

        def spy(self: Any, run: Any, real: Any = real) -> Any:
            applied.append(next(b.name for b in callback.verify.sign if b.step is self))  # type: ignore[union-attr]
            return real(self, run)

        monkeypatch.setattr(kind, "apply", spy)
    body = b"b=2&a=1&c=%2B3"
    urls = ("https://hooks.example.com/push?x=1", "https://hooks.example.com:443/push?x=1")
    args = ("POST", urls, body, {"secret": "k"}, None, callback.verify.sign)  # type: ignore[union-attr]
    runs = callback_run.push_runs(callback, *args)
    assert applied == ["fields", "digest", "lines", "where", "both", "again", "signature"] + [
        "lines",
        "where",
        "again",
        "signature",
    ]
    alone = [callback_run.push_run(callback, "POST", url, *args[2:]) for url in urls]
    assert [run.values for run in runs] == [run.values for run in alone]
    assert (
        runs[0].values["where"] != runs[1].values["where"]
        and runs[1].values["both"] == alone[1].values["both"]
    )


def _defined_key(receipt: Receipt) -> str:
    """The idempotency key as its docstring defines it, computed here by hand."""
    data = receipt.model_dump(mode="json", exclude={"idempotency_key"})
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _receipt(**changes: Any) -> Receipt:
    fields: dict[str, Any] = dict(
        provider="demo",
        status=DeliveryStatus.FAILED,
        raw_status={"stat": "UNDELIV", "code": 3, "ok": False, "rate": 0.5, "none": None},
        message_id="m-1",
        raw={"id": "m-1", "list": [1, "two", [3.25, None]], "deep": {"b": {"a": "ü"}}},
    )
    return Receipt(**{**fields, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"submitted_at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)},
        {"completed_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))},
        {"details": {"when": datetime(2026, 1, 2, tzinfo=timezone.utc)}},
        {"details": {"amount": Decimal("1.10")}},
        {"details": {"pair": (1, 2)}},
        {"details": {"status": DeliveryStatus.DELIVERED}},
        {"details": {"nan": float("nan"), "inf": float("inf")}},
        {"details": {"big": 2**70, "neg": -0.0, "tiny": 1e-300}},
        {"raw": {"bytes": b"ok"}},
        {"raw": {"1": "one", "": "", "\u2028": "\ud7ff"}},
    ],
)
def test_the_idempotency_key_is_the_definitions_for_any_receipt(changes: dict[str, Any]) -> None:
    """Times, Decimals, tuples, enums, NaN, big integers, text beyond ASCII: the key is the one
    the definition gives."""
    receipt = _receipt(**changes)
    assert idempotency_key(receipt) == _defined_key(receipt)


def test_the_idempotency_key_is_the_definitions_for_any_json_record() -> None:
    """The key keeps the definition's text (its encoder is made once); a few dozen records
    here, the table above names the edge cases."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    relaxed = hypothesis.settings(
        max_examples=50, suppress_health_check=[hypothesis.HealthCheck.too_slow], deadline=None
    )
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    records = st.dictionaries(
        st.text(max_size=6),
        st.recursive(
            scalars,
            lambda inner: st.lists(inner, max_size=3)
            | st.dictionaries(st.text(max_size=4), inner, max_size=3),
            max_leaves=8,
        ),
        max_size=5,
    )

    @relaxed
    @hypothesis.given(records, records, st.none() | st.datetimes(timezones=st.just(timezone.utc)))
    def same(raw: dict[str, Any], details: dict[str, Any], completed_at: datetime | None) -> None:
        receipt = _receipt(raw=raw, details=details, completed_at=completed_at)
        assert idempotency_key(receipt) == _defined_key(receipt)

    same()


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
@pytest.mark.parametrize("key_length", [0, 1, 20, 63, 64, 65, 127, 128, 129, 300])
def test_hmac_digest_is_the_standard_hmac(algorithm: str, key_length: int) -> None:
    """Keys shorter than a block, a block long, longer (hashed first): the digest hmac.new
    gives, for an empty message and a long one, with the key's states kept between calls."""
    import hmac

    from dlr_core.steps import HASHES, hmac_digest

    key = bytes((index * 7 + key_length) % 256 for index in range(key_length))
    for message in (b"", b"http://127.0.0.1:8000/callbacks/twilioAccountSidAC0", bytes(range(256)) * 5):
        expected = hmac.new(key, message, HASHES[algorithm]).digest()
        assert hmac_digest(key, message, algorithm) == expected
        assert hmac_digest(key, message, algorithm) == expected  # the kept states are not changed
