"""Stage 2: turn a schema-valid spec into the intermediate model, checking everything the
JSON Schema cannot: cross-references, name collisions, raw value types, template
variables. Problems are collected and returned as values, never raised one by one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dlr_core import retry as retry_rules
from dlr_core import signing

from generator import model as m
from generator.loader import JsonPath, LoadedSpec
from generator.parse_base import duration_seconds
from generator.parse_operations import OperationsParser
from generator.problems import Problem

_TEMPLATE_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_TEMPLATE_REFERENCE = re.compile(rf"^({signing.VARIABLE_PATTERN})((?:\|{signing.FILTER_PATTERN})*)$")
TEMPLATE_FILTERS = signing.FILTERS
# Variables every auth template may use: the request being signed, and the scheme's own values.
REQUEST_VARIABLES = frozenset({"method", "host", "path", "path_and_query", "body"})
# Errors another attempt cannot fix; the runtime never retries them.
_NEVER_RETRIED_KINDS = frozenset(kind.value for kind in retry_rules.NEVER_RETRIED_KINDS)
_SIGN_STEP_KINDS = signing.STEP_KINDS


def template_references(template: str) -> tuple[list[tuple[str, tuple[str, ...]]], str | None]:
    """The ``(variable, filters)`` a template uses, or an error message if it is malformed."""
    refs = []
    for match in _TEMPLATE_FIELD.finditer(template):
        text = match.group(0)
        if text in ("{{", "}}"):
            continue
        if match.group(1) is None:
            return [], f"unbalanced {text!r} (write {text * 2} for a literal brace)"
        ref = _TEMPLATE_REFERENCE.match(match.group(1))
        if ref is None:
            return [], f"{{{match.group(1)}}} is not a variable reference like {{name}} or {{name|filter}}"
        filters = tuple(f for f in ref.group(2).split("|") if f)
        refs.append((ref.group(1), filters))
    return refs, None


class _Parser(OperationsParser):
    """The whole spec: each concern is a layer (parse_statuses, parse_responses,
    parse_receipts, parse_operations, each building on the ones before); this one adds the
    top level, servers, the envelope, auth and errors."""

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
            self.claim_module_name(
                ("statuses", key), enum.field_type_name, f"status {key!r}: its field type", at_key=True
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
            time_patterns=tuple(self.time_patterns.values()),
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
        forms: dict[m.SuccessMode, set[str]] = {
            "equals": {"field", "equals"},
            "absent": {"field", "absent"},
            "http": {"http"},
        }
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

    # -- auth ------------------------------------------------------------------------

    def auth(self) -> m.Auth:
        raw = self.data["auth"]
        for name in raw["credentials"]:
            self.check_name("credential", ("auth", "credentials", name), name, "credential", at_key=True)
        credentials = tuple(
            m.Credential(
                name, " ".join(c["description"].split()), c.get("secret", False), c.get("format", "text")
            )
            for name, c in raw["credentials"].items()
        )
        if raw["default_scheme"] not in raw["schemes"]:
            self.problem(
                ("auth", "default_scheme"),
                f"default scheme {raw['default_scheme']!r} is not one of: {', '.join(raw['schemes'])}",
            )
        schemes = []
        for name, scheme in raw["schemes"].items():
            before = set(self.used_in_auth)
            self.used_in_auth = set()
            self.auth_scheme(name, scheme, {c.name for c in credentials})
            uses = tuple(c.name for c in credentials if c.name in self.used_in_auth)
            self.used_in_auth |= before
            schemes.append(
                m.AuthScheme(name, " ".join(scheme["description"].split()), scheme.get("docs"), scheme, uses)
            )
        return m.Auth(credentials, raw["default_scheme"], tuple(schemes))

    def auth_scheme(self, name: str, scheme: dict[str, Any], credentials: set[str]) -> None:
        base: JsonPath = ("auth", "schemes", name)
        known = (
            set(credentials)
            | REQUEST_VARIABLES
            | {"action", "api_version"}
            | set(self.data.get("constants", {}))
        )
        if "timestamp" in scheme:
            known.add("timestamp")
        if "nonce" in scheme:
            known.add("nonce")

        def check(path: JsonPath, template: str) -> None:
            refs, error = template_references(template)
            if error:
                self.problem(path, f"template {template!r}: {error}")
            for variable, filters in refs:
                if variable not in known:
                    hint = _missing_variable_hint(variable, credentials)
                    self.problem(path, f"template uses {{{variable}}}, which is not defined here{hint}")
                self.used_in_auth.add(variable)
                for f in filters:
                    if f not in TEMPLATE_FILTERS:
                        self.problem(
                            path,
                            f"unknown template filter {f!r}; filters: {', '.join(sorted(TEMPLATE_FILTERS))}",
                        )

        # In request order: what is added before signing cannot see the signature steps'
        # results; what is attached afterwards can.
        for location, values in scheme.get("add", {}).items():
            for key, template in values.items():
                check(base + ("add", location, key), template)
        for index, step in enumerate(scheme.get("sign", [])):
            self.sign_step(base + ("sign", index), step, known, credentials, check)
        for location, values in scheme.get("attach", {}).items():
            for key, template in values.items():
                check(base + ("attach", location, key), template)
        if scheme.get("nonce", {}).get("kind") == "uuid4" and "length" in scheme["nonce"]:
            self.problem(base + ("nonce", "length"), "a uuid4 nonce has a fixed length; remove 'length'")
        if scheme.get("nonce", {}).get("kind") in ("alphanumeric", "hex") and "length" not in scheme["nonce"]:
            self.problem(base + ("nonce",), "an alphanumeric or hex nonce needs a 'length'")

    def sign_step(
        self,
        path: JsonPath,
        step: dict[str, Any],
        known: set[str],
        credentials: set[str],
        check: Callable[[JsonPath, str], None],
    ) -> None:
        kinds = [k for k in _SIGN_STEP_KINDS if k in step]
        if len(kinds) != 1:
            self.problem(
                path,
                f"a sign step needs exactly one of: {', '.join(_SIGN_STEP_KINDS)}"
                + (f" (found {', '.join(kinds)})" if kinds else ""),
            )
            return
        kind = kinds[0]
        body = step[kind]
        if kind == "format":
            check(path + ("format",), body)
        elif kind == "json_object":
            for index, item in enumerate(body):
                check(path + ("json_object", index, "value"), item["value"])
        elif kind == "canonical_request":
            check(path + (kind, "payload_hash"), body["payload_hash"])
            known.add("signed_headers")
        elif kind in ("hash", "hmac", "rsa_sign"):
            check(path + (kind, "input"), body["input"])
            if kind == "hmac":
                check(path + (kind, "key"), body["key"])
            if kind == "rsa_sign":
                self.used_in_auth.add(body["key"])
            if kind == "rsa_sign" and body["key"] not in credentials:
                self.problem(
                    path + (kind, "key"),
                    f"rsa_sign key {body['key']!r} is not a credential; credentials: "
                    f"{', '.join(sorted(credentials))}",
                )
        if step["as"] in known:
            self.problem(path + ("as",), f"{step['as']!r} is already defined; pick another name")
        known.add(step["as"])

    def check_auth_needs(self, auth: m.Auth, operations: tuple[m.Operation, ...]) -> None:
        used = self.used_in_auth
        if "action" in used:
            for op in operations:
                if op.action is None:
                    self.problem(
                        ("operations", op.name),
                        f"operation {op.name!r} needs an 'action': the auth scheme " "uses {action}",
                        at_key=True,
                    )
        if "api_version" in used and "api_version" not in self.data:
            self.problem(
                ("auth",),
                "the auth scheme uses {api_version}, but the spec has no top-level api_version",
                at_key=True,
            )
        for credential in auth.credentials:
            if credential.name not in used:
                self.problem(
                    ("auth", "credentials", credential.name),
                    f"credential {credential.name!r} is not used by any auth scheme",
                    at_key=True,
                )

    # -- statuses ----------------------------------------------------------------------

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


def _missing_variable_hint(variable: str, credentials: set[str]) -> str:
    if variable == "timestamp":
        return "; add 'timestamp: <format>' to the scheme"
    if variable == "nonce":
        return "; add 'nonce: {kind: ...}' to the scheme"
    return (
        f" (credentials: {', '.join(sorted(credentials))}; request: {', '.join(sorted(REQUEST_VARIABLES))})"
    )


def parse_provider(spec: LoadedSpec) -> tuple[m.Provider | None, list[Problem]]:
    parser = _Parser(spec)
    provider = parser.parse()
    return provider, parser.problems
