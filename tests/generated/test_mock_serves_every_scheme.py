"""The provider mock serves, by construction, every auth scheme the spec format can express.

It signs again with the client's own step registry, reading the request's nonce, timestamp
and token back from wherever the scheme placed them (``dlr_core.mock_auth``), and serves
the token endpoint of an OAuth2 client-credentials step. Here:

- a WS-Security UsernameToken scheme (nonce, timestamp and digest inside one header value)
  signs as a published example says, and the mock accepts the generated client's request
  and refuses a tampered one;
- an OAuth2 client-credentials spec: the token endpoint checks the client credentials, the
  token expires or is revoked, and only a live issued token is accepted;
- for every step kind of ``dlr_core.steps.STEPS``, every placement, separate and composite
  values, every timestamp style and nonce kind, a spec using it has a README example that
  runs against the mock in process (one spec holding every case is generated once per
  module; each case runs the README's code with the package narrowed to its scheme);
- slow: the same for a subset, through ``dlrgen mock`` on a real port.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import ROOT, pem_private_key, serve_every_client_from
from dlr_core import mock_auth
from dlr_core.request import PreparedRequest
from dlr_core.signing import NONCE_KINDS, PLACEMENTS, TIMESTAMP_STYLES, Scheme, Signer
from dlr_core.steps import STEPS
from dlr_core.testing import MockTransport
from generator.pipeline import load_providers, provider_files
from generator.emit.writer import apply

# One worker generates the every-scheme package once for all of these tests.
pytestmark = pytest.mark.xdist_group("every_scheme")

CASES = ROOT / "tests" / "cases"
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


# -- generating packages and running their README example ---------------------------------


def generate(out: Path, specs: dict[str, str]) -> dict[str, ModuleType]:
    """Write each spec (provider name -> YAML text), generate all, import each package."""
    folder = out / "specs"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in specs.items():
        path = folder / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    providers, problems = load_providers(paths)
    assert not problems, "\n".join(map(str, problems))
    packages = {}
    for provider in providers:
        apply(out / "generated", provider_files(provider))
        for module in [
            m for m in sys.modules if m == provider.package or m.startswith(provider.package + ".")
        ]:
            del sys.modules[module]
        sys.path.insert(0, str(out / "generated" / provider.package))
        try:
            packages[provider.id] = importlib.import_module(provider.package)
        finally:
            sys.path.remove(str(out / "generated" / provider.package))
    return packages


def case_spec(case: str, provider: str) -> str:
    """A golden case's spec, as provider ``provider``."""
    text = (CASES / case / "specs" / "demo.yaml").read_text(encoding="utf-8")
    return text.replace("provider: demo\n", f"provider: {provider}\n", 1)


def readme_example(package: ModuleType) -> str:
    readme = Path(package.__file__).parent.parent / "README.md"
    return next(c for c in FENCE.findall(readme.read_text(encoding="utf-8")) if "fetch_receipts(" in c)


def credential_values(api: Any) -> dict[str, str]:
    return {
        name: pem_private_key() if name in api.pem_credentials else f"{name}-value"
        for name in api.credential_env
    }


def run_example(
    code: str,
    api: Any,
    credentials: dict[str, str],
    transport: httpx.BaseTransport | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run a README example with the credentials in the environment; every client it makes
    sends through ``transport`` (in process) when one is given."""
    for name, variables in api.credential_env.items():
        monkeypatch.setenv(variables[0], credentials[name])
    if transport is not None:
        serve_every_client_from(transport, monkeypatch)
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - generated documentation


def assert_served(mock: MockTransport) -> None:
    assert mock.requests, "the example sent nothing"
    refused = [
        (r.method, r.path, r.status) for r in mock.requests if not (r.authenticated and r.status == 200)
    ]
    assert not refused, refused


# -- WS-Security UsernameToken ------------------------------------------------------------


def test_the_wsse_scheme_computes_the_published_password_digest(golden: dict[str, Any]) -> None:
    """PasswordDigest = Base64(SHA-1(nonce + created + password)) (OASIS WSS UsernameToken
    Profile 1.1, section 3.1, with the nonce as the text sent, as the X-WSSE header form
    does). The values are the worked example of the original X-WSSE write-up (Mark Pilgrim,
    "Atom Authentication", xml.com, 2003-12-17), which httplib2's test_wsse_algorithm
    (httplib2/httplib2, tests/test_auth.py) checks too: nonce
    d36e316282959a9ed4c89851497a717f, created 2003-12-15T14:43:07Z, password
    taadtaadpstcsm, digest quR/EWLAV4xLf9Zqyw4pDmfV9OY=."""
    scheme = golden["wsse"].auth_schemes["wsse"]
    request = PreparedRequest("GET", "https://api.example.com", "/messages", query=[("id", "m-1")])
    Signer(
        scheme,
        {"app_key": "bob", "app_secret": "taadtaadpstcsm"},
        clock=lambda: datetime(2003, 12, 15, 14, 43, 7, tzinfo=timezone.utc),
        nonce=lambda: "d36e316282959a9ed4c89851497a717f",
    ).sign(request)
    assert request.headers["X-WSSE"] == (
        'UsernameToken Username="bob", PasswordDigest="quR/EWLAV4xLf9Zqyw4pDmfV9OY=", '
        'Nonce="d36e316282959a9ed4c89851497a717f", Created="2003-12-15T14:43:07Z"'
    )
    assert request.headers["Authorization"] == 'WSSE realm="SDP", profile="UsernameToken", type="Appkey"'


def test_the_mock_accepts_a_wsse_request_and_refuses_it_tampered(
    every_scheme: ModuleType, golden: dict[str, Any]
) -> None:
    credentials = {"app_key": "bob", "app_secret": "taadtaadpstcsm"}
    mock = MockTransport(golden["wsse"], credentials)
    with mock.client(every_scheme.Client, auth_scheme="wsse") as client:
        [receipt] = client.fetch_receipts(message_id="m-1")
        signed = client.prepare("get_message", message_id="m-1")
    assert receipt.provider == "every_scheme"
    assert [(r.status, r.authenticated) for r in mock.requests] == [(200, True)]
    wsse = signed.headers["X-WSSE"]
    assert re.fullmatch(
        r'UsernameToken Username="bob", PasswordDigest="[^"]+", Nonce="[0-9a-f]{32}", Created="[^"]+"', wsse
    )
    digest = re.search(r'PasswordDigest="([^"]+)"', wsse)
    nonce = re.search(r'Nonce="([^"]+)"', wsse)
    created = re.search(r'Created="([^"]+)"', wsse)
    assert digest and nonce and created
    other_time = (datetime.now(timezone.utc) - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tampered = {
        "nonce": wsse.replace(nonce.group(1), "0" * 32),
        "created": wsse.replace(created.group(1), other_time),
        # one character changed (never to itself: a digest may start with "A")
        "digest": wsse.replace(
            digest.group(1), ("B" if digest.group(1)[0] == "A" else "A") + digest.group(1)[1:]
        ),
        "user": wsse.replace('Username="bob"', 'Username="eve"'),
        "layout": wsse.replace(", Nonce=", ",Nonce="),
    }
    http = mock.http_client()
    assert http.send(_copy(signed, wsse)).status_code == 200  # the copy itself is accepted
    for what, value in tampered.items():
        assert http.send(_copy(signed, value)).status_code == 401, what
        assert not mock.requests[-1].authenticated, what


def _copy(signed: httpx.Request, wsse: str) -> httpx.Request:
    headers = {k: v for k, v in signed.headers.items() if k.lower() != "x-wsse"}
    return httpx.Request(
        signed.method, signed.url, headers={**headers, "X-WSSE": wsse}, content=signed.content
    )


# -- a local-time timestamp inside a base64 header ------------------------------------------


def test_the_mock_reads_a_local_time_back_from_inside_a_base64_header(
    every_scheme: ModuleType, golden: dict[str, Any]
) -> None:
    """timestamp_pattern's scheme: yyyyMMddHHmmss in +08:00, signed into ?sig= and placed
    only inside Authorization: base64("<id>:<time>"). The mock decodes it, re-signs with that
    time and checks it against its clock: an hour-old request verifies when the clock check
    is off (so the time was read back, not taken from the mock's clock) and is refused with
    it on; a request signed now is accepted."""
    credentials = {"account_id": "acc-1", "token": "t0ken"}
    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    beijing = an_hour_ago.astimezone(timezone(timedelta(hours=8))).strftime("%Y%m%d%H%M%S")
    mock = MockTransport(golden["local_time"], credentials)
    with mock.client(every_scheme.Client) as client:
        signed = client.prepare("get_message", message_id="m-1")
    with mock.client(every_scheme.Client, clock=lambda: an_hour_ago) as client:
        stale = client.prepare("get_message", message_id="m-1")
    assert base64.b64decode(stale.headers["Authorization"]).decode() == f"acc-1:{beijing}"
    for skew, expected in ((None, 200), (900.0, None)):
        mock = MockTransport(golden["local_time"], credentials, max_clock_skew=skew)
        answer = mock.http_client().send(stale)
        assert (answer.status_code == 200) == (expected == 200), skew
    fresh = MockTransport(golden["local_time"], credentials)
    assert fresh.http_client().send(signed).status_code == 200
    assert fresh.requests[-1].authenticated


# -- OAuth2 client credentials ------------------------------------------------------------


def test_an_oauth2_readme_example_runs_against_the_mock(
    every_scheme: ModuleType, golden: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = golden["oauth2"]
    monkeypatch.setattr(sys.modules[f"{every_scheme.__name__}.client"], "API", api)
    credentials = credential_values(api)
    mock = MockTransport(api, credentials)
    run_example(readme_example(every_scheme), api, credentials, mock, monkeypatch)
    assert_served(mock)
    token_request, operation = mock.requests
    assert (token_request.method, token_request.path, token_request.operation) == (
        "POST",
        "/oauth2/token",
        None,
    )
    assert operation.operation == "get_message"


def _token_request(mock: MockTransport, **form: str) -> httpx.Response:
    return mock.http_client().post("https://api.example.com/oauth2/token", data=form)


def test_the_token_endpoint_checks_the_client_credentials_as_the_flow_sends_them(
    golden: dict[str, Any],
) -> None:
    api = golden["oauth2"]  # client_auth: form, scope sms.read
    mock = MockTransport(api, {"client_id": "id-1", "client_secret": "s3cret"})
    good = {
        "grant_type": "client_credentials",
        "client_id": "id-1",
        "client_secret": "s3cret",
        "scope": "sms.read",
    }
    answer = _token_request(mock, **good)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["access_token"]
    assert answer.headers["cache-control"] == "no-store"
    assert _token_request(mock, **{**good, "client_secret": "wrong"}).json() == {"error": "invalid_client"}
    assert _token_request(mock, **{**good, "grant_type": "password"}).status_code == 400
    assert _token_request(mock, **{**good, "scope": "admin"}).json() == {"error": "invalid_scope"}
    basic = mock.http_client().post(
        "https://api.example.com/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "sms.read"},
        auth=("id-1", "s3cret"),
    )
    assert basic.status_code == 401  # this step sends form fields, not HTTP Basic


def test_only_a_live_token_the_mock_issued_is_accepted(golden: dict[str, Any]) -> None:
    credentials = {"client_id": "id-1", "client_secret": "s3cret"}
    mock = MockTransport(golden["oauth2"], credentials)
    http = mock.http_client()

    def get(token: str) -> int:
        return http.get(
            "https://api.example.com/messages",
            params={"id": "m"},
            headers={"Authorization": f"Bearer {token}"},
        ).status_code

    assert get("made-up") == 401
    token = _token_request(
        mock, grant_type="client_credentials", client_id="id-1", client_secret="s3cret", scope="sms.read"
    ).json()["access_token"]
    assert get(token) == 200
    assert get(token + "x") == 401
    mock._mock._tokens.revoke()
    assert get(token) == 401


def test_an_expired_token_is_refused_and_the_client_fetches_a_new_one(
    every_scheme: ModuleType, golden: dict[str, Any]
) -> None:
    credentials = {"client_id": "id-1", "client_secret": "s3cret"}
    mock = MockTransport(golden["oauth2"], credentials)
    mock._mock._tokens._lifetime = 120  # refresh_margin 60: the client refreshes after 60 s
    now = [datetime.now(timezone.utc)]
    with mock.client(every_scheme.Client, clock=lambda: now[0], auth_scheme="oauth2") as client:
        client.get_message(message_id="m")
        first = mock.requests[0]
        now[0] += timedelta(seconds=61)
        client.get_message(message_id="m")
    tokens = [r for r in mock.requests if r.path == "/oauth2/token"]
    assert len(tokens) == 2 and first.status == 200
    assert all(r.status == 200 and r.authenticated for r in mock.requests)


def test_a_scenario_can_revoke_the_token(every_scheme: ModuleType, golden: dict[str, Any]) -> None:
    """``revoke_tokens`` answers 401 once and refuses every token issued so far: the client
    fetches a new token and repeats the call once, and the refused token stays refused."""
    credentials = {"client_id": "id-1", "client_secret": "s3cret"}
    mock = MockTransport(
        golden["oauth2"], credentials, scenario={"get_message": [{"revoke_tokens": True}, {}]}
    )
    step = golden["oauth2"].auth_schemes["oauth2"].sign[0].step

    with mock.client(every_scheme.Client, retries=0, auth_scheme="oauth2") as client:
        client.get_message(message_id="m")
    first, second = (r.headers["authorization"] for r in mock.requests if r.path == "/messages")
    assert first != second and mock._mock._tokens.live(step) == [second.split(" ", 1)[1]]
    assert [(r.path, r.status) for r in mock.requests] == [
        ("/oauth2/token", 200),
        ("/messages", 401),
        ("/oauth2/token", 200),
        ("/messages", 200),
    ]


# -- every step kind, placement, style and kind -------------------------------------------

BASE = yaml.safe_load((CASES / "minimal" / "specs" / "demo.yaml").read_text(encoding="utf-8"))
CREDENTIALS = {
    "api_key": {"description": "API key."},
    "api_secret": {"description": "API secret.", "secret": True},
    "private_key": {"description": "PEM private key.", "secret": True, "format": "pem_private_key"},
    "client_id": {"description": "OAuth2 client id."},
    "client_secret": {"description": "OAuth2 client secret.", "secret": True},
}
STEP_BODIES: dict[str, Any] = {
    "format": "{api_key}.{nonce}",
    "canonical_query": {},
    "sorted_concat": {"source": "query_and_body"},
    "json_object": [{"key": "k", "value": "{api_key}"}, {"key": "n", "value": "{nonce}"}],
    "canonical_request": {"signed_headers": {"names": ["host"]}, "payload_hash": "{body|sha256_hex}"},
    "canonical_headers": {"signed_headers": {"names": ["host"], "prefixes": ["x-"]}, "values": "rfc3986"},
    "json_field_lines": ["message_id", "status"],  # members of a JSON body (none here: empty text)
    "hash": {"algorithm": "sha1", "input": "{nonce}{timestamp}{api_secret}", "output": "base64"},
    "hmac": {
        "algorithm": "sha256",
        "key": "{api_secret}",
        "input": "{method}\n{path}\n{nonce}",
        "output": "hex",
    },
    "hmac_chain": {
        "algorithm": "sha256",
        "key": "{api_secret}",
        "inputs": ["{timestamp}", "sms"],
        "output": "raw",
    },
    "rsa_sign": {
        "hash": "sha256",
        "key": "private_key",
        "input": "{nonce}{timestamp}",
        "output": "base64url",
    },
    "jwt": {
        "algorithm": "HS256",
        "key": "{api_secret}",
        "claims": [{"key": "iss", "value": "{api_key}"}],
        "expires_in": 300,
    },
    "oauth2_client_credentials": {
        "token_url": "/oauth2/token",
        "client_id": "{client_id}",
        "client_secret": "{client_secret}",
    },
}
LAYOUTS = ("separate", "composite")


def test_every_step_kind_has_a_case() -> None:
    assert set(STEP_BODIES) == set(STEPS), "a new step kind needs a case here"


def _scheme(kind: str, location: str, layout: str, index: int) -> dict[str, Any]:
    """A scheme signing with ``kind``, its values placed in ``location``; ``composite``
    puts nonce, timestamp and signature in one value (with a filtered copy of the nonce)."""
    styles, nonces = list(TIMESTAMP_STYLES), list(NONCE_KINDS)
    part = {"as": "part", kind: STEP_BODIES[kind]}
    if kind == "hmac_chain":  # raw bytes: a key, used alone
        sig = {"algorithm": "sha256", "key": "{part}", "input": "{nonce}|{timestamp}", "output": "hex"}
    else:
        sig = {
            "algorithm": "sha256",
            "key": "{api_secret}",
            "input": "{part|base64}|{nonce}|{timestamp}",
            "output": "hex",
        }
    sign = [part, {"as": "sig", "hmac": sig}]
    nonce_kind = nonces[index % len(nonces)]
    name = "X-Auth" if location == "header" else "auth"
    scheme: dict[str, Any] = {
        "description": f"{kind}, {layout}, in the {location}.",
        "timestamp": styles[index % len(styles)],
        "nonce": {"kind": nonce_kind} if nonce_kind == "uuid4" else {"kind": nonce_kind, "length": 24},
        "sign": sign,
    }
    token = {"Authorization" if location == "header" else "access_token": "Bearer {part}"}
    placed = token if kind == "oauth2_client_credentials" else {}
    if layout == "separate":
        ts, nonce = ("X-Ts", "X-Nonce") if location == "header" else ("ts", "nonce")
        scheme["add"] = {location: {ts: "{timestamp}", nonce: "{nonce}"}}
        scheme["attach"] = {location: {name: "{sig}", **placed}}
    else:
        value = 'Sig key="{api_key}", nonce="{nonce}", ts="{timestamp}", n2="{nonce|upper}", sig="{sig}"'
        scheme["attach"] = {location: {name: value, **placed}}
    return scheme


MATRIX = [
    (kind, location, layout) for kind, location, layout in itertools.product(STEP_BODIES, PLACEMENTS, LAYOUTS)
]


def _golden_auth(case: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CASES / case / "specs" / "demo.yaml").read_text(encoding="utf-8"))
    return dict(data["auth"])


def _matrix_spec() -> str:
    """One spec holding every case's scheme (generated once: generation is the slow part),
    and the golden cases' WS-Security and OAuth2 schemes as they are."""
    wsse = _golden_auth("sign_wsse_username_token")
    oauth2 = _golden_auth("sign_oauth2_client_credentials")
    local_time = _golden_auth("timestamp_pattern")
    data = dict(BASE)
    data["provider"] = "every_scheme"
    data["auth"] = {
        "credentials": {
            **CREDENTIALS,
            **wsse["credentials"],
            **oauth2["credentials"],
            **local_time["credentials"],
        },
        "default_scheme": "s0",
        "schemes": {
            **{f"s{i}": _scheme(*case, i) for i, case in enumerate(MATRIX)},
            "wsse": wsse["schemes"]["wsse"],
            "oauth2": oauth2["schemes"]["oauth2"],
            "local_time": local_time["schemes"]["local_time"],
        },
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@pytest.fixture(scope="module")
def golden(every_scheme: ModuleType) -> dict[str, Any]:
    """The golden cases' schemes, each as the one scheme of the package's API."""
    return {name: narrowed(every_scheme, name) for name in ("wsse", "oauth2", "local_time")}


@pytest.fixture(scope="module")
def every_scheme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    yield generate(tmp_path_factory.mktemp("every"), {"every_scheme": _matrix_spec()})["every_scheme"]
    _forget_packages({"dlr_every_scheme"})


def _forget_packages(packages: set[str]) -> None:
    """Unload the generated packages (only they: a library imported meanwhile, cryptography
    say, stays, or the next test in this process would see half of it)."""
    for name in [n for n in sys.modules if n.split(".", 1)[0] in packages]:
        del sys.modules[name]


def narrowed(package: ModuleType, scheme: str) -> Any:
    """The package's API with only ``scheme``: what a spec with that one scheme generates."""
    api = package.API
    return dataclasses.replace(
        api,
        auth_schemes={scheme: api.auth_schemes[scheme]},
        default_scheme=scheme,
        scheme_credentials={scheme: api.scheme_credentials[scheme]},
        credential_env={k: v for k, v in api.credential_env.items() if k in api.scheme_credentials[scheme]},
    )


@pytest.mark.parametrize(("index", "case"), list(enumerate(MATRIX)), ids=["-".join(c) for c in MATRIX])
def test_the_readme_example_runs_against_the_mock_for_every_scheme(
    every_scheme: ModuleType, index: int, case: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = narrowed(every_scheme, f"s{index}")
    monkeypatch.setattr(sys.modules[f"{every_scheme.__name__}.client"], "API", api)
    credentials = credential_values(api)
    mock = MockTransport(api, credentials)
    run_example(readme_example(every_scheme), api, credentials, mock, monkeypatch)
    assert_served(mock)
    operation = [r for r in mock.requests if r.operation == "get_message"]
    assert len(operation) == 1


def test_a_tampered_composite_value_is_refused(every_scheme: ModuleType) -> None:
    index = MATRIX.index(("hash", "header", "composite"))
    api = narrowed(every_scheme, f"s{index}")
    credentials = credential_values(api)
    mock = MockTransport(api, credentials)
    client = every_scheme.Client(**credentials, http_client=mock.http_client(), auth_scheme=f"s{index}")
    signed = client.prepare("get_message", message_id="m")
    value = signed.headers["X-Auth"]
    nonce = re.search(r'nonce="([^"]+)"', value)
    assert nonce
    for tampered in (
        value.replace(nonce.group(1), nonce.group(1)[::-1], 1),
        value.replace('n2="', 'n2="X', 1),
    ):
        request = httpx.Request("GET", signed.url, headers={**signed.headers, "X-Auth": tampered})
        assert mock.http_client().send(request).status_code == 401
    assert (
        mock.http_client().send(httpx.Request("GET", signed.url, headers=signed.headers)).status_code == 200
    )


# -- recovering values: generic over styles and filters ----------------------------------


def test_a_new_timestamp_style_needs_only_its_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A style the mock has never heard of (an HTTP date) is read back from inside a value,
    and its moment found, from the style's writer alone."""
    from email.utils import format_datetime

    monkeypatch.setitem(
        TIMESTAMP_STYLES, "test_http_date", lambda m: format_datetime(m.astimezone(timezone.utc), usegmt=True)
    )
    scheme = Scheme.from_data(
        {
            "timestamp": "test_http_date",
            "nonce": {"kind": "alphanumeric", "length": 10},
            "sign": [
                {
                    "as": "sig",
                    "hash": {"algorithm": "sha256", "input": "{nonce}{timestamp}{secret}", "output": "hex"},
                }
            ],
            "attach": {"header": {"X-Auth": "{nonce}{timestamp} sig={sig}"}},
        }
    )
    moment = datetime(2021, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    request = PreparedRequest("GET", "https://api.example.com", "/x")
    Signer(scheme, {"secret": "s"}, clock=lambda: moment, nonce=lambda: "Ab3dE6gH9j").sign(request)
    received = {("header", "X-Auth"): request.headers["X-Auth"]}
    [reading, *_] = mock_auth.recover(scheme, received, {"secret": "s"}, ["nonce", "timestamp"])
    assert reading == {"nonce": "Ab3dE6gH9j", "timestamp": "Thu, 04 Mar 2021 05:06:07 GMT"}
    assert (
        mock_auth.moment_of(reading["timestamp"], "test_http_date", moment + timedelta(seconds=40), 60)
        == moment
    )


@pytest.mark.parametrize("style", list(TIMESTAMP_STYLES))
def test_every_timestamp_style_is_read_back_next_to_a_nonce(style: str) -> None:
    """Adjacent slots, no separator: the learned patterns tell them apart."""
    for kind in NONCE_KINDS:
        scheme = Scheme.from_data(
            {
                "timestamp": style,
                "nonce": {"kind": kind, "length": 16},
                "attach": {"query": {"t": "{timestamp}{nonce}"}},
            }
        )
        moment = datetime(2024, 2, 29, 23, 59, 58, 250000, tzinfo=timezone.utc)
        request = PreparedRequest("GET", "https://api.example.com", "/x")
        values = Signer(scheme, {}, clock=lambda: moment).sign(request)
        [reading, *_] = mock_auth.recover(
            scheme, {("query", "t"): request.query[0][1]}, {}, ["nonce", "timestamp"]
        )
        assert reading == {"timestamp": values["timestamp"], "nonce": values["nonce"]}, (style, kind)
        found = mock_auth.moment_of(reading["timestamp"], style, moment + timedelta(seconds=3), 10)
        assert found is not None and abs((found - moment).total_seconds()) < 1, (style, found)


def test_a_variable_placed_twice_must_agree() -> None:
    scheme = Scheme.from_data(
        {"nonce": {"kind": "hex", "length": 8}, "attach": {"header": {"A": "n={nonce}", "B": "{nonce}!"}}}
    )
    agree = {("header", "A"): "n=0a1b2c3d", ("header", "B"): "0a1b2c3d!"}
    differ = {("header", "A"): "n=0a1b2c3d", ("header", "B"): "ffffffff!"}
    assert mock_auth.recover(scheme, agree, {}, ["nonce"]) == [{"nonce": "0a1b2c3d"}]
    assert mock_auth.recover(scheme, differ, {}, ["nonce"]) == []


# -- slow: through `dlrgen mock` on a real port -------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SUBSET = [
    ("hash", "header", "composite"),
    ("oauth2_client_credentials", "header", "separate"),
    ("oauth2_client_credentials", "query", "composite"),
    ("jwt", "body", "composite"),
    ("canonical_request", "query", "separate"),
    ("rsa_sign", "header", "composite"),
]


@pytest.mark.slow
def test_readme_examples_run_against_dlrgen_mock_on_a_real_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = {
        "wsse_demo": case_spec("sign_wsse_username_token", "wsse_demo"),
        "oauth_demo": case_spec("sign_oauth2_client_credentials", "oauth_demo"),
    }
    for kind, location, layout in SUBSET:
        name = f"{kind}_{location}_{layout}".replace("oauth2_client_credentials", "oauth")
        data = dict(BASE)
        data["provider"] = name
        scheme = _scheme(kind, location, layout, MATRIX.index((kind, location, layout)))
        needed = set(re.findall(r"\{([a-z_]+)[|}]", yaml.safe_dump(scheme)))
        if kind == "rsa_sign":
            needed.add("private_key")  # named by the step, not in a template
        data["auth"] = {
            "credentials": {k: v for k, v in CREDENTIALS.items() if k in needed},
            "default_scheme": "main",
            "schemes": {"main": scheme},
        }
        specs[name] = yaml.safe_dump(data, sort_keys=False)
    try:
        packages = generate(tmp_path, specs)
        for name, package in packages.items():
            credentials = credential_values(package.API)
            port = _free_port()
            args = [
                sys.executable,
                "-m",
                "generator",
                "mock",
                name,
                "--port",
                str(port),
                "--out",
                str(tmp_path / "generated"),
                "--specs",
                str(tmp_path / "specs"),
            ]
            for key, value in credentials.items():
                if "\n" in value:
                    key_file = tmp_path / f"{name}-{key}.pem"
                    key_file.write_text(value, encoding="utf-8")
                    value = f"@{key_file}"
                args += ["--credential", f"{key}={value}"]
            server = subprocess.Popen(
                args,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            try:
                assert server.stdout is not None
                banner = server.stdout.readline()
                assert f"{name} on http://127.0.0.1:{port}" in banner, banner + (
                    server.stderr.read() if server.poll() is not None else ""
                )
                code = readme_example(package).replace(
                    ".from_env()", f'.from_env(base_url="http://127.0.0.1:{port}")'
                )
                assert f"127.0.0.1:{port}" in code
                run_example(code, package.API, credentials, None, monkeypatch)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=10)
    finally:
        _forget_packages({f"dlr_{name}" for name in specs})
