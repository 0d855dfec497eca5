"""Receiving pushed delivery reports with Flask (WSGI): the generated parser, in a view.

``parse_callback`` verifies the push (``X-Twilio-Signature`` here), reads it and returns
canonical receipts; its typed errors say how to answer. Run with ``flask --app
callbacks_flask run``; give Twilio the public URL, e.g. https://hooks.example.com/twilio, as
StatusCallback. Twilio signs that URL: without ``PUBLIC_URL`` the view rebuilds it from the
request (scheme and Host), right when Twilio reaches the app directly; behind a proxy that
changes them, set ``PUBLIC_URL=https://hooks.example.com``. A refused push is logged with
the URL checked.
"""

from __future__ import annotations

import os

from flask import Flask, Response, request

from dlr_core import CallbackSignatureError, MalformedCallback
from dlr_core.callbacks import MAX_CALLBACK_BYTES
from dlr_twilio_messaging.callbacks import STATUS_CALLBACK, parse_callback

PUBLIC_URL = os.environ.get("PUBLIC_URL")  # the origin Twilio was given; unset: the request's
AUTH_TOKEN = os.environ["TWILIO_AUTH_TOKEN"]  # no default: an empty token verifies nothing
app = Flask(__name__)
# Flask reads at most one byte past a push's limit (a longer Content-Length: 413), so the
# parser sees a chunked body that is too large as such (400), not cut to a shorter one.
app.config["MAX_CONTENT_LENGTH"] = MAX_CALLBACK_BYTES + 1
seen: set[str] = set()  # use your database: the key is stable across repeated pushes


@app.post("/twilio")
def twilio_status() -> Response:
    origin = PUBLIC_URL or request.host_url.rstrip("/")
    url = origin + request.full_path.rstrip("?")  # the URL Twilio signed, query included
    try:
        receipts = parse_callback(
            request.method,
            url,
            dict(request.headers),
            request.get_data(),
            auth_token=AUTH_TOKEN,
        )
    except CallbackSignatureError as refused:  # its text names the URL checked, never a secret
        app.logger.warning("refused a push: %s", refused)
        answer = STATUS_CALLBACK.reject
        return Response(answer.body, answer.status, content_type=answer.content_type)
    except MalformedCallback:
        return Response("malformed", 400)
    for receipt in receipts:
        if receipt.idempotency_key not in seen:
            seen.add(receipt.idempotency_key or "")
            print(receipt.message_id, receipt.recipient, receipt.status)
    answer = STATUS_CALLBACK.answer
    return Response(answer.body, answer.status, content_type=answer.content_type)
