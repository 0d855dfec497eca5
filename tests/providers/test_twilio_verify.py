"""Twilio Verify v2 (specs/twilio_verify.yaml): the fetch is sent to verify.twilio.com with
HTTP Basic auth (account SID and auth token, or an API key), the documented example answer
becomes a receipt, every documented status maps to its canonical meaning, and Twilio's error
codes raise the right typed errors, sync and async.

Sources: https://www.twilio.com/docs/verify/api/verification and twilio/twilio-oai
spec/json/twilio_verify_v2.json (the fetchVerification example and the status values)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

import dlr_twilio_verify
from tests.conftest import call_client
from dlr_core import DeliveryStatus, NotFound, RateLimited
from dlr_core.testing import MockTransport

SERVICE = "VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
VERIFICATION = "VEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
ACCOUNT = {"account_sid": "AC" + "1" * 32, "auth_token": "token-1"}


def _client(mock: MockTransport, mode: str, **options: Any) -> Any:
    cls = dlr_twilio_verify.Client if mode == "sync" else dlr_twilio_verify.AsyncClient
    return mock.client(cls, **options)


def test_fetch_sends_basic_auth_to_the_verify_path_and_reads_the_example(mode: str) -> None:
    mock = MockTransport(dlr_twilio_verify.API, ACCOUNT)
    client = _client(mock, mode, **ACCOUNT)
    [receipt] = call_client(mode, client, "fetch_receipts", service_sid=SERVICE, sid=VERIFICATION)
    [request] = mock.requests
    assert request.method == "GET"
    assert request.path == f"/v2/Services/{SERVICE}/Verifications/{VERIFICATION}"
    expected = base64.b64encode(f"{ACCOUNT['account_sid']}:token-1".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.authenticated
    # The OpenAPI spec's fetchVerification example: pending, sent by SMS to +15017122661.
    assert receipt.message_id == VERIFICATION
    assert receipt.recipient == "+15017122661"
    assert receipt.raw_status == {"status": "pending"}
    assert receipt.status is DeliveryStatus.SENT and not receipt.status.is_final
    assert receipt.details["channel"] == "sms"
    assert (
        receipt.submitted_at is not None and receipt.submitted_at.isoformat() == "2015-07-30T20:00:00+00:00"
    )


def test_an_api_key_authenticates_instead_of_the_auth_token(mode: str) -> None:
    key = {"api_key_sid": "SK" + "2" * 32, "api_key_secret": "secret-2"}
    mock = MockTransport(dlr_twilio_verify.API, key)
    client = _client(mock, mode, auth_scheme="api_key", **key)
    call_client(mode, client, "fetch_verification", service_sid=SERVICE, sid=VERIFICATION)
    expected = base64.b64encode(f"{key['api_key_sid']}:secret-2".encode()).decode()
    assert mock.requests[0].headers["authorization"] == f"Basic {expected}"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("pending", DeliveryStatus.SENT),
        ("approved", DeliveryStatus.DELIVERED),
        ("canceled", DeliveryStatus.CANCELED),
        ("max_attempts_reached", DeliveryStatus.FAILED),
        ("deleted", DeliveryStatus.CANCELED),
        ("failed", DeliveryStatus.FAILED),
        ("expired", DeliveryStatus.EXPIRED),
    ],
)
def test_every_documented_status_maps_to_its_canonical_meaning(raw: str, canonical: DeliveryStatus) -> None:
    assert dlr_twilio_verify.verification_status_to_canonical(raw) is canonical
    answer = dlr_twilio_verify.Verification.model_validate({"sid": VERIFICATION, "status": raw})
    [receipt] = dlr_twilio_verify.fetch_verification_receipts(answer)
    assert receipt.status is canonical and receipt.raw_status == {"status": raw}
    assert receipt.status.is_final == (raw != "pending")


def test_a_deleted_verification_answers_20404_not_found(mode: str) -> None:
    """Twilio deletes a verification once approved, expired or out of attempts; a fetch then
    answers 404 with code 20404."""
    scenario = {"fetch_verification": [{"error": 20404}]}
    mock = MockTransport(dlr_twilio_verify.API, ACCOUNT, scenario=scenario)
    client = _client(mock, mode, **ACCOUNT)
    with pytest.raises(NotFound) as caught:
        call_client(mode, client, "fetch_verification", service_sid=SERVICE, sid=VERIFICATION)
    assert str(caught.value.code) == "20404"
    assert b"20404" in caught.value.raw_body


def test_max_send_attempts_is_rate_limited_and_not_retried(mode: str) -> None:
    scenario = {"fetch_verification": [{"error": 60203}]}
    mock = MockTransport(dlr_twilio_verify.API, ACCOUNT, scenario=scenario)
    client = _client(mock, mode, **ACCOUNT)
    with pytest.raises(RateLimited) as caught:
        call_client(mode, client, "fetch_verification", service_sid=SERVICE, sid=VERIFICATION)
    assert str(caught.value.code) == "60203"
    assert len(mock.requests) == 1
    assert dlr_twilio_verify.ERRORS.lookup(60202).kind.value == "rate_limited"
    assert dlr_twilio_verify.ERRORS.lookup(60200).kind.value == "invalid_request"


def test_the_auth_token_never_shows_in_the_client_repr() -> None:
    client = dlr_twilio_verify.Client(**ACCOUNT)
    try:
        assert "token-1" not in repr(client)
    finally:
        client.close()
