"""The sign-step registry (``dlr_core.steps``): every key a step accepts is read, anything
else is an error, in the runtime and at the spec's ``file:line``. (That the JSON Schema and
the docs come from the registry is tests/test_runtime_contract.py.)"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dlr_core import steps
from dlr_core.request import PreparedRequest
from dlr_core.signing import Bound, Scheme, Signer, SigningError, StepRun, render
from dlr_core.tokens import TokenKeeper

from generator.load import load_spec
from generator.parse.provider import parse_provider
from generator.pipeline import load_providers

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


SPEC = Path(__file__).resolve().parent.parent / "specs" / "itnio_voice.yaml"


def _parse_with(tmp_path: Path, old: str, new: str) -> list[str]:
    text = SPEC.read_text(encoding="utf-8")
    assert old in text
    spec = tmp_path / "itnio_voice.yaml"
    spec.write_text(text.replace(old, new), encoding="utf-8")
    _, problems = load_providers([spec])
    return [f"{p.line}: {p.message}" for p in problems]


def _line_of(tmp_path: Path, needle: str) -> int:
    lines = (tmp_path / "itnio_voice.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_the_parser_reports_the_registry_problems_at_the_spec_line(tmp_path: Path) -> None:
    """Bypassing the JSON Schema (which also refuses these), the parser's own check of a
    step is the registry's, at the step's line."""
    spec, problems = load_spec(SPEC)
    assert spec is not None and not problems
    step = spec.data["auth"]["schemes"]["md5_header"]["sign"][0]
    step["hash"]["padding"] = "pkcs1v15"
    step["hash"]["algorithm"] = "sha512"
    provider, found = parse_provider(spec)
    assert provider is None
    messages = {p.message for p in found}
    assert "unknown key 'padding'; keys: algorithm, input, output" in messages
    assert "'sha512' is not one of: md5, sha1, sha256" in messages
    line = next(
        i for i, text in enumerate(SPEC.read_text().splitlines(), 1) if "hash: {algorithm: md5" in text
    )
    assert [(p.line, Path(p.file).name) for p in found] == [(line, "itnio_voice.yaml")] * 2


def test_unknown_timestamp_styles_and_date_filters_on_milliseconds_are_spec_errors(tmp_path: Path) -> None:
    problems = _parse_with(tmp_path, "timestamp: unix_seconds", "timestamp: unix_nanoseconds")
    assert problems and all(p.startswith(f"{_line_of(tmp_path, 'unix_nanoseconds')}:") for p in problems)
    problems = _parse_with(
        tmp_path,
        'Timestamp: "{timestamp}"',
        'Timestamp: "{timestamp|utc_date}"',
    )
    assert problems == []  # unix seconds: fine
    text_problems = _parse_with(
        tmp_path,
        "      timestamp: unix_seconds\n",
        "      timestamp: unix_milliseconds\n",
    )
    assert text_problems == []
    spec = tmp_path / "itnio_voice.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace(
            'Timestamp: "{timestamp}"', 'Timestamp: "{timestamp|utc_date}"'
        ),
        encoding="utf-8",
    )
    _, found = load_providers([spec])
    assert [p.message for p in found] == [
        "the utc_date filter reads Unix seconds or ISO 8601, not the scheme's unix_milliseconds"
    ]
    assert found[0].line == _line_of(tmp_path, "{timestamp|utc_date}")


def test_generated_api_modules_carry_typed_schemes_equal_to_the_specs() -> None:
    from conftest import provider_specs, spec_data

    for path in provider_specs():
        data = spec_data(path)
        module = __import__(f"dlr_{data['provider']}")
        # a push-only spec has no schemes (and its package no API)
        for name, raw in data.get("auth", {}).get("schemes", {}).items():
            scheme = module.API.auth_schemes[name]
            assert isinstance(scheme, Scheme)
            assert scheme == Scheme.from_data(raw)
            assert Scheme.from_data(dict(scheme)) == scheme  # as a mapping: the spec's data


def test_spec_text_in_a_step_stays_data(tmp_path: Path) -> None:
    from test_spec_features import generate_package

    payload = "'''); __import__('os').system('touch PWNED') #\\\" \\\\"
    text = SPEC.read_text(encoding="utf-8").replace(
        "      sign:\n",
        f'      sign:\n        - as: evil\n          format: "{payload}"\n',
        1,
    )
    package = generate_package(tmp_path, "itnio_voice", text)
    try:
        [bound, _] = package.API.auth_schemes["md5_header"].sign
        assert bound.step == steps.Format(template="'''); __import__('os').system('touch PWNED') #\" \\")
        assert not list(tmp_path.rglob("PWNED"))
    finally:
        import sys

        for module in [m for m in sys.modules if m == "dlr_itnio_voice" or m.startswith("dlr_itnio_voice.")]:
            del sys.modules[module]


def test_raw_bytes_where_text_is_needed_are_spec_errors(tmp_path: Path) -> None:
    """A base64-decoded key is raw bytes: fine alone as a digest's input or an HMAC key, a
    problem inside other text, in a header, or under a filter that reads text."""
    digest = 'hash: {algorithm: md5, input: "{api_key}{api_secret}{timestamp}", output: hex}'
    assert (
        _parse_with(
            tmp_path, digest, digest.replace("{api_key}{api_secret}{timestamp}", "{api_secret|base64_decode}")
        )
        == []
    )
    line = _line_of(tmp_path, "hash: {algorithm: md5")
    inside = _parse_with(tmp_path, digest, digest.replace("{api_secret}", "{api_secret|base64_decode}"))
    assert inside == [
        f"{line}: {{api_secret|base64_decode}} is raw bytes: use it alone, as an HMAC key or a digest's input, "
        "or encode it again (|base64)"
    ]
    header = _parse_with(tmp_path, 'Api-Key: "{api_key}"', 'Api-Key: "{api_key|base64_decode}"')
    assert len(header) == 1 and "{api_key|base64_decode} is raw bytes" in header[0]
    lowered = _parse_with(tmp_path, 'Api-Key: "{api_key}"', 'Api-Key: "{api_key|base64_decode|lower}"')
    assert lowered == [
        f"{_line_of(tmp_path, 'Api-Key')}: the lower filter reads text, but "
        "{api_key|base64_decode|lower} gives it raw bytes"
    ]
    assert _parse_with(tmp_path, 'Api-Key: "{api_key}"', 'Api-Key: "{api_key|base64_decode|base64}"') == []
