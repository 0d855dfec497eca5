"""The runtime's own unit tests: they import dlr_core alone and generate nothing."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timezone

import pytest

import dlr_core
from dlr_core import DeliveryStatus, ErrorInfo, ErrorKind, ErrorTable, error_class
from dlr_core.request import PreparedRequest, percent_encode
from dlr_core.signing import Signer, SigningError


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", dlr_core.__version__)


def test_final_and_success_statuses() -> None:
    finals = {status for status in DeliveryStatus if status.is_final}
    assert finals == {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.REJECTED,
        DeliveryStatus.EXPIRED,
        DeliveryStatus.CANCELED,
    }
    assert [s for s in DeliveryStatus if s.is_success] == [DeliveryStatus.DELIVERED]
    assert str(DeliveryStatus.SENT) == "sent"


def test_error_table_matches_codes_as_text_and_prefixes_in_order() -> None:
    auth = ErrorInfo(ErrorKind.AUTHENTICATION, "bad key")
    limit = ErrorInfo(ErrorKind.RATE_LIMITED, "slow down", retryable=True)
    table = ErrorTable({"-1": auth}, (("isv.BUSINESS_LIMIT", limit), ("isv.", auth)))
    assert table.lookup(-1) is auth and table.lookup(" -1 ") is auth
    assert table.lookup("isv.BUSINESS_LIMIT_CONTROL") is limit
    assert table.lookup("isv.OTHER") is auth
    assert table.lookup(True) is None and table.lookup("0") is None
    assert error_class(ErrorKind.RATE_LIMITED) is dlr_core.RateLimited


def test_percent_encoding_is_rfc3986() -> None:
    assert percent_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"


def test_a_scheme_is_interpreted_from_data_alone() -> None:
    # An HMAC-SHA256 over "method\npath\ntimestamp", hex, in a header: computed by hand below.
    scheme = {
        "description": "test scheme",
        "timestamp": "unix_seconds",
        "sign": [
            {"as": "to_sign", "format": "{method}\n{path}\n{timestamp}"},
            {
                "as": "signature",
                "hmac": {"algorithm": "sha256", "key": "{secret}", "input": "{to_sign}", "output": "hex"},
            },
        ],
        "attach": {"header": {"X-Key": "{key}", "X-Signature": "{signature}"}},
    }
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    signer = Signer(scheme, {"key": "k1", "secret": "s3cret"}, clock=lambda: moment)
    request = PreparedRequest("POST", "https://api.example.com", "/v1/reports")
    signer.sign(request)
    expected = hmac.new(b"s3cret", f"POST\n/v1/reports\n{int(moment.timestamp())}".encode(), hashlib.sha256)
    assert request.headers["X-Signature"] == expected.hexdigest()
    assert request.headers["X-Key"] == "k1"
    assert "s3cret" not in repr(signer)


def test_a_template_naming_an_unknown_variable_is_a_signing_error() -> None:
    scheme = {"description": "x", "attach": {"header": {"X": "{missing}"}}}
    signer = Signer(scheme, {}, clock=lambda: datetime.now(timezone.utc))
    with pytest.raises(SigningError, match="missing"):
        signer.sign(PreparedRequest("GET", "https://api.example.com", "/"))


def test_iso8601_times_with_any_fraction_and_offset_style() -> None:
    from datetime import timedelta, timezone

    from dlr_core.values import from_iso8601

    ist = timezone(timedelta(hours=5, minutes=30))
    # Plivo sends five fraction digits and a space; Python 3.10 alone would refuse them.
    assert from_iso8601("2024-08-21 18:28:51.94772+05:30") == datetime(
        2024, 8, 21, 18, 28, 51, 947720, tzinfo=ist
    )
    assert from_iso8601("2024-08-21T18:28:51.1234567Z") == datetime(
        2024, 8, 21, 18, 28, 51, 123456, tzinfo=timezone.utc
    )
    assert from_iso8601("2017-05-22 21:36:14+0530") == datetime(2017, 5, 22, 21, 36, 14, tzinfo=ist)
    assert from_iso8601("not a time") is None


def test_an_envelope_path_steps_into_a_list_by_index() -> None:
    """``errors.0.code``: the first error's code of an answer that lists its errors; a
    number names a list item only in a list (a key "0" of an object is still a key)."""
    from dlr_core.envelope import MISSING, _lookup
    from dlr_core.mock.scenario import _set_path

    body = {"status": {"code": 501}, "errors": [{"code": -30006, "description": "Invalid Signature"}]}
    assert _lookup(body, "errors.0.code") == -30006
    assert _lookup(body, "errors.1.code") is MISSING
    assert _lookup({"errors": {"0": {"code": 7}}}, "errors.0.code") == 7
    assert _lookup({"errors": []}, "errors.0.code") is MISSING
    made: dict[str, object] = {}
    _set_path(made, "errors.0.code", -30006)
    _set_path(made, "errors.0.description", "Invalid Signature")
    _set_path(made, "status.code", 501)
    assert made == {"errors": [{"code": -30006, "description": "Invalid Signature"}], "status": {"code": 501}}
