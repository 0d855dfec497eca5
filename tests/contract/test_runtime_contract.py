"""What the generator, the spec format and the runtime must agree on is defined once, in
the runtime (``dlr_core``). The generator imports it; the JSON Schema is data, so this test
proves its closed sets equal the runtime's."""

from __future__ import annotations

import json
from typing import Any

from dlr_core import signing
from dlr_core.errors import ErrorKind
from dlr_core.status import DeliveryStatus

from tests.conftest import ROOT
from generator.parse import provider as parser
from generator.canonical import CANONICAL_STATUSES, ERROR_KINDS

SCHEMA: dict[str, Any] = json.loads((ROOT / "generator" / "spec.schema.json").read_text(encoding="utf-8"))
DEFS = SCHEMA["$defs"]


def test_canonical_statuses_come_from_the_runtime() -> None:
    runtime = [status.value for status in DeliveryStatus]
    assert [status.value for status in CANONICAL_STATUSES] == runtime
    assert DEFS["canonical_status"]["enum"] == runtime
    assert all(status.description for status in DeliveryStatus)


def test_error_kinds_come_from_the_runtime() -> None:
    runtime = [kind.value for kind in ErrorKind]
    assert [kind.value for kind in ERROR_KINDS] == runtime
    assert DEFS["error_code"]["properties"]["kind"]["enum"] == runtime


def test_signing_vocabulary_comes_from_the_runtime() -> None:
    from dlr_core import steps, steps_schema

    from generator.parse import auth as parse_auth

    assert parse_auth.SIGN_STEP_KINDS == signing.STEP_KINDS == tuple(steps.STEPS)
    assert DEFS["sign_step"] == steps_schema.sign_step_schema()
    assert set(DEFS["sign_step"]["properties"]) - {"as"} == set(steps.STEPS)
    assert DEFS["auth_scheme"]["properties"]["timestamp"]["oneOf"][0]["enum"] == list(
        signing.TIMESTAMP_STYLES
    )
    assert parse_auth.TEMPLATE_FILTERS == signing.FILTERS == frozenset(signing.FILTER_FUNCTIONS)
    assert set(signing.TEXT_FILTERS) | signing.BYTES_FILTERS == signing.FILTERS
    assert set(signing._TIMESTAMP_READERS) == set(signing.TIMESTAMP_STYLES)


def test_the_schema_and_the_docs_are_generated_from_the_registry() -> None:
    """``python -m generator.parse.auth`` leaves them as they are."""
    from generator.parse import auth as parse_auth

    assert SCHEMA == parse_auth.schema_with_registry(SCHEMA), "run: python -m generator.parse.auth"
    docs = parse_auth.DOCS_FILE.read_text(encoding="utf-8")
    assert docs == parse_auth.docs_with_registry(docs), "run: python -m generator.parse.auth"


def test_the_runtime_refuses_what_the_schema_does_not_define() -> None:
    import datetime

    import pytest

    moment = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
    for style in signing.TIMESTAMP_STYLES:
        assert signing.timestamp_text(moment, style)
    with pytest.raises(signing.SigningError):
        signing.timestamp_text(moment, "iso8601_local")
    with pytest.raises(signing.SigningError, match="unknown timestamp style"):
        signing.Scheme.from_data({"description": "x", "timestamp": "iso8601_local"})


def test_the_runtime_readme_lists_every_status_and_error_kind() -> None:
    readme = (ROOT / "runtime" / "README.md").read_text(encoding="utf-8")
    for status in DeliveryStatus:
        assert f"| `{status.value}` |" in readme and status.description in readme
    for kind in ErrorKind:
        assert f"| `{kind.value}` |" in readme and kind.description in readme


def test_never_retried_error_kinds_come_from_the_runtime() -> None:
    from dlr_core.retry import NEVER_RETRIED_KINDS

    assert parser.NEVER_RETRIED_KIND_VALUES == {kind.value for kind in NEVER_RETRIED_KINDS}
    assert (
        "rate_limited" not in parser.NEVER_RETRIED_KIND_VALUES
        and "authentication" in parser.NEVER_RETRIED_KIND_VALUES
    )
