"""``dlrgen mock <provider>``: serve a provider's API locally, from its generated package.

The mock itself lives in the runtime's ``dlr_core.mock`` (so consumers can use it in their
own tests without the generator); this command finds the package, gathers credentials and
a scenario, and serves until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import base64
import difflib
import importlib
import importlib.util
import ipaddress
import json
import re
import signal
import sys
import threading
import urllib.parse
from pathlib import Path
from types import FrameType
from typing import Any

import yaml


class MockCommandError(Exception):
    """A problem with the command's arguments; printed without a traceback."""


def run_mock(
    provider: str,
    out: Path,
    host: str,
    port: int,
    scenario_path: Path | None,
    credential_args: list[str],
    specs: Path = Path("specs"),
    push_url: str | None = None,
) -> int:
    api = _load_api(provider, out, specs)
    scenario = _load_scenario(scenario_path) if scenario_path else {}
    credentials = {**scenario.get("credentials", {}), **_parse_credentials(credential_args)}
    if push_url is not None:
        return _push(provider, scenario_path, scenario, credentials, push_url, api)
    if api is None:
        raise MockCommandError(
            f"{provider} only pushes its reports (its spec has no operations to serve): push them to "
            "your endpoint with --push URL --scenario pushes.yaml"
        )
    credentials = _fill_credentials(api, provider, credentials)
    try:
        from dlr_core.mock import MockProvider
    except ImportError as exc:
        raise MockCommandError(
            f"the mock needs dlr-core's mock extra (pip install 'dlr-core[mock]'): {exc}"
        ) from None

    from dlr_core.mock import ScenarioError

    try:
        mock = MockProvider(api, credentials, scenario=scenario.get("operations", {}), host=host, port=port)
        base_url = mock.base_url  # binds the port
    except ScenarioError as exc:
        assert scenario_path is not None  # no file, no scenario to be wrong
        raise MockCommandError(_located(scenario_path, ("operations", *exc.path), str(exc))) from None
    except ValueError as exc:
        raise MockCommandError(str(exc)) from None
    except OSError as exc:
        raise MockCommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    if not _is_loopback(host):
        print(f"dlrgen mock: warning: listening on {host}, not loopback", file=sys.stderr)
    print(f"dlrgen mock: {provider} on {base_url}", flush=True)
    for name, value in credentials.items():
        shown = value if "\n" not in value else "<PEM key, see above>"
        print(f"  credential {name} = {shown}", flush=True)
    for line in _token_url_lines(mock, api):
        print(line, flush=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=mock.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    try:
        mock.serve_forever()
    except KeyboardInterrupt:
        mock.stop()
    print("dlrgen mock: stopped", flush=True)
    return 0


def _token_url_lines(mock: Any, api: Any) -> list[str]:
    """For each auth scheme that fetches an OAuth2 token, the ``token_url=`` to give a
    client with ``base_url=``: the mock serves the token endpoint on its own port, but a
    client fetches from the spec's (absolute) token URL unless told otherwise. The default
    scheme first; a scheme is named only when several fetch tokens."""
    names = sorted(api.auth_schemes, key=lambda name: name != api.default_scheme)
    flows = {name: mock.token_url(name) for name in names}
    flows = {name: url for name, url in flows.items() if url is not None}
    lines = []
    for name, url in flows.items():
        which = f" (auth_scheme {name})" if len(flows) > 1 else ""
        lines.append(f"  token_url{which} = {url if isinstance(url, str) else json.dumps(url)}")
    return lines


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_PROVIDER_ID = re.compile(r"[a-z][a-z0-9_]*")
_NOT_PROVIDERS = {"core", "dlr_core"}  # the runtime package, dlr_core, serves every provider


def _load_api(provider: str, out: Path, specs: Path) -> Any:
    """The ``API`` of the generated package ``dlr_<provider>`` in ``out`` (``None`` for a
    provider that only pushes its reports); an unknown name is told apart from a known one
    not generated yet, and gets the known names and a guess."""
    generated = _generated_providers(out)
    if provider not in generated or provider in _NOT_PROVIDERS:
        known = sorted((generated | _spec_providers(specs)) - _NOT_PROVIDERS)
        if provider in known:
            raise MockCommandError(
                f"no generated package for {provider} in {out}; run `dlrgen generate` first"
            )
        raise MockCommandError(_unknown_provider(provider, known, out, specs))
    package = out / f"dlr_{provider}"
    sys.path.insert(0, str(package.resolve()))
    try:
        module = importlib.import_module(f"dlr_{provider}")
    except Exception as exc:  # a broken or stale package: say so, without a traceback
        raise MockCommandError(
            f"cannot import {package}: {type(exc).__name__}: {exc}; " "regenerate it with `dlrgen generate`"
        ) from None
    from dlr_core.client import ApiSpec

    api = getattr(module, "API", None)
    if api is None and importlib.util.find_spec(f"dlr_{provider}.callbacks") is not None:
        return None  # push-only: callbacks, and no API to call
    if not isinstance(api, ApiSpec):
        raise MockCommandError(
            f"{package} is not a dlrgen provider package (it has no API); "
            "regenerate it with `dlrgen generate`"
        )
    return api


def _generated_providers(out: Path) -> set[str]:
    """Providers with a generated package in ``out``: ``dlr_<id>/dlr_<id>/__init__.py``."""
    try:
        return {
            path.name[4:]
            for path in out.glob("dlr_*")
            if _PROVIDER_ID.fullmatch(path.name[4:]) and (path / path.name / "__init__.py").is_file()
        }
    except OSError:
        return set()


def _spec_providers(specs: Path) -> set[str]:
    """Providers with a spec in ``specs`` (a spec's file name is its provider id)."""
    try:
        return {
            path.stem
            for path in specs.iterdir()
            if path.suffix in (".yaml", ".yml") and _PROVIDER_ID.fullmatch(path.stem) and path.is_file()
        }
    except OSError:
        return set()


def _unknown_provider(provider: str, known: list[str], out: Path, specs: Path) -> str:
    """One line: what is wrong, a guess if there is a close one, and every known provider."""
    runtime = provider in _NOT_PROVIDERS
    what = (
        f"{provider!r} is the runtime package, not a provider"
        if runtime
        else f"unknown provider {provider!r}"
    )
    new = "" if runtime else "; for a new one, write its spec (`dlrgen new`) and run `dlrgen generate` first"
    if not known:
        return f"{what}: no specs in {specs}/ nor generated packages in {out}/{new}"
    guess = _guess(provider, known)
    hint = f" (did you mean {guess}?)" if guess else ""
    return f"{what}{hint}; known providers (specs in {specs}/, packages in {out}/): {', '.join(known)}{new}"


def _guess(provider: str, known: list[str]) -> str | None:
    """The closest known provider, also matching a name's parts (``acme`` finds acme_sms)."""
    typed = provider.lower().removeprefix("dlr_")
    found = difflib.get_close_matches(typed, known, n=1, cutoff=0.6)
    if found:
        return found[0]
    owners: dict[str, set[str]] = {}
    for name in known:
        for part in name.split("_"):
            owners.setdefault(part, set()).add(name)
    if len(owners.get(typed, ())) > 1:
        return None  # a part several providers share (sms): no guess is better than a wrong one
    unique = {part: names.pop() for part, names in owners.items() if len(names) == 1}
    found = difflib.get_close_matches(typed, list(unique), n=1, cutoff=0.75)
    return unique[found[0]] if found else None


def _load_scenario(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise MockCommandError(f"{path}: cannot read scenario: {exc}") from None
    if not isinstance(data, dict) or not set(data) <= {
        "credentials",
        "operations",
        "callbacks",
        "private_keys",
    }:
        raise MockCommandError(
            f"{path}: a scenario is a mapping with 'operations' (answers) or 'callbacks' (pushes), "
            "and optional 'credentials' and 'private_keys'"
        )
    return data


def _push(
    provider: str,
    scenario_path: Path | None,
    scenario: dict[str, Any],
    credentials: dict[str, str],
    url: str,
    api: Any,
) -> int:
    """Push the scenario's callbacks to ``url``, signed as the provider signs; exit 0 when
    the receiver accepted every push and refused every tampered one."""
    from dlr_core.callbacks import Callback
    from dlr_core.push import PushScenarioError, push, read_scenario

    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise MockCommandError(f"--push {url!r}: an http:// or https:// URL")
    try:
        module = importlib.import_module(f"dlr_{provider}.callbacks")
    except ModuleNotFoundError:
        raise MockCommandError(f"{provider} describes no callbacks (its spec has no 'callbacks')") from None
    callbacks = {value.name: value for value in vars(module).values() if isinstance(value, Callback)}
    if scenario_path is None or "callbacks" not in scenario:
        raise MockCommandError(
            f"--push needs a --scenario with 'callbacks' (the pushes to make); {provider} has: "
            f"{', '.join(callbacks)}"
        )
    try:
        steps = read_scenario(callbacks, scenario["callbacks"])
    except PushScenarioError as exc:
        raise MockCommandError(_located(scenario_path, ("callbacks", *exc.path), str(exc))) from None
    for name in dict.fromkeys(step.callback for step in steps):
        if callbacks[name].in_code is not None:  # no spec of the check: nothing to sign with
            print(
                f"dlrgen mock: {name} is verified in code ({callbacks[name].in_code}); the mock cannot "
                "sign it, so its pushes go unsigned: your endpoint accepts them only if its verifier "
                "lets test pushes through",
                flush=True,
            )
    private_keys = dict(scenario.get("private_keys", {}))
    for callback in callbacks.values():
        check = callback.verify.public_key if callback.verify else None
        if check is not None and check.key not in credentials:
            public, private = _key_pair(check.algorithm, check.key_format)
            credentials[check.key] = public
            private_keys[check.key] = private
            print(f"dlrgen mock: signing {callback.name} with a new test key; its public key:", flush=True)
            print(f"  credential {check.key} = {public}", flush=True)
    every = (
        list(
            dict.fromkeys(
                [*api.credentials, *(c for names in api.scheme_credentials.values() for c in names)]
            )
        )
        if api is not None
        else []
    )
    every += [  # the credentials the parsers take: a push-only package has no API listing them
        name
        for callback in callbacks.values()
        for name in _signing_credentials(module, callback)
        if name not in every
    ]
    every += [name for name in credentials if name in private_keys and name not in every]
    every = list(dict.fromkeys(every))
    for name in credentials:
        if name not in every:
            raise MockCommandError(f"unknown credential {name}; {provider} has: {', '.join(every)}")
    for callback in callbacks.values():  # the test values the mock serves with, printed
        for name in _signing_credentials(module, callback):
            if name not in credentials:
                credentials[name] = f"mock-{name.replace('_', '-')}"
                print(f"dlrgen mock: signing {callback.name} with the test credential", flush=True)
                print(f"  credential {name} = {credentials[name]}", flush=True)
    try:
        results = push(callbacks, steps, url, credentials=credentials, private_keys=private_keys)
    except Exception as exc:  # the receiver is down, a key does not fit: say so, no traceback
        raise MockCommandError(f"pushing to {url}: {type(exc).__name__}: {exc}") from None
    ok = True
    for result in results:
        expected = "refused" if result.tampered else "accepted"
        right = result.accepted != result.tampered
        ok = ok and right
        print(
            f"dlrgen mock: pushed {result.callback}{' (tampered)' if result.tampered else ''}: "
            f"HTTP {result.status}{'' if right else f', expected it {expected}'}",
            flush=True,
        )
        signed = callbacks[result.callback].in_code is None  # an in-code check: pushed unsigned
        if not right and not result.tampered and signed and result.status in (401, 403):
            print(
                f"  the push was signed for the URL {result.url}; a receiver that checks another "
                "URL (its public URL setting, a proxy's) refuses it: its log names the URL it checked",
                flush=True,
            )
    return 0 if ok else 1


def _signing_credentials(module: Any, callback: Any) -> list[str]:
    """The credentials a callback's parser takes (its keyword-only parameters but the clock
    and the size limit), less a public key (the mock makes a key pair for that)."""
    import inspect

    parser = getattr(module, f"parse_{callback.name}", None)
    if parser is None or callback.verify is None:
        return []
    public_key = callback.verify.public_key.key if callback.verify.public_key else None
    return [
        name
        for name, parameter in inspect.signature(parser).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and name not in ("clock", "max_bytes", "verifier", public_key)
    ]


def _key_pair(algorithm: str, key_format: str) -> tuple[str, str]:
    """A test key pair: (the public key as the spec's key_format says, the PEM private key)."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    key: Any = (
        ed25519.Ed25519PrivateKey.generate()
        if algorithm == "ed25519"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    if key_format == "base64":
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode(), private
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode(), private


def _located(path: Path, keys: tuple[str | int, ...], message: str) -> str:
    """``file:line:col: message``, at the deepest of ``keys`` the scenario file has."""
    try:
        node: Any = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return f"{path}: {message}"
    mark = node.start_mark if node is not None else None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(key)), None)
            if found is None:
                break
            mark = found[0].start_mark  # the key itself: that is what to fix
            node = found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            mark = node.start_mark
        else:
            break
    if mark is None:
        return f"{path}: {message}"
    return f"{path}:{mark.line + 1}:{mark.column + 1}: {message}"


def _parse_credentials(args: list[str]) -> dict[str, str]:
    credentials = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep:
            raise MockCommandError(f"--credential {arg!r}: expected NAME=VALUE (or NAME=@file)")
        if value.startswith("@"):
            try:
                value = Path(value[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise MockCommandError(
                    f"--credential {name}: cannot read {value[1:]}: {exc.strerror}"
                ) from None
        credentials[name] = value
    return credentials


def _fill_credentials(api: Any, provider: str, credentials: dict[str, str]) -> dict[str, str]:
    """Credentials not given get test values, printed so a client can use them."""
    every = list(
        dict.fromkeys([*api.credentials, *(c for names in api.scheme_credentials.values() for c in names)])
    )
    unknown = set(credentials) - set(every)
    if unknown:
        raise MockCommandError(
            f"unknown credential(s) {', '.join(sorted(unknown))}; {provider} has: " f"{', '.join(every)}"
        )
    for name in every:
        if name in credentials:
            continue
        if name in api.pem_credentials:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            path = Path(f"dlrgen-mock-{provider}-{name}.pem")
            path.write_text(pem, encoding="utf-8")
            print(f"dlrgen mock: wrote a test key for {name} to {path}", flush=True)
            credentials[name] = pem
        elif name in api.base64_credentials:  # a key the scheme base64-decodes
            credentials[name] = base64.b64encode(f"mock-{name.replace('_', '-')}".encode()).decode("ascii")
        else:
            credentials[name] = f"mock-{name.replace('_', '-')}"
    return credentials
