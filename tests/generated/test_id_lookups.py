"""Id lookups, for every provider whose ``fetch_receipts`` looks receipts up by id (found in
the specs, never listed here): one receipt (at least) per id asked for, in the order asked,
and an id the provider did not answer comes back open, so ``wait_for_final`` waits for it."""

from __future__ import annotations

import importlib
import json
from datetime import date, datetime, timezone
from typing import Any

import pytest

from tests.conftest import call_provider, catalog_providers, credential_test_value
from dlr_core import DeliveryStatus
from dlr_core.mock import MockProvider
from generator import model as m


def _id_lookups() -> list[tuple[m.Provider, m.Operation]]:
    providers, problems = list(catalog_providers()), []
    assert not problems
    found = []
    for provider in providers:
        operation = provider.receipts_operation
        if operation and operation.receipts and operation.receipts.ids_param is not None:
            found.append((provider, operation))
    return found


LOOKUPS = _id_lookups()


def test_every_provider_with_a_single_or_many_id_lookup_is_checked() -> None:
    assert len(LOOKUPS) >= 2 and any(op.receipts and op.receipts.ids_many for _, op in LOOKUPS)


def _sample(param: m.Param) -> Any:
    """A valid value of a required parameter that is not the ids: the README example's value
    (the spec's ``example``, or one made to fit its constraints) when there is one."""
    if param.example is not None:
        return param.example
    if param.type == "date":
        return date(2024, 5, 1)
    if param.type == "datetime":
        return datetime(2024, 5, 1, tzinfo=timezone.utc)
    if param.type in ("integer", "number"):
        return param.json_schema.get("minimum", 1)
    if param.type == "array":
        return [_sample_text(param.json_schema.get("items", {}))]
    return _sample_text(param.json_schema)


def _sample_text(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("type") == "integer":
        return 1
    return "15900000000" if "pattern" in schema and "0-9" in schema["pattern"] else "x1"


@pytest.mark.parametrize(("provider", "operation"), LOOKUPS, ids=[p.id for p, _ in LOOKUPS])
def test_fetch_receipts_answers_each_id_in_the_order_asked(
    provider: m.Provider, operation: m.Operation, mode: str
) -> None:
    package = importlib.import_module(provider.package)
    plan = operation.receipts
    assert plan is not None and plan.ids_param is not None and plan.ids_field is not None
    credentials = {c.name: _credential(c) for c in provider.auth.credentials}
    # The ids the spec's example answers, read the way the client reads an answer.
    spec = next(o for o in package.API.operations if o.name == operation.name)
    scheme = provider.auth.default_scheme  # the credentials of every scheme are given
    reader = package.Client(**credentials, auth_scheme=scheme, base_url="https://provider.example.com")
    result = reader._read(200, json.dumps(spec.example).encode(), getattr(package, operation.response_class))
    answered = getattr(package, plan.function_name)(result)
    example_ids = [getattr(r, plan.ids_field) for r in answered]
    assert answered, "the example answers nothing"
    if example_ids[0] is None:  # the answer does not say which id: receipts take the one asked for
        with MockProvider(package.API, credentials) as mock:
            receipts = call_provider(
                mode,
                package,
                credentials,
                "fetch_receipts",
                base_url=mock.base_url,
                auth_scheme=scheme,
                **_arguments(operation, plan, ["asked-1"]),
            )
        assert [getattr(r, plan.ids_field) for r in receipts] == ["asked-1"] * len(answered)
        return
    with MockProvider(package.API, credentials) as mock:
        ids_param = next(p for p in operation.params if p.name == plan.ids_param)
        wanted = example_ids[0]
        if ids_param.type == "integer" or ids_param.json_schema.get("items", {}).get("type") == "integer":
            unanswered: Any = 987654321
            wanted_value: Any = int(wanted)
        else:
            unanswered, wanted_value = _unanswered_text(ids_param, wanted), wanted
        asked = [unanswered, wanted_value] if plan.ids_many else [unanswered]
        receipts = call_provider(
            mode,
            package,
            credentials,
            "fetch_receipts",
            base_url=mock.base_url,
            auth_scheme=scheme,
            **_arguments(operation, plan, asked),
        )
    by_position = [str(getattr(r, plan.ids_field)) for r in receipts]
    # The unanswered id first, as asked, and open; then what was answered.
    assert by_position[0] == str(unanswered)
    assert receipts[0].status is DeliveryStatus.UNKNOWN and not receipts[0].is_final
    assert receipts[0].details == {"answered": False}
    if not plan.ids_many:  # the example's receipts, for another id, are not returned
        assert len(receipts) == 1
    if plan.ids_many:
        assert by_position[1] == str(wanted_value) and len(receipts) == 1 + len(
            [r for r in answered if getattr(r, plan.ids_field) == wanted]
        )


def _credential(credential: m.Credential) -> str:
    return credential_test_value(credential.name, credential.format)


def _unanswered_text(param: m.Param, like: str) -> str:
    """An id the example does not answer, in the shape of one it does (patterns hold)."""
    swapped = like.translate(str.maketrans("0123456789abcdefABCDEF", "1234567890bcdefaBCDEFA"))
    return swapped if swapped != like else like + "0"


def _arguments(operation: m.Operation, plan: m.ReceiptPlan, ids: list[Any] | None) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for param in operation.params:
        if param.const is not None or param.from_credential is not None:
            continue
        if param.name == plan.ids_param:
            if ids is not None:
                arguments[param.name] = ids if plan.ids_many else ids[0]
            elif param.required:
                arguments[param.name] = _sample(param)
        elif param.required and param.default is None:
            arguments[param.name] = _sample(param)
    return arguments
