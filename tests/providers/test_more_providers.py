"""Twilio, Tencent Cloud SMS and Infobip, added by YAML alone: published examples, status
mappings, and loopback end-to-end runs (sync and async) through the spec-driven mock."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from typing import Any

import pytest

import dlr_core
from tests.conftest import ROOT, provider_specs
from tests.conftest import call_provider as call
from dlr_core import DeliveryStatus
from dlr_core.mock import MockProvider, MockRequest
from dlr_core.request import PreparedRequest
from dlr_core.signing import Signer

TWILIO = {"account_sid": "AC" + "a" * 32, "auth_token": "twilio-token-value"}
TENCENT = {"secret_id": "AKID-test-id", "secret_key": "tencent-secret-value"}
INFOBIP = {"api_key": "infobip-key-value"}
TWILIO_SID = "SM1f0e8ae6ade43cb3c0ce4525424e404f"


# -- published examples --------------------------------------------------------------------


def test_twilio_basic_auth_matches_rfc_7617() -> None:
    """RFC 7617 section 2: Aladdin / open sesame -> Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==."""
    import dlr_twilio_messaging

    request = PreparedRequest("GET", "https://api.twilio.com", "/2010-04-01/Accounts/Aladdin/Messages.json")
    Signer(
        dlr_twilio_messaging.API.auth_schemes["basic"],
        {"account_sid": "Aladdin", "auth_token": "open sesame"},
        clock=lambda: datetime.now(timezone.utc),
    ).sign(request)
    assert request.headers["Authorization"] == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


def test_tencent_spec_scheme_reproduces_the_published_tc3_example() -> None:
    """Tencent Cloud API 3.0 "Signature v3"
    (https://www.tencentcloud.com/document/api/213/33224), its worked example, copied: cvm
    DescribeInstances, the masked SecretId/SecretKey as printed, timestamp 1551113065, the
    exact payload bytes; the spec's scheme, with the signing service constant set to the
    example's cvm, sends the published Authorization (Signature=2230eefd...)."""
    import dlr_tencent_sms

    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    request = PreparedRequest(
        "POST",
        "https://cvm.tencentcloudapi.com",
        "/",
        body_kind="json",
        content=payload,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    variables = {
        "secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        "secret_key": "Gu5t9xGARNpq86cd98joQYCN3*******",
        "service": "cvm",
        "action": "DescribeInstances",
        "api_version": "2017-03-12",
    }
    Signer(
        dlr_tencent_sms.API.auth_schemes["tc3"],
        variables,
        clock=lambda: datetime.fromtimestamp(1551113065, tz=timezone.utc),
    ).sign(request)
    assert request.headers["Authorization"] == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )
    assert request.headers["X-TC-Timestamp"] == "1551113065"
    assert dlr_tencent_sms.API.constants == {"service": "sms"}


def test_infobip_sends_the_documented_app_header() -> None:
    import dlr_infobip_sms

    request = PreparedRequest("GET", "https://xyz.api.infobip.com", "/sms/3/reports")
    Signer(
        dlr_infobip_sms.API.auth_schemes["app_key"],
        {"api_key": "003026bbc133714df1834b8638bb496e-8f4b3d9a"},
        clock=lambda: datetime.now(timezone.utc),
    ).sign(request)
    assert request.headers["Authorization"] == "App 003026bbc133714df1834b8638bb496e-8f4b3d9a"


# -- status mappings -------------------------------------------------------------------------


def test_all_13_twilio_statuses_map() -> None:
    from dlr_twilio_messaging import MessageStatus, message_status_to_canonical

    expected = {
        "queued": "queued",
        "accepted": "queued",
        "scheduled": "queued",
        "sending": "sending",
        "sent": "sent",
        "delivered": "delivered",
        "read": "delivered",
        "undelivered": "undelivered",
        "partially_delivered": "undelivered",
        "failed": "failed",
        "canceled": "canceled",
        "receiving": "sending",
        "received": "delivered",
    }
    assert {m.value for m in MessageStatus} == set(expected)
    assert {raw: message_status_to_canonical(raw).value for raw in expected} == expected


@pytest.mark.parametrize(
    ("group", "status_id", "expected"),
    [
        (1, 26, DeliveryStatus.SENT),  # PENDING group: sent on, not final
        (1, 7, DeliveryStatus.SENT),
        (3, 2, DeliveryStatus.SENT),  # DELIVERED_TO_OPERATOR: not final although in DELIVERED
        (3, 5, DeliveryStatus.DELIVERED),  # DELIVERED_TO_HANDSET: final
        (2, 4, DeliveryStatus.UNDELIVERED),
        (4, 15, DeliveryStatus.EXPIRED),
        (5, 6, DeliveryStatus.REJECTED),
        (5, 999, DeliveryStatus.REJECTED),  # an id we do not list: the group decides
        (9, 999, DeliveryStatus.UNKNOWN),
    ],
)
def test_infobip_group_decides_except_delivered_to_operator(
    group: int, status_id: int, expected: DeliveryStatus
) -> None:
    from dlr_infobip_sms import DeliveryReports, get_delivery_reports_receipts

    body = {
        "results": [
            {
                "messageId": "m",
                "status": {"groupId": group, "id": status_id},
                "error": {"name": "EC_UNKNOWN_SUBSCRIBER", "permanent": True},
            }
        ]
    }
    [receipt] = get_delivery_reports_receipts(DeliveryReports.model_validate(body))
    assert receipt.status is expected
    assert receipt.details["permanent"] is True
    assert receipt.error_code == "EC_UNKNOWN_SUBSCRIBER"


def test_tencent_report_status() -> None:
    from dlr_tencent_sms import report_status_to_canonical

    assert report_status_to_canonical("SUCCESS") is DeliveryStatus.DELIVERED
    assert report_status_to_canonical("FAIL") is DeliveryStatus.UNDELIVERED


# -- end to end through the mock -------------------------------------------------------------


def test_twilio_fetch_end_to_end(mode: str) -> None:
    import dlr_twilio_messaging

    with MockProvider(dlr_twilio_messaging.API, TWILIO) as mock:
        [receipt] = call(
            mode, dlr_twilio_messaging, TWILIO, "fetch_receipts", sid=TWILIO_SID, base_url=mock.base_url
        )
    [request] = mock.requests
    assert request.authenticated
    assert request.path == f"/2010-04-01/Accounts/{TWILIO['account_sid']}/Messages/{TWILIO_SID}.json"
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.message_id == TWILIO_SID and receipt.recipient == "+15558675310"
    assert receipt.submitted_at == datetime(2019, 5, 24, 17, 18, 28, tzinfo=timezone.utc)


def twilio_pages(request: MockRequest) -> dict[str, Any]:
    """Three pages of two messages, linked by relative next_page_uri, as Twilio does."""
    page = int(dict(request.query).get("Page", "0"))
    base = f"/2010-04-01/Accounts/{TWILIO['account_sid']}/Messages.json"
    messages = [{"sid": f"SM{page}{i}", "to": "+1", "status": "sent"} for i in range(2)]
    next_uri = f"{base}?PageSize=2&Page={page + 1}&PageToken=PA{page + 1}" if page < 2 else None
    return {"messages": messages, "next_page_uri": next_uri, "page": page, "page_size": 2}


def test_twilio_list_follows_next_page_uri(mode: str) -> None:
    import dlr_twilio_messaging

    with MockProvider(
        dlr_twilio_messaging.API, TWILIO, scenario={"list_messages": [{"respond": twilio_pages}]}
    ) as mock:
        cls = dlr_twilio_messaging.Client if mode == "sync" else dlr_twilio_messaging.AsyncClient
        client = cls(**TWILIO, base_url=mock.base_url)
        if mode == "sync":
            with client:
                sids = [m.sid for m in client.iter_list_messages(to="+15558675310", page_size=2)]
        else:

            async def collect() -> list[Any]:
                async with client:
                    return [m.sid async for m in client.iter_list_messages(to="+15558675310", page_size=2)]

            sids = asyncio.run(collect())
    assert sids == ["SM00", "SM01", "SM10", "SM11", "SM20", "SM21"]
    assert all(r.authenticated for r in mock.requests)
    assert [dict(r.query).get("PageToken") for r in mock.requests] == [None, "PA1", "PA2"]
    assert dict(mock.requests[0].query) == {"To": "+15558675310", "PageSize": "2"}


def test_twilio_errors_are_typed_by_code_and_status(mode: str) -> None:
    import dlr_twilio_messaging

    steps = {"fetch_message": [{"error": 20404}]}
    with MockProvider(dlr_twilio_messaging.API, TWILIO, scenario=steps) as mock:
        with pytest.raises(dlr_core.NotFound) as caught:
            call(mode, dlr_twilio_messaging, TWILIO, "fetch_message", sid=TWILIO_SID, base_url=mock.base_url)
    assert caught.value.http_status == 404 and caught.value.code == "20404"
    with MockProvider(dlr_twilio_messaging.API, TWILIO) as mock:
        with pytest.raises(dlr_core.AuthenticationError):
            call(
                mode,
                dlr_twilio_messaging,
                {**TWILIO, "auth_token": "wrong-token"},
                "fetch_message",
                sid=TWILIO_SID,
                base_url=mock.base_url,
            )
    steps = {"fetch_message": [{"error": 20429}, {}]}
    with MockProvider(dlr_twilio_messaging.API, TWILIO, scenario=steps) as mock:
        result = call(
            mode, dlr_twilio_messaging, TWILIO, "fetch_message", sid=TWILIO_SID, base_url=mock.base_url
        )
    assert result.status == "delivered" and len(mock.requests) == 2  # 20429 retried


def test_tencent_end_to_end_and_error_envelope(mode: str) -> None:
    import dlr_tencent_sms

    with MockProvider(dlr_tencent_sms.API, TENCENT) as mock:
        [receipt] = call(
            mode,
            dlr_tencent_sms,
            TENCENT,
            "fetch_receipts",
            begin_time=1620000000,
            phone_number="+8618501234444",
            sms_sdk_app_id="1400006666",
            base_url=mock.base_url,
        )
    [request] = mock.requests
    assert request.authenticated and request.headers["x-tc-action"] == "PullSmsSendStatusByPhoneNumber"
    assert request.headers["x-tc-region"] == "ap-guangzhou"
    assert request.json == {
        "BeginTime": 1620000000,
        "Offset": 0,
        "Limit": 100,
        "PhoneNumber": "+8618501234444",
        "SmsSdkAppId": "1400006666",
    }
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.error_code == "DELIVRD"
    assert receipt.message_id == "5000:1045710669157053657849499619"

    with MockProvider(dlr_tencent_sms.API, TENCENT) as mock:
        with pytest.raises(dlr_core.AuthenticationError) as auth:
            call(
                mode,
                dlr_tencent_sms,
                {**TENCENT, "secret_key": "wrong-secret"},
                "pull_sms_send_status",
                sms_sdk_app_id="1400006666",
                base_url=mock.base_url,
            )
    assert auth.value.code == "AuthFailure.SignatureFailure" and auth.value.http_status == 200
    assert auth.value.request_id

    steps = {
        "pull_sms_send_status": [
            {"error": "RequestLimitExceeded.IPLimitExceeded"},
            {"error": "InvalidParameterValue.LimitVerifyFail"},
        ]
    }
    with MockProvider(dlr_tencent_sms.API, TENCENT, scenario=steps) as mock:
        with pytest.raises(dlr_core.InvalidRequest):
            call(
                mode,
                dlr_tencent_sms,
                TENCENT,
                "pull_sms_send_status",
                sms_sdk_app_id="1400006666",
                base_url=mock.base_url,
            )
    assert len(mock.requests) == 2  # the rate limit was retried, the invalid parameter was not


def test_infobip_end_to_end(mode: str) -> None:
    import dlr_infobip_sms

    with MockProvider(dlr_infobip_sms.API, INFOBIP) as mock:
        [receipt] = call(
            mode,
            dlr_infobip_sms,
            INFOBIP,
            "fetch_receipts",
            bulk_id="BULK-ID-123-xyz",
            base_url=mock.base_url,
        )
    [request] = mock.requests
    assert request.authenticated and request.path == "/sms/3/reports"
    assert dict(request.query) == {"bulkId": "BULK-ID-123-xyz", "limit": "50"}
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.details == {
        "permanent": False,
        "status_name": "DELIVERED_TO_HANDSET",
        "bulk_id": "BULK-ID-123-xyz",
    }
    assert receipt.submitted_at is not None and receipt.submitted_at.utcoffset().total_seconds() == 5.5 * 3600

    with MockProvider(dlr_infobip_sms.API, INFOBIP) as mock:
        with pytest.raises(dlr_core.AuthenticationError) as caught:
            call(
                mode,
                dlr_infobip_sms,
                {"api_key": "wrong-key-value"},
                "fetch_receipts",
                base_url=mock.base_url,
            )
    assert caught.value.http_status == 401


def test_infobip_needs_its_account_base_url_and_warns_about_the_queue() -> None:
    import dlr_infobip_sms

    with pytest.raises(ValueError, match="one endpoint per account: pass base_url"):
        dlr_infobip_sms.Client(**INFOBIP)
    assert "returned only once" in (dlr_infobip_sms.Client.fetch_receipts.__doc__ or "")
    assert not hasattr(dlr_infobip_sms.Client, "wait_for_final")
    readme = (ROOT / "generated" / "dlr_infobip_sms" / "README.md").read_text(encoding="utf-8")
    assert "Each record is returned only once" in readme


# -- no provider-specific code ----------------------------------------------------------------


def provider_words() -> set[str]:
    """Every provider's id (its spec's file name, which the parser holds it to) and its first
    word (``twilio``), lower case, and the brand words the ids do not spell (Alibaba for
    aliyun, the ACS3 and TC3 signature names)."""
    names = {"alibaba", "aliyun", "acs3", "tc3"}
    for spec in provider_specs():
        names |= {spec.stem, spec.stem.split("_")[0]}
    return names


def _offenders(folders: tuple[str, ...], names: set[str]) -> list[str]:
    # Words, not substrings: "d7" is a provider's word, not a part of a hex digest.
    first_words = {name.split("_")[0] for name in names}
    offenders = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".jinja", ".json"):
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                    if first_words & set(re.findall(r"[a-z0-9]+", line.lower())):
                        offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return offenders


def test_generator_runtime_and_templates_name_no_provider() -> None:
    """The generator, the templates and the runtime are general: no provider is named in
    their code, comments or schema (specs, docs and tests name them)."""
    offenders = _offenders(("generator", "templates", "runtime/dlr_core"), provider_words())
    assert not offenders, "\n".join(offenders)


def test_the_name_check_finds_a_provider_word() -> None:
    assert "twilio" in provider_words()
    assert re.findall(r"[a-z0-9]+", "# as Twilio signs it".lower())[-3] == "twilio"


CLI_QUERIES: dict[str, tuple[dict[str, str], dict[str, Any], DeliveryStatus]] = {
    "twilio_messaging": (TWILIO, {"sid": TWILIO_SID}, DeliveryStatus.DELIVERED),
    "tencent_sms": (
        TENCENT,
        {"begin_time": 1620000000, "phone_number": "+8618501234444", "sms_sdk_app_id": "1400006666"},
        DeliveryStatus.DELIVERED,
    ),
    "infobip_sms": (INFOBIP, {"bulk_id": "BULK-ID-123-xyz"}, DeliveryStatus.DELIVERED),
}


# One provider in the fast tier (a `dlrgen mock` process each); the others in the slow one.
@pytest.mark.parametrize(
    "provider",
    [p if i == 0 else pytest.param(p, marks=pytest.mark.slow) for i, p in enumerate(sorted(CLI_QUERIES))],
)
def test_new_providers_through_the_dlrgen_mock_command(provider: str) -> None:
    import signal
    import subprocess
    import sys

    credentials, query, expected = CLI_QUERIES[provider]
    arguments = [f"--credential={name}={value}" for name, value in credentials.items()]
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "mock", provider, "--port", "0", *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert " on http://127.0.0.1:" in line, line + process.stderr.read()
        url = line.rsplit(" ", 1)[1].strip()
        package = __import__(f"dlr_{provider}")
        for mode in ("sync", "async"):
            receipts = call(mode, package, credentials, "fetch_receipts", base_url=url, **query)
            assert [r.status for r in receipts] == [expected]
        with pytest.raises(dlr_core.AuthenticationError):
            wrong = {name: value + "-wrong" for name, value in credentials.items()}
            call("sync", package, wrong, "fetch_receipts", base_url=url, retries=0, **query)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_twilio_api_key_authentication_keeps_the_account_in_the_path(mode: str) -> None:
    """Issue: Account SID (or API key SID) and Auth Token (or key secret)."""
    import base64

    import dlr_twilio_messaging

    key = {
        "account_sid": TWILIO["account_sid"],
        "api_key_sid": "SK" + "b" * 32,
        "api_key_secret": "key-secret-value",
    }
    with MockProvider(dlr_twilio_messaging.API, {**TWILIO, **key}) as mock:
        call(
            mode,
            dlr_twilio_messaging,
            key,
            "fetch_message",
            sid=TWILIO_SID,
            base_url=mock.base_url,
            auth_scheme="api_key",
        )
    [request] = mock.requests
    assert request.authenticated
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"{key['api_key_sid']}:{key['api_key_secret']}".encode()).decode()
    )
    assert request.path.startswith(f"/2010-04-01/Accounts/{TWILIO['account_sid']}/")


def test_credentials_are_required_by_the_scheme_that_uses_them() -> None:
    import dlr_twilio_messaging

    with pytest.raises(ValueError, match="credential auth_token required \\(auth scheme 'basic'\\)"):
        dlr_twilio_messaging.Client(account_sid=TWILIO["account_sid"])
    with pytest.raises(
        ValueError, match="credentials api_key_sid, api_key_secret required \\(auth scheme 'api_key'\\)"
    ):
        dlr_twilio_messaging.Client(
            account_sid=TWILIO["account_sid"], auth_token="t-value", auth_scheme="api_key"
        )
