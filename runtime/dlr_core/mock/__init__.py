"""A local stand-in for a provider, served from its spec: it checks signatures exactly as
the spec's auth scheme computes them, checks required parameters, and answers from a
scripted scenario (the provider's documented example by default).

    with MockProvider(dlr_acme_sms.API, credentials) as mock:
        client = dlr_acme_sms.Client(**credentials, base_url=mock.base_url)

A scenario maps operation names to steps, served in order (the last one repeats):
``{"body": {...}}`` answers that body as is; ``{"data": {...}}`` wraps a payload in the
success envelope; ``{"error": code, "message": "..."}`` answers the provider's error
envelope; ``{"status": 503}`` answers a bare HTTP status; ``{"html": "..."}`` an HTML page;
``{"delay": 1.5}`` waits first; ``{"headers": {...}}`` adds response headers (such as
Retry-After); ``{"repeat": 3}`` serves the step three times. From Python, ``{"respond": f}``
calls ``f(request)`` for the payload, so answers can depend on what was asked.
``{"revoke_tokens": true}`` refuses every OAuth2 token issued so far and answers the
provider's authentication error (once; a client fetches a new token and goes on).

Auth is checked by signing again (``dlr_core.mock_auth``): the request's own nonce,
timestamp and token are read back from wherever the scheme placed them, even inside one
header value among other text, and every placed value must come out the same. A scheme's
OAuth2 client-credentials steps get their token endpoint served: the client credentials
are checked as the step sends them (HTTP Basic or form fields, and the scope), the token
issued expires after ``token_lifetime`` seconds, and operations accept only a live token
the mock issued. Each token endpoint is served at its path on the mock's own port, an
absolute ``token_url`` on another host included: give the client ``token_url=
mock.token_url()`` next to ``base_url=mock.base_url`` (the client never moves its token
requests on its own).

Limits (each a keyword argument of ``MockProvider``), so that a hostile or broken client
can neither grow the mock's memory without bound nor hold a connection forever, and every
request gets an answer:

- ``max_body_bytes`` (1 MiB): a request body over it is answered 413 and the connection
  closed; the mock stops reading at the cap (at once when Content-Length declares more),
  so it holds at most the cap of each request in flight.
- ``max_header_bytes`` (16 KiB): request line and headers together; over it, 431.
- ``idle_timeout`` (30 s): a connection that starts no request for that long is closed
  (also the time allowed for a client to take an answer off the wire).
- ``request_timeout`` (30 s): a request must arrive whole, headers and body, within that
  long of its first byte; otherwise 408 and the connection is closed.
- ``keep_requests`` (1,000): ``requests``, the log, keeps that many of the latest requests.
  A logged request keeps ``logged_body_bytes`` (4 KiB) of its body (``body_length`` is the
  whole length) and, past that, at most 128 parsed parameters (8 KiB) per place (query,
  headers, form or JSON body), ``truncated`` telling when something was cut. The request
  a ``respond`` function receives is whole.
- Malformed HTTP, a form body of more than 10,000 fields, or a JSON body nested too deeply
  to parse, is answered 400; anything else failing while answering (a scenario's
  ``respond`` raising, say) is answered 500 and logged to the ``dlr_core.mock`` logger.
  Either way the answer is JSON, ``{"message": ...}``, and the mock goes on serving.
- The number of connections is not limited (the listen backlog is 512).

The package's modules, by concern: ``scenario`` (``MockProvider``: routing, parameters,
scenario steps, the provider's envelope), ``verify`` (the signature check), ``server`` (the
h11 server and its limits) and ``request_log`` (``MockRequest``, the log's bounds).
"""

from __future__ import annotations

from dlr_core.mock.request_log import DEFAULT_LOGGED_BODY_BYTES, MAX_FORM_FIELDS, MockRequest
from dlr_core.mock.scenario import DEFAULT_KEEP_REQUESTS, STEP_KEYS, MockProvider, ScenarioError, Step
from dlr_core.mock.server import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
)
from dlr_core.mock_auth import DEFAULT_TOKEN_LIFETIME

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_KEEP_REQUESTS",
    "DEFAULT_LOGGED_BODY_BYTES",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_REQUEST_TIMEOUT",
    "DEFAULT_TOKEN_LIFETIME",
    "MAX_FORM_FIELDS",
    "STEP_KEYS",
    "MockProvider",
    "MockRequest",
    "ScenarioError",
    "Step",
]
