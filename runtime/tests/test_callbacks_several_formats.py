"""Pushes that may come in more than one body format (``format: [form, json]``): each is read
in the format its Content-Type names, in the first listed when it names none of them,
verified over the body as sent whichever it is, and pushed by the mock in the format a
scenario step asks for."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from dlr_core import CallbackSignatureError, MalformedCallback
from dlr_core.callbacks import Callback, format_named_by
from dlr_core.push import PushScenarioError, encode, read_scenario
from dlr_core.signing import SigningError

URL = "https://example.com/dlr"
SECRET = {"api_key": "k3y"}
SIGNED: dict[str, Any] = {
    "format": ["form", "json"],
    "verify": {
        "sign": [
            {
                "as": "signature",
                "hmac": {"algorithm": "sha256", "key": "{api_key}", "input": "{url}{body}", "output": "hex"},
            }
        ],
        "compare": {"header": "X-Signature", "value": "{signature}"},
    },
}
FORM_OR_JSON = Callback.from_data("demo", "report", SIGNED)
JSON_OR_FORM = Callback.from_data("demo", "report", {**SIGNED, "format": ["json", "form"]})


def signed(body: bytes, content_type: str | None) -> dict[str, str]:
    """The headers of a push signed as the provider signs (HMAC-SHA256 of URL and body, hex),
    computed here rather than by the code under test."""
    signature = hmac.new(b"k3y", URL.encode() + body, hashlib.sha256).hexdigest()
    return {"X-Signature": signature, **({"Content-Type": content_type} if content_type else {})}


@pytest.mark.parametrize(
    ("content_type", "body", "payload"),
    [
        ("application/x-www-form-urlencoded", b"id=7&status=delivered", {"id": "7", "status": "delivered"}),
        ("application/json", b'{"id": 7, "status": "delivered"}', {"id": 7, "status": "delivered"}),
        ("Application/JSON; charset=UTF-8", b'{"id": 7}', {"id": 7}),
        ("application/vnd.demo+json", b'{"id": 7}', {"id": 7}),
    ],
)
def test_each_push_is_read_in_the_format_its_content_type_names(
    content_type: str, body: bytes, payload: dict[str, Any]
) -> None:
    for callback in (FORM_OR_JSON, JSON_OR_FORM):  # whichever is listed first
        assert callback.payloads("POST", URL, signed(body, content_type), body, credentials=SECRET) == [
            payload
        ]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/xml"])
def test_a_content_type_naming_none_of_them_is_read_in_the_first(content_type: str | None) -> None:
    form, json_body = b"id=7", b'{"id": 7}'
    assert FORM_OR_JSON.payloads("POST", URL, signed(form, content_type), form, credentials=SECRET) == [
        {"id": "7"}
    ]
    assert JSON_OR_FORM.payloads(
        "POST", URL, signed(json_body, content_type), json_body, credentials=SECRET
    ) == [{"id": 7}]
    with pytest.raises(MalformedCallback, match="not JSON"):  # a form read as the first, JSON
        JSON_OR_FORM.payloads("POST", URL, signed(form, content_type), form, credentials=SECRET)


def test_a_push_is_verified_whichever_format_it_is_in() -> None:
    body = b'{"id": 7}'
    headers = signed(body, "application/json")
    headers["X-Signature"] = headers["X-Signature"][:-1] + ("0" if headers["X-Signature"][-1] != "0" else "1")
    with pytest.raises(CallbackSignatureError):
        FORM_OR_JSON.payloads("POST", URL, headers, body, credentials=SECRET)
    with pytest.raises(CallbackSignatureError):  # a signature of the form does not stand for the JSON
        FORM_OR_JSON.payloads(
            "POST",
            URL,
            {**signed(b"id=7", None), "Content-Type": "application/json"},
            body,
            credentials=SECRET,
        )


def test_the_mock_pushes_in_the_first_format_or_the_one_a_step_names() -> None:
    callbacks = {"report": FORM_OR_JSON}
    steps = read_scenario(
        callbacks,
        {"report": [{"payload": {"id": "7"}}, {"payload": {"id": "7"}, "format": "json"}]},
    )
    assert [(step.format, step.body) for step in steps] == [(None, b"id=7"), ("json", b'{"id": "7"}')]
    as_json = FORM_OR_JSON.in_format("json")
    headers = as_json.sign(URL, steps[1].body, credentials=SECRET)
    assert headers["Content-Type"] == "application/json"
    assert FORM_OR_JSON.payloads("POST", URL, headers, steps[1].body, credentials=SECRET) == [{"id": "7"}]
    assert FORM_OR_JSON.sign(URL, steps[0].body, credentials=SECRET)["Content-Type"] == (
        "application/x-www-form-urlencoded"
    )
    assert encode(FORM_OR_JSON, {"id": "7"}) == b"id=7"


def test_a_step_naming_a_format_the_callback_does_not_take_is_refused() -> None:
    with pytest.raises(PushScenarioError, match="form or json, not 'xml'") as caught:
        read_scenario({"report": FORM_OR_JSON}, {"report": [{"payload": {"id": "7"}, "format": "xml"}]})
    assert caught.value.path == ("report", 0, "format")
    with pytest.raises(PushScenarioError, match="not '3'"):
        read_scenario({"report": FORM_OR_JSON}, {"report": [{"payload": {"id": "7"}, "format": 3}]})


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"format": ["form", "jsonl"]}, "unknown callback format"),
        ({"format": ["form", "form"]}, "unknown callback format"),
        ({"format": []}, "unknown callback format"),
        ({"format": ["form", "json"], "method": "GET"}, "is a POST"),
        ({"format": ["form", "json"], "array": True}, "can be a list of reports"),
        ({"format": ["json", "xml"], "json_field": "data"}, "json_field"),
    ],
)
def test_what_several_formats_cannot_be(data: dict[str, Any], why: str) -> None:
    with pytest.raises(SigningError, match=why):
        Callback.from_data("demo", "report", {**data, "verify": {"unsigned": "none"}})


def test_a_json_field_form_and_json_may_both_be_arrays_of_reports() -> None:
    callback = Callback.from_data(
        "demo",
        "report",
        {"format": ["form", "json"], "json_field": "data", "array": True, "verify": {"unsigned": "none"}},
    )
    reports = b'[{"id": 1}, {"id": 2}]'
    assert callback.payloads("POST", URL, {"Content-Type": "application/json"}, reports) == [
        {"id": 1},
        {"id": 2},
    ]
    form = b"data=%5B%7B%22id%22%3A+1%7D%5D"
    assert callback.payloads("POST", URL, {}, form) == [{"id": 1}]


@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        ("application/x-www-form-urlencoded; charset=utf-8", "form"),
        ("multipart/form-data; boundary=x", "multipart"),
        ("text/json", "json"),
        ("text/xml", "xml"),
        ("application/atom+xml", "xml"),
        ("text/plain", None),
        ("", None),
    ],
)
def test_the_format_a_content_type_names(content_type: str, named: str | None) -> None:
    assert format_named_by(content_type) == named
