"""Stage 2, responses: response schemas as JSON Schema for the model generator, with each
field's meaning (a status enum, a time format) marked and every name checked."""

from __future__ import annotations

import re
from typing import Any

from dlr_core import times

from generator import model as m
from generator.load import JsonPath
from generator.python.names import snake_from_class
from generator.parse.context import SNAKE, ParseContext


def parse_object_model(ctx: ParseContext, path: JsonPath, schema: dict[str, Any]) -> m.ObjectModel:
    class_name = schema.get("title", "")
    if not class_name:
        ctx.problem(path, "an object needs a 'title': the Python class name of its model")
        class_name = "Unnamed"
    obj = m.ObjectModel(class_name)
    properties = schema.get("properties")
    if not properties:
        ctx.problem(path, "an object needs 'properties'")
        properties = {}
    required = schema.get("required", [])
    for index, wire in enumerate(required):
        if wire not in properties:
            ctx.problem(path + ("required", index), f"required field {wire!r} is not among the properties")
    json_properties: dict[str, Any] = {}
    names: dict[str, str] = {}
    for wire, field_schema in properties.items():
        field_path = path + ("properties", wire)
        name = field_schema.get("name")
        if name is None:
            if SNAKE.match(wire):
                name = wire
            else:
                ctx.problem(
                    field_path,
                    f"wire name {wire!r} is not a snake_case Python name; add "
                    f"name: {snake_from_class(re.sub(r'[^A-Za-z0-9]', '', wire)) or 'field'}",
                    at_key=True,
                )
                name = "invalid"
        ctx.check_python_name(
            field_path + (("name",) if "name" in field_schema else ()),
            name,
            at_key="name" not in field_schema,
        )
        if name in names:
            ctx.problem(
                field_path, f"Python name {name!r} is already used by field {names[name]!r}", at_key=True
            )
        names[name] = wire
        if name != wire:
            ctx.aliases[f"{class_name}.{wire}"] = name
        model_field, json_schema = _model_field(ctx, field_path, wire, name, field_schema)
        model_field.optional = wire not in required
        obj.fields[wire] = model_field
        json_properties[wire] = json_schema
    definition: dict[str, Any] = {"title": class_name, "type": "object", "properties": json_properties}
    if schema.get("description"):
        definition["description"] = " ".join(schema["description"].split())
    if required:
        definition["required"] = list(required)
    if class_name in ctx.defs and ctx.defs[class_name] == definition:
        return obj  # the same object described again (e.g. through a YAML anchor): one class
    ctx.check_unique_classes([(path + ("title",), class_name)])
    ctx.defs[class_name] = definition
    return obj


def parse_response_model(ctx: ParseContext, path: JsonPath, schema: dict[str, Any]) -> m.ObjectModel:
    """An operation's answer: an object, or a JSON array (a pydantic RootModel). An
    array's model has one field, the list, whose wire name is empty: a records path
    ``[]`` addresses it, and generated code reads it as ``.root``."""
    if schema.get("type") != "array":
        return parse_object_model(ctx, path, schema)
    class_name = schema["title"]
    field, definition = _model_field(ctx, path, "", "root", {k: v for k, v in schema.items() if k != "title"})
    obj = m.ObjectModel(class_name, {"": field})
    definition = {"title": class_name, **definition}
    ctx.check_unique_classes([(path + ("title",), class_name)])
    ctx.defs[class_name] = definition
    return obj


def _time_pattern_name(ctx: ParseContext, path: JsonPath, time_format: dict[str, str]) -> str:
    """The field type of times written with one pattern in one zone: one per pair."""
    key = (time_format["pattern"], time_format["utc_offset"])
    if key not in ctx.time_patterns:
        name = _time_type_name(ctx, path, "the field type of this time pattern")
        ctx.time_patterns[key] = m.TimePattern(name, *key)
    return ctx.time_patterns[key].name


def _time_choice_name(ctx: ParseContext, path: JsonPath, formats: list[str | dict[str, str]]) -> str:
    """The field type of times documented in several forms: one per list of forms."""
    key = tuple(f if isinstance(f, str) else (f["pattern"], f["utc_offset"]) for f in formats)
    if key not in ctx.time_choices:
        name = _time_type_name(ctx, path, "the field type of these time formats")
        ctx.time_choices[key] = m.TimeChoice(name, key)
    return ctx.time_choices[key].name


def _time_type_name(ctx: ParseContext, path: JsonPath, what: str) -> str:
    """``ProviderTime``, ``ProviderTime2``, ...: the time field types the spec needs."""
    number = len(ctx.time_patterns) + len(ctx.time_choices) + 1
    name = "ProviderTime" if number == 1 else f"ProviderTime{number}"
    ctx.claim_module_name(path, name, what)
    return name


def _model_field(
    ctx: ParseContext, path: JsonPath, wire: str, name: str, schema: dict[str, Any]
) -> tuple[m.ModelField, dict[str, Any]]:
    description = " ".join(schema.get("description", "").split())
    declared = schema.get("type")
    out: dict[str, Any]
    if "status" in schema:
        enum = ctx.statuses.get(schema["status"])
        if enum is None:
            ctx.problem(
                path + ("status",),
                f"unknown status enum {schema['status']!r}; defined: " f"{', '.join(ctx.statuses) or 'none'}",
            )
            out = {}
        else:
            expected = "integer" if enum.raw_type == "int" else "string"
            if declared is not None and declared != expected:
                ctx.problem(
                    path + ("type",),
                    f"status {enum.key!r} holds {expected} values; drop 'type' or " f"make it {expected!r}",
                )
            # Statuses drift between text and numbers ("0" and 0, "3" and 3): accept both,
            # so parsing never fails on it; the enum's lookup matches either way.
            out = (
                {"anyOf": [{"type": "integer"}, {"type": "string"}]}
                if enum.raw_type == "int"
                else {"anyOf": [{"type": "string"}, {"type": "integer"}]}
            )
            out[m.STATUS_KEY] = enum.key
        field = m.ModelField(wire, name, "scalar", status=enum)
    elif declared == "object" or ("properties" in schema and declared is None):
        obj = parse_object_model(ctx, path, schema)
        field = m.ModelField(wire, name, "object", obj=obj)
        out = {"$ref": f"#/$defs/{obj.class_name}"}
    elif declared == "array":
        items = schema.get("items")
        if items is None:
            ctx.problem(path, "an array needs 'items'")
            return m.ModelField(wire, name, "array", item_kind="scalar"), {"type": "array"}
        if items.get("type") == "object" or "properties" in items:
            obj = parse_object_model(ctx, path + ("items",), items)
            field = m.ModelField(wire, name, "array", obj=obj, item_kind="object")
            out = {"type": "array", "items": {"$ref": f"#/$defs/{obj.class_name}"}}
        else:
            _, item_schema = _model_field(ctx, path + ("items",), wire, name, items)
            field = m.ModelField(wire, name, "array", item_kind="scalar")
            out = {"type": "array", "items": item_schema}
    elif declared is None:
        ctx.problem(path, f"field {wire!r} needs a 'type' (or 'status')", at_key=True)
        return m.ModelField(wire, name, "scalar"), {}
    else:
        types = declared if isinstance(declared, list) else [declared]
        out = {"type": types[0]} if len(types) == 1 else {"anyOf": [{"type": t} for t in types]}
        field = m.ModelField(wire, name, "scalar")
    if "format" in schema:
        field.time_format = schema["format"]
        formats = schema["format"] if isinstance(schema["format"], list) else [schema["format"]]
        for index, one in enumerate(formats):
            if isinstance(one, dict):
                where = path + ("format",) + ((index,) if isinstance(schema["format"], list) else ())
                try:
                    times.compile_pattern(one["pattern"])
                except ValueError as exc:
                    ctx.problem(where + ("pattern",), f"pattern: {exc}")
        if isinstance(schema["format"], list):
            out[m.TIME_KEY] = _time_choice_name(ctx, path + ("format",), schema["format"])
        elif isinstance(schema["format"], dict):
            out[m.TIME_KEY] = _time_pattern_name(ctx, path + ("format",), schema["format"])
        else:
            out[m.TIME_KEY] = schema["format"]
    if description:
        out["description"] = description
    return field, out
