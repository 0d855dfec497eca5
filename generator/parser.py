"""Stage 2: turn a schema-valid spec into the intermediate model, checking everything the
JSON Schema cannot: cross-references, name collisions, raw value types, template
variables. Problems are collected and returned as values, never raised one by one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from dlr_core import retry as retry_rules
from dlr_core import times

from generator import model as m
from generator.canonical import CANONICAL_BY_VALUE
from generator.loader import JsonPath, LoadedSpec, SourceMap
from generator.names import Scope, reserved
from generator.parse_auth import AuthParser
from generator.problems import Problem

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Errors another attempt cannot fix; the runtime never retries them.
_NEVER_RETRIED_KINDS = frozenset(kind.value for kind in retry_rules.NEVER_RETRIED_KINDS)


def pascal(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def snake_from_class(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def duration_seconds(text: str | None) -> float | None:
    if text is None:
        return None
    match = re.fullmatch(r"([0-9]+)(ms|s|m|h|d)", text)
    assert match is not None  # the JSON Schema checked the pattern
    return int(match.group(1)) * _DURATION_SECONDS[match.group(2)]


class _Parser(AuthParser):
    def __init__(self, spec: LoadedSpec) -> None:
        self.spec = spec
        self.data = spec.data
        self.source: SourceMap = spec.source
        self.problems: list[Problem] = []
        self.statuses: dict[str, m.StatusEnum] = {}
        self.class_names: dict[str, JsonPath] = {}
        self.defs: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}
        self.rules_used: dict[str, m.StatusRule] = {}
        self.used_in_auth: set[str] = set()

    def problem(self, path: JsonPath, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.source.problem(path, message, at_key=at_key))

    # -- top level -------------------------------------------------------------------

    def parse(self) -> m.Provider | None:
        d = self.data
        provider_id = d["provider"]
        if provider_id != self.spec.path.stem:
            self.problem(
                ("provider",), f"provider id {provider_id!r} must match the file name {self.spec.path.name!r}"
            )
        servers = self.servers()
        auth = self.auth()
        envelope = self.envelope()
        for key, raw in d["statuses"].items():
            self.statuses[key] = self.status_enum(key, raw)
        self.check_unique_classes(
            ((("statuses", key, "class"), enum.class_name) for key, enum in self.statuses.items())
        )
        for key, enum in self.statuses.items():
            self.claim_module_name(
                ("statuses", key), enum.function_name, f"status {key!r}: its function", at_key=True
            )
        for key in d.get("status_rules", {}):
            self.claim_module_name(
                ("status_rules", key),
                f"{key}_to_canonical",
                f"status rule {key!r}: its function",
                at_key=True,
            )
        operations = tuple(self.operation(name, raw) for name, raw in d["operations"].items())
        self.check_auth_needs(auth, operations)
        referenced = {
            op["receipts"]["status"]["rule"]
            for op in d["operations"].values()
            if isinstance(op.get("receipts", {}).get("status"), dict)
        }
        for key in d.get("status_rules", {}):
            if key not in referenced:
                self.problem(
                    ("status_rules", key),
                    f"status rule {key!r} is not used by any operation's receipts",
                    at_key=True,
                )
        errors = self.errors()
        retry_raw = d.get("retries", {})
        retry = m.Retry(
            max_attempts=retry_raw.get("max_attempts"),
            initial_backoff=duration_seconds(retry_raw.get("initial_backoff")),
            max_backoff=duration_seconds(retry_raw.get("max_backoff")),
            deadline=duration_seconds(retry_raw.get("deadline")),
            on_status=tuple(retry_raw["on_status"]) if "on_status" in retry_raw else None,
        )
        polling_raw = d.get("polling", {})
        polling = m.Polling(
            first_check_after=duration_seconds(polling_raw.get("first_check_after")),
            interval=duration_seconds(polling_raw.get("interval")),
            give_up_after=duration_seconds(polling_raw.get("give_up_after")),
            provider_sync_interval=duration_seconds(polling_raw.get("provider_sync_interval")),
            note=polling_raw.get("note"),
        )
        if self.problems:
            return None
        return m.Provider(
            id=provider_id,
            spec_file=self.source.file,
            title=d["title"],
            description=" ".join(d.get("description", "").split()),
            channel=d.get("channel"),
            docs=d["docs"],
            api_version=d.get("api_version"),
            constants=dict(d.get("constants", {})),
            servers=servers,
            default_server=d["servers"]["default"],
            require_base_url=d["servers"].get("require_base_url", False),
            auth=auth,
            envelope=envelope,
            operations=operations,
            statuses=tuple(self.statuses.values()),
            rules=tuple(self.rules_used.values()),
            errors=errors,
            polling=polling,
            retry=retry,
            models_schema={"$defs": dict(sorted(self.defs.items()))},
            model_aliases=dict(sorted(self.aliases.items())),
            distribution=d.get("package", {}).get("name", ""),
            version=d.get("package", {}).get("version", "0.1.0"),
        )

    def servers(self) -> tuple[m.Server, ...]:
        raw = self.data["servers"]
        if raw["default"] not in raw["choices"]:
            self.problem(
                ("servers", "default"),
                f"default server {raw['default']!r} is not one of the choices: "
                f"{', '.join(raw['choices'])}",
            )
        return tuple(
            m.Server(k, v["url"].rstrip("/"), v.get("description", "")) for k, v in raw["choices"].items()
        )

    def envelope(self) -> m.Envelope:
        raw = self.data["envelope"]
        success = raw["success"]
        forms = {"equals": {"field", "equals"}, "absent": {"field", "absent"}, "http": {"http"}}
        mode = next((name for name, keys in forms.items() if set(success) == keys), None)
        if mode is None:
            self.problem(
                ("envelope", "success"), "success needs field + equals, field + absent: true, or http: 2xx"
            )
            mode = "http"
        return m.Envelope(
            success_mode=mode,
            success_fields=_as_tuple(success.get("field", ())),
            success_values=(
                tuple(success["equals"])
                if isinstance(success.get("equals"), list)
                else ((success["equals"],) if "equals" in success else ())
            ),
            code_fields=_as_tuple(raw.get("code", ())),
            message_fields=_as_tuple(raw.get("message", ())),
            request_id_fields=_as_tuple(raw.get("request_id", ())),
            data_field=raw.get("data"),
        )

    # -- statuses ----------------------------------------------------------------------

    def status_enum(self, key: str, raw: dict[str, Any]) -> m.StatusEnum:
        base: JsonPath = ("statuses", key)
        raw_type = "int" if raw["type"] == "integer" else "str"
        seen_members: set[str] = set()
        seen_values: dict[m.RawValue, str] = {}
        values = []
        for index, item in enumerate(raw["values"]):
            path = base + ("values", index)
            member = item["member"]
            if member in seen_members:
                self.problem(path + ("member",), f"member {member!r} is defined twice in {key!r}")
            seen_members.add(member)
            aliases = tuple(item.get("aliases", ()))
            for position, value in enumerate((item["value"], *aliases)):
                where = path + (("value",) if position == 0 else ("aliases", position - 1))
                if raw_type == "int" and not isinstance(value, int):
                    self.problem(where, f"{value!r} is not an integer, but {key!r} has type integer")
                elif raw_type == "str" and not isinstance(value, str):
                    self.problem(where, f"{value!r} is not text, but {key!r} has type string; quote it")
                if value in seen_values:
                    self.problem(
                        where, f"raw value {value!r} is already mapped by member {seen_values[value]}"
                    )
                seen_values[value] = member
            values.append(
                m.StatusValue(
                    item["value"], aliases, member, item["canonical"], " ".join(item["description"].split())
                )
            )
        return m.StatusEnum(key, raw["class"], raw_type, " ".join(raw["description"].split()), tuple(values))

    def check_unique_classes(self, names: Iterable[tuple[JsonPath, str]]) -> None:
        for path, name in names:
            self.claim_module_name(path, name, "class name")

    def claim_module_name(self, path: JsonPath, name: str, what: str, *, at_key: bool = False) -> None:
        """Every module-level name the spec introduces is one namespace (the package's
        ``__init__`` re-exports them all): free of Python's and the generated code's names,
        and used once."""
        why = reserved("module", name)
        if why is not None:
            self.problem(path, f"{what} {name!r} is {why}; give another name", at_key=at_key)
        elif name in self.class_names:
            first = self.source.locate(self.class_names[name])
            self.problem(path, f"{what} {name!r} is already used (line {first[0]})", at_key=at_key)
        else:
            self.class_names[name] = path

    def check_name(self, scope: Scope, path: JsonPath, name: str, what: str, *, at_key: bool = False) -> None:
        why = reserved(scope, name)
        if why is not None:
            self.problem(path, f"{what} {name!r} is {why}; give another name", at_key=at_key)

    # -- operations ----------------------------------------------------------------------

    def operation(self, name: str, raw: dict[str, Any]) -> m.Operation:
        base: JsonPath = ("operations", name)
        prefix = pascal(name)
        self.check_name("client_method", base, name, "operation", at_key=True)
        self.claim_module_name(base, name.upper(), f"operation {name!r}: its constant", at_key=True)
        if "pagination" in raw:
            self.claim_module_name(
                base, f"{name.upper()}_PAGING", f"operation {name!r}: its constant", at_key=True
            )
        if "receipts" in raw:
            self.claim_module_name(base, f"{name}_receipts", f"operation {name!r}: its function", at_key=True)
        params = self.params(base, raw.get("params", {}))
        placeholders = re.findall(r"\{([^{}]+)\}", raw["path"])
        path_wires = {p.wire for p in params if p.location == "path"}
        for placeholder in placeholders:
            if placeholder not in path_wires:
                self.problem(
                    base + ("path",),
                    f"path placeholder {{{placeholder}}} has no parameter with in: path, "
                    f"wire: {placeholder}",
                )
        for param in params:
            if param.location == "path" and param.wire not in placeholders:
                self.problem(
                    base + ("params", param.name),
                    f"path parameter {param.wire!r} is not in the path " f"{raw['path']!r}",
                    at_key=True,
                )
        params_class = f"{prefix}Params"
        self.check_unique_classes([(base, params_class)])
        self.defs[params_class] = self.params_schema(params_class, raw["summary"], params)
        response = raw["response"]
        root = self.object_model(base + ("response",), response)
        receipts = None
        if "receipts" in raw:
            receipts = self.receipts(base + ("receipts",), name, raw["receipts"], root, params)
        pagination = (
            self.pagination(base + ("pagination",), raw["pagination"], root, params)
            if "pagination" in raw
            else None
        )
        batch = None
        if "batch" in raw:
            batch = self.batch(base + ("batch",), raw["batch"], params, receipts is not None)
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
            headers={**self.data.get("headers", {}), **raw.get("headers", {})},
            alternatives=self.alternatives(base + ("alternatives",), raw.get("alternatives", {}), params),
        )

    def pagination(
        self, base: JsonPath, raw: dict[str, Any], root: m.ObjectModel, params: tuple[m.Param, ...]
    ) -> m.Pagination | None:
        style = raw.get("style", "page_number")
        needed = {
            "page_number": ("page", "size", "total"),
            "next_url": ("next",),
            "offset": ("offset", "limit"),
        }
        own = {
            "page_number": {"page", "size", "total", "first_page"},
            "next_url": {"next"},
            "offset": {"offset", "limit", "total", "max_records"},
        }
        for key in sorted(set(raw) - own[style] - {"style", "items"}):
            self.problem(base + (key,), f"{key!r} does not apply to {style} pagination", at_key=True)
        for key in needed[style]:
            if key not in raw:
                self.problem(base, f"{style} pagination needs {key!r}")
                return None
        by_name = {p.name: p for p in params if p.const is None}
        for key in {"page_number": ("page", "size"), "offset": ("offset", "limit")}.get(style, ()):
            param = by_name.get(raw[key])
            if param is None:
                self.problem(
                    base + (key,), f"pagination {key} {raw[key]!r} is not a parameter of this operation"
                )
                return None
            if param.type != "integer":
                self.problem(base + (key,), f"pagination {key} {raw[key]!r} must be an integer parameter")
                return None
        scopes, loops = self.record_scopes(base + ("items",), raw["items"], root)
        if scopes is None:
            return None
        if len(loops) != 1:
            self.problem(
                base + ("items",), f"pagination items {raw['items']!r} must name one list, like Records[]"
            )
            return None
        pointers: dict[str, str] = {}
        for key in ("total", "next"):
            if key in raw:
                pointer = self.field_reference(base + (key,), raw[key], scopes[:1])
                if pointer is None:
                    return None
                pointers[key] = pointer[0]
        return m.Pagination(
            style=style,
            page_param=raw.get("page"),
            size_param=raw.get("size"),
            first_page=raw.get("first_page", 1),
            items_expression=loops[0].iterable,
            item_class=scopes[-1][2].class_name,
            total_expression=pointers.get("total"),
            next_expression=pointers.get("next"),
            offset_param=raw.get("offset"),
            limit_param=raw.get("limit"),
            max_records=raw.get("max_records"),
        )

    def alternatives(
        self, base: JsonPath, raw: dict[str, list[str]], params: tuple[m.Param, ...]
    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
        by_name = {p.name: p for p in params}
        owner: dict[str, str] = {}
        for group, names in raw.items():
            for index, name in enumerate(names):
                where = base + (group, index)
                param = by_name.get(name)
                if param is None:
                    self.problem(where, f"{name!r} is not a parameter of this operation")
                elif param.required or param.const is not None or param.from_credential is not None:
                    self.problem(
                        where, f"{name!r} is required, constant or a credential: it cannot be an alternative"
                    )
                if name in owner:
                    self.problem(where, f"{name!r} is already in the alternative {owner[name]!r}")
                owner.setdefault(name, group)
        return tuple((group, tuple(names)) for group, names in raw.items())

    def batch(
        self, base: JsonPath, raw: dict[str, Any], params: tuple[m.Param, ...], has_receipts: bool
    ) -> m.Batch | None:
        param = next((p for p in params if p.name == raw["param"] and p.const is None), None)
        if param is None:
            self.problem(
                base + ("param",), f"batch param {raw['param']!r} is not a parameter of this operation"
            )
            return None
        if param.type != "array" or "maxItems" not in param.json_schema:
            self.problem(base + ("param",), f"batch param {raw['param']!r} must be an array with max_items")
            return None
        if not has_receipts:
            self.problem(base, "batching merges receipts: the operation needs 'receipts'")
            return None
        return m.Batch(param.name, param.json_schema["maxItems"])

    def params(self, base: JsonPath, raw: dict[str, Any]) -> tuple[m.Param, ...]:
        out = []
        wires: dict[tuple[str, str], str] = {}
        for name, p in raw.items():
            path = base + ("params", name)
            self.check_name("argument", path, name, "parameter", at_key=True)
            location_key = ("body" if p["in"] in ("json", "form") else p["in"], p["wire"])
            if location_key in wires:
                self.problem(
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
                    self.problem(
                        path + (key,), f"{key!r} does not apply to a parameter of type {ptype!r}", at_key=True
                    )
            date_format = self.time_pattern(path, ptype, p) if ptype in ("date", "datetime") else None
            for key in ("from_credential", "default_from_credential"):
                if key in p:
                    if p[key] not in self.data["auth"]["credentials"]:
                        self.problem(path + (key,), f"{p[key]!r} is not a credential")
                    self.used_in_auth.add(p[key])
            if "from_credential" in p and "default_from_credential" in p:
                self.problem(
                    path + ("default_from_credential",),
                    "from_credential always fills the parameter; "
                    "default_from_credential only when the caller gives none: choose one",
                )
            if ptype == "array":
                for key in ("items", "array_style"):
                    if key not in p:
                        self.problem(path, f"an array parameter needs {key!r}")
                if p.get("array_style") == "json" and p["in"] != "json":
                    self.problem(path + ("array_style",), "array_style json needs in: json")
            if "const" in p and (p.get("required") or "default" in p):
                self.problem(
                    path + ("const",), "a const parameter is always sent; drop 'required' and 'default'"
                )
            if "minimum" in p and "maximum" in p and p["minimum"] > p["maximum"]:
                self.problem(path + ("minimum",), f"minimum {p['minimum']} is above maximum {p['maximum']}")
            if "default" in p and not _default_fits(ptype, p["default"]):
                self.problem(path + ("default",), f"default {p['default']!r} is not a valid {ptype}")
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
                )
            )
        return tuple(out)

    def time_pattern(self, path: JsonPath, ptype: str, p: dict[str, Any]) -> str | None:
        """The wire pattern of a date or date-time parameter, checked by the runtime that
        will write it. A date pattern with a time of day would silently send midnight."""
        if "format" not in p:
            example = "yyyyMMdd" if ptype == "date" else "yyyy-MM-dd'T'HH:mm:ssXXX"
            self.problem(path, f"a {ptype} parameter needs a 'format' such as {example}")
            return None
        try:
            pattern = times.compile_pattern(p["format"])
        except ValueError as exc:
            self.problem(path + ("format",), f"format: {exc}")
            return None
        if ptype == "date" and (pattern.has_time or pattern.has_offset):
            self.problem(
                path + ("type",),
                f"format {p['format']!r} has a time of day: make the parameter "
                "type: datetime (a date would be sent at midnight)",
            )
        if ptype == "datetime" and not pattern.has_time:
            self.problem(path + ("type",), f"format {p['format']!r} has no time of day: make it type: date")
        return str(p["format"])

    def params_schema(self, class_name: str, summary: str, params: tuple[m.Param, ...]) -> dict[str, Any]:
        properties = {}
        required = []
        for p in params:
            if p.const is not None or p.from_credential is not None:
                continue
            properties[p.wire] = p.json_schema
            if p.required and p.default is None:
                required.append(p.wire)
            if p.name != p.wire:
                self.aliases[f"{class_name}.{p.wire}"] = p.name
        schema: dict[str, Any] = {
            "title": class_name,
            "type": "object",
            "description": f"Parameters of: {' '.join(summary.split())}",
            "properties": properties,
        }
        if required:
            schema["required"] = required
        return schema

    def check_python_name(self, path: JsonPath, name: str, *, at_key: bool = False) -> None:
        self.check_name("field", path, name, "field name", at_key=at_key)

    def object_model(self, path: JsonPath, schema: dict[str, Any]) -> m.ObjectModel:
        class_name = schema.get("title", "")
        if not class_name:
            self.problem(path, "an object needs a 'title': the Python class name of its model")
            class_name = "Unnamed"
        obj = m.ObjectModel(class_name)
        properties = schema.get("properties")
        if not properties:
            self.problem(path, "an object needs 'properties'")
            properties = {}
        required = schema.get("required", [])
        for index, wire in enumerate(required):
            if wire not in properties:
                self.problem(
                    path + ("required", index), f"required field {wire!r} is not among the properties"
                )
        json_properties: dict[str, Any] = {}
        names: dict[str, str] = {}
        for wire, field_schema in properties.items():
            field_path = path + ("properties", wire)
            name = field_schema.get("name")
            if name is None:
                if _SNAKE.match(wire):
                    name = wire
                else:
                    self.problem(
                        field_path,
                        f"wire name {wire!r} is not a snake_case Python name; add "
                        f"name: {snake_from_class(re.sub(r'[^A-Za-z0-9]', '', wire)) or 'field'}",
                        at_key=True,
                    )
                    name = "invalid"
            self.check_python_name(
                field_path + (("name",) if "name" in field_schema else ()),
                name,
                at_key="name" not in field_schema,
            )
            if name in names:
                self.problem(
                    field_path, f"Python name {name!r} is already used by field {names[name]!r}", at_key=True
                )
            names[name] = wire
            if name != wire:
                self.aliases[f"{class_name}.{wire}"] = name
            model_field, json_schema = self.model_field(field_path, wire, name, field_schema)
            model_field.optional = wire not in required
            obj.fields[wire] = model_field
            json_properties[wire] = json_schema
        definition: dict[str, Any] = {"title": class_name, "type": "object", "properties": json_properties}
        if schema.get("description"):
            definition["description"] = " ".join(schema["description"].split())
        if required:
            definition["required"] = list(required)
        if class_name in self.defs and self.defs[class_name] == definition:
            return obj  # the same object described again (e.g. through a YAML anchor): one class
        self.check_unique_classes([(path + ("title",), class_name)])
        self.defs[class_name] = definition
        return obj

    def model_field(
        self, path: JsonPath, wire: str, name: str, schema: dict[str, Any]
    ) -> tuple[m.ModelField, dict[str, Any]]:
        description = " ".join(schema.get("description", "").split())
        declared = schema.get("type")
        out: dict[str, Any]
        if "status" in schema:
            enum = self.statuses.get(schema["status"])
            if enum is None:
                self.problem(
                    path + ("status",),
                    f"unknown status enum {schema['status']!r}; defined: "
                    f"{', '.join(self.statuses) or 'none'}",
                )
                out = {}
            else:
                expected = "integer" if enum.raw_type == "int" else "string"
                if declared is not None and declared != expected:
                    self.problem(
                        path + ("type",),
                        f"status {enum.key!r} holds {expected} values; drop 'type' or "
                        f"make it {expected!r}",
                    )
                # Statuses drift between text and numbers ("0" and 0, "3" and 3): accept both,
                # so parsing never fails on it; the enum's lookup matches either way.
                out = (
                    {"anyOf": [{"type": "integer"}, {"type": "string"}]}
                    if enum.raw_type == "int"
                    else {"anyOf": [{"type": "string"}, {"type": "integer"}]}
                )
            field = m.ModelField(wire, name, "scalar", status=enum)
        elif declared == "object" or ("properties" in schema and declared is None):
            obj = self.object_model(path, schema)
            field = m.ModelField(wire, name, "object", obj=obj)
            out = {"$ref": f"#/$defs/{obj.class_name}"}
        elif declared == "array":
            items = schema.get("items")
            if items is None:
                self.problem(path, "an array needs 'items'")
                return m.ModelField(wire, name, "array", item_kind="scalar"), {"type": "array"}
            if items.get("type") == "object" or "properties" in items:
                obj = self.object_model(path + ("items",), items)
                field = m.ModelField(wire, name, "array", obj=obj, item_kind="object")
                out = {"type": "array", "items": {"$ref": f"#/$defs/{obj.class_name}"}}
            else:
                _, item_schema = self.model_field(path + ("items",), wire, name, items)
                field = m.ModelField(wire, name, "array", item_kind="scalar")
                out = {"type": "array", "items": item_schema}
        elif declared is None:
            self.problem(path, f"field {wire!r} needs a 'type' (or 'status')", at_key=True)
            return m.ModelField(wire, name, "scalar"), {}
        else:
            types = declared if isinstance(declared, list) else [declared]
            out = {"type": types[0]} if len(types) == 1 else {"anyOf": [{"type": t} for t in types]}
            field = m.ModelField(wire, name, "scalar")
        if "format" in schema:
            field.time_format = schema["format"]
            if isinstance(schema["format"], dict):
                try:
                    times.compile_pattern(schema["format"]["pattern"])
                except ValueError as exc:
                    self.problem(path + ("format", "pattern"), f"pattern: {exc}")
        if description:
            out["description"] = description
        return field, out

    # -- receipts ------------------------------------------------------------------------

    def receipts(
        self,
        base: JsonPath,
        op_name: str,
        raw: dict[str, Any],
        root: m.ObjectModel,
        params: tuple[m.Param, ...],
    ) -> m.ReceiptPlan | None:
        scopes, loops = self.record_scopes(base + ("records",), raw["records"], root)
        if scopes is None:
            return None
        record_variable = scopes[-1][1]
        uses_params = False

        def resolve(key: str, text: str) -> tuple[str, m.ModelField | None] | None:
            nonlocal uses_params
            if text.startswith("$param."):
                name = text[len("$param.") :]
                match = [p for p in params if p.name == name and p.const is None]
                if not match:
                    self.problem(base + (key,), f"{text!r}: no parameter {name!r} in this operation")
                    return None
                uses_params = True
                return f"(params.{name} if params is not None else None)", None
            return self.field_reference(base + (key,), text, scopes)

        fields = []
        for attribute in ("message_id", "recipient", "client_ref", "error_code", "error_description"):
            if attribute in raw:
                resolved = resolve(attribute, raw[attribute])
                if resolved:
                    expression, field = resolved
                    if field is not None and field.kind != "scalar":
                        self.problem(base + (attribute,), f"{raw[attribute]!r} is not a scalar field")
                    fields.append(m.ReceiptField(attribute, f"as_text({expression})", "as_text"))
        details = []
        for name, source in raw.get("details", {}).items():
            if not _SNAKE.match(name):
                self.problem(
                    base + ("details", name), f"detail name {name!r} must be snake_case", at_key=True
                )
                continue
            resolved = resolve("details", source)
            if resolved:
                details.append((name, resolved[0]))
        for attribute in ("submitted_at", "completed_at"):
            if attribute in raw:
                resolved = self.field_reference(base + (attribute,), raw[attribute], scopes)
                if resolved:
                    expression, field = resolved
                    converter = _time_converter(field.time_format if field else None)
                    if converter is None:
                        self.problem(
                            base + (attribute,),
                            f"{raw[attribute]!r} has no time 'format' (unix_seconds, "
                            "unix_milliseconds, iso8601 or a pattern)",
                        )
                    else:
                        helper, extra = converter
                        arguments = "".join(f", {argument}" for argument in extra)
                        fields.append(m.ReceiptField(attribute, f"{helper}({expression}{arguments})", helper))
        status = raw["status"]
        raw_status: list[tuple[str, str]] = []
        status_expression = "DeliveryStatus.UNKNOWN"
        if isinstance(status, str):
            resolved = self.field_reference(base + ("status",), status, scopes)
            if resolved:
                expression, field = resolved
                if field is None or field.status is None:
                    self.problem(
                        base + ("status",), f"{status!r} is not a status field (give it 'status: <enum>')"
                    )
                else:
                    status_expression = f"{field.status.function_name}({expression})"
                    raw_status.append((field.wire, expression))
        else:
            rule = self.status_rule(base + ("status", "rule"), status["rule"], scopes)
            if rule is not None:
                rule_arguments: list[str] = []
                for rule_input in rule.inputs:
                    resolved = self.field_reference(base + ("status",), rule_input.wire, scopes)
                    assert resolved is not None  # checked while resolving the rule
                    rule_arguments.append(resolved[0])
                    raw_status.append((rule_input.wire, resolved[0]))
                status_expression = f"{rule.function_name}({', '.join(rule_arguments)})"
        ids = raw.get("ids")
        ids_param = None
        if ids is not None:
            ids_param = next((p for p in params if p.name == ids["param"] and p.const is None), None)
            if ids_param is None or ids_param.from_credential is not None:
                self.problem(
                    base + ("ids", "param"),
                    f"ids param {ids['param']!r} is not a parameter of this operation",
                )
            if ids["field"] not in raw:
                self.problem(
                    base + ("ids", "field"),
                    f"ids are matched against {ids['field']!r}, which these " f"receipts do not set",
                )
        return m.ReceiptPlan(
            function_name=f"{op_name}_receipts",
            loops=tuple(loops),
            record_variable=record_variable,
            status_expression=status_expression,
            raw_status=tuple(raw_status),
            fields=tuple(fields),
            details=tuple(details),
            uses_params=uses_params,
            ids_param=ids_param.name if ids_param else None,
            ids_field=ids["field"] if ids else None,
            ids_many=ids_param is not None and ids_param.type == "array",
        )

    def record_scopes(
        self, path: JsonPath, records: str, root: m.ObjectModel
    ) -> tuple[list[tuple[tuple[str, ...], str, m.ObjectModel]] | None, list[m.Loop]]:
        """Scopes are (wire path down to a list, its loop variable, the list's record model),
        outermost first; the first is always the response itself, bound to ``result``."""
        scopes: list[tuple[tuple[str, ...], str, m.ObjectModel]] = [((), "result", root)]
        if records == ".":
            return scopes, []
        if not records.endswith("[]"):
            self.problem(path, f"records path {records!r} must be '.' or end with [] (the list of records)")
            return None, []
        loops: list[m.Loop] = []
        segments = records.split(".")
        current_obj, current_var = root, "result"
        chain: list[m.ModelField] = []
        wire_path: list[str] = []
        for index, segment in enumerate(segments):
            is_array = segment.endswith("[]")
            wire = segment[:-2] if is_array else segment
            field = current_obj.fields.get(wire)
            if field is None:
                self.problem(
                    path,
                    f"records path {records!r}: {current_obj.class_name} has no field {wire!r}; "
                    f"fields: {', '.join(current_obj.fields)}",
                )
                return None, []
            wire_path.append(segment)
            chain.append(field)
            if is_array:
                if field.kind != "array" or field.item_kind != "object" or field.obj is None:
                    self.problem(path, f"records path {records!r}: {wire!r} is not a list of objects")
                    return None, []
                last = index == len(segments) - 1
                variable = "record" if last else snake_from_class(field.obj.class_name)
                loops.append(m.Loop(variable, f"{_optional_chain(current_var, chain)} or []"))
                current_obj, current_var, chain = field.obj, variable, []
                scopes.append((tuple(wire_path), variable, field.obj))
            else:
                if field.kind != "object" or field.obj is None:
                    self.problem(path, f"records path {records!r}: {wire!r} is not an object")
                    return None, []
                current_obj = field.obj
        return scopes, loops

    def field_reference(
        self, path: JsonPath, text: str, scopes: list[tuple[tuple[str, ...], str, m.ObjectModel]]
    ) -> tuple[str, m.ModelField | None] | None:
        """A field path as a Python expression over the loop variables.

        Relative paths start at the record; /rooted paths start at the response and may
        cross the lists the records path iterates (they then read the current element)."""
        if text.startswith("/"):
            segments = text[1:].split(".")
            wires, variable, obj = max(
                (s for s in scopes if tuple(segments[: len(s[0])]) == s[0]), key=lambda s: len(s[0])
            )
            segments = segments[len(wires) :]
        else:
            _, variable, obj = scopes[-1]
            segments = text.split(".")
        chain: list[m.ModelField] = []
        current: m.ObjectModel | None = obj
        for segment in segments:
            if segment.endswith("[]"):
                self.problem(path, f"{text!r}: {segment!r} is a list that the records path does not iterate")
                return None
            field = current.fields.get(segment) if current else None
            if field is None:
                known = ", ".join(current.fields) if current else "none (not an object)"
                self.problem(path, f"{text!r}: no field {segment!r} here; fields: {known}")
                return None
            chain.append(field)
            current = field.obj if field.kind == "object" else None
        return _optional_chain(variable, chain), chain[-1]

    def status_rule(
        self, path: JsonPath, key: str, scopes: list[tuple[tuple[str, ...], str, m.ObjectModel]]
    ) -> m.StatusRule | None:
        rules = self.data.get("status_rules", {})
        if key not in rules:
            self.problem(path, f"unknown status rule {key!r}; defined: {', '.join(rules) or 'none'}")
            return None
        raw = rules[key]
        base: JsonPath = ("status_rules", key)
        inputs: dict[str, m.RuleInput] = {}

        def rule_input(at: JsonPath, wire: str) -> m.RuleInput | None:
            if wire in inputs:
                return inputs[wire]
            resolved = self.field_reference(at, wire, scopes)
            if resolved is None:
                return None
            field = resolved[1]
            if field is None or field.status is None:
                self.problem(at, f"{wire!r} is not a status field (give it 'status: <enum>')")
                return None
            inputs[wire] = m.RuleInput(field.name, wire, field.status)
            return inputs[wire]

        branches: list[m.RuleBranch] = []
        items = raw["first_match"]
        for index, item in enumerate(items):
            at = base + ("first_match", index)
            if ("use" in item) == ("canonical" in item):
                self.problem(
                    at, "a rule needs exactly one of 'use' (a status field) or 'canonical' (a status)"
                )
                continue
            condition = None
            explained = ""
            when = item.get("when")
            if when is not None:
                tests = [k for k in ("final", "in") if k in when]
                if len(tests) != 1:
                    self.problem(at + ("when",), "'when' needs 'field' and exactly one of 'final' or 'in'")
                    continue
                source = rule_input(at + ("when", "field"), when["field"])
                if source is None:
                    continue
                if "final" in when:
                    condition = f"{'' if when['final'] else 'not '}{source.variable}.is_final"
                    explained = (
                        f"If `{source.wire}` maps to a {'final' if when['final'] else 'non-final'} status"
                    )
                else:
                    members = []
                    for position, value in enumerate(when["in"]):
                        member = next((v.member for v in source.status.values if value in v.raw_values), None)
                        if member is None:
                            self.problem(
                                at + ("when", "in", position),
                                f"{value!r} is not a raw value of status {source.status.key!r}",
                            )
                        elif member not in members:
                            members.append(member)
                    cls = source.status.class_name
                    condition = (
                        f"{cls}.parse({source.parameter}) in ({', '.join(f'{cls}.{x}' for x in members)},)"
                    )
                    explained = f"If `{source.wire}` is " + " or ".join(f"`{value}`" for value in when["in"])
            elif index != len(items) - 1:
                self.problem(
                    at, "a rule without 'when' always matches, so the rules after it never run; move it last"
                )
            if "use" in item:
                target = rule_input(at + ("use",), item["use"])
                if target is None:
                    continue
                result = target.variable
                outcome = f"the status `{target.wire}` maps to"
            else:
                result = f"DeliveryStatus.{CANONICAL_BY_VALUE[item['canonical']].member}"
                outcome = f"`{item['canonical']}`"
            explanation = f"{explained}: {outcome}." if condition else f"Otherwise: {outcome}."
            branches.append(m.RuleBranch(condition, result, explanation))
        if branches and branches[-1].condition is not None:
            branches.append(m.RuleBranch(None, "DeliveryStatus.UNKNOWN", "Otherwise: `unknown`."))
        rule = m.StatusRule(
            key, " ".join(raw["description"].split()), tuple(inputs.values()), tuple(branches)
        )
        previous = self.rules_used.get(key)
        if previous is not None and previous != rule:
            self.problem(path, f"status rule {key!r} resolves to different fields in two operations")
        self.rules_used[key] = rule
        return rule

    # -- errors --------------------------------------------------------------------------

    def errors(self) -> tuple[m.ErrorCode, ...]:
        out = []
        seen: set[tuple[str, str]] = set()
        for index, item in enumerate(self.data.get("errors", [])):
            path: JsonPath = ("errors", index)
            if ("code" in item) == ("prefix" in item):
                self.problem(path, "an error entry needs exactly one of 'code' or 'prefix'")
                continue
            key = ("code", str(item["code"])) if "code" in item else ("prefix", item["prefix"])
            if key in seen:
                self.problem(path, f"error {key[0]} {key[1]!r} is listed twice")
            seen.add(key)
            if item.get("retryable") and item["kind"] in _NEVER_RETRIED_KINDS:
                self.problem(
                    path + ("retryable",),
                    f"a {item['kind']} error is never retried: another attempt "
                    "cannot fix it; remove 'retryable'",
                )
            out.append(
                m.ErrorCode(
                    code=str(item["code"]) if "code" in item else None,
                    prefix=item.get("prefix"),
                    kind=item["kind"],
                    retryable=item.get("retryable", False),
                    description=" ".join(item["description"].split()),
                    http_status=item.get("http_status"),
                )
            )
        return tuple(out)


def _as_tuple(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _optional_chain(variable: str, chain: list[m.ModelField]) -> str:
    """``a.b.c`` guarded so that an absent optional object gives None instead of an error."""
    expression = variable
    guards = []
    for index, field in enumerate(chain):
        expression = f"{expression}.{field.name}"
        if index < len(chain) - 1 and field.optional:
            guards.append(f"{expression} is not None")
    if not guards:
        return expression
    return f"({expression} if {' and '.join(guards)} else None)"


def _time_converter(time_format: Any) -> tuple[str, tuple[str, ...]] | None:
    """The dlr_core.values reader for a time format, and its extra arguments as literals."""
    simple = {
        "unix_seconds": "from_unix_seconds",
        "unix_milliseconds": "from_unix_milliseconds",
        "iso8601": "from_iso8601",
        "rfc2822": "from_rfc2822",
    }
    if isinstance(time_format, str) and time_format in simple:
        return simple[time_format], ()
    if isinstance(time_format, dict):
        return "from_pattern", (repr(time_format["pattern"]), repr(time_format["utc_offset"]))
    return None


def _default_fits(ptype: str, value: Any) -> bool:
    if ptype == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if ptype == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ptype == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str)


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


def parse_provider(spec: LoadedSpec) -> tuple[m.Provider | None, list[Problem]]:
    parser = _Parser(spec)
    provider = parser.parse()
    return provider, parser.problems
