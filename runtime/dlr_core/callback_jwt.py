"""A push verified by the JWT it carries (``verify: {jwt: ...}``): the token's signature,
then the claims the check expects, then its times; the claims are returned (a provider may
send its report as the token's claims)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dlr_core import callback_run
from dlr_core.callback_run import Callback
from dlr_core.callback_verification import ClaimCheck, JwtCheck, jwt_time_refusal, jwt_token_parts
from dlr_core.errors import CallbackError, CallbackSignatureError, StaleCallback
from dlr_core.signing import SigningError
from dlr_core.steps import as_bytes

if TYPE_CHECKING:  # an annotation only: dlr_core.spec brings pydantic
    from dlr_core.spec import Clock


def verify_jwt(
    callback: Callback,
    check: JwtCheck,
    method: str,
    urls: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, str],
    timestamp: str | None,
    sent_headers: Mapping[str, str],
    clock: Clock,
    *,
    fields: Sequence[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The claims of the push's token, once its signature, claims and times verify.
    ``fields``: the body's fields, already read (``callback_run.form_fields``)."""

    def refused(why: str, error: type[CallbackError] = CallbackSignatureError) -> CallbackError:
        return error(why, provider=callback.provider, raw_body=body)

    token = headers.get(check.header.lower())
    if not token:
        raise refused(f"the push has no {check.header} header")
    why = f"the {check.header} token does not verify"
    for url in urls:
        try:
            run = callback_run.push_run(
                callback,
                method,
                url,
                body,
                credentials,
                timestamp,
                callback.verify.sign if callback.verify else (),
                sent_headers,
                headers.get("content-type", ""),
                fields=fields,
            )
            key = as_bytes(run.value(check.key))
            expected = [
                (claim, run.text(claim.value), run.text(claim.only_if) if claim.only_if else None)
                for claim in check.claims
            ]
        except SigningError as exc:
            raise refused(f"the push cannot be verified: {exc}") from None
        except UnicodeError:
            raise refused("the push's URL or headers are not Unicode text") from None
        try:
            claims = jwt_token_parts(check, token, key)
        except ValueError as exc:
            raise refused(f"the {check.header} token does not verify: {exc}") from None
        mismatch = claims_mismatch(claims, expected, check.required)
        if mismatch is None:
            late = jwt_time_refusal(claims, clock().timestamp(), check.leeway)
            if late is not None:
                raise refused(late, StaleCallback)
            return claims
        why = f"the {check.header} token does not fit the push received at {url[:2048]}: {mismatch}"
    raise refused(why)


def claims_mismatch(
    claims: Mapping[str, Any],
    expected: Sequence[tuple[ClaimCheck, str, str | None]],
    required: Sequence[str],
) -> str | None:
    """Which claim does not fit the push (``None`` when every one does): each expected claim
    equal to its value (text; another JSON value as its compact JSON), compared in constant
    time, absent when its ``only_if`` text is empty; each required claim present, not empty."""

    def present(name: str) -> bool:
        return claims.get(name) not in (None, "")

    for claim, value, only_if in expected:
        if only_if is not None and not only_if:
            if present(claim.key):
                return f"the claim {claim.key} is set, but there is nothing for it to cover"
            continue
        if not present(claim.key):
            return f"the claim {claim.key} is missing"
        sent = claims[claim.key]
        text = sent if isinstance(sent, str) else json.dumps(sent, separators=(",", ":"))
        if not hmac.compare_digest(
            text.encode("utf-8", "surrogatepass"), value.encode("utf-8", "surrogatepass")
        ):
            return f"the claim {claim.key} does not match"
    for name in required:
        if not present(name):
            return f"the claim {name} is missing"
    return None
