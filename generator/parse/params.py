"""Stage 2, an operation's parameters: where each goes, its type, constraints, default and
example, and the JSON Schema of the operation's parameters class."""

from __future__ import annotations

import re
from typing import Any

from dlr_core import times

from generator.parse import examples
from generator import model as m
from generator.load import JsonPath
from generator.parse.context import ParseContext


def parse_params(ctx: ParseContext, base: JsonPath, raw: dict[str, Any]) -> tuple[m.Param, ...]:
    out = []
    wires: dict[tuple[str, str], str] = {}
    for name, p in raw.items():
        path = base + ("params", name)
        ctx.check_name("argument", path, name, "parameter", at_key=True)
        if p["in"] == "body":
            _body_param(ctx, path, p)
            p = {**p, "wire": name}  # the whole body has no name on the wire: its own is used
        location_key = ("body" if p["in"] in ("json", "form") else p["in"], p["wire"])
        if location_key in wires:
            ctx.problem(
                path + ("wire",),
                f"wire name {p['wire']!r} is already used by parameter " f"{wires[location_key]!r}",
            )
        wires[location_key] = name
        ptype = p["type"]
        type_keys = {
            "format": ptype in ("date", "datetime"),
            "timezone": ptype == "datetime",
            "items": ptype == "array",
            "array_style": ptype == "array",
            "index_start": ptype == "array",
            "min_items": ptype == "array",
            "max_items": ptype == "array",
            "minimum": ptype in ("integer", "number"),
            "maximum": ptype in ("integer", "number"),
            "min_length": ptype == "string",
            "max_length": ptype == "string",
            "pattern": ptype == "string",
        }
        for key, allowed in type_keys.items():
            if key in p and not allowed:
                ctx.problem(
                    path + (key,), f"{key!r} does not apply to a parameter of type {ptype!r}", at_key=True
                )
        date_format = _time_pattern(ctx, path, ptype, p) if ptype in ("date", "datetime") else None
        for key in ("from_credential", "default_from_credential"):
            if key in p:
                if p[key] not in ctx.data.get("auth", {}).get("credentials", {}):
                    ctx.problem(path + (key,), f"{p[key]!r} is not a credential")
                ctx.used_in_auth.add(p[key])
        if "from_credential" in p and "default_from_credential" in p:
            ctx.problem(
                path + ("default_from_credential",),
                "from_credential always fills the parameter; "
                "default_from_credential only when the caller gives none: choose one",
            )
        if ptype == "array":
            for key in ("items",) if p["in"] == "body" else ("items", "array_style"):
                if key not in p:
                    ctx.problem(path, f"an array parameter needs {key!r}")
            if p.get("array_style") == "json" and p["in"] not in ("json", "body"):
                ctx.problem(path + ("array_style",), "array_style json needs in: json")
        if "const" in p and (p.get("required") or "default" in p):
            ctx.problem(path + ("const",), "a const parameter is always sent; drop 'required' and 'default'")
        if "minimum" in p and "maximum" in p and p["minimum"] > p["maximum"]:
            ctx.problem(path + ("minimum",), f"minimum {p['minimum']} is above maximum {p['maximum']}")
        if "default" in p and not _default_fits(ptype, p["default"]):
            ctx.problem(path + ("default",), f"default {p['default']!r} is not a valid {ptype}")
        example = _param_example(ctx, path, p)
        out.append(
            m.Param(
                name=name,
                wire=p["wire"],
                location=p["in"],
                type=ptype,
                description=" ".join(p.get("description", "").split()),
                required=p.get("required", False),
                default=p.get("default"),
                const=p.get("const"),
                date_format=date_format,
                array_style=p.get("array_style"),
                index_start=p.get("index_start", 0),
                json_schema=_param_json_schema(p),
                from_credential=p.get("from_credential"),
                default_from_credential=p.get("default_from_credential"),
                time_zone=p.get("timezone"),
                example=example,
            )
        )
    return tuple(out)


def _body_param(ctx: ParseContext, path: JsonPath, p: dict[str, Any]) -> None:
    """A parameter that is the whole JSON body (``in: body``): a JSON array of its items."""
    if "wire" in p:
        ctx.problem(
            path + ("wire",), "an in: body parameter is the whole body: it has no wire name", at_key=True
        )
    if p["type"] != "array":
        ctx.problem(path + ("type",), "an in: body parameter is the JSON body, an array: make it type: array")
    if "array_style" in p:
        ctx.problem(
            path + ("array_style",),
            "an in: body parameter is sent as a JSON array: drop array_style",
            at_key=True,
        )


def check_body_params(ctx: ParseContext, base: JsonPath, method: str, params: tuple[m.Param, ...]) -> None:
    """An operation has at most one whole-body parameter, and then no other body fields."""
    body = [p for p in params if p.location == "body"]
    if not body:
        return
    if len(body) > 1:
        ctx.problem(
            base + ("params", body[1].name),
            f"the body is already parameter {body[0].name!r}: an operation has one in: body parameter",
            at_key=True,
        )
    fields = [p for p in params if p.location in ("json", "form")]
    if fields:
        ctx.problem(
            base + ("params", fields[0].name, "in"),
            f"the whole body is parameter {body[0].name!r}: no {fields[0].location} field can be added to it",
        )
    if method != "POST":
        ctx.problem(base + ("method",), f"parameter {body[0].name!r} is the request body: use method POST")
    for scheme_name, scheme in ctx.data["auth"]["schemes"].items():
        if any("body" in (scheme.get(stage) or {}) for stage in ("add", "attach")):
            ctx.problem(
                base + ("params", body[0].name),
                f"auth scheme {scheme_name!r} puts values in the body, but the body of this "
                f"operation is the array {body[0].name!r}",
                at_key=True,
            )


def _param_example(ctx: ParseContext, path: JsonPath, p: dict[str, Any]) -> Any:
    """The README example's value of a parameter: its ``example`` checked like a value (an
    array's: a list of items, or one item), else, for a parameter the example must pass,
    one made to fit its constraints; a located problem when none can be made."""
    ptype = p["type"]
    item_type = p.get("items", "string") if ptype == "array" else ptype
    if "example" in p:
        given = p["example"]
        if isinstance(given, list) and ptype != "array":
            ctx.problem(path + ("example",), "only an array parameter's example may be a list")
            return None
        values = given if isinstance(given, list) else [given]
        bad = next((v for v in values if not _example_fits(item_type, p, v)), None)
        if bad is not None or not values:
            ctx.problem(
                path + ("example",),
                f"example {bad if bad is not None else given!r} is not a valid value of this parameter",
            )
            return None
        if ptype == "array":
            if not p.get("min_items", 1) <= len(values) <= p.get("max_items", len(values)):
                ctx.problem(path + ("example",), f"example has {len(values)} items, outside min/max_items")
                return None
            return tuple(values)
        return given
    passed = p.get("required") and not {"default", "const", "from_credential"} & set(p)
    if not passed or item_type in ("date", "datetime"):
        return None  # not in the README's example, or written as date.today() / datetime.now()
    if ptype == "array":
        return (examples.sample(item_type),) * max(1, p.get("min_items", 1))
    value = examples.sample(
        ptype,
        enum=p.get("enum"),
        minimum=p.get("minimum"),
        maximum=p.get("maximum"),
        min_length=p.get("min_length"),
        max_length=p.get("max_length"),
        pattern=p.get("pattern"),
    )
    if value is None:
        where = "pattern" if "pattern" in p else "max_length" if "max_length" in p else "type"
        ctx.problem(
            path + (where,),
            "dlrgen cannot make a value that fits this parameter's pattern and lengths for "
            "the README's example (which calls the operation): give the parameter an 'example'",
        )
    return value


def _time_pattern(ctx: ParseContext, path: JsonPath, ptype: str, p: dict[str, Any]) -> str | None:
    """The wire pattern of a date or date-time parameter, checked by the runtime that
    will write it. A date pattern with a time of day would silently send midnight."""
    if "format" not in p:
        example = "yyyyMMdd" if ptype == "date" else "yyyy-MM-dd'T'HH:mm:ssXXX"
        ctx.problem(path, f"a {ptype} parameter needs a 'format' such as {example}")
        return None
    try:
        pattern = times.compile_pattern(p["format"])
    except ValueError as exc:
        ctx.problem(path + ("format",), f"format: {exc}")
        return None
    if ptype == "date" and (pattern.has_time or pattern.has_offset):
        ctx.problem(
            path + ("type",),
            f"format {p['format']!r} has a time of day: make the parameter "
            "type: datetime (a date would be sent at midnight)",
        )
    if ptype == "datetime" and not pattern.has_time:
        ctx.problem(path + ("type",), f"format {p['format']!r} has no time of day: make it type: date")
    return str(p["format"])


def params_schema(
    ctx: ParseContext, class_name: str, summary: str, params: tuple[m.Param, ...]
) -> dict[str, Any]:
    properties = {}
    required = []
    for p in params:
        if p.const is not None or p.from_credential is not None:
            continue
        properties[p.wire] = p.json_schema
        if p.required and p.default is None:
            required.append(p.wire)
        if p.name != p.wire:
            ctx.aliases[f"{class_name}.{p.wire}"] = p.name
    schema: dict[str, Any] = {
        "title": class_name,
        "type": "object",
        "description": f"Parameters of: {' '.join(summary.split())}",
        "properties": properties,
    }
    if required:
        schema["required"] = required
    return schema


def _default_fits(ptype: str, value: Any) -> bool:
    if ptype == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if ptype == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ptype == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str)


def _example_fits(item_type: str, p: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` is a valid value (an item, for an array) of parameter ``p``."""
    if not _default_fits(item_type if item_type not in ("date", "datetime") else "string", value):
        return False
    if "enum" in p and value not in p["enum"]:
        return False
    if "minimum" in p and value < p["minimum"] or "maximum" in p and value > p["maximum"]:
        return False
    if isinstance(value, str) and p["type"] == "string":
        if not p.get("min_length", 0) <= len(value) <= p.get("max_length", len(value)):
            return False
        if "pattern" in p and not re.search(p["pattern"], value):
            return False
    return True


def _param_json_schema(p: dict[str, Any]) -> dict[str, Any]:
    ptype = p["type"]
    schema: dict[str, Any]
    if ptype == "date":
        schema = {"type": "string", "format": "date"}
    elif ptype == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif ptype == "array":
        schema = {"type": "array", "items": {"type": p.get("items", "string")}}
        for key, target in (("min_items", "minItems"), ("max_items", "maxItems")):
            if key in p:
                schema[target] = p[key]
    else:
        schema = {"type": ptype}
    for key, target in (
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("min_length", "minLength"),
        ("max_length", "maxLength"),
        ("pattern", "pattern"),
        ("enum", "enum"),
        ("default", "default"),
    ):
        if key in p:
            schema[target] = p[key]
    if p.get("description"):
        schema["description"] = " ".join(p["description"].split())
    return schema
