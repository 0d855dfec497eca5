"""Credentials: keyword arguments, a typed ``Credentials`` object, or the environment
(each spec names its variables, the provider's own SDK's where it has them); the auth scheme
follows from the credentials given; missing or mixed credentials are a typed error that
names what to pass or set, never a value."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GENERATED, client_specs, mypy_strict_errors, pem_private_key
from dlr_core import CredentialsError

PACKAGES = [f"dlr_{path.stem}" for path in client_specs()]


def _environment(api: Any, scheme: str) -> dict[str, str]:
    """What a deployment sets for ``scheme``: the first variable of each credential it needs."""
    needed = [*api.credentials, *api.scheme_credentials.get(scheme, ())]
    values = {}
    for name in dict.fromkeys(needed):
        pem = name in api.pem_credentials
        values[api.credential_env[name][0]] = pem_private_key() if pem else f"{name}-from-env"
    return values


@pytest.mark.parametrize("package_name", PACKAGES)
def test_every_client_can_be_made_from_the_environment_alone(package_name: str) -> None:
    package = importlib.import_module(package_name)
    api = package.API
    options = {"base_url": "https://example.test"} if api.require_base_url else {}
    needs = {s: {*api.credentials, *api.scheme_credentials.get(s, ())} for s in api.auth_schemes}
    for scheme in api.auth_schemes:
        environ = _environment(api, scheme)
        alike = [other for other in api.auth_schemes if needs[other] == needs[scheme]]
        if len(alike) > 1 and api.default_scheme not in alike:
            with pytest.raises(CredentialsError, match="auth_scheme="):
                package.Client.from_env(environ, **options)
            continue
        client = package.Client.from_env(environ, **options)
        # Told by which credentials are set; schemes with the same credentials: the default.
        assert client.auth_scheme == (scheme if len(alike) == 1 else api.default_scheme)
        credentials = package.Credentials.from_env(environ)
        for name, variables in api.credential_env.items():
            assert getattr(credentials, name) == environ.get(variables[0])
        secret_values = [getattr(credentials, name) for name in api.secret_credentials]
        assert not any(value and value in repr(credentials) for value in secret_values)


@pytest.mark.parametrize("package_name", PACKAGES)
def test_nothing_set_names_the_variables_to_set(package_name: str) -> None:
    package = importlib.import_module(package_name)
    api = package.API
    with pytest.raises(CredentialsError) as caught:
        package.Client.from_env({}, base_url="https://example.test")
    default_needs = {*api.credentials, *api.scheme_credentials.get(api.default_scheme, ())}
    assert set(caught.value.missing) == default_needs
    for name in default_needs:
        assert api.credential_env[name][0] in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_client_given_nothing_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import dlr_sinch_sms

    monkeypatch.setenv("SINCH_SERVICE_PLAN_ID", "plan-from-env")
    monkeypatch.setenv("SINCH_API_TOKEN", "token-from-env")
    client = dlr_sinch_sms.Client()
    request = client.prepare("get_batch_delivery_report", batch_id="b-1")
    assert "/plan-from-env/" in str(request.url)
    assert request.headers["authorization"] == "Bearer token-from-env"
    # Credentials given in code: the environment is not read at all.
    with pytest.raises(CredentialsError, match="api_token"):
        dlr_sinch_sms.Client(service_plan_id="plan-in-code")


def test_the_scheme_follows_the_credentials_and_mixed_ones_are_refused() -> None:
    import dlr_twilio_messaging as twilio

    account = "AC" + "a" * 32
    by_key = twilio.Client(account_sid=account, api_key_sid="SK" + "b" * 32, api_key_secret="s")
    assert by_key.auth_scheme == "api_key"
    by_token = twilio.Client(credentials=twilio.Credentials(account_sid=account, auth_token="t"))
    assert by_token.auth_scheme == "basic"
    with pytest.raises(CredentialsError, match="belong.* to another auth scheme") as mixed:
        twilio.Client(
            account_sid=account, auth_token="t-secret", api_key_sid="SK1", api_key_secret="k-secret"
        )
    assert "t-secret" not in str(mixed.value) and "k-secret" not in str(mixed.value)
    chosen = twilio.Client(
        account_sid=account, auth_token="t", api_key_sid="SK1", api_key_secret="k", auth_scheme="basic"
    )
    assert chosen.auth_scheme == "basic"  # chosen in code: the other scheme's credentials are left unused


def test_keyword_arguments_win_over_the_credentials_object() -> None:
    import dlr_sinch_sms

    client = dlr_sinch_sms.Client(
        credentials=dlr_sinch_sms.Credentials(service_plan_id="from-object", api_token="t"),
        service_plan_id="from-keyword",
    )
    assert "/from-keyword/" in str(client.prepare("get_batch_delivery_report", batch_id="b").url)


@pytest.mark.slow  # a mypy --strict subprocess over the runtime and packages
def test_mypy_strict_accepts_a_credentials_object_and_catches_a_misspelt_field(tmp_path: Path) -> None:
    script = tmp_path / "user.py"
    script.write_text(
        "from dlr_twilio_messaging import Client, Credentials\n\n"
        "client = Client(credentials=Credentials(account_sid='AC1', auth_token='t'))\n"
        "env_client = Client.from_env()\n"
        "wrong = Credentials(acount_sid='AC1')\n",
        encoding="utf-8",
    )
    errors = mypy_strict_errors(script, GENERATED / "dlr_twilio_messaging")
    assert len(errors) == 1 and "user.py:5:" in errors[0] and "acount_sid" in errors[0], errors
