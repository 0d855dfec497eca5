"""Receiving pushed delivery reports with Starlette (FastAPI alike: ``app.mount(...)``).

``CallbackApp`` is a plain ASGI app: mounted at /callbacks, it serves
/callbacks/twilio_messaging and /callbacks/tencent_sms, verifies each push as its provider
signs it, answers as the provider expects, and hands the canonical receipts to
``on_receipts``.

Try it locally with no environment variable set (from docs/examples/)::

    uvicorn callbacks_starlette:app

``TWILIO_AUTH_TOKEN`` unset, the app checks Twilio's pushes against a random token of this
run (never an empty one: an HMAC with an empty key is one anyone can make), kept in a file
only you can read, and logs one line with the command that pushes signed test reports to
it, e.g.::

    dlrgen mock twilio_messaging --out .../generated --scenario .../twilio_pushes.yaml \
        --push http://127.0.0.1:8000/callbacks/twilio_messaging \
        --credential auth_token=@/tmp/twilio-test-token-k3j2f9

(8000 is uvicorn's port unless told otherwise; served elsewhere, change the URL.) The
command pushes twilio_pushes.yaml's reports signed with that token: each is accepted, the
tampered one refused (403). Twilio's real pushes are signed with your account's auth
token, so without ``TWILIO_AUTH_TOKEN`` every one of them is refused: set it in production.

In production, give Twilio the public URL, e.g.
https://hooks.example.com/callbacks/twilio_messaging, as StatusCallback. Twilio signs that
URL: without ``PUBLIC_URL`` the app rebuilds the URL from the request (scheme and Host
header), which is right when Twilio reaches the app directly; behind a proxy that changes
the scheme, host or path, set ``PUBLIC_URL=https://hooks.example.com`` (the origin Twilio
calls). A push refused for its signature is logged with the URL the app checked.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shlex
import tempfile
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount

import dlr_twilio_messaging
from dlr_core import Receipt
from dlr_core.callbacks import CallbackApp
from dlr_tencent_sms.callbacks import callback_endpoint as tencent_endpoint
from dlr_twilio_messaging.callbacks import callback_endpoint as twilio_endpoint

log = logging.getLogger(__name__)
seen: set[str] = set()  # use your database: the key is stable across repeated pushes


def twilio_auth_token(push_url: str) -> str:
    """``TWILIO_AUTH_TOKEN``, or when it is unset a random token of this run, written to a
    file only this user can read (a log is no place for a secret) and named in a logged
    command that pushes test reports to ``push_url`` signed with it."""
    token = os.environ.get("TWILIO_AUTH_TOKEN")
    if token:
        return token
    token = secrets.token_urlsafe(32)
    descriptor, path = tempfile.mkstemp(prefix="twilio-test-token-")  # mode 0600
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token)
    atexit.register(Path(path).unlink, missing_ok=True)
    package = Path(dlr_twilio_messaging.__file__).parent  # <generated>/dlr_x/dlr_x: give --out
    out = ["--out", str(package.parent.parent)] if package.parent.name == package.name else []
    command = [
        *("dlrgen", "mock", "twilio_messaging", *out),
        *("--scenario", str(Path(__file__).resolve().with_name("twilio_pushes.yaml"))),
        *("--push", push_url, "--credential", f"auth_token=@{path}"),
    ]
    log.warning(
        "TWILIO_AUTH_TOKEN is unset: pushes are checked against a random token of this run, so "
        "every push Twilio makes is refused (403; set it in production); to push signed test "
        "reports: %s",
        shlex.join(command),
    )
    return token


async def on_receipts(route: str, receipts: list[Receipt]) -> None:
    for receipt in receipts:
        if receipt.idempotency_key in seen:
            continue  # the provider pushed this report again
        seen.add(receipt.idempotency_key or "")
        print(route, receipt.message_id, receipt.recipient, receipt.status)


callbacks = CallbackApp(
    {
        "twilio_messaging": twilio_endpoint(
            auth_token=twilio_auth_token("http://127.0.0.1:8000/callbacks/twilio_messaging")
        ),
        # Tencent does not sign its pushes: anyone who knows this URL can push one. Keep the
        # URL secret (a random path) or let only Tencent's addresses reach it.
        "tencent_sms": tencent_endpoint(),
    },
    on_receipts,
    prefix="",  # the mount point is the prefix
    public_url=os.environ.get("PUBLIC_URL"),  # the origin Twilio calls; unset: the request's
)
app = Starlette(routes=[Mount("/callbacks", app=callbacks)])
