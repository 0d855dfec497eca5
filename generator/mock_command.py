"""``dlrgen mock <provider>``: serve a provider's API locally, from its generated package.

The mock itself lives in the runtime's ``dlr_core.mock`` (so consumers can use it in their
own tests without the generator); this command finds the package, gathers credentials and
a scenario, and serves until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import yaml


class MockCommandError(Exception):
    """A problem with the command's arguments; printed without a traceback."""


def run_mock(provider: str, out: Path, host: str, port: int, scenario_path: Path | None,
             credential_args: list[str]) -> int:
    api = _load_api(provider, out)
    scenario = _load_scenario(scenario_path) if scenario_path else {}
    credentials = {**scenario.get("credentials", {}), **_parse_credentials(credential_args)}
    credentials = _fill_credentials(api, provider, credentials)
    from dlr_core.mock import MockProvider

    try:
        mock = MockProvider(api, credentials, scenario=scenario.get("operations", {}), host=host, port=port)
    except ValueError as exc:
        raise MockCommandError(str(exc)) from None
    except OSError as exc:
        raise MockCommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    if not _is_loopback(host):
        print(f"dlrgen mock: warning: listening on {host}, not loopback", file=sys.stderr)
    print(f"dlrgen mock: {provider} on {mock.base_url}", flush=True)
    for name, value in credentials.items():
        shown = value if "\n" not in value else "<PEM key, see above>"
        print(f"  credential {name} = {shown}", flush=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=mock.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    try:
        mock.serve_forever()
    except KeyboardInterrupt:
        mock.stop()
    print("dlrgen mock: stopped", flush=True)
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _load_api(provider: str, out: Path) -> Any:
    package = out / f"dlr_{provider}"
    if not (package / f"dlr_{provider}" / "__init__.py").is_file():
        raise MockCommandError(f"no generated package {package}; run `dlrgen generate` first")
    sys.path.insert(0, str(package.resolve()))
    module = importlib.import_module(f"dlr_{provider}")
    return module.API


def _load_scenario(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise MockCommandError(f"{path}: cannot read scenario: {exc}") from None
    if not isinstance(data, dict) or not set(data) <= {"credentials", "operations"}:
        raise MockCommandError(f"{path}: a scenario is a mapping with 'operations' and optional 'credentials'")
    return data


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
                raise MockCommandError(f"--credential {name}: cannot read {value[1:]}: {exc.strerror}") from None
        credentials[name] = value
    return credentials


def _fill_credentials(api: Any, provider: str, credentials: dict[str, str]) -> dict[str, str]:
    """Credentials not given get test values, printed so a client can use them."""
    every = list(dict.fromkeys([*api.credentials, *(c for names in api.scheme_credentials.values() for c in names)]))
    unknown = set(credentials) - set(every)
    if unknown:
        raise MockCommandError(f"unknown credential(s) {', '.join(sorted(unknown))}; {provider} has: "
                               f"{', '.join(every)}")
    for name in every:
        if name in credentials:
            continue
        if name in api.pem_credentials:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
            path = Path(f"dlrgen-mock-{provider}-{name}.pem")
            path.write_text(pem, encoding="utf-8")
            print(f"dlrgen mock: wrote a test key for {name} to {path}", flush=True)
            credentials[name] = pem
        else:
            credentials[name] = f"mock-{name.replace('_', '-')}"
    return credentials
