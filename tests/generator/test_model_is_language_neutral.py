"""The intermediate model says what the specs mean (references to fields and parameters,
closed sets as Literals); the Python view (expressions, variables, imports) is computed in
the render stage (generator/python/view.py), so the model carries no Python source."""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterator
from typing import Any

from tests.conftest import catalog_providers
from generator import model as m

# Text that is Python source, not data: how the receipts, rules and paging used to be kept.
CODE_FRAGMENTS = (
    " if ",
    " else ",
    " is not None",
    " or []",
    "params.",
    "result.",
    "record.",
    "DeliveryStatus.",
    "as_text(",
    "from_pattern(",
    ".wire_data(",
    ".is_final",
    ".parse(",
    "lambda",
    "signing.",
    "steps.",
)
# A fragment that starts with a name matches only where a name starts: "record." is code,
# "/v2/sms/get_record.json" (a provider's path) is not.
CODE_PATTERN = re.compile(
    "|".join((r"(?<!\w)" if f[0].isalpha() else "") + re.escape(f) for f in CODE_FRAGMENTS)
)
# Prose and data copied from the spec: never code, whatever they say.
# A gap's what and why are prose too (they may name a method the user calls: "parse(code)").
FREE_TEXT = {"description", "summary", "explanation", "note", "docs", "title", "what", "why"}
DATA = {"json_schema", "models_schema", "example", "constants", "definition", "headers"}
# The envelope's wire paths are the provider's own names, whatever they spell: an answer's
# error code may well be at `result.code` (JD Cloud's), which is data, not a fragment of code.
DATA |= {"success_fields", "code_fields", "message_fields", "request_id_fields", "data_field"}


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            if field.name in FREE_TEXT or field.name in DATA:
                continue
            yield from _strings(getattr(value, field.name), f"{where}.{field.name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")
    elif isinstance(value, str):
        yield where, value


def test_no_python_source_in_the_model_of_any_spec() -> None:
    providers, problems = list(catalog_providers()), []
    assert not problems and providers
    found = [
        (where, text)
        for provider in providers
        for where, text in _strings(provider, provider.id)
        if CODE_PATTERN.search(text)
    ]
    assert not found, found[:5]


def test_the_check_finds_python_source_where_it_is() -> None:
    status = m.StatusEnum("s", "S", "str", "", ())
    field = m.ModelField("status", "status", "scalar", status=status)
    leaked = m.RuleInput("record.status if record is not None else None", "status", status)
    assert [text for _, text in _strings(leaked, "x")][0].startswith("record.status")
    assert CODE_PATTERN.search(leaked.parameter)
    assert not CODE_PATTERN.search("/v2/sms/get_record.json")
    assert m.FieldRef(0, (field,)).field is field


def test_no_model_field_is_typed_as_an_expression() -> None:
    for name, cls in vars(m).items():
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            continue
        for field in dataclasses.fields(cls):
            assert not any(
                word in field.name for word in ("expression", "condition", "helper", "iterable")
            ), f"{name}.{field.name}"


def test_closed_sets_are_literals_and_match_the_schema() -> None:
    import json

    from tests.conftest import ROOT

    schema = json.loads((ROOT / "generator" / "spec.schema.json").read_text(encoding="utf-8"))
    param = schema["$defs"]["param"]["properties"]
    hints = typing.get_type_hints(m.Param)
    assert list(typing.get_args(hints["location"])) == param["in"]["enum"]
    assert list(typing.get_args(hints["type"])) == param["type"]["enum"]
    assert typing.get_args(typing.get_type_hints(m.ModelField)["kind"]) == ("scalar", "object", "array")
    assert typing.get_args(typing.get_type_hints(m.Envelope)["success_mode"]) == ("equals", "absent", "http")
