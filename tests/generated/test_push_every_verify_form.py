"""Every way the callbacks format can verify a push has a README example that receives a
push signed as the mock signs it (``dlr_core.push``, what ``dlrgen mock --push`` runs),
and refuses it tampered.

The forms are read from the JSON Schema: every key of ``callback_verify`` and of a
callback's arrival (method, format, array, json_field), every value of their enums, every alternative
of a ``oneOf`` (a compare value that is one template or a list of them) and every flag set;
``test_every_verify_form_has_a_case`` fails when the schema gains one no case uses. Public
keys are tried in every valid combination of algorithm, key format and signature encoding,
a signed time in every style.

One spec holds a callback per case (generated once per module: generation is the slow
part). Each case runs the README example a spec holding only that callback has (the
README rendered for the provider narrowed to it, its ``parse_callback`` the case's parser):
in process here (pushes made with ``dlr_core.push.push`` through an in-process transport);
slow: through ``dlrgen mock <provider> --push URL`` to ``dlr_core.callbacks.CallbackApp``
under uvicorn on 127.0.0.1, each case's push accepted and its tampered copy refused.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from tests.conftest import ROOT
from dlr_core import CallbackError, Receipt
from dlr_core.callbacks import (
    KEY_FORMATS,
    PUBLIC_KEY_ALGORITHMS,
    SIGNATURE_ENCODINGS,
    SIGNED_TIME_STYLES,
    Callback,
    CallbackApp,
)
from dlr_core.push import push, read_scenario
from generator.commands.mock import _key_pair
from generator.pipeline import load_providers, provider_files
from generator.emit.writer import apply

pytestmark = [
    pytest.mark.xdist_group("every_verify_form"),
    pytest.mark.usefixtures(
        "sign_steps_compared"
    ),  # every form through the compiled steps and the interpreter
]

CASES = ROOT / "tests" / "cases"
SCHEMA = json.loads((ROOT / "generator" / "spec.schema.json").read_text(encoding="utf-8"))
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PROVIDER = "every_verify_form"
SECRET = "push-secret"
PAYLOAD = {"id": "m-1", "status": "delivered", "to": "+15550001"}
CERTIFICATE_URL = "https://certs.example.com/signer.pem"

# -- the cases ------------------------------------------------------------------------------


def _hmac(name: str, input: str, algorithm: str = "sha256", output: str = "hex") -> dict[str, Any]:
    return {
        "as": name,
        "hmac": {"algorithm": algorithm, "key": "{webhook_secret}", "input": input, "output": output},
    }


def _compare(value: str | list[str] = "{signature}", **more: Any) -> dict[str, Any]:
    return {"header": "X-Signature", "value": value, **more}


def _public_key_credential(algorithm: str, key_format: str) -> str:
    return f"{algorithm.split('_')[0]}_{key_format}_public_key"


def _cases() -> dict[str, dict[str, Any]]:
    """Callback name -> its method, format, array, json_field and verify."""
    cases: dict[str, dict[str, Any]] = {
        "hmac_json": {
            "format": "json",
            "verify": {"sign": [_hmac("signature", "{body}")], "compare": _compare()},
        },
        "hmac_form": {  # an HMAC over the URL and the sorted fields (Twilio's form)
            "method": "POST",
            "format": "form",
            "verify": {
                "sign": [
                    {"as": "fields", "sorted_concat": {"source": "body", "repeated": "unique"}},
                    _hmac("signature", "{url}{fields}", "sha1", "base64"),
                ],
                "compare": _compare(),
                "either_port": True,
            },
        },
        "hmac_multipart": {  # multipart/form-data text fields, signed as a form's fields are
            "method": "POST",
            "format": "multipart",
            "verify": {
                "sign": [
                    {"as": "fields", "sorted_concat": {"source": "body", "repeated": "unique"}},
                    _hmac("signature", "{url}{fields}"),
                ],
                "compare": _compare(),
            },
        },
        "hmac_form_or_json": {  # a form or a JSON body, as its Content-Type says; signed over the bytes
            "method": "POST",
            "format": ["form", "json"],
            "verify": {"sign": [_hmac("signature", "{body}")], "compare": _compare()},
        },
        "hmac_xml": {  # an XML document, signed over its raw bytes
            "format": "xml",
            "verify": {"sign": [_hmac("signature", "{url}{body}", output="base64")], "compare": _compare()},
        },
        "hmac_get_query": {  # a GET: the report is the query, signed canonically
            "method": "GET",
            "format": "form",
            "verify": {
                "sign": [
                    {"as": "query", "canonical_query": {}},
                    _hmac("signature", "{method}\n{path}\n{query}", output="base64url"),
                ],
                "compare": _compare(),
            },
        },
        "hash_json_array": {  # several reports in one push, a salted hash
            "format": "json",
            "array": True,
            "verify": {
                "sign": [
                    {
                        "as": "signature",
                        "hash": {"algorithm": "sha256", "input": "{webhook_secret}{body}", "output": "hex"},
                    }
                ],
                "compare": _compare(),
            },
        },
        "hmac_form_json_field": {  # a form field holding the reports as a JSON array
            "format": "form",
            "json_field": "reports",
            "array": True,
            "verify": {"sign": [_hmac("signature", "{body}", "sha512")], "compare": _compare()},
        },
        "header_variable": {  # a nonce header the signature covers
            "format": "form",
            "verify": {
                "headers": {"nonce": "X-Nonce"},
                "sign": [_hmac("signature", "{nonce}.{url}.{body}", output="base64")],
                "compare": _compare(),
            },
        },
        "header_sent_anyway": {  # a signed header every push carries: its Content-Type
            "format": "json",
            "verify": {
                "headers": {"content_type": "Content-Type"},
                "sign": [_hmac("signature", "{content_type}\n{body}", output="base64")],
                "compare": _compare(),
            },
        },
        "several_forms": {  # the provider signs either form; the mock signs with the first
            "format": "json",
            "verify": {
                "sign": [_hmac("with_url", "{url}{body}"), _hmac("body_only", "{body}")],
                "compare": _compare(["{with_url}", "{body_only}"]),
            },
        },
        "several_signatures": {  # one per active key, in one header
            "format": "json",
            "verify": {
                "sign": [_hmac("signature", "{body}", output="base64")],
                "compare": _compare("v1={signature}", separator=","),
            },
        },
        "jwt_hashes_in_claims": {  # a token binding the URL, and the body when there is one
            "method": "GET",
            "format": "form",
            "verify": {
                "jwt": {
                    "header": "X-Signature-JWT",
                    "key": "{webhook_secret}",
                    "algorithms": ["HS512", "HS256"],
                    "claims": [
                        {"key": "iss", "value": "Provider"},
                        {"key": "url_hash", "value": "{url|sha256_hex}"},
                        {"key": "payload_hash", "value": "{body|sha256_hex}", "only_if": "{body}"},
                    ],
                    "required": ["jti", "nbf", "exp"],
                    "leeway": "1s",
                }
            },
        },
        "jwt_report_in_claims": {  # the token's claims are the report
            "format": "json",
            "verify": {"jwt": {"header": "X-Token", "key": "{webhook_secret}", "read_claims": True}},
        },
        "signature_in_fields": {  # a token and the signature among the form fields (SUBMAIL)
            "format": "form",
            "verify": {
                "fields": {"token": "token"},
                "sign": [
                    {
                        "as": "expected",
                        "hash": {"algorithm": "md5", "input": "{token}{webhook_secret}", "output": "hex"},
                    }
                ],
                "compare": {"field": "signature", "value": "{expected}"},
            },
        },
        "unsigned": {"format": "json", "verify": {"unsigned": "The provider signs nothing."}},
        "query_secret": {  # signs nothing, but pushes to the URL given it, a secret in its query
            "format": "json",
            "verify": {"equals": [{"query": "secret", "value": "{webhook_secret}"}]},
        },
        "certificate_in_body": {  # the signature in a member, by a certificate the push names
            "format": "json",
            "verify": {
                "sign": [{"as": "string_to_sign", "json_field_lines": ["id", "status", "to"]}],
                "public_key": {
                    "algorithm_by": {
                        "field": "version",
                        "choices": {"2": "rsa_pkcs1v15_sha256", "1": "rsa_pkcs1v15_sha1"},
                    },
                    "certificate": {
                        "field": "cert_url",
                        "host_pattern": r"^certs\.example\.com$",
                        "path_pattern": r"\.pem$",
                    },
                    "field": "sig",
                    "input": "{string_to_sign}",
                },
                "equals": [{"field": "to", "value": "+15550001"}, {"header": "X-Account", "value": "a1"}],
            },
        },
        "in_code": {"format": "json", "verify": {"in_code": "An HMAC its docs describe in prose only."}},
    }
    for style in SIGNED_TIME_STYLES:
        cases[f"signed_time_{style}"] = {
            "format": "json",
            "verify": {
                "timestamp": {"header": "X-Timestamp", "style": style, "tolerance": "5m"},
                "sign": [_hmac("signature", "{timestamp}.{body}")],
                "compare": _compare("t={timestamp},s={signature}"),
            },
        }
    for index, (algorithm, key_format, encoding) in enumerate(
        itertools.product(PUBLIC_KEY_ALGORITHMS, KEY_FORMATS, SIGNATURE_ENCODINGS)
    ):
        if algorithm != "ed25519" and key_format == "base64":
            continue  # a raw base64 key is an Ed25519 key (the generator says so)
        signed_time = index % 2 == 0
        verify: dict[str, Any] = {
            "public_key": {
                "algorithm": algorithm,
                "key": _public_key_credential(algorithm, key_format),
                "key_format": key_format,
                "header": "X-Signature",
                "encoding": encoding,
                "input": "{timestamp}|{body}" if signed_time else "{method} {url}\n{body}",
            }
        }
        if signed_time:
            verify["timestamp"] = {"header": "X-Timestamp", "style": "unix_seconds", "tolerance": "300s"}
        cases[f"public_key_{algorithm}_{key_format}_{encoding}"] = {
            "method": "POST",
            "format": "json" if signed_time else "form",
            "verify": verify,
        }
    return cases


CASES_BY_NAME = _cases()


def _callback(name: str, arrival: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": f"A report verified as {name}.",
        **arrival,
        "payload": {
            "title": "".join(word.title() for word in name.split("_")),
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "status": {"status": "message_status"},
                "to": {"type": "string"},
            },
        },
        "receipts": {"records": ".", "status": "status", "message_id": "id", "recipient": "to"},
    }


def _spec() -> str:
    data: dict[str, Any] = yaml.safe_load(
        (CASES / "minimal" / "specs" / "demo.yaml").read_text(encoding="utf-8")
    )
    data["provider"] = PROVIDER
    keys = {
        _public_key_credential(a, f): {"description": f"The provider's {a} public key ({f})."}
        for a, f in itertools.product(PUBLIC_KEY_ALGORITHMS, KEY_FORMATS)
        if a == "ed25519" or f != "base64"
    }
    data["auth"]["credentials"] |= {
        "webhook_secret": {"description": "The secret pushes are signed with.", "secret": True},
        **keys,
    }
    data["callbacks"] = {name: _callback(name, arrival) for name, arrival in CASES_BY_NAME.items()}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# -- the guard: every form the schema can express has a case -----------------------------

ARRIVAL = ("method", "format", "array", "json_field", "verify")


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref", "")
    return SCHEMA["$defs"][ref.rsplit("/", 1)[1]] if ref.startswith("#/$defs/callback_") else node


def _forms(node: dict[str, Any], data: Any, path: tuple[Any, ...]) -> set[tuple[Any, ...]]:
    """The forms of ``node`` (a schema object) that ``data`` uses; with ``data`` None, every
    form the schema can express. Referenced definitions of other sections (a sign step, a
    header name) are not walked: their forms are other tests' (test_mock_serves_every_scheme)."""
    found: set[tuple[Any, ...]] = set()
    for key, raw in node.get("properties", {}).items():
        if path == () and key not in ARRIVAL:
            continue
        if data is not None and key not in data:
            continue
        sub, here = _resolve(raw), (*path, key)
        value = None if data is None else data[key]
        found.add(here)
        if "enum" in sub:
            found |= {(*here, v) for v in sub["enum"]} if data is None else {(*here, value)}
        if sub.get("type") == "boolean":
            found |= {(*here, True)} if data is None or value is True else set()
        if "oneOf" in sub:
            alternatives = [{**alt, "$defs": SCHEMA["$defs"]} for alt in sub["oneOf"]]
            found |= {
                (*here, "oneOf", i)
                for i, alt in enumerate(alternatives)
                if data is None or jsonschema.Draft202012Validator(alt).is_valid(value)
            }
        if "properties" in sub:
            found |= _forms(sub, value, here)
    return found


def test_every_verify_form_has_a_case() -> None:
    callback = SCHEMA["$defs"]["callback"]
    expressible = _forms(callback, None, ())
    used = set().union(*(_forms(callback, case, ()) for case in CASES_BY_NAME.values()))
    assert ("verify", "public_key", "algorithm", "ed25519") in expressible  # the walk reads the schema
    assert ("verify", "compare", "value", "oneOf", 1) in expressible
    missing = sorted(expressible - used, key=str)
    assert not missing, f"a verify form without a case here: {missing}"


# -- the package, generated once -------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, Any, Path]]:
    """The package (imported), its provider model, and the folder holding specs/ and generated/."""
    out = tmp_path_factory.mktemp("every_verify")
    (out / "specs").mkdir()
    spec = out / "specs" / f"{PROVIDER}.yaml"
    spec.write_text(_spec(), encoding="utf-8")
    [provider], problems = load_providers([spec])
    assert not problems, "\n".join(map(str, problems))
    apply(out / "generated", provider_files(provider))
    saved = dict(sys.modules)
    sys.path.insert(0, str(out / "generated" / provider.package))
    try:
        yield importlib.import_module(provider.package), provider, out
    finally:
        sys.path.remove(str(out / "generated" / provider.package))
        # Only the package generated here (see test_token_url_override's fixture: why).
        for name in [n for n in sys.modules if n not in saved and n.split(".")[0] == provider.package]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def keys() -> dict[str, tuple[str, str]]:
    """Public-key credential -> (public key as its format says, PEM private key): the mock's."""
    return {
        _public_key_credential(a, f): _key_pair(a, f)
        for a, f in itertools.product(PUBLIC_KEY_ALGORITHMS, KEY_FORMATS)
        if a == "ed25519" or f != "base64"
    }


def _credentials(keys: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {"webhook_secret": SECRET, **{name: public for name, (public, _) in keys.items()}}


def narrowed_readme_example(provider: Any, name: str) -> str:
    """The README's receiving example for a spec whose only callback is ``name``."""
    from generator.render import _headers, environment, provider_context

    only = dataclasses.replace(provider, callbacks=tuple(c for c in provider.callbacks if c.name == name))
    context = {**_headers(provider.spec_file), **provider_context(only)}
    readme = environment().get_template("provider/README.md.jinja").render(context)
    [example] = [code for code in FENCE.findall(readme) if "def on_push(" in code]
    return example


def receiver(
    package: ModuleType,
    provider: Any,
    name: str,
    credentials: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """The README example's ``on_push``, run as written with the credentials filled in."""
    callbacks = importlib.import_module(f"{package.__name__}.callbacks")
    monkeypatch.setattr(callbacks, "parse_callback", getattr(callbacks, f"parse_{name}"))
    code = narrowed_readme_example(provider, name)
    for credential, value in credentials.items():
        code = code.replace(f'{credential}="..."', f"{credential}={value!r}")
    assert '"..."' not in code, code
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - generated documentation
    return namespace["on_push"]


def test_the_readme_shows_the_first_callbacks_example(generated: tuple[ModuleType, Any, Path]) -> None:
    package, provider, out = generated
    readme = (out / "generated" / provider.package / "README.md").read_text(encoding="utf-8")
    first = provider.callbacks[0].name
    assert narrowed_readme_example(provider, first) in FENCE.findall(readme)


def _signed(callback: Callback) -> bool:
    """Whether the mock signs the push (a check of the body, not only of values it carries)."""
    return callback.verify is not None and (callback.verify.compare or callback.verify.public_key) is not None


def _scenario(callback: Callback) -> list[dict[str, Any]]:
    payload: Any = [PAYLOAD, {**PAYLOAD, "id": "m-2"}] if callback.array else PAYLOAD
    pushes: list[dict[str, Any]] = [{"payload": payload}]
    if _signed(callback):  # unsigned, a secret in the URL, a verifier in code: nothing to tamper
        pushes.append({"payload": payload, "tamper": True})
    return pushes


@pytest.fixture(scope="module")
def certificate() -> tuple[str, str]:
    """The mock's test certificate (private key, certificate) for CERTIFICATE_URL."""
    from dlr_core.certificates import make_test_certificate

    return make_test_certificate()


@pytest.fixture
def certificates_served(certificate: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The receiver's process-wide certificate store knows the mock's certificate (in
    production it fetches SNS-style certificates over https)."""
    import dlr_core.certificates as certificates

    store = certificates.CertificateStore(certificates.StaticCertificates({CERTIFICATE_URL: certificate[1]}))
    monkeypatch.setattr(certificates, "_default", store)


def _lets_mock_pushes_through(method: str, url: str, headers: Any, body: bytes) -> None:
    """A verifier in code that accepts what the mock pushes (which it cannot sign)."""


@pytest.mark.parametrize("name", list(CASES_BY_NAME))
def test_the_readme_example_receives_a_push_signed_as_the_mock_signs(
    generated: tuple[ModuleType, Any, Path],
    keys: dict[str, tuple[str, str]],
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    certificate: tuple[str, str],
    certificates_served: None,
) -> None:
    package, provider, _ = generated
    credentials = _credentials(keys)
    on_push = receiver(package, provider, name, credentials, monkeypatch)
    callbacks_module = importlib.import_module(f"{package.__name__}.callbacks")
    callback: Callback = getattr(callbacks_module, name.upper())
    received: list[Receipt] = []

    def handle(request: httpx.Request) -> httpx.Response:
        try:
            received.extend(on_push(str(request.url), dict(request.headers), request.content))
        except CallbackError as exc:
            return httpx.Response(403, text=type(exc).__name__)
        return httpx.Response(200)

    def pushed(steps: list[dict[str, Any]], clock: Any = None, verify: Callback = callback) -> list[int]:
        with httpx.Client(transport=httpx.MockTransport(handle)) as http:
            results = push(
                {name: verify},
                read_scenario({name: verify}, {name: steps}),
                "https://hooks.example.com/callbacks/{callback}?account=a1",
                credentials=credentials,
                private_keys={key: private for key, (_, private) in keys.items()},
                certificate_keys={CERTIFICATE_URL: certificate[0]},
                clock=clock,
                http_client=http,
            )
        return [r.status for r in results]

    statuses = pushed(_scenario(callback))
    if callback.in_code is not None:  # the README's verifier refuses every push until written
        assert statuses == [403] and received == []
        return
    assert statuses == ([200, 403] if _signed(callback) else [200])
    expected = ["m-1", "m-2"] if callback.array else ["m-1"]
    assert [(r.message_id, r.recipient, r.status.value) for r in received] == [
        (m, "+15550001", "delivered") for m in expected
    ]
    verify = callback.verify
    if verify is not None and verify.timestamp is not None:  # a push signed too long ago
        late = datetime.now(timezone.utc) - timedelta(seconds=verify.timestamp.tolerance + 60)
        assert pushed([{"payload": PAYLOAD}], clock=lambda: late) == [403]
    if verify is not None and verify.equals:  # a push without a value the check expects
        if any(each.query for each in verify.equals):
            stripped = dataclasses.replace(verify, equals=())
            refused = dataclasses.replace(callback, verify=stripped)
            assert pushed([{"payload": PAYLOAD}], verify=refused) == [403]  # the URL lacks the secret
        if any(each.field for each in verify.equals):
            assert pushed([{"payload": {**PAYLOAD, "to": "+15550002"}}]) == [403]
    if verify is not None and verify.public_key is not None and verify.public_key.algorithm_by:
        member, choices = verify.public_key.algorithm_by
        for value, _ in choices:  # a push signed with each algorithm the member may name verifies
            assert pushed([{"payload": {**PAYLOAD, member: value}}]) == [200]
        assert pushed([{"payload": {**PAYLOAD, member: "9"}}]) == [403]
    for each in callback.formats[1:]:  # a push in another format the callback takes verifies too
        assert pushed([{"payload": PAYLOAD, "format": each}]) == [200]
        assert received[-1].message_id == "m-1"
    if verify is not None and verify.compare is not None and verify.compare.also:
        for form in verify.compare.also:  # a push signed with another of the forms verifies too
            other = dataclasses.replace(
                callback,
                verify=dataclasses.replace(verify, compare=dataclasses.replace(verify.compare, value=form)),
            )
            assert pushed([{"payload": PAYLOAD}], verify=other) == [200]


# -- slow: `dlrgen mock --push` to CallbackApp under uvicorn --------------------------------


@pytest.mark.slow
def test_dlrgen_mock_pushes_every_verify_form_to_callback_app_under_uvicorn(
    generated: tuple[ModuleType, Any, Path],
    keys: dict[str, tuple[str, str]],
    tmp_path: Path,
    certificate: tuple[str, str],
) -> None:
    import uvicorn

    from dlr_core.certificates import CertificateStore, StaticCertificates

    package, provider, out = generated
    callbacks_module = importlib.import_module(f"{package.__name__}.callbacks")
    credentials = _credentials(keys)
    endpoints = {}
    for callback in provider.callbacks:
        endpoint = getattr(callbacks_module, f"{callback.name}_endpoint")
        more: dict[str, Any] = {"verifier": _lets_mock_pushes_through} if callback.verified_in_code else {}
        if callback.fetches_certificates:  # the certificate the mock signs with, handed over
            more["certificates"] = CertificateStore(StaticCertificates({CERTIFICATE_URL: certificate[1]}))
        endpoints[callback.name] = endpoint(**{c: credentials[c] for c in callback.credentials}, **more)
    got: list[tuple[str, list[Receipt]]] = []
    app = CallbackApp(endpoints, lambda name, receipts: got.append((name, receipts)))
    scenario = {
        "credentials": credentials,
        "private_keys": {name: private for name, (_, private) in keys.items()},
        "certificate_keys": {CERTIFICATE_URL: certificate[0]},
        "callbacks": {name: _scenario(getattr(callbacks_module, name.upper())) for name in CASES_BY_NAME},
    }
    (tmp_path / "pushes.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/callbacks/{{callback}}"
        command = [
            sys.executable,
            "-m",
            "generator",
            "mock",
            PROVIDER,
            "--out",
            str(out / "generated"),
            "--specs",
            str(out / "specs"),
            "--scenario",
            str(tmp_path / "pushes.yaml"),
            "--push",
            url,
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for name, callback in CASES_BY_NAME.items():
        assert f"dlrgen mock: pushed {name}: HTTP 200" in lines, (name, done.stdout)
        if {"compare", "public_key"} & set(callback["verify"]):
            assert f"dlrgen mock: pushed {name} (tampered): HTTP 403" in lines, (name, done.stdout)
    assert sorted(name for name, _ in got) == sorted(CASES_BY_NAME)
    for name, receipts in got:
        expected = ["m-1", "m-2"] if CASES_BY_NAME[name].get("array") else ["m-1"]
        assert [r.message_id for r in receipts] == expected, name
