"""Qiniu Cloud SMS (specs/qiniu_sms.yaml): its Qiniu token, re-implemented here from Qiniu's
official Python SDK and compared with what the generated client sends; the send-record
query and the status callback (the docs' example push)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from tests.conftest import call_client

import dlr_qiniu_sms
from dlr_core import DeliveryStatus, NotFound
from dlr_qiniu_sms.callbacks import parse_status_callback

ACCESS_KEY = "7O7hf7Ld1RrC_fpZdFvU8aCgOPuhw2K4eapYOdII"  # the access key of the docs' example
SECRET_KEY = "not-the-docs-secret-which-is-not-published"
NOW = datetime(2026, 12, 7, 16, 0, 0, tzinfo=timezone.utc)
PAGE = {
    "page": 1,
    "page_size": 20,
    "items": [
        {
            "message_id": "34114035",
            "job_id": "1102391",
            "mobile": "13812345678",
            "status": "success",
            "type": "verification",
            "count": 1,
            "created_at": 1558692398,
            "delivrd_at": 1558692400,
        },
        {
            "message_id": "34114036",
            "mobile": "13812345679",
            "status": "failed",
            "error": "640",
            "created_at": 1558692398,
        },
    ],
}


def canonical_mime_header_key(name: str) -> str:
    """qiniu/utils.py canonical_mime_header_key: each dash-separated word capitalised."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def sdk_authorization(method: str, url: str, headers: list[tuple[str, str]], body: bytes | None) -> str:
    """Qiniu's Python SDK (https://github.com/qiniu/python-sdk/blob/master/qiniu/auth.py), step by step:
    ``QiniuMacRequestsAuth.__call__`` takes the Content-Type header and ``qiniu_headers``
    (headers starting "X-Qiniu-", sorted, "Name: value" joined by newlines);
    ``QiniuMacAuth.token_of_request`` writes "<method> <path>[?<query>]\\nHost: <netloc>",
    then "\\nContent-Type: <type>" when there is one, "\\n" + the qiniu headers when there are
    any, "\\n\\n", then the body when the type is not application/octet-stream; ``__token``
    is HMAC-SHA1 with the secret key, ``urlsafe_base64_encode`` (base64.urlsafe_b64encode,
    padding kept); the header is "Qiniu <access_key>:<token>"."""
    parsed = urlparse(url)
    given = {name: value for name, value in headers}
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    qiniu_fields = sorted(k for k in given if k.startswith("X-Qiniu-") and len(k) > len("X-Qiniu-"))
    qheaders = "\n".join(f"{canonical_mime_header_key(k)}: {given[k]}" for k in qiniu_fields)
    path_with_query = parsed.path + ("?" + parsed.query if parsed.query else "")
    data = f"{method} {path_with_query}\nHost: {parsed.netloc}"
    if content_type:
        data += f"\nContent-Type: {content_type}"
    if qheaders:
        data += "\n" + qheaders
    data += "\n\n"
    if content_type and content_type != "application/octet-stream" and body:
        data += body.decode("utf-8")
    digest = hmac.new(SECRET_KEY.encode(), data.encode(), hashlib.sha1).digest()
    return f"Qiniu {ACCESS_KEY}:{base64.urlsafe_b64encode(digest).decode()}"


def recording(
    answer: Any, seen: list[httpx.Request], status: int = 200
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=answer)

    return handle


def client_of(mode: str, seen: list[httpx.Request], answer: Any, status: int = 200) -> Any:
    transport = httpx.MockTransport(recording(answer, seen, status))
    if mode == "sync":
        return dlr_qiniu_sms.Client(
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            http_client=httpx.Client(transport=transport),
            clock=lambda: NOW,
        )
    return dlr_qiniu_sms.AsyncClient(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        http_client=httpx.AsyncClient(transport=transport),
        clock=lambda: NOW,
    )


def raw_headers(request: httpx.Request) -> list[tuple[str, str]]:
    return [(k.decode(), v.decode()) for k, v in request.headers.raw]


def test_qiniu_token_follows_the_python_sdk(mode: str) -> None:
    """The Authorization the client sends is the one QiniuMacAuth (https://github.com/qiniu/python-sdk/blob/master/qiniu/auth.py) computes for the
    same request (its method, URL, Content-Type and X-Qiniu-Date); proven sync and async."""
    seen: list[httpx.Request] = []
    client = client_of(mode, seen, PAGE)
    call_client(
        mode, client, "query_messages", mobile="13812345678", status="success", start=1558692000, page=2
    )
    (request,) = seen
    assert request.url.path == "/v1/messages" and request.url.host == "sms.qiniuapi.com"
    assert request.headers["X-Qiniu-Date"] == "20261207T160000Z"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    expected = sdk_authorization(
        request.method, str(request.url), raw_headers(request), request.content or None
    )
    assert request.headers["Authorization"] == expected
    assert expected.endswith("=")  # 20 bytes of HMAC-SHA1: the kept padding is part of the token


def test_the_signature_changes_with_the_query(mode: str) -> None:
    """The query is signed: the same call for another number carries another token."""
    seen: list[httpx.Request] = []
    for mobile in ("13812345678", "13812345679"):
        call_client(mode, client_of(mode, seen, PAGE), "query_messages", mobile=mobile)
    assert seen[0].headers["Authorization"] != seen[1].headers["Authorization"]


def test_records_become_receipts(mode: str) -> None:
    seen: list[httpx.Request] = []
    receipts = call_client(mode, client_of(mode, seen, PAGE), "fetch_receipts", message_id="34114035")
    delivered = next(r for r in receipts if r.message_id == "34114035")
    assert delivered.status is DeliveryStatus.DELIVERED
    assert delivered.completed_at == datetime.fromtimestamp(1558692400, timezone.utc)
    assert delivered.details["job_id"] == "1102391"


def test_an_error_answer_is_typed(mode: str) -> None:
    seen: list[httpx.Request] = []
    error = {"error": "NotFoundError", "message": "not found", "request_id": "uZyOLgh5jN-_DJ8V"}
    with pytest.raises(NotFound) as caught:
        call_client(mode, client_of(mode, seen, error, status=404), "query_messages")
    assert "NotFoundError" in str(caught.value) and SECRET_KEY not in str(caught.value)


def test_the_docs_example_push() -> None:
    """消息推送's example, verbatim."""
    body = b'{"items":[{"mobile":"13812345678","message_id":"34114035","status":"DELIVRD","delivrd_at":1558692400,"seq":"qiniuseq"}]}'
    (receipt,) = parse_status_callback(
        "POST", "https://example.com/sms/status/callback", {"content-type": "application/json"}, body
    )
    assert receipt.message_id == "34114035" and receipt.client_ref == "qiniuseq"
    assert receipt.status is DeliveryStatus.DELIVERED
    failed = json.dumps(
        {"items": [{"message_id": "1", "status": "FAILED", "error": "640", "mobile": "138"}]}
    ).encode()
    (report,) = parse_status_callback(
        "POST", "https://example.com/cb", {"content-type": "application/json"}, failed
    )
    assert report.status is DeliveryStatus.UNDELIVERED and report.error_code == "640"


def test_the_mock_accepts_the_token(dlr_mock: Any, mode: str) -> None:
    mock = dlr_mock(dlr_qiniu_sms.API, {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY})
    cls = dlr_qiniu_sms.Client if mode == "sync" else dlr_qiniu_sms.AsyncClient
    receipts = call_client(mode, mock.client(cls), "fetch_receipts", message_id="34114035")
    assert receipts and mock.requests[0].authenticated
