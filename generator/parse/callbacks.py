"""Stage 2, callbacks: pushed delivery reports (status callbacks, DLR webhooks).

A callback is read with the same parts as an operation's answer: its ``payload`` is a
response schema (typed fields, status enums, time formats) and its ``receipts`` the same
mapping to canonical receipts. Its ``verify`` runs the runtime's sign steps (read by the
registry, ``dlr_core.steps``) over the pushed request and compares the result with the
signature sent, or checks a public-key signature. The runtime interprets the callback as
data (``dlr_core.callbacks.Callback.from_data``), so no spec text becomes code.
"""

from __future__ import annotations

from typing import Any

from dlr_core import signing

from generator import model as m
from generator.load import JsonPath
from generator.parse.auth import sign_step, template_check
from generator.parse.context import ParseContext, duration_seconds
from generator.parse.receipts import parse_receipts
from generator.parse.responses import parse_object_model

# What a verification's templates may use besides the credentials and its steps' results.
PUSH_VARIABLES = frozenset({"url", "method", "host", "path", "path_and_query", "body"})


def parse_callback(
    ctx: ParseContext, name: str, raw: dict[str, Any], credentials: set[str]
) -> m.Callback | None:
    base: JsonPath = ("callbacks", name)
    for what, generated in (
        ("its constant", name.upper()),
        ("its receipts function", f"{name}_receipts"),
        ("its parser", f"parse_{name}"),
        ("its endpoint", f"{name}_endpoint"),
    ):
        ctx.claim_module_name(base, generated, f"callback {name!r}: {what}", at_key=True)
    own = ctx.part()  # this callback's own problems: with any, it is not built
    root = parse_object_model(own, base + ("payload",), raw["payload"])
    receipts_raw = raw["receipts"]
    if "ids" in receipts_raw:
        own.problem(base + ("receipts", "ids"), "a pushed report answers no request: remove 'ids'")
    receipts = parse_receipts(own, base + ("receipts",), name, receipts_raw, root, ())
    # One body format, or several a push may come in, each read as its Content-Type says:
    # every check below holds for each of them.
    formats = raw.get("format", "json")
    formats = list(formats) if isinstance(formats, list) else [formats]
    only = formats[0] if len(formats) == 1 else None  # the one format, when there is one
    form = only == "form"
    json_field = raw.get("json_field")
    # text fields, urlencoded (unless one field holds JSON) or multipart
    fields_only = [f for f in formats if f == "multipart" or (f == "form" and json_field is None)]
    if json_field is not None and "form" not in formats:
        own.problem(
            base + ("json_field",),
            "json_field names the form field holding the JSON report: it needs format: form",
            at_key=True,
        )
    if raw.get("array") and (fields_only or "xml" in formats):
        own.problem(
            base + ("array",),
            "only a JSON body (or a form field named by json_field) can be an array of reports; "
            "use format: json",
        )
    if raw.get("method") == "GET" and not form:
        own.problem(base + ("format",), "a GET push carries its report in the query: use format: form")
    if fields_only:
        for wire, field in root.fields.items():
            if field.kind != "scalar":
                own.problem(
                    base + ("payload", "properties", wire),
                    f"a {fields_only[0]} push holds text fields only; {wire!r} is an {field.kind}",
                    at_key=True,
                )
    if raw.get("verify", {}).get("jwt", {}).get("read_claims") and (only != "json" or raw.get("array")):
        own.problem(
            base + ("verify", "jwt", "read_claims"),
            "the report read from a token's claims is one JSON object: use format: json, without array",
            at_key=True,
        )
    definition: dict[str, Any] = {
        key: raw[key]
        for key in ("method", "format", "array", "json_field", "answer", "reject", "unwrap", "handshakes")
        if key in raw
    }
    if only != "json" and (
        "unwrap" in raw or any("echo" in each for each in raw.get("handshakes", {}).values())
    ):
        own.problem(base + ("format",), "unwrap and a handshake's echo read a JSON body: use format: json")
    for handshake, each in raw.get("handshakes", {}).items():
        if "echo" in each and "body" in each.get("answer", {}):
            own.problem(
                base + ("handshakes", handshake, "answer", "body"),
                "the answer's body is the echo: give one of them",
                at_key=True,
            )
    if "xml" in formats:  # the mock writes pushes under the root the payload's title names
        title = raw["payload"].get("title") if isinstance(raw["payload"], dict) else None
        if isinstance(title, str):  # a missing title is the payload's own problem, said there
            definition["xml_root"] = title
    used: tuple[str, ...] = ()
    if "verify" not in raw:
        own.problem(
            base,
            f"callback {name!r} says nothing of how a push is verified: add 'verify' (the "
            "provider's signature check; 'verify: {in_code: <what the provider does>}' when "
            "only code can check it), or, when the provider signs nothing, opt in to "
            "accepting pushes from anyone with 'verify: {unsigned: <why>}' (e.g. \"the "
            'provider does not sign its pushes; keep the URL secret")',
            at_key=True,
        )
    elif set(raw["verify"]) in ({"unsigned"}, {"in_code"}):
        [(key, text)] = raw["verify"].items()
        if not text.split():
            own.problem(base + ("verify", key), f"'{key}' says why, in words; it is blank", at_key=True)
        definition["verify"] = {key: " ".join(text.split())}
    elif {"unsigned", "in_code"} & set(raw["verify"]):
        key = "unsigned" if "unsigned" in raw["verify"] else "in_code"
        own.problem(
            base + ("verify", key),
            f"'{key}' stands alone: a push is verified by the spec (sign, compare or "
            "public_key), by your code (in_code: <what the provider does>), or accepted "
            "unsigned (unsigned: <why>)",
            at_key=True,
        )
    else:
        verify, used = _callback_verify(own, base + ("verify",), raw["verify"], credentials)
        definition["verify"] = verify
        in_fields = "fields" in verify or "field" in verify.get("compare", {})
        if in_fields and (not form or raw.get("method", "POST") != "POST"):
            own.problem(
                base + ("verify", "fields" if "fields" in verify else "compare"),
                "a signature among the pushed fields needs a form push: format: form, method POST",
                at_key=True,
            )
    ctx.problems.extend(own.problems)
    if own.problems or receipts is None:
        return None
    # Imported here, not with this module: the runtime's whole callback side (verification,
    # the ASGI app, handshakes) is only needed for a spec that has callbacks.
    from dlr_core import callbacks as runtime_callbacks

    try:
        runtime_callbacks.Callback.from_data(ctx.data["provider"], name, definition)
    except signing.SigningError as exc:  # the checks above should have said why
        ctx.problem(base, f"the runtime cannot read this callback: {exc}", at_key=True)
        return None
    return m.Callback(
        name=name,
        summary=" ".join(raw["summary"].split()),
        description=" ".join(raw.get("description", "").split()),
        docs=raw.get("docs"),
        payload_class=root.class_name,
        receipts=receipts,
        definition=definition,
        credentials=used,
        array=bool(raw.get("array", False)),
        format=formats[0],
        formats=tuple(formats),
        verification=_verification_kind(definition.get("verify")),
        verification_brief=_verification_brief(definition.get("verify")),
        verified_in_code="in_code" in definition.get("verify", {}),
        fetches_certificates="certificate" in definition.get("verify", {}).get("public_key", {}),
    )


def _callback_verify(
    ctx: ParseContext, base: JsonPath, raw: dict[str, Any], credentials: set[str]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The verification as the runtime reads it (the tolerance in seconds), and the
    credentials it uses, in the spec's order of credentials."""
    known = set(credentials) | PUSH_VARIABLES
    if "timestamp" in raw:
        known.add("timestamp")
    for key, what in (("headers", "header"), ("fields", "field")):
        for variable in raw.get(key, {}):
            if variable in known or variable == "timestamp":
                ctx.problem(
                    base + (key, variable),
                    f"{variable!r} is already a name here (a credential or a value of the push); "
                    f"give the {what}'s variable another name",
                    at_key=True,
                )
            known.add(variable)
    for name in sorted(set(credentials) & (PUSH_VARIABLES | {"timestamp"})):
        ctx.problem(
            base,
            f"the credential {name!r} has the name of a value the push carries ({{{name}}} is the "
            "sender's, never a secret); rename the credential",
        )
    checks = sum(key in raw for key in ("compare", "public_key", "jwt"))
    if checks > 1 or (checks == 0 and "equals" not in raw):
        ctx.problem(
            base,
            "verify needs one of 'compare' (a signature to match), 'public_key' or 'jwt', or 'equals' "
            "alone (values the push must carry)",
        )
    used: set[str] = set()

    check = template_check(
        ctx,
        known,
        used,
        lambda variable: (
            f"template uses {{{variable}}}, which is not defined here (credentials: "
            f"{', '.join(sorted(credentials)) or 'none'}; push: "
            f"{', '.join(sorted(PUSH_VARIABLES | set(raw.get('headers', {})) | set(raw.get('fields', {}))))})"
            + ("; add 'timestamp' to verify" if variable == "timestamp" else "")
        ),
    )

    in_steps: set[str] = set()  # the credentials the steps name
    for index, raw_step in enumerate(raw.get("sign", [])):
        step = sign_step(ctx, base + ("sign", index), raw_step, known, credentials, check, in_steps)
        if step is not None and type(step).stateful:
            # A stateful step (a token the client fetches before a request) has nothing to
            # fetch from over a push: no push could ever verify.
            ctx.problem(
                base + ("sign", index, step.kind),
                f"the {step.kind} step fetches a token for the client's requests; a push brings "
                "none to check: verify it with steps over the push, or public_key",
                at_key=True,
            )
    # As before this code was restructured: a credential a step names directly (rsa_sign's
    # key) that an auth scheme already used is not counted among this callback's own. No spec
    # does that yet; when one does, it likely wants `used |= in_steps` (and a golden case).
    used |= in_steps - ctx.used_in_auth
    ctx.used_in_auth |= in_steps | used
    verify = dict(raw)
    if "compare" in raw:
        forms = raw["compare"]["value"]
        if isinstance(forms, str):
            check(base + ("compare", "value"), forms)
        else:
            for index, form in enumerate(forms):
                check(base + ("compare", "value", index), form)
    for index, equals in enumerate(raw.get("equals", [])):
        check(base + ("equals", index, "value"), equals["value"])
    if "public_key" in raw:
        key = raw["public_key"]
        check(base + ("public_key", "input"), key["input"])
        if "key" in key and key["key"] not in credentials:
            ctx.problem(
                base + ("public_key", "key"),
                f"public key {key['key']!r} is not a credential; credentials: {', '.join(sorted(credentials))}",
            )
        if "key" in key:
            used.add(key["key"])
        algorithms = (
            [key["algorithm"]] if "algorithm" in key else list(key["algorithm_by"]["choices"].values())
        )
        if "certificate" in key and "ed25519" in algorithms:
            ctx.problem(
                base + ("public_key", "algorithm"), "a certificate's key is an RSA key: use an rsa_ algorithm"
            )
        if "ed25519" not in algorithms and key.get("key_format") == "base64":
            ctx.problem(
                base + ("public_key", "key_format"),
                "a raw base64 key is an Ed25519 key; RSA keys are pem",
            )
    if "timestamp" in raw:
        verify["timestamp"] = {
            **raw["timestamp"],
            "tolerance": duration_seconds(raw["timestamp"]["tolerance"]),
        }
    if "jwt" in raw:
        verify["jwt"] = _jwt_check(ctx, base + ("jwt",), raw["jwt"], check)
    ctx.used_in_auth |= used
    return verify, tuple(name for name in ctx.data.get("auth", {}).get("credentials", {}) if name in used)


def _jwt_check(ctx: ParseContext, base: JsonPath, raw: dict[str, Any], check: Any) -> dict[str, Any]:
    """A ``jwt`` check as the runtime reads it (the leeway in seconds), its templates checked."""
    check(base + ("key",), raw["key"])
    seen: set[str] = set()
    for index, claim in enumerate(raw.get("claims", [])):
        check(base + ("claims", index, "value"), claim["value"])
        if "only_if" in claim:
            check(base + ("claims", index, "only_if"), claim["only_if"])
        if claim["key"] in seen:
            ctx.problem(base + ("claims", index, "key"), f"the claim {claim['key']!r} is listed twice")
        seen.add(claim["key"])
    out = dict(raw)
    if "leeway" in raw:
        out["leeway"] = duration_seconds(raw["leeway"])
    return out


def signing_words(sign_steps: list[Any]) -> str:
    """The algorithm that makes the signature (the last sign step naming one), as
    ``HMAC-SHA256`` (or ``MD5`` for a plain hash); "" when no step names one."""
    signing = [
        (kind, str(body["algorithm"]).upper())
        for step in sign_steps
        for kind, body in step.items()
        if kind != "as" and isinstance(body, dict) and "algorithm" in body
    ]
    if not signing:
        return ""
    kind, algorithm = signing[-1]
    return algorithm if kind == "hash" else f"{kind.upper()}-{algorithm}"


def _verification_brief(verify: dict[str, Any] | None) -> str:
    """How a push is authenticated, for a table cell: the reasons unsigned and in-code
    verification give are left to the package's README."""
    if verify is not None and "unsigned" in verify:
        return "unsigned (the provider signs nothing)"
    if verify is not None and "in_code" in verify:
        return "your verifier (in code)"
    return _verification_kind(verify)


def _verification_kind(verify: dict[str, Any] | None) -> str:
    """How a push is authenticated, in words, for the docs."""
    if verify is None:  # the parser requires verify: only a callback made by hand
        return "not verified"
    if "unsigned" in verify:
        return f"nothing, by the spec's opt-in (unsigned: {verify['unsigned'].rstrip('.')})"
    if "in_code" in verify:
        return f"your verifier (in code): {verify['in_code'].rstrip('.')}"
    if "public_key" in verify:
        check = verify["public_key"]
        named = {"ed25519": "Ed25519", "rsa_pkcs1v15_sha256": "RSA SHA-256", "rsa_pkcs1v15_sha1": "RSA SHA-1"}
        names = (
            [check["algorithm"]] if "algorithm" in check else list(check["algorithm_by"]["choices"].values())
        )
        algorithm = " or ".join(dict.fromkeys(named[name] for name in names))
        where = check["header"] if "header" in check else f"the JSON member {check['field']}"
        kind = f"{algorithm} signature in {where}"
        if "certificate" in check:
            kind += (
                f", with the certificate {check['certificate']['field']} names (on a host the spec allows)"
            )
    elif "jwt" in verify:
        token = verify["jwt"]
        kind = f"JWT ({'/'.join(token.get('algorithms', ['HS256']))}) in {token['header']}"
        claims = [claim["key"] for claim in token.get("claims", [])]
        if claims:
            kind += f", claims {', '.join(claims)} checked"
        if token.get("read_claims"):
            kind += ", the report read from its claims"
        kind += f", exp/nbf/iat within {token.get('leeway', 0):g} s"
    elif "compare" in verify:
        words = signing_words(verify.get("sign", [])) or "a value"
        compare = verify["compare"]
        kind = (
            f"{words} in {compare['header']}"
            if "header" in compare
            else f"{words} in the {compare['field']} field"
        )
        if isinstance(verify["compare"]["value"], list) and len(verify["compare"]["value"]) > 1:
            kind += f" (any of {len(verify['compare']['value'])} signed forms)"
    else:
        kind = ""
    if verify.get("equals"):
        checked = ", ".join(
            f"the query parameter {e['query']}" if "query" in e else (e.get("field") or e["header"])
            for e in verify["equals"]
        )
        kind = f"{kind}, {checked} checked" if kind else f"{checked} equal to the expected value"
    if verify.get("headers"):
        kind += f", over the {', '.join(verify['headers'].values())} header{'s' if len(verify['headers']) > 1 else ''} too"
    if verify.get("fields"):
        kind += f", over the {', '.join(verify['fields'].values())} field{'s' if len(verify['fields']) > 1 else ''} too"
    if "timestamp" in verify:
        kind += f", signed time within {verify['timestamp']['tolerance']:g} s"
    return kind
