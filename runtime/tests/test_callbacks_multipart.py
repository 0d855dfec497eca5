"""Pushes posted as multipart/form-data text fields (``format: multipart``, RFC 7578): read
whatever boundary and preamble the sender chose, signed and verified over their fields like
a form's, and refused with ``MalformedCallback`` for anything that is not text fields."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from dlr_core import CallbackSignatureError, MalformedCallback
from dlr_core.callbacks import MAX_FORM_FIELDS, Callback
from dlr_core.push import encode
from dlr_core.wire import multipart

URL = "https://example.com/dlr"
UNSIGNED = Callback.from_data("demo", "report", {"format": "multipart", "verify": {"unsigned": "none"}})


def body_of(boundary: str, parts: list[tuple[str, str]], preamble: bytes = b"") -> bytes:
    """A multipart body written by hand, as RFC 7578 section 4's example lays it out."""
    out = preamble
    for disposition, value in parts:
        out += (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value.encode() + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode()


def test_a_body_from_another_writer_is_read_in_order() -> None:
    """A quoted boundary, a preamble, a part with its own Content-Type, and an epilogue."""
    body = (
        body_of(
            "AaB03x",
            [('form-data; name="message_id"', "8624389"), ('form-data; name="status"', "d")],
            preamble=b"This is the preamble.\r\n",
        ).replace(b'"status"\r\n', b'"status"\r\nContent-Type: text/plain; charset=utf-8\r\n')
        + b"epilogue"
    )
    headers = {"Content-Type": 'multipart/form-data; boundary="AaB03x"'}
    assert UNSIGNED.payloads("POST", URL, headers, body) == [{"message_id": "8624389", "status": "d"}]


def test_what_the_mock_writes_reads_back() -> None:
    fields = {"message_id": "1", "text": 'a "quoted" é\r\nline', "empty": ""}
    body = encode(UNSIGNED, fields)
    headers = UNSIGNED.sign(URL, body, credentials={})
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=dlrgen-")
    assert UNSIGNED.payloads("POST", URL, headers, body) == [fields]


@pytest.mark.parametrize(
    ("content_type", "body", "why"),
    [
        (None, body_of("b", [('form-data; name="a"', "1")]), "not multipart/form-data"),
        ("application/x-www-form-urlencoded", b"a=1", "not multipart/form-data"),
        ("multipart/form-data", body_of("b", [('form-data; name="a"', "1")]), "no valid boundary"),
        ("multipart/form-data; boundary=" + "x" * 71, b"", "no valid boundary"),
        ("multipart/form-data; boundary=b\r\nX-Injected: 1", b"", "line break"),
        ("multipart/form-data; boundary=other", body_of("b", [('form-data; name="a"', "1")]), "no part"),
        (
            "multipart/form-data; boundary=b",
            body_of("b", [('form-data; name="a"', "1")])[:-9],
            "close delimiter",
        ),
        (
            "multipart/form-data; boundary=b",
            body_of("b", [('form-data; name="f"; filename="x.txt"', "1")]),
            "is a file",
        ),
        (
            "multipart/form-data; boundary=b",
            body_of("b", [('attachment; name="a"', "1")]),
            "named form-data field",
        ),
        ("multipart/form-data; boundary=b", b"--b\r\nX: 1\r\n\r\nv\r\n--b--\r\n", "no Content-Disposition"),
        (
            "multipart/form-data; boundary=b",
            b"--b\r\nContent-Disposition: form-data; name=a\r\nv\r\n--b--",
            "blank line",
        ),
        (
            "multipart/form-data; boundary=b",
            body_of("b", [('form-data; name="a"', "x")]).replace(b"x", b"\xff"),
            "not UTF-8",
        ),
    ],
)
def test_anything_but_text_fields_is_malformed(content_type: str | None, body: bytes, why: str) -> None:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    with pytest.raises(MalformedCallback, match=why) as caught:
        UNSIGNED.payloads("POST", URL, headers, body)
    assert caught.value.raw_body == body


def test_more_fields_than_a_form_may_have_are_refused() -> None:
    body = body_of("b", [(f'form-data; name="f{i}"', "1") for i in range(MAX_FORM_FIELDS + 1)])
    with pytest.raises(MalformedCallback, match=f"more than {MAX_FORM_FIELDS} fields"):
        UNSIGNED.payloads("POST", URL, {"Content-Type": "multipart/form-data; boundary=b"}, body)


SIGNED = Callback.from_data(
    "demo",
    "report",
    {
        "format": "multipart",
        "verify": {
            "sign": [
                {"as": "fields", "sorted_concat": {"source": "body", "repeated": "unique"}},
                {
                    "as": "signature",
                    "hmac": {
                        "algorithm": "sha256",
                        "key": "{secret}",
                        "input": "{url}{fields}",
                        "output": "hex",
                    },
                },
            ],
            "compare": {"header": "X-Signature", "value": "{signature}"},
        },
    },
)


def test_a_signature_over_the_fields_verifies_whatever_the_boundary() -> None:
    """The fields are signed, not the body: another writer's boundary verifies the same."""
    expected = hmac.new(b"s3cret", (URL + "message_id7statusd").encode(), hashlib.sha256).hexdigest()
    body = body_of("XyZ", [('form-data; name="status"', "d"), ('form-data; name="message_id"', "7")])
    headers = {"Content-Type": "multipart/form-data; boundary=XyZ", "X-Signature": expected}
    assert SIGNED.payloads("POST", URL, headers, body, credentials={"secret": "s3cret"}) == [
        {"status": "d", "message_id": "7"}
    ]
    assert (
        SIGNED.sign(
            URL, encode(SIGNED, {"message_id": "7", "status": "d"}), credentials={"secret": "s3cret"}
        )["X-Signature"]
        == expected
    )
    changed = body.replace(b"\r\nd\r\n", b"\r\nf\r\n")
    with pytest.raises(CallbackSignatureError):
        SIGNED.payloads("POST", URL, headers, changed, credentials={"secret": "s3cret"})


def test_a_field_name_that_cannot_be_written_is_refused_when_pushing() -> None:
    with pytest.raises(ValueError, match="quotes or line breaks"):
        multipart.encode_fields([('a"b', "1")])
