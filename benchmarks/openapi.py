"""Specs described as one OpenAPI 3.0 document, for the reference generator in the benchmark.

Built from our specs (the same operations, parameters and response shapes), so
openapi-python-client gets the same APIs to generate from as dlrgen does: one document
holding every operation, as a user of that tool would write it. Benchmark-only code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "date": "string",
    "array": "array",
}


def _schema(node: dict[str, Any], components: dict[str, Any], prefix: str) -> dict[str, Any]:
    if "status" in node and "type" not in node:
        return {"type": "string"}
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        name = prefix + node.get("title", "Object")
        components[name] = {
            "type": "object",
            "properties": {
                wire: _schema(child, components, prefix) for wire, child in node.get("properties", {}).items()
            },
        }
        return {"$ref": f"#/components/schemas/{name}"}
    if kind == "array":
        return {"type": "array", "items": _schema(node["items"], components, prefix)}
    if isinstance(kind, list):
        return {"type": kind[0]}
    return {"type": _TYPES.get(kind or "string", "string")}


def _operation(name: str, op: dict[str, Any], components: dict[str, Any], prefix: str) -> dict[str, Any]:
    parameters, body = [], {}
    for param in op.get("params", {}).values():
        schema: dict[str, Any] = {"type": _TYPES[param["type"]]}
        if param["type"] == "array":
            schema["items"] = {"type": param.get("items", "string")}
        if param["in"] in ("query", "header", "path"):
            parameters.append(
                {
                    "name": param["wire"],
                    "in": param["in"],
                    "required": bool(param.get("required")) or param["in"] == "path",
                    "schema": schema,
                }
            )
        else:
            body[param["wire"]] = schema
    operation: dict[str, Any] = {
        "operationId": f"{prefix}{name}",
        "summary": op["summary"],
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": _schema(op["response"], components, prefix)}},
            }
        },
    }
    if body:
        operation["requestBody"] = {
            "content": {"application/json": {"schema": {"type": "object", "properties": body}}}
        }
    return operation


def openapi_document(spec_paths: list[Path]) -> dict[str, Any]:
    """One document with every operation of the given specs (names prefixed per provider when
    there are several, so they stay apart)."""
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for spec_path in spec_paths:
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
        prefix = f"{spec['provider']}_" if len(spec_paths) > 1 else ""
        for name, op in spec["operations"].items():
            route = f"/{spec['provider']}{op['path']}" if len(spec_paths) > 1 else op["path"]
            if route.endswith("/"):
                route += name
            paths.setdefault(route, {})[op["method"].lower()] = _operation(name, op, components, prefix)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Delivery reports", "version": "1.0.0"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths,
        "components": {"schemas": components},
    }


def write_document(spec_paths: list[Path], target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        yaml.safe_dump(openapi_document(spec_paths), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return target
