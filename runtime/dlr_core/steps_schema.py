"""The sign-step registry as documentation: the JSON Schema's ``$defs/sign_step``
(``sign_step_schema``) and the step table of docs/spec-format.md (``docs_table``), both
built from ``dlr_core.steps.STEPS``, so the spec format, its docs and the runtime's reading
of a scheme cannot drift apart. The generator builds generator/spec.schema.json and checks
the docs with them; they ship in the runtime wheel because the registry does.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

from dlr_core.steps import STEPS, Credential, Template
from dlr_core.steps_data import step_fields

__all__ = ["docs_table", "sign_step_schema"]


def sign_step_schema() -> dict[str, Any]:
    """The JSON Schema ``$defs/sign_step`` of generator/spec.schema.json."""
    properties: dict[str, Any] = {
        "as": {"$ref": "#/$defs/snake_name", "description": "The variable this step's result is bound to."}
    }
    for kind, cls in STEPS.items():
        schema = _object_schema(cls)
        if cls.body is not None:
            schema = schema["properties"][cls.body]
        properties[kind] = {**schema, "description": cls.result}
    return {
        "type": "object",
        "required": ["as"],
        "properties": properties,
        "additionalProperties": False,
    }


def _object_schema(cls: type) -> dict[str, Any]:
    properties = {}
    required = []
    for f, hint in step_fields(cls):
        schema = _schema(hint, f.metadata.get("schema", {}))
        properties[f.name] = {**schema, "description": f.metadata["doc"]}
        if f.default is dataclasses.MISSING:
            required.append(f.name)
        elif f.default not in (None, ()):
            properties[f.name]["default"] = f.default
    out: dict[str, Any] = {"type": "object", "additionalProperties": False}
    if required:
        out["required"] = required
    out["properties"] = properties
    return out


def _schema(hint: Any, extra: Mapping[str, Any]) -> dict[str, Any]:
    extra = dict(extra)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return _schema(inner, extra)
    if origin is Literal:
        return {"enum": list(args)}
    if origin is tuple:
        pattern = extra.pop("items_pattern", None)
        items = _schema(args[0], {"pattern": pattern} if pattern else {})
        return {"type": "array", "items": items, **extra}
    if dataclasses.is_dataclass(hint):
        return _object_schema(typing.cast(type, hint))
    if hint == Template:
        return {"$ref": "#/$defs/template", **extra}
    if hint == Credential:
        return {"$ref": "#/$defs/snake_name", **extra}
    return {"type": {str: "string", int: "integer", bool: "boolean"}[hint], **extra}


def docs_table() -> str:
    """The sign-step table of docs/spec-format.md: every kind, each of its keys."""
    lines = ["| step | key | value | meaning |", "|---|---|---|---|"]
    for kind, cls in STEPS.items():
        shape = "`<template>`" if cls.body == "template" else ""
        lines.append(f"| `{kind}` | | {shape} | {_md(cls.result)} |")
        lines += _key_rows(cls, "", skip=cls.body if cls.body == "template" else None, bare=cls.body)
    return "\n".join(lines) + "\n"


def _key_rows(cls: type, prefix: str, skip: str | None = None, bare: str | None = None) -> list[str]:
    rows = []
    for f, hint in step_fields(cls):
        if f.name == skip:
            continue
        key = f"{prefix}(the list)" if f.name == bare else f"{prefix}`{f.name}`"
        default = (
            "" if f.default in (dataclasses.MISSING, None, ()) else f" (default `{json.dumps(f.default)}`)"
        )
        rows.append(f"| | {key} | {_value_text(hint)}{default} | {_md(f.metadata['doc'])} |")
        nested = typing.get_args(hint)[0] if typing.get_origin(hint) is tuple else hint
        if dataclasses.is_dataclass(nested):
            rows += _key_rows(typing.cast(type, nested), f"{key} → ")
    return rows


def _value_text(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return _value_text(inner)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is tuple:
        return f"list of {_value_text(args[0])}"
    if dataclasses.is_dataclass(hint):
        return "mapping"
    if hint == Template:
        return "template"
    if hint == Credential:
        return "credential"
    return {str: "text", int: "integer", bool: "boolean"}[hint]


def _md(text: str) -> str:
    return text.replace("|", "\\|")
