"""Receiving pushed delivery reports with Flask (WSGI): the generated parser, in a view.

``parse_callback`` verifies the push (``X-Twilio-Signature`` here), reads it and returns
canonical receipts; its typed errors say how to answer. Run with ``flask --app
callbacks_flask run`` (from docs/examples/); give Twilio the public URL, e.g.
https://hooks.example.com/twilio, as StatusCallback. Twilio signs that URL: without
``PUBLIC_URL`` the view rebuilds it from the request (scheme and Host), right when Twilio
reaches the app directly; behind a proxy that changes them, set
``PUBLIC_URL=https://hooks.example.com``. A refused push is logged with the URL checked.

``TWILIO_AUTH_TOKEN`` unset, pushes are checked against a random token of this run (never
an empty one: an HMAC with an empty key is one anyone can make), kept in a file only you
can read, and one logged line gives the command that pushes signed test reports to the
app (``dlrgen mock twilio_messaging ... --push http://127.0.0.1:5000/twilio --credential
auth_token=@<that file>``; 5000 is Flask's port unless told otherwise). Twilio's real
pushes are then all refused (403): set it in production.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shlex
import tempfile
from pathlib import Path

from flask import Flask, Response, request

import dlr_twilio_messaging
from dlr_core import CallbackSignatureError, MalformedCallback
from dlr_core.callbacks import MAX_CALLBACK_BYTES
from dlr_twilio_messaging.callbacks import STATUS_CALLBACK, parse_callback

log = logging.getLogger(__name__)


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


PUBLIC_URL = os.environ.get("PUBLIC_URL")  # the origin Twilio was given; unset: the request's
AUTH_TOKEN = twilio_auth_token("http://127.0.0.1:5000/twilio")
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
