"""Stage 2: turn a schema-valid spec into the intermediate model, checking everything the
JSON Schema cannot: cross-references, name collisions, raw value types, template
variables. Problems are collected and returned as values, never raised one by one.
"""

from __future__ import annotations

from typing import Any

from dlr_core import retry as retry_rules

from generator import model as m
from generator.load import JsonPath, LoadedSpec
from generator.parse.auth import check_auth_needs, parse_auth
from generator.parse.context import ParseContext, duration_seconds
from generator.parse.callbacks import parse_callback
from generator.parse.operations import parse_operation
from generator.parse.statuses import parse_status_enum
from generator.problems import Problem

# Errors another attempt cannot fix; the runtime never retries them.
NEVER_RETRIED_KIND_VALUES = frozenset(kind.value for kind in retry_rules.NEVER_RETRIED_KINDS)

# A push-only provider answers no request: its model's envelope is never read.
NO_ENVELOPE = m.Envelope("http", (), (), (), (), (), None)


def _parse(ctx: ParseContext) -> m.Provider | None:
    """The whole spec, in the order its parts depend on each other: what an operation or a
    callback refers to (auth, statuses, names) is read before it."""
    d = ctx.data
    reads_operations = _check_sections(ctx)
    servers = _servers(ctx) if "servers" in d else ()
    auth = parse_auth(ctx)
    envelope = _envelope(ctx) if "envelope" in d else NO_ENVELOPE
    _parse_statuses(ctx)
    operations = (
        tuple(parse_operation(ctx, name, raw) for name, raw in d["operations"].items())
        if reads_operations
        else ()
    )
    credential_names = {c.name for c in auth.credentials}
    callbacks = tuple(
        callback
        for name, raw in d.get("callbacks", {}).items()
        if (callback := parse_callback(ctx, name, raw, credential_names)) is not None
    )
    check_auth_needs(ctx, auth, operations)
    _check_rules_used(ctx)
    errors = _errors(ctx)
    retry = _retry(d)
    polling = _polling(ctx, d)
    proofs = _proofs(ctx, auth, callbacks)
    gaps = _gaps(ctx)
    if ctx.problems:
        return None
    return m.Provider(
        id=d["provider"],
        spec_file=ctx.source.file,
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
        statuses=tuple(ctx.statuses.values()),
        rules=tuple(ctx.rules_used.values()),
        errors=errors,
        polling=polling,
        retry=retry,
        models_schema={"$defs": dict(sorted(ctx.defs.items()))},
        time_patterns=tuple(ctx.time_patterns.values()),
        time_choices=tuple(ctx.time_choices.values()),
        callbacks=callbacks,
        model_aliases=dict(sorted(ctx.aliases.items())),
        distribution=d.get("package", {}).get("name", ""),
        version=d.get("package", {}).get("version", "0.1.0"),
        proofs=proofs,
        gaps=gaps,
    )


def _gaps(ctx: ParseContext) -> tuple[m.Gap, ...]:
    """``gaps``: what the spec cannot say, and why, as words (whitespace collapsed: each is
    shown on one line of a Markdown list or table)."""
    gaps = []
    for index, raw in enumerate(ctx.data.get("gaps", [])):
        what, why = (" ".join(raw[key].split()) for key in ("what", "why"))
        for key, text in (("what", what), ("why", why)):
            if not text:
                ctx.problem(
                    ("gaps", index, key), f"a gap's '{key}' says it in words; it is blank", at_key=True
                )
        gaps.append(m.Gap(what, why))
    return tuple(gaps)


def _proofs(ctx: ParseContext, auth: m.Auth, callbacks: tuple[m.Callback, ...]) -> tuple[m.Proof, ...]:
    """``proven_by``: each entry names a scheme or callback of this spec."""
    known = {f"auth.{s.name}" for s in auth.schemes} | {f"callbacks.{c.name}" for c in callbacks}
    proofs = []
    for index, raw in enumerate(ctx.data.get("proven_by", [])):
        if raw["what"] not in known:
            ctx.problem(
                ("proven_by", index, "what"),
                f"{raw['what']!r} is neither an auth scheme nor a callback of this spec"
                + (f" (it has: {', '.join(sorted(known))})" if known else ""),
            )
            continue
        proofs.append(m.Proof(raw["what"], raw["by"], raw["source"], raw.get("detail", ""), raw["test"]))
    return tuple(proofs)


def _check_sections(ctx: ParseContext) -> bool:
    """The top-level sections fit together; whether the operations can be read (they are
    read only with all they stand on: what is missing is said here)."""
    d = ctx.data
    provider_id = d["provider"]
    if provider_id != ctx.spec.path.stem:
        ctx.problem(
            ("provider",), f"provider id {provider_id!r} must match the file name {ctx.spec.path.name!r}"
        )
    pulls = "operations" in d  # a provider may only push its reports (callbacks, no operations)
    if not pulls and "callbacks" not in d:
        ctx.problem(
            (),
            "the spec describes neither operations (what a client asks the provider) nor "
            "callbacks (the reports it pushes): give at least one of them",
        )
    for needed, what in (
        ("servers", "where the operations are sent"),
        ("envelope", "how an answer says success or failure"),
    ):
        if pulls and needed not in d:
            ctx.problem(("operations",), f"operations need {needed!r} ({what}); add it", at_key=True)
    signs = {"default_scheme", "schemes"} <= set(d.get("auth", {}))
    if pulls and not signs:
        ctx.problem(
            ("auth",) if "auth" in d else ("operations",),
            "operations need auth with 'default_scheme' and 'schemes' (how a request is signed)",
            at_key=True,
        )
    if not pulls and "callbacks" in d:  # what only requests use would be ignored: say so
        for key in ("servers", "envelope", "errors", "retries", "polling"):
            if key in d:
                ctx.problem(
                    (key,), f"{key!r} is about operations, and this spec has none: remove it", at_key=True
                )
        for key in ("default_scheme", "schemes"):
            if key in d.get("auth", {}):
                ctx.problem(
                    ("auth", key),
                    f"auth {key!r} signs requests, and this spec has no operations: remove it "
                    "(credentials that verify pushes stay under auth.credentials)",
                    at_key=True,
                )
    return pulls and signs and "servers" in d and "envelope" in d


def _parse_statuses(ctx: ParseContext) -> None:
    """The status enums, into ``ctx.statuses``, and the module-level names they take."""
    d = ctx.data
    for key, raw in d.get("statuses", {}).items():
        ctx.statuses[key] = parse_status_enum(ctx, key, raw)
    ctx.check_unique_classes(
        ((("statuses", key, "class"), enum.class_name) for key, enum in ctx.statuses.items())
    )
    for key, enum in ctx.statuses.items():
        ctx.claim_module_name(
            ("statuses", key), enum.function_name, f"status {key!r}: its function", at_key=True
        )
        ctx.claim_module_name(
            ("statuses", key), enum.field_type_name, f"status {key!r}: its field type", at_key=True
        )
    for key in d.get("status_rules", {}):
        ctx.claim_module_name(
            ("status_rules", key),
            f"{key}_to_canonical",
            f"status rule {key!r}: its function",
            at_key=True,
        )


def _check_rules_used(ctx: ParseContext) -> None:
    d = ctx.data
    referenced = {
        part["receipts"]["status"]["rule"]
        for part in [*d.get("operations", {}).values(), *d.get("callbacks", {}).values()]
        if isinstance(part.get("receipts", {}).get("status"), dict)
    }
    for key in d.get("status_rules", {}):
        if key not in referenced:
            ctx.problem(
                ("status_rules", key),
                f"status rule {key!r} is not used by any operation's or callback's receipts",
                at_key=True,
            )


def _retry(data: dict[str, Any]) -> m.Retry:
    raw = data.get("retries", {})
    return m.Retry(
        max_attempts=raw.get("max_attempts"),
        initial_backoff=duration_seconds(raw.get("initial_backoff")),
        max_backoff=duration_seconds(raw.get("max_backoff")),
        deadline=duration_seconds(raw.get("deadline")),
        on_status=tuple(raw["on_status"]) if "on_status" in raw else None,
    )


def _polling(ctx: ParseContext, data: dict[str, Any]) -> m.Polling:
    raw = data.get("polling", {})
    return m.Polling(
        first_check_after=duration_seconds(raw.get("first_check_after")),
        interval=duration_seconds(raw.get("interval")),
        give_up_after=duration_seconds(raw.get("give_up_after")),
        provider_sync_interval=duration_seconds(raw.get("provider_sync_interval")),
        note=raw.get("note"),
        rate_limit=_rate_limit(ctx, raw["rate_limit"]) if "rate_limit" in raw else None,
    )


def _rate_limit(ctx: ParseContext, raw: dict[str, Any]) -> m.RateLimit:
    per = duration_seconds(raw.get("per"))
    if per == 0:
        ctx.problem(("polling", "rate_limit", "per"), "a rate limit's period must be longer than 0")
    return m.RateLimit(requests=raw["requests"], per_seconds=per)


def _servers(ctx: ParseContext) -> tuple[m.Server, ...]:
    raw = ctx.data["servers"]
    if raw["default"] not in raw["choices"]:
        ctx.problem(
            ("servers", "default"),
            f"default server {raw['default']!r} is not one of the choices: " f"{', '.join(raw['choices'])}",
        )
    return tuple(
        m.Server(k, v["url"].rstrip("/"), v.get("description", "")) for k, v in raw["choices"].items()
    )


def _envelope(ctx: ParseContext) -> m.Envelope:
    raw = ctx.data["envelope"]
    success = raw["success"]
    forms: dict[m.SuccessMode, set[str]] = {
        "equals": {"field", "equals"},
        "absent": {"field", "absent"},
        "http": {"http"},
    }
    mode = next((name for name, keys in forms.items() if set(success) == keys), None)
    if mode is None:
        ctx.problem(
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


def _errors(ctx: ParseContext) -> tuple[m.ErrorCode, ...]:
    out = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(ctx.data.get("errors", [])):
        path: JsonPath = ("errors", index)
        if ("code" in item) == ("prefix" in item):
            ctx.problem(path, "an error entry needs exactly one of 'code' or 'prefix'")
            continue
        key = ("code", str(item["code"])) if "code" in item else ("prefix", item["prefix"])
        if key in seen:
            ctx.problem(path, f"error {key[0]} {key[1]!r} is listed twice")
        seen.add(key)
        if item.get("retryable") and item["kind"] in NEVER_RETRIED_KIND_VALUES:
            ctx.problem(
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
    ctx = ParseContext(spec)
    provider = _parse(ctx)
    return provider, ctx.problems
