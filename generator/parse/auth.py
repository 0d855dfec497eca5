"""Parsing a spec's ``auth``: credentials, schemes and their sign steps.

The sign steps are read by the runtime's own registry (``dlr_core.steps_data.build_step``), so
the parser, the runtime, the JSON Schema and the docs know the same step kinds and keys;
this module reports what the registry finds at the spec's ``file:line`` and checks what
needs the whole spec (template variables, credentials, filters).

``python -m generator.parse.auth`` rewrites the parts of generator/spec.schema.json and
docs/spec-format.md that come from the registry (the tests check they are current).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dlr_core import signing, steps, steps_data, steps_schema

from generator import model as m
from generator.load import JsonPath
from generator.parse.context import ParseContext
from generator.problems import Problem

_TEMPLATE_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_TEMPLATE_REFERENCE = re.compile(rf"^({signing.VARIABLE_PATTERN})((?:\|{signing.FILTER_PATTERN})*)$")
TEMPLATE_FILTERS = signing.FILTERS
# Variables every auth template may use: the request being signed, and the scheme's own values.
REQUEST_VARIABLES = frozenset({"method", "host", "path", "path_and_query", "body"})
SIGN_STEP_KINDS = signing.STEP_KINDS
TIMESTAMP_STYLES = tuple(signing.TIMESTAMP_STYLES)

ROOT = Path(__file__).resolve().parents[2]  # generator/parse/auth.py -> the repository
SCHEMA_FILE = ROOT / "generator" / "spec.schema.json"
DOCS_FILE = ROOT / "docs" / "spec-format.md"
DOCS_BEGIN = "<!-- sign steps: generated from dlr_core.steps by `python -m generator.parse.auth` -->\n"
DOCS_END = "<!-- end of sign steps -->\n"


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


def template_check(
    ctx: ParseContext,
    known: set[str],
    used: set[str],
    undefined: Callable[[str], str],
    filter_problem: Callable[[str, str], str | None] = lambda variable, name: None,
) -> Callable[..., None]:
    """A check of one scheme's templates: each variable defined (``undefined`` words the
    problem when one is not) and collected into ``used``, each filter known and fit for
    its variable (``filter_problem``)."""

    def check(path: JsonPath, template: str, *, text_only: bool = False) -> None:
        refs, error = template_references(template)
        if error:
            ctx.problem(path, f"template {template!r}: {error}")
        alone = len(refs) == 1 and template == _reference_text(*refs[0])
        for variable, filters in refs:
            if variable not in known:
                ctx.problem(path, undefined(variable))
            used.add(variable)
            for name in filters:
                if name not in TEMPLATE_FILTERS:
                    ctx.problem(
                        path,
                        f"unknown template filter {name!r}; filters: {', '.join(sorted(TEMPLATE_FILTERS))}",
                    )
                elif (problem := filter_problem(variable, name)) is not None:
                    ctx.problem(path, problem)
            if (problem := _bytes_problem(variable, filters, alone and not text_only)) is not None:
                ctx.problem(path, problem)

    return check


def parse_auth(ctx: ParseContext) -> m.Auth:
    raw = ctx.data.get("auth", {"credentials": {}})
    for name in raw["credentials"]:
        ctx.check_name("credential", ("auth", "credentials", name), name, "credential", at_key=True)
    credentials = tuple(
        m.Credential(
            name,
            " ".join(c["description"].split()),
            c.get("secret", False),
            c.get("format", "text"),
            _credential_env(ctx, name, c.get("env")),
        )
        for name, c in raw["credentials"].items()
    )
    if not {"default_scheme", "schemes"} <= set(raw):  # push-only: credentials to verify pushes
        if set(raw) & {"default_scheme", "schemes"}:
            ctx.problem(("auth",), "'default_scheme' and 'schemes' go together: give both", at_key=True)
        return m.Auth(credentials, "", ())
    if raw["default_scheme"] not in raw["schemes"]:
        ctx.problem(
            ("auth", "default_scheme"),
            f"default scheme {raw['default_scheme']!r} is not one of: {', '.join(raw['schemes'])}",
        )
    schemes = []
    for name, scheme in raw["schemes"].items():
        used: set[str] = set()
        built, problems = _auth_scheme(ctx, name, scheme, {c.name for c in credentials}, used)
        ctx.problems.extend(problems)
        ctx.used_in_auth |= used
        uses = tuple(c.name for c in credentials if c.name in used)
        if not problems:
            try:
                signing.Scheme.from_data(scheme)  # what the generated api.py will build
            except signing.SigningError as exc:  # the checks above should have said why
                ctx.problem(("auth", "schemes", name), f"the runtime cannot read this scheme: {exc}")
        schemes.append(
            m.AuthScheme(
                name,
                " ".join(scheme["description"].split()),
                scheme.get("docs"),
                scheme,
                uses,
                step_kinds=tuple(s.kind for s in built),
                uses_rsa=any(s.uses_rsa() for s in built),
            )
        )
    return m.Auth(credentials, raw["default_scheme"], tuple(schemes))


def _credential_env(ctx: ParseContext, name: str, env: str | list[str] | None) -> tuple[str, ...]:
    """The variables a credential is read from: the spec's, else ``DLR_<PROVIDER>_<NAME>``;
    two credentials never share one."""
    names = (env,) if isinstance(env, str) else tuple(env or ())
    if not names:
        names = (f"DLR_{ctx.data['provider']}_{name}".upper(),)
    for variable in names:
        owner = ctx.env_owners.setdefault(variable, name)
        if owner != name:
            ctx.problem(
                ("auth", "credentials", name, "env"),
                f"{variable} is already the variable of credential {owner!r}",
            )
    return names


def _auth_scheme(
    ctx: ParseContext, name: str, scheme: dict[str, Any], credentials: set[str], used: set[str]
) -> tuple[list[steps.Step], list[Problem]]:
    """Check one scheme: its sign steps (those that could be read) and its problems; the
    variables and credentials it uses are added to ``used``."""
    ctx = ctx.part()  # this scheme's problems, returned apart: its caller adds them
    base: JsonPath = ("auth", "schemes", name)
    known = (
        set(credentials) | REQUEST_VARIABLES | {"action", "api_version"} | set(ctx.data.get("constants", {}))
    )
    style = scheme.get("timestamp")
    if isinstance(style, dict):
        known.add("timestamp")
        try:
            signing.TimestampPattern.from_data(style)
        except signing.SigningError as error:
            ctx.problem(base + ("timestamp",), str(error))
    elif style is not None:
        known.add("timestamp")
        if style not in signing.TIMESTAMP_STYLES:
            ctx.problem(
                base + ("timestamp",),
                f"unknown timestamp style {style!r}; styles: {', '.join(signing.TIMESTAMP_STYLES)}",
            )
    if "nonce" in scheme:
        known.add("nonce")

    def date_filter_problem(variable: str, name: str) -> str | None:
        if name in signing.DATE_FILTERS and variable == "timestamp" and style == "unix_milliseconds":
            return f"the {name} filter reads Unix seconds or ISO 8601, not the scheme's unix_milliseconds"
        if name in signing.DATE_FILTERS and variable == "timestamp" and isinstance(style, dict):
            return f"the {name} filter reads Unix seconds or ISO 8601, not the scheme's date pattern"
        return None

    check = template_check(
        ctx,
        known,
        used,
        lambda variable: f"template uses {{{variable}}}, which is not defined here"
        + _missing_variable_hint(variable, credentials),
        date_filter_problem,
    )

    # In request order: what is added before signing cannot see the signature steps'
    # results; what is attached afterwards can.
    for location, values in scheme.get("add", {}).items():
        for key, template in values.items():
            check(base + ("add", location, key), template, text_only=True)
    built = []
    for index, raw_step in enumerate(scheme.get("sign", [])):
        step = sign_step(ctx, base + ("sign", index), raw_step, known, credentials, check, used)
        if step is not None:
            built.append(step)
    for location, values in scheme.get("attach", {}).items():
        for key, template in values.items():
            check(base + ("attach", location, key), template, text_only=True)
    if scheme.get("nonce", {}).get("kind") == "uuid4" and "length" in scheme["nonce"]:
        ctx.problem(base + ("nonce", "length"), "a uuid4 nonce has a fixed length; remove 'length'")
    if scheme.get("nonce", {}).get("kind") in ("alphanumeric", "hex") and "length" not in scheme["nonce"]:
        ctx.problem(base + ("nonce",), "an alphanumeric or hex nonce needs a 'length'")
    return built, ctx.problems


def sign_step(
    ctx: ParseContext,
    path: JsonPath,
    raw: dict[str, Any],
    known: set[str],
    credentials: set[str],
    check: Callable[..., None],
    used: set[str],
) -> steps.Step | None:
    """One sign step, read by the runtime's registry; its problems at the spec's lines, the
    credentials it names added to ``used``."""
    name, step, problems = steps_data.build_step(raw)
    for found in problems:
        ctx.problem(path + found.path, found.message)
    if step is not None:
        for where, template in steps_data.templates(step):
            takes_bytes = len(where) > 1 and where[1] in type(step).bytes_fields
            check(path + where, template, text_only=not takes_bytes)
        for where, credential in steps_data.credentials(step):
            used.add(credential)
            if credential not in credentials:
                ctx.problem(
                    path + where,
                    f"{step.kind} {where[-1]} {credential!r} is not a credential; credentials: "
                    f"{', '.join(sorted(credentials))}",
                )
        known.update(step.binds)
    else:  # no knock-on "credential not used" problems from a step that could not be read
        used.update(_mentioned(raw))
    if name in known:
        ctx.problem(path + ("as",), f"{name!r} is already defined; pick another name")
    known.add(name)
    return step


def check_auth_needs(ctx: ParseContext, auth: m.Auth, operations: tuple[m.Operation, ...]) -> None:
    used = ctx.used_in_auth
    if "action" in used:
        for op in operations:
            if op.action is None:
                ctx.problem(
                    ("operations", op.name),
                    f"operation {op.name!r} needs an 'action': the auth scheme " "uses {action}",
                    at_key=True,
                )
    if "api_version" in used and "api_version" not in ctx.data:
        ctx.problem(
            ("auth",),
            "the auth scheme uses {api_version}, but the spec has no top-level api_version",
            at_key=True,
        )
    for credential in auth.credentials:
        if credential.name not in used:
            ctx.problem(
                ("auth", "credentials", credential.name),
                f"credential {credential.name!r} is not used by any auth scheme or callback",
                at_key=True,
            )


def _reference_text(variable: str, filters: tuple[str, ...]) -> str:
    return "{" + "|".join((variable, *filters)) + "}"


def _bytes_problem(variable: str, filters: tuple[str, ...], bytes_allowed: bool) -> str | None:
    """What is wrong with raw bytes (a ``base64_decode``d key) where they are used: only a
    reference standing alone in a key or a digest's input may be raw bytes."""
    raw = False
    for name in filters:
        if raw and name in signing.TEXT_ONLY_FILTERS:
            return (
                f"the {name} filter reads text, but {_reference_text(variable, filters)} gives it raw bytes"
            )
        raw = name in signing.BYTES_FILTERS or (raw and name not in signing.FILTERS)
    if raw and not bytes_allowed:
        return (
            f"{_reference_text(variable, filters)} is raw bytes: use it alone, as an HMAC key or a "
            "digest's input, or encode it again (|base64)"
        )
    return None


def _mentioned(raw: Any) -> set[str]:
    """The variables (and credential names) a raw step mentions anywhere, as best it can."""
    if isinstance(raw, str):
        refs, _ = template_references(raw)
        return {variable for variable, _ in refs} | {raw}
    if isinstance(raw, dict):
        return set().union(*(_mentioned(v) for v in raw.values())) if raw else set()
    if isinstance(raw, list):
        return set().union(*(_mentioned(v) for v in raw)) if raw else set()
    return set()


def _missing_variable_hint(variable: str, credentials: set[str]) -> str:
    if variable == "timestamp":
        return "; add 'timestamp: <format>' to the scheme"
    if variable == "nonce":
        return "; add 'nonce: {kind: ...}' to the scheme"
    return (
        f" (credentials: {', '.join(sorted(credentials))}; request: {', '.join(sorted(REQUEST_VARIABLES))})"
    )


# -- the schema's and the docs' parts that come from the registry ---------------------------


def schema_with_registry(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (generator/spec.schema.json's data) with its sign steps and timestamp
    styles as the runtime's registry defines them."""
    out: dict[str, Any] = json.loads(json.dumps(schema))
    out["$defs"]["sign_step"] = steps_schema.sign_step_schema()
    out["$defs"].pop("digest_output", None)  # now inline in each step's schema
    out["$defs"]["auth_scheme"]["properties"]["timestamp"]["oneOf"][0]["enum"] = list(
        signing.TIMESTAMP_STYLES
    )
    return out


def docs_with_registry(text: str) -> str:
    """docs/spec-format.md with its sign-step table as the registry defines it."""
    start = text.index(DOCS_BEGIN) + len(DOCS_BEGIN)
    end = text.index(DOCS_END, start)
    return text[:start] + steps_schema.docs_table() + text[end:]


def main() -> int:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    SCHEMA_FILE.write_text(json.dumps(schema_with_registry(schema), indent=2) + "\n", encoding="utf-8")
    DOCS_FILE.write_text(docs_with_registry(DOCS_FILE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE.relative_to(ROOT)} and {DOCS_FILE.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
