"""Stage 2, operations: each operation's parameters, paging, batching and alternatives,
with its response and receipts (its parameters: `params`)."""

from __future__ import annotations

import re
from typing import Any


from generator import model as m
from generator.load import JsonPath
from generator.parse.context import ParseContext, pascal
from generator.parse.params import check_body_params, params_schema, parse_params
from generator.parse.receipts import field_reference, parse_receipts, record_scopes
from generator.parse.responses import parse_response_model


def parse_operation(ctx: ParseContext, name: str, raw: dict[str, Any]) -> m.Operation:
    base: JsonPath = ("operations", name)
    prefix = pascal(name)
    ctx.check_name("client_method", base, name, "operation", at_key=True)
    ctx.claim_module_name(base, name.upper(), f"operation {name!r}: its constant", at_key=True)
    if "pagination" in raw:
        ctx.claim_module_name(
            base, f"{name.upper()}_PAGING", f"operation {name!r}: its constant", at_key=True
        )
    if "receipts" in raw:
        ctx.claim_module_name(base, f"{name}_receipts", f"operation {name!r}: its function", at_key=True)
    params = parse_params(ctx, base, raw.get("params", {}))
    check_body_params(ctx, base, raw["method"], params)
    placeholders = re.findall(r"\{([^{}]+)\}", raw["path"])
    path_wires = {p.wire for p in params if p.location == "path"}
    for placeholder in placeholders:
        if placeholder not in path_wires:
            ctx.problem(
                base + ("path",),
                f"path placeholder {{{placeholder}}} has no parameter with in: path, " f"wire: {placeholder}",
            )
    for param in params:
        if param.location == "path" and param.wire not in placeholders:
            ctx.problem(
                base + ("params", param.name),
                f"path parameter {param.wire!r} is not in the path " f"{raw['path']!r}",
                at_key=True,
            )
    params_class = f"{prefix}Params"
    ctx.check_unique_classes([(base, params_class)])
    ctx.defs[params_class] = params_schema(ctx, params_class, raw["summary"], params)
    response = raw["response"]
    root = parse_response_model(ctx, base + ("response",), response)
    envelope = ctx.data["envelope"]
    if response.get("type") == "array" and "data" not in envelope and "equals" in envelope["success"]:
        ctx.problem(
            base + ("response", "type"),
            "an answer that is a JSON array has no field to say success: make the envelope's "
            "success {http: 2xx}, or name the array's field with the envelope's 'data'",
        )
    answer_format = raw.get("format", "json")
    if answer_format == "xml" and response.get("type") == "array":
        ctx.problem(
            base + ("format",),
            "an XML answer is one document whose root element holds its fields: it cannot be "
            "an array; describe the root's children as an object (a repeated element is an array field)",
        )
    receipts = None
    if "receipts" in raw:
        receipts = parse_receipts(ctx, base + ("receipts",), name, raw["receipts"], root, params)
    pagination = (
        _pagination(ctx, base + ("pagination",), raw["pagination"], root, params)
        if "pagination" in raw
        else None
    )
    batch = None
    if "batch" in raw:
        batch = _batch(ctx, base + ("batch",), raw["batch"], params, receipts is not None)
    return m.Operation(
        name=name,
        class_prefix=prefix,
        summary=" ".join(raw["summary"].split()),
        description=" ".join(raw.get("description", "").split()),
        docs=raw.get("docs"),
        method=raw["method"],
        path=raw["path"],
        action=raw.get("action"),
        params=params,
        params_class=params_class,
        response_class=root.class_name,
        receipts=receipts,
        pagination=pagination,
        batch=batch,
        example=raw.get("example"),
        consuming=raw.get("consuming", False),
        headers={**ctx.data.get("headers", {}), **raw.get("headers", {})},
        alternatives=_alternatives(ctx, base + ("alternatives",), raw.get("alternatives", {}), params),
        format=answer_format,
        xml_root=response.get("title", "") if answer_format == "xml" else "",
        xml_lists=tuple(_array_paths(root)) if answer_format == "xml" else (),
    )


def _array_paths(
    obj: m.ObjectModel, prefix: tuple[str, ...] = (), seen: frozenset[int] = frozenset()
) -> list[tuple[str, ...]]:
    """The wire paths of the array fields of ``obj`` and of the objects within it, as
    ``dlr_core.wire.xml_body.as_lists`` takes them: an array of objects is stepped into
    with ``name[]``. An object met again below itself is not walked twice."""
    if id(obj) in seen:
        return []
    paths: list[tuple[str, ...]] = []
    for f in obj.fields.values():
        if f.kind == "array":
            paths.append(prefix + (f.wire,))
            if f.item_kind == "object" and f.obj is not None:
                paths.extend(_array_paths(f.obj, prefix + (f"{f.wire}[]",), seen | {id(obj)}))
        elif f.kind == "object" and f.obj is not None:
            paths.extend(_array_paths(f.obj, prefix + (f.wire,), seen | {id(obj)}))
    return paths


def _pagination(
    ctx: ParseContext, base: JsonPath, raw: dict[str, Any], root: m.ObjectModel, params: tuple[m.Param, ...]
) -> m.Pagination | None:
    style = raw.get("style", "page_number")
    needed = {
        "page_number": ("page", "size"),
        "next_url": ("next",),
        "offset": ("offset", "limit"),
    }
    own = {
        "page_number": {"page", "size", "total", "page_count", "stop", "first_page"},
        "next_url": {"next"},
        "offset": {"offset", "limit", "total", "max_records"},
    }
    for key in sorted(set(raw) - own[style] - {"style", "items"}):
        ctx.problem(base + (key,), f"{key!r} does not apply to {style} pagination", at_key=True)
    for key in needed[style]:
        if key not in raw:
            ctx.problem(base, f"{style} pagination needs {key!r}")
            return None
    if style == "page_number" and len({"total", "page_count", "stop"} & set(raw)) != 1:
        # Paging stops at the last page: it is known from the records' total, the pages', or
        # (an answer counting neither) a page shorter than the size asked for.
        ctx.problem(base, "page_number pagination needs 'total', 'page_count' or 'stop', one of them")
        return None
    by_name = {p.name: p for p in params if p.const is None}
    for key in {"page_number": ("page", "size"), "offset": ("offset", "limit")}.get(style, ()):
        param = by_name.get(raw[key])
        if param is None:
            ctx.problem(base + (key,), f"pagination {key} {raw[key]!r} is not a parameter of this operation")
            return None
        if param.type != "integer":
            ctx.problem(base + (key,), f"pagination {key} {raw[key]!r} must be an integer parameter")
            return None
    scopes, loops = record_scopes(ctx, base + ("items",), raw["items"], root, what="pagination items")
    if scopes is None:
        return None
    if len(loops) != 1:
        ctx.problem(
            base + ("items",), f"pagination items {raw['items']!r} must name one list, like Records[]"
        )
        return None
    pointers: dict[str, m.FieldRef] = {}
    for key in ("total", "page_count", "next"):
        if key in raw:
            pointer = field_reference(ctx, base + (key,), raw[key], scopes[:1])
            if pointer is None:
                return None
            pointers[key] = pointer
    return m.Pagination(
        style=style,
        page_param=raw.get("page"),
        size_param=raw.get("size"),
        first_page=raw.get("first_page", 1),
        items=loops[0].over,
        item_class=loops[0].item_class,
        total=pointers.get("total"),
        next=pointers.get("next"),
        offset_param=raw.get("offset"),
        limit_param=raw.get("limit"),
        max_records=raw.get("max_records"),
        page_count=pointers.get("page_count"),
        stop_at_short_page=raw.get("stop") == "short_page",
    )


def _alternatives(
    ctx: ParseContext, base: JsonPath, raw: dict[str, list[str]], params: tuple[m.Param, ...]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    by_name = {p.name: p for p in params}
    owner: dict[str, str] = {}
    for group, names in raw.items():
        for index, name in enumerate(names):
            where = base + (group, index)
            param = by_name.get(name)
            if param is None:
                ctx.problem(where, f"{name!r} is not a parameter of this operation")
            elif param.required or param.const is not None or param.from_credential is not None:
                ctx.problem(
                    where, f"{name!r} is required, constant or a credential: it cannot be an alternative"
                )
            if name in owner:
                ctx.problem(where, f"{name!r} is already in the alternative {owner[name]!r}")
            owner.setdefault(name, group)
    return tuple((group, tuple(names)) for group, names in raw.items())


def _batch(
    ctx: ParseContext, base: JsonPath, raw: dict[str, Any], params: tuple[m.Param, ...], has_receipts: bool
) -> m.Batch | None:
    param = next((p for p in params if p.name == raw["param"] and p.const is None), None)
    if param is None:
        ctx.problem(base + ("param",), f"batch param {raw['param']!r} is not a parameter of this operation")
        return None
    if param.type != "array" or "maxItems" not in param.json_schema:
        ctx.problem(base + ("param",), f"batch param {raw['param']!r} must be an array with max_items")
        return None
    if not has_receipts:
        ctx.problem(base, "batching merges receipts: the operation needs 'receipts'")
        return None
    return m.Batch(param.name, param.json_schema["maxItems"])
