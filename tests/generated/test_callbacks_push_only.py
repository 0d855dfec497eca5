"""A provider that only pushes its reports: a spec with callbacks and no operations (no
servers, envelope or auth schemes) validates, generates a package with its callbacks and
no client, and the package's README example receives a push signed as the provider signs
it (the mock's signing, ``Callback.sign``); ``dlrgen mock`` serves nothing for it but
pushes (tests/generated/test_callbacks_e2e.py pushes to a real server)."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from dlr_core import CallbackSignatureError, DeliveryStatus
from generator.commands.cli import main
from generator.pipeline import build

CASE = ROOT / "tests" / "cases" / "callbacks_push_only"
SECRET = "push-only-secret"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The push-only case generated into a folder, its package importable as dlr_demo."""
    out = tmp_path_factory.mktemp("generated")
    for relative, text in build(CASE / "specs").items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(out / "dlr_demo"))
    for name in [m for m in sys.modules if m == "dlr_demo" or m.startswith("dlr_demo.")]:
        del sys.modules[name]
    try:
        yield out
    finally:
        sys.path.remove(str(out / "dlr_demo"))
        for name in [m for m in sys.modules if m == "dlr_demo" or m.startswith("dlr_demo.")]:
            del sys.modules[name]


def test_the_package_has_callbacks_and_no_client(package: Path) -> None:
    modules = sorted(p.name for p in (package / "dlr_demo" / "dlr_demo").glob("*.py"))
    assert modules == ["__init__.py", "callbacks.py", "fields.py", "models.py", "provider.py", "statuses.py"]
    demo = importlib.import_module("dlr_demo")
    assert not hasattr(demo, "Client") and not hasattr(demo, "API") and demo.PROVIDER_ID == "demo"
    readme = (package / "dlr_demo" / "README.md").read_text(encoding="utf-8")
    assert "## Operations" not in readme and "Client" not in readme
    assert "this package has no client" in readme


def test_the_readme_example_receives_a_signed_push(package: Path) -> None:
    """The README's example, run as written with the secret filled in, receives a push the
    provider signs: HMAC-SHA256 of the body, hex, in X-Demo-Signature (by hand here)."""
    from dlr_demo.callbacks import STATUS_REPORT

    readme = (package / "dlr_demo" / "README.md").read_text(encoding="utf-8")
    [example] = re.findall(r"^```python\n(.*?)^```", readme, re.S | re.M)
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(example.replace('"..."', repr(SECRET)), "README", "exec"), namespace)  # noqa: S102
    body = json.dumps({"id": "m-1", "status": "delivered", "to": "+15550001"}).encode()
    url = "https://hooks.example.com/demo"
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert (
        STATUS_REPORT.sign(url, body, credentials={"webhook_secret": SECRET})["X-Demo-Signature"] == signature
    )
    [receipt] = namespace["on_push"](url, {"X-Demo-Signature": signature}, body)
    assert (receipt.provider, receipt.message_id, receipt.recipient) == ("demo", "m-1", "+15550001")
    assert receipt.status is DeliveryStatus.DELIVERED
    with pytest.raises(CallbackSignatureError):
        namespace["on_push"](url, {"X-Demo-Signature": "0" * 64}, body)


def test_the_mock_serves_nothing_for_a_push_only_provider(
    package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(CASE / "specs", specs)
    assert main(["mock", "demo", "--out", str(package), "--specs", str(specs)]) == 2
    assert "demo only pushes its reports" in capsys.readouterr().err
