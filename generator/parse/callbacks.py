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

from dlr_core import callbacks as runtime_callbacks
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
    body_format = raw.get("format", "json")
    fields_only = body_format in ("form", "multipart")  # text fields, urlencoded or multipart
    if raw.get("array") and fields_only:
        own.problem(base + ("array",), "only a JSON body can be an array of reports; use format: json")
    if raw.get("method") == "GET" and body_format != "form":
        own.problem(base + ("format",), "a GET push carries its report in the query: use format: form")
    if fields_only:
        for wire, field in root.fields.items():
            if field.kind != "scalar":
                own.problem(
                    base + ("payload", "properties", wire),
                    f"a {body_format} push holds text fields only; {wire!r} is an {field.kind}",
                    at_key=True,
                )
    if raw.get("array") and body_format == "xml":
        own.problem(base + ("array",), "only a JSON body can be an array of reports; use format: json")
    definition: dict[str, Any] = {
        key: raw[key] for key in ("method", "format", "array", "answer", "reject") if key in raw
    }
    if body_format == "xml":  # the mock writes pushes under the root the payload's title names
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
    ctx.problems.extend(own.problems)
    if own.problems or receipts is None:
        return None
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
        format=raw.get("format", "json"),
        verification=_verification_kind(definition.get("verify")),
        verified_in_code="in_code" in definition.get("verify", {}),
    )


def _callback_verify(
    ctx: ParseContext, base: JsonPath, raw: dict[str, Any], credentials: set[str]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The verification as the runtime reads it (the tolerance in seconds), and the
    credentials it uses, in the spec's order of credentials."""
    known = set(credentials) | PUSH_VARIABLES
    if "timestamp" in raw:
        known.add("timestamp")
    for variable in raw.get("headers", {}):
        if variable in known or variable == "timestamp":
            ctx.problem(
                base + ("headers", variable),
                f"{variable!r} is already a name here (a credential or a value of the push); "
                "give the header's variable another name",
                at_key=True,
            )
        known.add(variable)
    for name in sorted(set(credentials) & (PUSH_VARIABLES | {"timestamp"})):
        ctx.problem(
            base,
            f"the credential {name!r} has the name of a value the push carries ({{{name}}} is the "
            "sender's, never a secret); rename the credential",
        )
    if ("compare" in raw) == ("public_key" in raw):
        ctx.problem(base, "verify needs exactly one of 'compare' (a signature to match) or 'public_key'")
    used: set[str] = set()

    check = template_check(
        ctx,
        known,
        used,
        lambda variable: (
            f"template uses {{{variable}}}, which is not defined here (credentials: "
            f"{', '.join(sorted(credentials)) or 'none'}; push: "
            f"{', '.join(sorted(PUSH_VARIABLES | set(raw.get('headers', {}))))})"
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
    if "public_key" in raw:
        key = raw["public_key"]
        check(base + ("public_key", "input"), key["input"])
        if key["key"] not in credentials:
            ctx.problem(
                base + ("public_key", "key"),
                f"public key {key['key']!r} is not a credential; credentials: {', '.join(sorted(credentials))}",
            )
        used.add(key["key"])
        if key["algorithm"] != "ed25519" and key.get("key_format") == "base64":
            ctx.problem(
                base + ("public_key", "key_format"),
                "a raw base64 key is an Ed25519 key; RSA keys are pem",
            )
    if "timestamp" in raw:
        verify["timestamp"] = {
            **raw["timestamp"],
            "tolerance": duration_seconds(raw["timestamp"]["tolerance"]),
        }
    ctx.used_in_auth |= used
    return verify, tuple(name for name in ctx.data.get("auth", {}).get("credentials", {}) if name in used)


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
        algorithm = {"ed25519": "Ed25519", "rsa_pkcs1v15_sha256": "RSA SHA-256"}[check["algorithm"]]
        kind = f"{algorithm} signature in {check['header']}"
    else:
        words = signing_words(verify.get("sign", [])) or "a value"
        kind = f"{words} in {verify['compare']['header']}"
        if isinstance(verify["compare"]["value"], list) and len(verify["compare"]["value"]) > 1:
            kind += f" (any of {len(verify['compare']['value'])} signed forms)"
    if verify.get("headers"):
        kind += f", over the {', '.join(verify['headers'].values())} header{'s' if len(verify['headers']) > 1 else ''} too"
    if "timestamp" in verify:
        kind += f", signed time within {verify['timestamp']['tolerance']:g} s"
    return kind
