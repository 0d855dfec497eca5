"""Hostile text in a spec's callbacks stays data: summaries, descriptions, answers and
header values reach the generated callbacks.py and README as literals and docstrings only,
and the package imports and serves the push as the spec says."""

from __future__ import annotations

import copy
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from generator.pipeline import _render_unit, load_providers
from generator.emit.writer import apply
from tests.generator.test_hostile_specs import PAYLOADS, SEED_DATA, _sentinel_untouched, _write_spec


def _with_callback(payload: str) -> dict[str, Any]:
    data = copy.deepcopy(SEED_DATA)
    data["callbacks"] = {
        "status_push": {
            "summary": payload,
            "description": ("word " * 30) + payload,
            "docs": "https://example.com/docs",
            "format": "json",
            "array": True,
            "payload": {
                "title": "StatusPush",
                "type": "object",
                "description": payload,
                "properties": {
                    "id": {"type": "string", "description": payload},
                    "state": {"status": "flow_status", "description": payload},
                },
            },
            "receipts": {"records": ".", "status": "state", "message_id": "id"},
            "verify": {
                "sign": [
                    {
                        "as": "digest",
                        "hmac": {
                            "algorithm": "sha256",
                            "key": "{api_secret}",
                            "input": "{body}",
                            "output": "hex",
                        },
                    }
                ],
                "compare": {"header": "X-Sig", "value": "{digest}"},
            },
            "answer": {"status": 200, "content_type": "application/json", "body": payload},
            "reject": {"status": 401, "body": payload},
        }
    }
    return data


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_in_callbacks_stays_data(tmp_path: Path, payload: str) -> None:
    import hashlib
    import hmac

    spec = _write_spec(tmp_path, _with_callback(payload))
    providers, problems = load_providers([spec])
    assert not problems, problems
    [provider] = providers
    out = tmp_path / "generated"
    apply(out, _render_unit(provider))  # verifies every text came out unchanged, or raises
    package = provider.package
    saved = {n: m for n, m in sys.modules.items() if n == package or n.startswith(package + ".")}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(out / package))
    try:
        callbacks = importlib.import_module(f"{package}.callbacks")
        assert callbacks.STATUS_PUSH.answer.body == payload and callbacks.STATUS_PUSH.reject.body == payload
        body = json.dumps([{"id": "k-1", "state": 2}]).encode()
        signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        [receipt] = callbacks.parse_callback(
            "POST", "https://x/", {"X-Sig": signature}, body, api_secret="s3cret"
        )
        assert receipt.message_id == "k-1" and receipt.status.value == "delivered"
    finally:
        sys.path.remove(str(out / package))
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        sys.modules.update(saved)
    _sentinel_untouched(tmp_path)
