"""Receiving pushed delivery reports with Starlette (FastAPI alike: ``app.mount(...)``).

``CallbackApp`` is a plain ASGI app: mounted at /callbacks, it serves
/callbacks/twilio_messaging and /callbacks/tencent_sms, verifies each push as its provider
signs it, answers as the provider expects, and hands the canonical receipts to
``on_receipts``.

Try it locally, pushing signed reports with the mock (its test auth token is
``mock-auth-token``)::

    TWILIO_AUTH_TOKEN=mock-auth-token uvicorn callbacks_starlette:app
    dlrgen mock twilio_messaging --scenario twilio_pushes.yaml \
        --push http://127.0.0.1:8000/callbacks/twilio_messaging

In production, give Twilio the public URL, e.g.
https://hooks.example.com/callbacks/twilio_messaging, as StatusCallback. Twilio signs that
URL: without ``PUBLIC_URL`` the app rebuilds the URL from the request (scheme and Host
header), which is right when Twilio reaches the app directly; behind a proxy that changes
the scheme, host or path, set ``PUBLIC_URL=https://hooks.example.com`` (the origin Twilio
calls). A push refused for its signature is logged with the URL the app checked.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.routing import Mount

from dlr_core import Receipt
from dlr_core.callbacks import CallbackApp
from dlr_tencent_sms.callbacks import callback_endpoint as tencent_endpoint
from dlr_twilio_messaging.callbacks import callback_endpoint as twilio_endpoint

seen: set[str] = set()  # use your database: the key is stable across repeated pushes


async def on_receipts(route: str, receipts: list[Receipt]) -> None:
    for receipt in receipts:
        if receipt.idempotency_key in seen:
            continue  # the provider pushed this report again
        seen.add(receipt.idempotency_key or "")
        print(route, receipt.message_id, receipt.recipient, receipt.status)


callbacks = CallbackApp(
    {
        "twilio_messaging": twilio_endpoint(auth_token=os.environ["TWILIO_AUTH_TOKEN"]),
        # Tencent does not sign its pushes: anyone who knows this URL can push one. Keep the
        # URL secret (a random path) or let only Tencent's addresses reach it.
        "tencent_sms": tencent_endpoint(),
    },
    on_receipts,
    prefix="",  # the mount point is the prefix
    public_url=os.environ.get("PUBLIC_URL"),  # the origin Twilio calls; unset: the request's
)
app = Starlette(routes=[Mount("/callbacks", app=callbacks)])
