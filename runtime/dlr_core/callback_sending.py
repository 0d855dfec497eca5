"""A push as the provider would send it, for ``dlrgen mock --push`` and tests of an
endpoint: the body (with a signature or values the check reads from it) and the headers
(signature, signed time, nonces, a JWT), signed as the callback's ``verify`` says."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from dlr_core import callback_run
from dlr_core.callback_run import Callback, utc_now
from dlr_core.callback_verification import JwtCheck, fresh_nonce, json_object, jwt_sign, private_key_sign
from dlr_core.signing import SigningError, timestamp_text
from dlr_core.steps import as_bytes


def sign_headers(
    callback: Callback,
    url: str,
    body: bytes,
    credentials: Mapping[str, str],
    private_key: str | None,
    moment: datetime | None,
) -> tuple[dict[str, str], bytes]:
    verify = callback.verify
    values_of: dict[str, str] = {}
    if verify is not None and (verify.fields or (verify.compare and verify.compare.field)):
        made = {name: fresh_nonce() for _, name in verify.fields}
        body = with_fields(body, made)
        values_of = {variable: made[name] for variable, name in verify.fields}
    headers: dict[str, str] = {"Content-Type": callback.content_type(body)}
    if verify is None:
        return headers, body
    moment = moment or utc_now()
    timestamp = None
    if verify.timestamp is not None:
        timestamp = timestamp_text(moment, verify.timestamp.style)
        headers[verify.timestamp.header] = timestamp
    sent_headers: dict[str, str] = {}
    for variable, header in verify.headers:
        # A signed header the push carries anyway (its Content-Type) keeps its value;
        # any other (a nonce) gets a fresh random one.
        sent = next((value for name, value in headers.items() if name.lower() == header.lower()), None)
        sent_headers[variable] = fresh_nonce() if sent is None else sent
        if sent is None:
            headers[header] = sent_headers[variable]
    sent_headers.update(values_of)
    values = callback_run.push_values(
        callback,
        callback.method,
        url,
        body,
        credentials,
        timestamp,
        verify.sign,
        sent_headers,
        headers["Content-Type"],
    )
    if verify.compare is not None and verify.compare.field is not None:
        body = with_fields(body, {verify.compare.field: values[verify.compare.value]})
    elif verify.compare is not None:
        headers[verify.compare.header] = values[verify.compare.value]
    for equals in verify.equals:  # a header the check expects (query parameters: push_url)
        if equals.header:
            headers[equals.header] = values[equals.value]
    if verify.public_key is not None:
        check = verify.public_key
        if private_key is None:
            raise SigningError(f"signing a {check.algorithm} push needs the provider's private key")
        algorithm = check.algorithm
        if check.algorithm_by is not None:  # as the body names it (the first choice by default)
            member, choices = check.algorithm_by
            algorithm = dict(choices).get(str(json_object(body).get(member)), algorithm)
        signature = private_key_sign(algorithm, private_key, values[check.input].encode("utf-8"))
        text = base64.b64encode(signature).decode("ascii") if check.encoding == "base64" else signature.hex()
        if check.field:
            members = json_object(body)
            members[check.field] = text
            body = json.dumps(members, ensure_ascii=False).encode("utf-8")
        else:
            headers[check.header] = text
    if verify.jwt is not None:
        headers[verify.jwt.header] = signed_token(
            callback, verify.jwt, url, body, credentials, timestamp, sent_headers, moment
        )
    return headers, body


def with_fields(body: bytes, fields: Mapping[str, str]) -> bytes:
    """A form body with these fields set: each replaces the field of its name (the last
    one set goes last, where a changed byte of the body changes it)."""
    pairs = [
        (key, value)
        for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        if key not in fields
    ]
    return urlencode(pairs + list(fields.items())).encode("ascii")


def signed_token(
    callback: Callback,
    check: JwtCheck,
    url: str,
    body: bytes,
    credentials: Mapping[str, str],
    timestamp: str | None,
    sent_headers: Mapping[str, str],
    moment: datetime,
) -> str:
    """The token the provider would send: the report itself as claims when they are what
    is read, every claim the check expects, and a value for each it requires (a minute
    of validity for ``exp``, the moment for ``nbf`` and ``iat``, a random ``jti``)."""
    assert callback.verify is not None
    run = callback_run.push_run(
        callback,
        callback.method,
        url,
        body,
        credentials,
        timestamp,
        callback.verify.sign,
        sent_headers,
        callback.content_type(body),
    )
    claims: dict[str, Any] = {}
    if check.read_claims:
        claims.update(json.loads(body.decode("utf-8")) if body.strip() else {})
    for claim in check.claims:
        if claim.only_if is None or run.text(claim.only_if):
            claims[claim.key] = run.text(claim.value)
    now = int(moment.timestamp())
    for name in check.required:
        if name not in claims:
            claims[name] = now + 60 if name == "exp" else now if name in ("nbf", "iat") else fresh_nonce()
    return jwt_sign(check.algorithms[0], as_bytes(run.value(check.key)), claims)


def push_url(callback: Callback, url: str, credentials: Mapping[str, str]) -> str:
    """``url`` with the query parameters the check expects in it (``equals`` with
    ``query``) added, as the URL the provider was given carries them."""
    verify = callback.verify
    wanted = [each for each in (verify.equals if verify else ()) if each.query]
    if not wanted:
        return url
    values = callback_run.push_values(callback, "POST", url, b"", credentials, None, (), {})
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    present = {name for name, _ in pairs}
    pairs += [(each.query, values[each.value]) for each in wanted if each.query not in present]
    return parts._replace(query=urlencode(pairs)).geturl()


def sign_push(
    callback: Callback,
    url: str,
    body: bytes,
    *,
    credentials: Mapping[str, str],
    private_key: str | None = None,
    moment: datetime | None = None,
    certificate_url: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """The headers and the body the provider would send with this push: ``sign``'s
    headers, and for a signature carried in the JSON body (``public_key.field``) the
    body with it (and with the first ``algorithm_by`` choice's value); for one among the
    form fields, fresh values in ``fields`` and the signature in ``compare.field``, each
    replacing a field of that name. A check with a
    certificate needs its URL in the body, or ``certificate_url`` (put in the body when
    it names none): the receiver must be given the matching certificate for it."""
    check = callback.verify.public_key if callback.verify is not None else None
    if check is not None and check.field:
        members = json_object(body)
        if not members:
            raise SigningError(f"{callback.name} is signed in its JSON body; this body is not a JSON object")
        if check.algorithm_by is not None:
            members.setdefault(check.algorithm_by[0], check.algorithm_by[1][0][0])
        if check.certificate is not None and certificate_url is not None:
            members.setdefault(check.certificate_field, certificate_url)
        if check.certificate is not None and not isinstance(members.get(check.certificate_field), str):
            raise SigningError(
                f"the push names no certificate: give {check.certificate_field} in the payload"
            )
        body = json.dumps(members, ensure_ascii=False).encode("utf-8")
    return sign_headers(callback, url, body, credentials, private_key, moment)
