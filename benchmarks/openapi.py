"""The seed APIs described as OpenAPI 3.0, for the reference generators in the benchmark.

Built from our specs (the same operations, parameters and response shapes), so the
reference tools get the same APIs to generate from. Benchmark-only code.
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


def _schema(node: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if "status" in node and "type" not in node:
        return {"type": "string"}
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        name = node.get("title", "Object")
        components[name] = {
            "type": "object",
            "properties": {wire: _schema(child, components) for wire, child in node["properties"].items()},
        }
        return {"$ref": f"#/components/schemas/{name}"}
    if kind == "array":
        return {"type": "array", "items": _schema(node["items"], components)}
    if isinstance(kind, list):
        return {"type": kind[0]}
    return {"type": kind or "string"}


def openapi_document(spec_path: Path) -> dict[str, Any]:
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for name, op in spec["operations"].items():
        parameters, body = [], {}
        for param in op.get("params", {}).values():
            schema: dict[str, Any] = {"type": _TYPES[param["type"]]}
            if param["type"] == "array":
                schema["items"] = {"type": param.get("items", "string")}
            if param["in"] in ("query", "header"):
                parameters.append(
                    {
                        "name": param["wire"],
                        "in": param["in"],
                        "required": bool(param.get("required")),
                        "schema": schema,
                    }
                )
            else:
                body[param["wire"]] = schema
        response = _schema(op["response"], components)
        operation: dict[str, Any] = {
            "operationId": name,
            "summary": op["summary"],
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": response}}}
            },
        }
        if body:
            operation["requestBody"] = {
                "content": {"application/json": {"schema": {"type": "object", "properties": body}}}
            }
        paths.setdefault(op["path"] if op["path"] != "/" else f"/{name}", {})[
            op["method"].lower()
        ] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": spec["title"], "version": "1.0.0"},
        "servers": [{"url": choice["url"]} for choice in spec["servers"]["choices"].values()],
        "paths": paths,
        "components": {"schemas": components},
    }


def write_documents(specs: Path, target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(specs.glob("*.yaml")):
        out = target / f"{path.stem}.openapi.yaml"
        out.write_text(
            yaml.safe_dump(openapi_document(path), sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        written.append(out)
    return written
