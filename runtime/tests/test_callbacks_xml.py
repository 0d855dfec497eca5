"""Pushes posted as XML documents (``format: xml``): the root element's children read as the
payload's fields (nested elements as objects, repeated ones as lists, namespaces dropped),
written back for the mock's pushes, and anything beyond a plain document refused with
``MalformedCallback`` before a model sees it."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from dlr_core import CallbackSignatureError, MalformedCallback
from dlr_core.callbacks import MAX_FORM_FIELDS, Callback
from dlr_core.push import encode
from dlr_core.wire.read import MAX_JSON_DEPTH

URL = "https://example.com/esendex/delivered"
HEADERS = {"Content-Type": "text/xml"}
UNSIGNED = Callback.from_data(
    "demo", "report", {"format": "xml", "xml_root": "MessageDelivered", "verify": {"unsigned": "none"}}
)

# The MessageDelivered push as https://developers.esendex.com/APIs/Push-Notifications shows
# it, its placeholders filled in.
DELIVERED = b"""<?xml version="1.0" encoding="utf-8"?>
<MessageDelivered>
  <Id>2a2d7ae6-0f04-4e8d-a5e4-dfd0a8c4f9b1</Id>
  <MessageId>1183c73d-2e5d-4fbe-ae1c-0e2f6b1c1c4f</MessageId>
  <AccountId>e0e9ab4d-6d41-4e5c-9d2a-6b7c8d9e0f1a</AccountId>
  <OccurredAt>2012-01-01T12:00:05</OccurredAt>
</MessageDelivered>"""


def test_the_documented_push_reads_as_its_fields() -> None:
    assert UNSIGNED.payloads("POST", URL, HEADERS, DELIVERED) == [
        {
            "Id": "2a2d7ae6-0f04-4e8d-a5e4-dfd0a8c4f9b1",
            "MessageId": "1183c73d-2e5d-4fbe-ae1c-0e2f6b1c1c4f",
            "AccountId": "e0e9ab4d-6d41-4e5c-9d2a-6b7c8d9e0f1a",
            "OccurredAt": "2012-01-01T12:00:05",
        }
    ]


def test_nested_repeated_empty_and_namespaced_elements() -> None:
    body = (
        b'<r xmlns="http://api.esendex.com/ns/" xmlns:x="urn:x"><a>1</a><a>2</a>'
        b'<x:b attr="ignored"><c>text</c></x:b><e/></r>'
    )
    assert UNSIGNED.payloads("POST", URL, HEADERS, body) == [{"a": ["1", "2"], "b": {"c": "text"}, "e": ""}]


def test_what_the_mock_writes_reads_back_under_the_root_the_spec_names() -> None:
    payload = {
        "MessageId": "m-1",
        "OccurredAt": "2012-01-01T12:00:05",
        "Reason": {"Code": 5},
        "Tag": ["a", "b"],
    }
    body = encode(UNSIGNED, payload)
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<MessageDelivered>")
    headers = UNSIGNED.sign(URL, body, credentials={})
    assert headers == {"Content-Type": "application/xml; charset=utf-8"}
    assert UNSIGNED.payloads("POST", URL, headers, body) == [{**payload, "Reason": {"Code": "5"}}]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<MessageDelivered><Id>&lol2;</Id></MessageDelivered>"""


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (BILLION_LAUGHS, "declares a document type"),
        (b'<!doctype r SYSTEM "file:///etc/passwd"><r/>', "declares a document type"),
        (b"MessageId=1", "not XML"),
        (b"<r><a></r>", "not XML"),
        (b"", "not XML"),
        (b"<r>" * (MAX_JSON_DEPTH + 1) + b"</r>" * (MAX_JSON_DEPTH + 1), "nests deeper"),
        (b"<r>" + b"<a>1</a>" * MAX_FORM_FIELDS + b"</r>", f"more than {MAX_FORM_FIELDS} elements"),
    ],
)
def test_anything_but_a_plain_document_is_malformed(body: bytes, why: str) -> None:
    with pytest.raises(MalformedCallback, match=why):
        UNSIGNED.payloads("POST", URL, HEADERS, body)


def test_a_document_whose_root_holds_only_text_has_no_fields() -> None:
    assert UNSIGNED.payloads("POST", URL, HEADERS, b"<r>just text</r>") == [{}]


def test_a_signature_over_the_body_is_checked_before_it_is_read() -> None:
    signed = Callback.from_data(
        "demo",
        "report",
        {
            "format": "xml",
            "xml_root": "MessageDelivered",
            "verify": {
                "sign": [
                    {
                        "as": "s",
                        "hmac": {"algorithm": "sha256", "key": "{k}", "input": "{body}", "output": "base64"},
                    }
                ],
                "compare": {"header": "X-Signature", "value": "{s}"},
            },
        },
    )
    good = base64.b64encode(hmac.new(b"key", DELIVERED, hashlib.sha256).digest()).decode()
    headers = {**HEADERS, "X-Signature": good}
    assert signed.payloads("POST", URL, headers, DELIVERED, credentials={"k": "key"})[0]["OccurredAt"]
    with pytest.raises(CallbackSignatureError):
        signed.payloads("POST", URL, headers, BILLION_LAUGHS, credentials={"k": "key"})


def test_a_field_name_that_is_no_element_name_is_refused_when_pushing() -> None:
    with pytest.raises(ValueError, match="not an XML element name"):
        encode(UNSIGNED, {"two words": "x"})
