"""Stage 2: turn a schema-valid spec into the intermediate model, checking everything the
JSON Schema cannot: cross-references, name collisions, raw value types, template
variables. Problems are collected and returned as values, never raised one by one.
"""

from __future__ import annotations

from dlr_core import retry as retry_rules

from generator import model as m
from generator.loader import JsonPath, LoadedSpec
from generator.parse_auth import AuthParser
from generator.parse_base import duration_seconds
from generator.parse_callbacks import CallbacksParser
from generator.parse_operations import OperationsParser
from generator.problems import Problem

# Errors another attempt cannot fix; the runtime never retries them.
_NEVER_RETRIED_KINDS = frozenset(kind.value for kind in retry_rules.NEVER_RETRIED_KINDS)

# A push-only provider answers no request: its model's envelope is never read.
NO_ENVELOPE = m.Envelope("http", (), (), (), (), (), None)


class _Parser(OperationsParser, CallbacksParser):
    """The whole spec: each concern is a layer (parse_statuses, parse_responses,
    parse_receipts, parse_operations, each building on the ones before; parse_auth beside
    them); this one adds the top level, servers, the envelope and errors."""

    # -- top level -------------------------------------------------------------------

    def parse(self) -> m.Provider | None:
        d = self.data
        provider_id = d["provider"]
        if provider_id != self.spec.path.stem:
            self.problem(
                ("provider",), f"provider id {provider_id!r} must match the file name {self.spec.path.name!r}"
            )
        pulls = "operations" in d  # a provider may only push its reports (callbacks, no operations)
        if not pulls and "callbacks" not in d:
            self.problem(
                (),
                "the spec describes neither operations (what a client asks the provider) nor "
                "callbacks (the reports it pushes): give at least one of them",
            )
        for needed, what in (
            ("servers", "where the operations are sent"),
            ("envelope", "how an answer says success or failure"),
        ):
            if pulls and needed not in d:
                self.problem(("operations",), f"operations need {needed!r} ({what}); add it", at_key=True)
        signs = {"default_scheme", "schemes"} <= set(d.get("auth", {}))
        if pulls and not signs:
            self.problem(
                ("auth",) if "auth" in d else ("operations",),
                "operations need auth with 'default_scheme' and 'schemes' (how a request is signed)",
                at_key=True,
            )
        # Operations are read only with all they stand on; what is missing was said above.
        reads_operations = pulls and signs and "servers" in d and "envelope" in d
        if not pulls and "callbacks" in d:  # what only requests use would be ignored: say so
            for key in ("servers", "envelope", "errors", "retries", "polling"):
                if key in d:
                    self.problem(
                        (key,), f"{key!r} is about operations, and this spec has none: remove it", at_key=True
                    )
            for key in ("default_scheme", "schemes"):
                if key in d.get("auth", {}):
                    self.problem(
                        ("auth", key),
                        f"auth {key!r} signs requests, and this spec has no operations: remove it "
                        "(credentials that verify pushes stay under auth.credentials)",
                        at_key=True,
                    )
        servers = self.servers() if "servers" in d else ()
        auth = self.auth()
        envelope = self.envelope() if "envelope" in d else NO_ENVELOPE
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
        operations = (
            tuple(self.operation(name, raw) for name, raw in d["operations"].items())
            if reads_operations
            else ()
        )
        credential_names = {c.name for c in auth.credentials}
        callbacks = tuple(
            callback
            for name, raw in d.get("callbacks", {}).items()
            if (callback := self.callback(name, raw, credential_names)) is not None
        )
        self.check_auth_needs(auth, operations)
        referenced = {
            part["receipts"]["status"]["rule"]
            for part in [*d.get("operations", {}).values(), *d.get("callbacks", {}).values()]
            if isinstance(part.get("receipts", {}).get("status"), dict)
        }
        for key in d.get("status_rules", {}):
            if key not in referenced:
                self.problem(
                    ("status_rules", key),
                    f"status rule {key!r} is not used by any operation's or callback's receipts",
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
            default_server=d.get("servers", {}).get("default", ""),
            require_base_url=d.get("servers", {}).get("require_base_url", False),
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
            time_choices=tuple(self.time_choices.values()),
            callbacks=callbacks,
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
                    f"{'an' if item['kind'][0] in 'aeiou' else 'a'} {item['kind']} error is never retried: another attempt "
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


def parse_provider(spec: LoadedSpec) -> tuple[m.Provider | None, list[Problem]]:
    parser = _Parser(spec)
    provider = parser.parse()
    return provider, parser.problems
