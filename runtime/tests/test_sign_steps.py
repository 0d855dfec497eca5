"""The sign-step registry (``dlr_core.steps``): every key a step accepts is read, anything
else is an error. (The same problems at the spec's ``file:line`` are
tests/generator/test_sign_steps_in_specs.py; that the JSON Schema and the docs come from the registry,
tests/contract/test_runtime_contract.py.)"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dlr_core import steps
from dlr_core.request import PreparedRequest
from dlr_core.signing import Bound, Scheme, Signer, SigningError, StepRun, render
from dlr_core.tokens import TokenKeeper

# One use of every key of every step kind: a new kind adds its example here.
EXAMPLES: dict[str, Any] = {
    "format": "{a}",
    "canonical_query": {"encoding": "rfc3986"},
    "sorted_concat": {"source": "query_and_body"},
    "json_object": [{"key": "k", "value": "{n}", "type": "integer"}],
    "canonical_request": {"signed_headers": {"names": ["host"], "prefixes": ["x-"]}, "payload_hash": "{a}"},
    "hash": {"algorithm": "sha256", "input": "{a}", "output": "hex"},
    "hmac": {"algorithm": "sha256", "key": "{a}", "input": "{a}", "output": "base64url"},
    "hmac_chain": {"algorithm": "sha256", "key": "{a}", "inputs": ["{a}", "b"], "output": "raw"},
    "rsa_sign": {"hash": "sha256", "key": "pem", "input": "{a}", "output": "base64", "padding": "pkcs1v15"},
    "jwt": {
        "algorithm": "HS256",
        "key": "{a}",
        "claims": [{"key": "sub", "value": "{a}", "type": "string"}],
        "header": [{"key": "kid", "value": "{n}", "type": "integer"}],
        "issued_at": True,
        "expires_in": 60,
    },
    "oauth2_client_credentials": {
        "token_url": "/token",
        "client_id": "{a}",
        "client_secret": "{a}",
        "client_auth": "form",
        "scope": "read",
        "refresh_margin": 30,
    },
}
MOMENT = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _spy(obj: Any, read: set[str], prefix: str) -> Any:
    """``obj`` (a step or one of its parts) rebuilt so that reading a field is recorded."""
    names = {f.name for f in dataclasses.fields(obj)}

    class Spy(type(obj)):  # type: ignore[misc]
        def __getattribute__(self, name: str) -> Any:
            if name in names:
                read.add(prefix + name)
            return object.__getattribute__(self, name)

    values = {}
    for name in names:
        value = getattr(obj, name)
        if dataclasses.is_dataclass(value):
            value = _spy(value, read, f"{prefix}{name}.")
        elif isinstance(value, tuple):
            value = tuple(
                _spy(v, read, f"{prefix}{name}.") if dataclasses.is_dataclass(v) else v for v in value
            )
        values[name] = value
    read.clear()
    return Spy(**values)


def test_every_step_kind_has_an_example() -> None:
    assert set(EXAMPLES) == set(steps.STEPS)


@pytest.mark.parametrize("kind", list(steps.STEPS))
def test_every_key_of_every_step_is_read(kind: str, pem: str) -> None:
    """No key is accepted and then ignored (as ``canonical_query.encoding`` and
    ``rsa_sign.padding`` once were)."""
    name, step, problems = steps.build_step({"as": "out", kind: EXAMPLES[kind]})
    assert step is not None and not problems, problems
    read: set[str] = set()
    spy = _spy(step, read, "")
    request = PreparedRequest("GET", "https://api.example.com", "/", query=[("q", "1")], headers={"x-a": "b"})
    values: dict[str, Any] = {"a": "text", "n": "12"}
    tokens = None
    if spy.stateful:
        scheme = Scheme(sign=(Bound("out", spy),))
        tokens = TokenKeeper(scheme, values, base_url="https://api.example.com", clock=lambda: MOMENT)

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"access_token": "t", "token_type": "bearer", "expires_in": 600})

        with httpx.Client(transport=httpx.MockTransport(answer)) as http:
            tokens.ensure(http)
    run = StepRun(request, values, MOMENT, {"pem": pem}, tokens)
    spy.apply(run)
    expected = {f.name for f in dataclasses.fields(step)}
    for f in dataclasses.fields(step):
        value = getattr(step, f.name)
        nested = value[0] if isinstance(value, tuple) and value else value
        if dataclasses.is_dataclass(nested):
            expected |= {f"{f.name}.{g.name}" for g in dataclasses.fields(nested)}
    assert expected <= read, f"{kind} never reads: {sorted(expected - read)}"


def test_build_step_refuses_unknown_missing_and_mistyped_keys() -> None:
    _, step, problems = steps.build_step(
        {"as": "x", "hmac": {"algorithm": "md5", "key": 3, "input": "{a}", "outptu": "hex"}}
    )
    assert step is None
    found = {(p.path, p.message) for p in problems}
    assert (("hmac", "outptu"), "unknown key 'outptu'; keys: algorithm, key, input, output") in found
    assert (("hmac",), "missing key 'output'") in found
    assert (("hmac", "algorithm"), "'md5' is not one of: sha1, sha256") in found
    assert (("hmac", "key"), "expected text, got an integer") in found
    _, step, problems = steps.build_step(
        {
            "as": "x",
            "oauth2_client_credentials": {
                "token_url": "http://a/t",
                "client_id": "i",
                "client_secret": "s",
                "refresh_margin": -1,
            },
        }
    )
    assert step is None
    assert {p.message for p in problems} == {
        "-1 is less than 0",
        "'http://a/t' does not match ^(https://[^/?#]+(/[^?#]*)?|/[^?#]*)$",
    }
    _, step, problems = steps.build_step({"as": "x", "hmac_sha512": {}})
    assert step is None and "unknown: hmac_sha512" in problems[0].message


def test_the_runtime_refuses_a_scheme_it_would_not_use() -> None:
    with pytest.raises(SigningError, match="unknown key 'padding'"):
        Scheme.from_data(
            {
                "sign": [
                    {"as": "x", "hash": {"algorithm": "md5", "input": "a", "output": "hex", "padding": "x"}}
                ]
            }
        )
    with pytest.raises(SigningError, match="unknown timestamp style 'rfc2822'"):
        Signer({"timestamp": "rfc2822"}, {}, clock=lambda: MOMENT)


def test_date_filters_read_their_input() -> None:
    assert render("{d|utc_date}", {"d": "1551113065"}, MOMENT) == "2019-02-25"
    assert render("{d|utc_date}", {"d": "2015-08-30T23:59:59Z"}, MOMENT) == "2015-08-30"
    assert render("{d|utc_date_basic}", {"d": "20150830T123600Z"}, MOMENT) == "20150830"
    assert render("{d|utc_date}", {"d": "2015-08-30T23:30:00+08:00"}, MOMENT) == "2015-08-30"
    with pytest.raises(SigningError, match="Unix seconds or an ISO 8601"):
        render("{d|utc_date}", {"d": "yesterday"}, MOMENT)
    # An HTTP date (RFC 7231 section 7.1.1.1), as a timestamp: http_date scheme writes it.
    assert render("{d|utc_date_basic}", {"d": "Sun, 06 Nov 1994 08:49:37 GMT"}, MOMENT) == "19941106"


def test_http_date_timestamps_are_rfc7231_imf_fixdate() -> None:
    """RFC 7231 section 7.1.1.1's own example, whatever the zone of the clock's datetime."""
    from datetime import timedelta

    from dlr_core.signing import timestamp_moment, timestamp_text

    moment = datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc)
    assert timestamp_text(moment, "http_date") == "Sun, 06 Nov 1994 08:49:37 GMT"
    east = moment.astimezone(timezone(timedelta(hours=9)))  # 17:49 in UTC+09:00
    assert timestamp_text(east, "http_date") == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert timestamp_moment("Sun, 06 Nov 1994 08:49:37 GMT", "http_date") == moment
    assert timestamp_moment("not a date", "http_date") is None


def test_base64_decode_gives_bytes_that_stand_alone_only() -> None:
    scheme = {
        "description": "x",
        "sign": [{"as": "key", "format": "{secret|base64_decode}"}],
    }
    request = PreparedRequest("GET", "https://api.example.com", "/")
    # Text that happens to be valid UTF-8 once decoded reads as text...
    assert Signer(scheme, {"secret": "aGVsbG8="}, clock=lambda: MOMENT).sign(request)["key"] == "hello"
    # ...raw bytes do not, and neither do they go inside other text.
    with pytest.raises(SigningError, match="raw bytes"):
        Signer(scheme, {"secret": "pw=="}, clock=lambda: MOMENT).sign(request)
    inside = {"description": "x", "sign": [{"as": "key", "format": "k={secret|base64_decode}"}]}
    with pytest.raises(SigningError, match="raw bytes"):
        Signer(inside, {"secret": "aGVsbG8="}, clock=lambda: MOMENT).sign(request)
    # Encoding filters read raw bytes as they are: decode then encode is the identity.
    again = {"description": "x", "sign": [{"as": "key", "format": "{secret|base64_decode|base64}"}]}
    assert Signer(again, {"secret": "pw=="}, clock=lambda: MOMENT).sign(request)["key"] == "pw=="
    lower = {"description": "x", "sign": [{"as": "key", "format": "{secret|base64_decode|lower}"}]}
    with pytest.raises(SigningError, match="the lower filter reads text"):
        Signer(lower, {"secret": "pw=="}, clock=lambda: MOMENT).sign(request)
