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
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import threading
import urllib.parse
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from types import TracebackType
from typing import Any, cast

import h11
from typing_extensions import Self

from dlr_core.spec import ApiSpec, OperationSpec, ParamSpec
from dlr_core.errors import ErrorKind
from dlr_core.request import PreparedRequest
from dlr_core.mock_auth import (
    DEFAULT_TOKEN_LIFETIME,
    GivenTokens,
    TokenIssuer,
    generated,
    mock_token_url,
    moment_of,
    placed_values,
    recover,
    token_steps,
    without_generators,
)
from dlr_core.signing import Scheme, Signer, SigningError

Step = Mapping[str, Any]

DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_HEADER_BYTES = 16 << 10
DEFAULT_IDLE_TIMEOUT = 30.0
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_KEEP_REQUESTS = 1000
DEFAULT_LOGGED_BODY_BYTES = 4 << 10
MAX_FORM_FIELDS = 10_000
"""A form body with more fields is answered 400 (parsed, each costs ~150 bytes)."""
_LOGGED_PAIRS = 128
_LOGGED_PAIR_CHARS = 8 << 10
_LINGER = 2.0
"""How long, after refusing a request, the mock reads and drops what the client still
sends, so that closing does not reset the connection before the client reads the answer."""
_READ_SIZE = 65536

_log = logging.getLogger(__name__)


STEP_KEYS = frozenset(
    {
        "body",
        "data",
        "error",
        "message",
        "status",
        "html",
        "delay",
        "headers",
        "repeat",
        "respond",
        "revoke_tokens",
    }
)
"""What a scenario step may say (see the module's documentation)."""


class ScenarioError(ValueError):
    """A scenario the mock cannot follow; ``path`` leads to the culprit (operation name, step
    index, key), so a tool that read the scenario from a file can say where it is."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def _check_scenario(api: ApiSpec, scenario: Mapping[str, Sequence[Step]]) -> None:
    """Every operation and every step key of a scenario is one the mock knows: a misspelt
    key (``stauts``) would otherwise be served as the documented example, silently."""
    import difflib

    operations = [op.name for op in api.operations]
    for name, steps in scenario.items():
        if name not in operations:
            guess = difflib.get_close_matches(name, operations, n=1)
            hint = f" (did you mean {guess[0]}?)" if guess else ""
            raise ScenarioError(
                (name,), f"unknown operation {name!r}{hint}; {api.provider} has: {', '.join(operations)}"
            )
        if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
            raise ScenarioError((name,), f"{name}: the steps are a list, one answer each")
        for index, step in enumerate(steps):
            if not isinstance(step, Mapping):
                raise ScenarioError((name, index), f"{name} step {index + 1}: a step is a mapping")
            for key in step:
                if key not in STEP_KEYS:
                    guess = difflib.get_close_matches(str(key), sorted(STEP_KEYS), n=1)
                    hint = f" (did you mean {guess[0]}?)" if guess else ""
                    raise ScenarioError(
                        (name, index, key),
                        f"{name} step {index + 1}: unknown key {key!r}{hint}; "
                        f"a step may say: {', '.join(sorted(STEP_KEYS))}",
                    )


class _BadRequest(Exception):
    """The request's body cannot be read: answered 400."""


@dataclass
class MockRequest:
    """One request the mock received, and what it made of it.

    In ``MockProvider.requests`` (the log), ``body`` holds at most the first
    ``logged_body_bytes`` of the body and ``body_length`` its whole length; ``form`` and
    ``json`` still give the parameters (at most 128, 8 KiB, when the body was longer), and
    ``truncated`` says whether anything was cut.
    """

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # names in lower case
    body: bytes
    operation: str | None = None
    authenticated: bool = False
    body_length: int = -1
    """The body's length in bytes (when refused with 413: as declared, or as far as read)."""
    status: int | None = None
    """The HTTP status the mock answered (None while it is answering)."""
    truncated: bool = False
    """Whether this logged request holds less than was received (body or parameters)."""
    _logged: bool = field(default=False, init=False, repr=False, compare=False)
    _params_body: bytes | None = field(default=None, init=False, repr=False, compare=False)
    _parsed: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.body_length < 0:
            self.body_length = len(self.body)

    @classmethod
    def received(
        cls, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> MockRequest:
        """A request as read off the wire: ``target`` is the path and query as sent (still
        percent-encoded: signatures cover it so), header names in any case."""
        split = urllib.parse.urlsplit(target)
        return cls(
            method,
            split.path,
            urllib.parse.parse_qsl(split.query, keep_blank_values=True),
            {name.lower(): value for name, value in headers},
            body,
        )

    @property
    def form(self) -> list[tuple[str, str]]:
        if not self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return []
        cached: list[tuple[str, str]] | None = self._parsed.get("form")
        if cached is not None:
            return cached
        source = self.body if self._params_body is None else self._params_body
        try:
            pairs = urllib.parse.parse_qsl(
                source.decode("utf-8", "replace"),
                keep_blank_values=True,
                max_num_fields=MAX_FORM_FIELDS,
            )
        except ValueError:
            if self._logged:
                return []
            raise _BadRequest(f"the form body has more than {MAX_FORM_FIELDS} fields") from None
        if not self._logged:  # a logged request parses again rather than hold more
            self._parsed["form"] = pairs
        return pairs

    @property
    def json(self) -> dict[str, Any]:
        if not self.headers.get("content-type", "").startswith("application/json"):
            return {}
        cached: dict[str, Any] | None = self._parsed.get("json")
        if cached is not None:
            return cached
        source = self.body if self._params_body is None else self._params_body
        try:
            value = json.loads(source or b"{}")
        except ValueError:
            value = {}
        except RecursionError:
            if self._logged:
                return {}
            raise _BadRequest("the JSON body is nested too deeply") from None
        found: dict[str, Any] = value if isinstance(value, dict) else {}
        if not self._logged:
            self._parsed["json"] = found
        return found

    def value(self, location: str, name: str) -> str | None:
        """A value as the client placed it: in the query, a header, or the body."""
        if location == "query":
            return next((v for k, v in self.query if k == name), None)
        if location == "header":
            return self.headers.get(name.lower())
        found = next((v for k, v in self.form if k == name), None)
        if found is None and name in self.json:
            found = str(self.json[name])
        return found

    def has_param(self, location: str, name: str) -> bool:
        if location == "body":  # the whole JSON body (an array)
            return bool(self.body.strip())
        if location == "json":
            return name in self.json
        pairs = self.query if location == "query" else self.form if location == "form" else []
        if location == "header":
            return name.lower() in self.headers
        return any(k == name or k.startswith(f"{name}.") for k, _ in pairs)

    def _excerpt(self, body_bytes: int, *, parameters: bool = True) -> MockRequest:
        """This request as the log keeps it: bounded, whatever the client sent."""
        query, cut_query = _bounded(self.query)
        headers, cut_headers = _bounded(list(self.headers.items()))
        entry = MockRequest(
            self.method,
            self.path,
            query,
            dict(headers),
            self.body[:body_bytes],
            self.operation,
            self.authenticated,
            body_length=self.body_length,
            status=self.status,
        )
        entry._logged = True
        whole = len(self.body) <= body_bytes and self.body_length == len(self.body)
        if not parameters:
            entry._params_body, cut_params = b"", bool(self.body)
        elif whole:
            entry._params_body, cut_params = None, False  # parsed from the body itself
        else:
            entry._params_body, cut_params = self._bounded_parameters()
        entry.truncated = not whole or cut_query or cut_headers or cut_params
        return entry

    def _bounded_parameters(self) -> tuple[bytes, bool]:
        """The body's parameters, at most ``_LOGGED_PAIRS`` of them in
        ``_LOGGED_PAIR_CHARS``, encoded as the body was; and whether some were left out.
        """
        try:
            form = self.form
        except _BadRequest:
            return b"", True
        if form:
            pairs, cut = _bounded(form)
            return urllib.parse.urlencode(pairs).encode(), cut
        try:
            data = self.json
        except _BadRequest:
            return b"", True
        kept: dict[str, Any] = {}
        size, cut = 0, False
        for name, value in data.items():
            try:
                size += len(json.dumps({name: value}, ensure_ascii=False))
            except (TypeError, ValueError, RecursionError):
                cut = True
                continue
            if len(kept) >= _LOGGED_PAIRS or size > _LOGGED_PAIR_CHARS:
                cut = True
                break
            kept[name] = value
        return (json.dumps(kept, ensure_ascii=False).encode() if kept else b""), cut


def _bounded(pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], bool]:
    """The first pairs that fit ``_LOGGED_PAIRS`` and ``_LOGGED_PAIR_CHARS``; whether some
    were left out."""
    kept: list[tuple[str, str]] = []
    size = 0
    for name, value in pairs:
        if len(kept) >= _LOGGED_PAIRS:
            return kept, True
        size += len(name) + len(value)
        if size > _LOGGED_PAIR_CHARS:
            return kept, True
        kept.append((name, value))
    return kept, False


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Script:
    steps: list[Step]
    served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self) -> Step | None:
        with self.lock:
            expanded = [step for step in self.steps for _ in range(int(step.get("repeat", 1)))]
            if not expanded:
                return None
            step = expanded[min(self.served, len(expanded) - 1)]
            self.served += 1
            return step


class MockProvider:
    """A provider's API on 127.0.0.1, from its ``ApiSpec``. Use it as a context manager, or
    call ``start()`` and ``stop()``; ``base_url`` is where clients should point. The limits
    (body and header size, timeouts, the log's length) are described in the module's
    documentation."""

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str],
        *,
        scenario: Mapping[str, Sequence[Step]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_clock_skew: float | None = 900.0,
        keep_requests: int = DEFAULT_KEEP_REQUESTS,
        logged_body_bytes: int = DEFAULT_LOGGED_BODY_BYTES,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
    ) -> None:
        for name, limit in {
            "keep_requests": keep_requests,
            "logged_body_bytes": logged_body_bytes,
            "max_body_bytes": max_body_bytes,
            "max_header_bytes": max_header_bytes,
            "idle_timeout": idle_timeout,
            "request_timeout": request_timeout,
        }.items():
            if not limit >= 0:
                raise ValueError(f"{name} must not be negative, got {limit!r}")
        self.api = api
        self.requests: deque[MockRequest] = deque(maxlen=keep_requests)
        """The latest requests received, oldest first (bounded: see ``MockRequest``)."""
        self._logged_body_bytes = logged_body_bytes
        self._variables = {**api.constants, **credentials}
        if api.api_version is not None:
            self._variables["api_version"] = api.api_version
        _check_scenario(api, scenario or {})
        self._scripts = {op.name: _Script(list((scenario or {}).get(op.name, []))) for op in api.operations}
        self._max_clock_skew = max_clock_skew
        self._read_schemes: list[Scheme] | None = None
        self._tokens = TokenIssuer(self._schemes(), self._variables, lifetime=token_lifetime, clock=_now)
        self._base_path = urllib.parse.urlsplit(api.servers[api.default_server]).path.rstrip("/")
        self._listen = (host, port, _Limits(max_body_bytes, max_header_bytes, idle_timeout, request_timeout))
        self._loop_server: _LoopServer | None = None  # bound on first use: in-process use opens no socket
        self._thread: threading.Thread | None = None

    @property
    def _server(self) -> _LoopServer:
        if self._loop_server is None:
            host, port, limits = self._listen
            self._loop_server = _LoopServer(self, host, port, limits)
        return self._loop_server

    @property
    def base_url(self) -> str:
        host, port = self._server.address
        return f"http://{host}:{port}{self._base_path}"

    def token_url(self, auth_scheme: str | None = None) -> str | dict[str, str] | None:
        """The ``token_url=`` that makes a client using ``auth_scheme`` (default: the API's
        default scheme) fetch its OAuth2 tokens from this mock, which serves each token
        endpoint's path on its own port, an absolute ``token_url`` on another host included:
        one URL, or one per token step; None for a scheme that fetches no token."""
        name = auth_scheme or self.api.default_scheme
        if name not in self.api.auth_schemes:
            raise ValueError(
                f"unknown auth scheme {name!r}; choose one of: {', '.join(self.api.auth_schemes)}"
            )
        host, port = self._server.address
        return mock_token_url(Scheme.from_data(self.api.auth_schemes[name]), f"http://{host}:{port}")

    def start(self) -> Self:
        """Serve from a background thread."""
        self._thread = threading.Thread(target=self._server.run, name="dlr-mock", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until ``stop()`` is called from another (or Ctrl-C)."""
        self._server.run()

    def stop(self) -> None:
        if self._loop_server is None:
            return
        self._loop_server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- answering ---------------------------------------------------------------------

    def answer(self, request: MockRequest) -> _Answer:
        """Log the request and answer it; never raises: a body the mock cannot read is
        answered 400, anything else going wrong 500."""
        entry = self._record(request)
        try:
            answer = self._answer(request)
        except _BadRequest as exc:
            answer = _Answer(400, _dump({"message": f"bad request: {exc}"}))
        except Exception as exc:  # a bug, in the mock or a scenario's respond function
            _log.exception("dlr_core.mock: failed answering %s %s", request.method, request.path)
            answer = _Answer(
                500,
                _dump({"message": f"the mock failed: {type(exc).__name__}: {exc}"}),
            )
        request.status = entry.status = answer.status
        entry.operation = request.operation
        entry.authenticated = request.authenticated
        return answer

    def _record(self, request: MockRequest, *, parameters: bool = True) -> MockRequest:
        """Append the request to the log, as an excerpt; return the log's entry."""
        try:
            entry = request._excerpt(self._logged_body_bytes, parameters=parameters)
        except Exception:  # never lose a request to a bug in the log
            _log.exception("dlr_core.mock: cannot log %s", request.method)
            entry = MockRequest(request.method, request.path[:1024], [], {}, b"", truncated=True)
            entry.body_length = request.body_length
            entry.status = request.status
        self.requests.append(entry)
        return entry

    def _answer(self, request: MockRequest) -> _Answer:
        # Parse the body first: one the mock cannot read is answered 400 whatever the path.
        _ = (request.form, request.json)
        if request.path in self._tokens.endpoints:
            return self._token_answer(request)
        operation = self._route(request)
        if operation is None:
            return _Answer(
                404,
                json.dumps({"message": f"no operation at {request.method} {request.path}"}).encode(),
            )
        request.operation = operation.name
        skewed = self._clock_skewed(request)
        request.authenticated = not skewed and any(
            self._verify(scheme, request) for scheme in self._schemes()
        )
        if skewed:
            return self._error(
                ErrorKind.CLOCK_SKEW,
                401,
                "the request's timestamp is too far from the server's clock",
            )
        if not request.authenticated:
            return self._error(ErrorKind.AUTHENTICATION, 401, "the signature does not match")
        missing = [
            p.wire  # as the provider names it: the mock speaks the wire's language
            for p in operation.params
            if p.required
            and p.location != "path"  # routing already matched the path
            and not request.has_param(p.location, p.wire)
        ]
        given = [
            group
            for group, names in operation.alternatives
            if any(request.has_param(p.location, p.wire) for p in operation.params if p.name in names)
        ]
        if len(given) > 1:
            return self._error(
                ErrorKind.INVALID_REQUEST, 400, f"give the parameters of one of {', '.join(given)}, not both"
            )
        if missing:
            return self._error(
                ErrorKind.INVALID_REQUEST,
                400,
                f"missing required parameter {missing[0]}",
            )
        problems = (_invalid(request, p) for p in operation.params)
        invalid = next((problem for problem in problems if problem), None)
        if invalid is not None:
            return self._error(ErrorKind.INVALID_REQUEST, 400, invalid)
        step = self._scripts[operation.name].next()
        return self._scripted(operation, step or {}, request)

    def _route(self, request: MockRequest) -> OperationSpec | None:
        path = (
            request.path[len(self._base_path) :] if request.path.startswith(self._base_path) else request.path
        )
        candidates = [
            op
            for op in self.api.operations
            if op.method == request.method and _path_matches(op.path, path or "/")
        ]
        if len(candidates) > 1:
            values = (
                {v for _, v in request.query} | {v for _, v in request.form} | set(request.headers.values())
            )
            candidates = [op for op in candidates if op.action in values] or candidates[:1]
        return candidates[0] if candidates else None

    def _scripted(self, operation: OperationSpec, step: Step, request: MockRequest) -> _Answer:
        delay = float(step.get("delay", 0.0))
        if "respond" in step:
            answer = _Answer(
                int(step.get("status", 200)),
                _dump(self._success(step["respond"](request))),
            )
        elif "body" in step:
            answer = _Answer(int(step.get("status", 200)), _dump(step["body"]))
        elif "data" in step:
            answer = _Answer(int(step.get("status", 200)), _dump(self._success(step["data"])))
        elif "error" in step:
            answer = self._error_code(step["error"], step.get("message"), step.get("status"))
        elif "html" in step:
            answer = _Answer(int(step.get("status", 200)), str(step["html"]).encode(), "text/html")
        elif step.get("revoke_tokens"):
            self._tokens.revoke()
            answer = self._error(ErrorKind.AUTHENTICATION, 401, "the access token was revoked")
            answer.status = int(step.get("status", answer.status))
        elif "status" in step:
            status = int(step["status"])
            answer = _Answer(status, _dump({"message": f"HTTP {status}"}))
        elif operation.example is not None:
            answer = _Answer(200, _dump(operation.example))
        else:
            answer = _Answer(200, _dump(self._success({})))
        answer.delay = delay
        answer.headers = {str(k): str(v) for k, v in step.get("headers", {}).items()}
        return answer

    def _success(self, data: Any) -> Any:
        envelope = self.api.envelope
        if isinstance(data, list) and envelope.data_field is None:
            return data  # a top-level array answer: no envelope fields to add
        body: dict[str, Any] = {}
        if envelope.data_field is None:
            body.update(data if isinstance(data, dict) else {})
        else:
            _set_path(body, envelope.data_field, data)
        if envelope.success_mode == "equals":
            success = envelope.success_value
            _set_path(body, envelope.success_fields[0], success[0] if isinstance(success, tuple) else success)
            if envelope.message_fields:
                _set_path(body, envelope.message_fields[0], "success")
        if envelope.request_id_fields:
            _set_path(body, envelope.request_id_fields[0], uuid.uuid4().hex.upper())
        return body

    def _error(self, kind: ErrorKind, fallback_status: int, message: str) -> _Answer:
        found = self.api.errors.first_code(kind)
        if found is None:
            return self._error_code(fallback_status, message, fallback_status)
        code, info = found
        return self._error_code(code, f"{info.description} ({message})", info.http_status)

    def _error_code(self, code: Any, message: str | None, status: Any) -> _Answer:
        envelope = self.api.envelope
        info = self.api.errors.lookup(code)
        if isinstance(envelope.success_value, int) and _is_integer(code):
            code = int(code)
        body: dict[str, Any] = {}
        if envelope.success_mode == "equals":
            _set_path(body, envelope.success_fields[0], code)
        if envelope.code_fields:
            _set_path(body, envelope.code_fields[0], code)
        if envelope.message_fields:
            text = message or (info.description if info else "error")
            _set_path(body, envelope.message_fields[0], text)
        if envelope.request_id_fields:
            _set_path(body, envelope.request_id_fields[0], uuid.uuid4().hex.upper())
        # With success told by the HTTP status, an error must not answer 2xx.
        default = 400 if envelope.success_mode == "http" else 200
        if status is None:
            status = info.http_status if info and info.http_status else default
        return _Answer(int(status), _dump(body))

    # -- checking signatures -------------------------------------------------------------

    def _schemes(self) -> list[Scheme]:
        """The API's auth schemes, read once (they are data in the generated ``api.py``)."""
        if self._read_schemes is None:
            self._read_schemes = [Scheme.from_data(s) for s in self.api.auth_schemes.values()]
        return self._read_schemes

    def _known(self, request: MockRequest) -> dict[str, str]:
        """The variables the mock knows for this request: credentials, constants, the
        operation's action."""
        variables = dict(self._variables)
        operation = next((op for op in self.api.operations if op.name == request.operation), None)
        if operation is not None and operation.action is not None:
            variables["action"] = operation.action
        return variables

    def _readings(
        self, scheme: Scheme, request: MockRequest
    ) -> tuple[dict[tuple[str, str], str], list[dict[str, str]]] | None:
        """The values the scheme placed in the request, and the candidate readings of what
        the client made up for it (nonce, timestamp, tokens); None when a value is missing."""
        received: dict[tuple[str, str], str] = {}
        for location, name, _ in placed_values(scheme):
            value = request.value(location, name)
            if value is None:
                return None
            received[(location, name)] = value
        wanted = [*generated(scheme), *token_steps(scheme)]
        return received, recover(scheme, received, self._known(request), wanted)

    def _verify(self, scheme: Scheme, request: MockRequest) -> bool:
        """Re-sign the request as received, with its own timestamp, nonce and token read
        back from wherever the scheme placed them, and compare every value the scheme
        places. RSA PKCS#1 v1.5 is deterministic, so this covers it."""
        readings = self._readings(scheme, request)
        if readings is None:
            return False
        received, candidates = readings
        placed = placed_values(scheme)
        rebuilt_once = self._rebuild(request, placed)
        for reading in candidates:
            for tokens in self._token_choices(scheme, reading):
                for moment in self._moments(scheme, reading):
                    rebuilt = copy.deepcopy(rebuilt_once)
                    try:
                        Signer(
                            without_generators(scheme, reading),
                            {**self._known(request), **reading},
                            clock=lambda moment=moment: moment,  # type: ignore[misc]
                            tokens=cast(Any, GivenTokens(tokens)),
                        ).sign(rebuilt)
                    except (SigningError, KeyError, ValueError):
                        continue
                    probe = MockRequest(
                        request.method,
                        request.path,
                        rebuilt.query,
                        {k.lower(): v for k, v in rebuilt.headers.items()},
                        rebuilt.body(),
                        request.operation,
                    )
                    if all(probe.value(loc, name) == received[(loc, name)] for loc, name, _ in placed):
                        return True
        return False

    def _token_choices(self, scheme: Scheme, reading: Mapping[str, str]) -> list[dict[int, str]]:
        """The tokens to re-sign with: each stateful step's token as read from the request
        (valid only if the mock issued it, for that step, and it is live), or, for a token
        the scheme does not place, each live one."""
        choices: list[dict[int, str]] = [{}]
        for name, step in token_steps(scheme).items():
            if name in reading:
                options = [reading[name]] if self._tokens.valid(step, reading[name]) else []
            else:
                options = self._tokens.live(step)[:4]
            choices = [{**chosen, id(step): token} for chosen in choices for token in options]
        return choices

    def _moments(self, scheme: Scheme, reading: Mapping[str, str]) -> list[datetime]:
        """The signing moment: the request's own timestamp when it has one, else now (and
        the two seconds before, for a JWT's ``iat`` signed a moment ago)."""
        now = _now()
        if scheme.timestamp is not None and "timestamp" in reading:
            window = self._max_clock_skew if self._max_clock_skew is not None else 900.0
            return [moment_of(reading["timestamp"], scheme.timestamp, now, window) or now]
        return [now, now - timedelta(seconds=1), now - timedelta(seconds=2)]

    def _rebuild(self, request: MockRequest, placed: list[tuple[str, str, str]]) -> PreparedRequest:
        """The request as it was before the signer touched it."""
        names = {(loc, name.lower() if loc == "header" else name) for loc, name, _ in placed}
        rebuilt = PreparedRequest(
            request.method,
            f"http://{request.headers.get('host', '')}",
            request.path,
            query=[(k, v) for k, v in request.query if ("query", k) not in names],
            headers={k: v for k, v in request.headers.items() if ("header", k) not in names},
        )
        content_type = request.headers.get("content-type", "")
        places_in_body = any(loc == "body" for loc, _ in names)
        if content_type.startswith("application/x-www-form-urlencoded"):
            rebuilt.body_kind = "form"
            rebuilt.form = [(k, v) for k, v in request.form if ("body", k) not in names]
            rebuilt.content = None if places_in_body else request.body
        elif content_type.startswith("application/json"):
            rebuilt.body_kind = "json"
            rebuilt.json = {k: v for k, v in request.json.items() if ("body", k) not in names}
            rebuilt.content = None if places_in_body else request.body
        return rebuilt

    def _clock_skewed(self, request: MockRequest) -> bool:
        """Whether the request's timestamp, read back from wherever a scheme placed it, is
        further from the mock's clock than ``max_clock_skew``."""
        if self._max_clock_skew is None:
            return False
        now = _now()
        for scheme in self._schemes():
            if scheme.timestamp is None:
                continue
            readings = self._readings(scheme, request)
            for reading in readings[1] if readings else []:
                if "timestamp" not in reading:
                    continue
                # Not searched for (window 0): a text no parse reads is left to the
                # signature check, which signs it again as it is.
                moment = moment_of(reading["timestamp"], scheme.timestamp, now, 0)
                if moment is not None:
                    return abs((now - moment).total_seconds()) > self._max_clock_skew
        return False

    # -- OAuth2 token endpoints ----------------------------------------------------------

    def _token_answer(self, request: MockRequest) -> _Answer:
        status, body = self._tokens.answer(request.method, request.path, request.headers, request.form)
        request.authenticated = status == 200
        headers = {"Cache-Control": "no-store"} if status == 200 else {}
        if status == 401:
            headers["WWW-Authenticate"] = "Basic"
        return _Answer(status, _dump(body), headers=headers)


def _invalid(request: MockRequest, param: ParamSpec) -> str | None:
    """What is wrong with a parameter's value as received, checked as the spec constrains it."""
    if param.location == "json":
        value: Any = request.json.get(param.wire)
    elif param.location in ("query", "form", "header"):
        value = request.value("body" if param.location == "form" else param.location, param.wire)
    else:
        return None
    if param.max_items is not None:
        pairs = request.query if param.location == "query" else request.form
        count = sum(1 for k, _ in pairs if k.startswith(f"{param.wire}."))
        if count > param.max_items:
            return f"{param.wire}: at most {param.max_items} values, got {count}"
    if value is None:
        return None
    if param.minimum is not None or param.maximum is not None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return f"{param.wire}: {value!r} is not a number"
        if param.minimum is not None and number < param.minimum:
            return f"{param.wire}: {value} is below {param.minimum}"
        if param.maximum is not None and number > param.maximum:
            return f"{param.wire}: {value} is above {param.maximum}"
    if param.pattern is not None and isinstance(value, str) and not re.search(param.pattern, value):
        return f"{param.wire}: {value!r} does not match {param.pattern}"
    return None


def _set_path(body: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path, creating the objects on the way."""
    *parents, last = path.split(".")
    for part in parents:
        body = body.setdefault(part, {})
    body[last] = value


def _path_matches(template: str, path: str) -> bool:
    """``/Accounts/{AccountSid}/Messages.json`` matches ``/Accounts/AC1/Messages.json``."""
    pattern = re.escape(template)
    pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", pattern)
    return re.fullmatch(pattern, path) is not None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _is_integer(value: object) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class _Limits:
    max_body_bytes: int
    max_header_bytes: int
    idle_timeout: float
    request_timeout: float


@dataclass
class _Refusal:
    """A request refused before it was answered: 4xx, then the connection is closed."""

    status: int
    message: str
    request: MockRequest | None = None


class _LoopServer:
    """HTTP/1.1 (parsed by h11) on an asyncio loop of its own: one thread serves every
    connection, so a load test measures the mock rather than thread switching."""

    def __init__(self, mock: MockProvider, host: str, port: int, limits: _Limits) -> None:
        self._mock = mock
        self._limits = limits
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, host, port, backlog=512)
        )
        self.address: tuple[str, int] = self._server.sockets[0].getsockname()[:2]

    def run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

    def shutdown(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=self._limits.max_header_bytes)
        answering = False  # a request was read and its answer not yet written
        try:
            while True:
                received = await self._receive(connection, reader, writer)
                if received is None:
                    break  # the client closed the connection, or left it idle
                if isinstance(received, _Refusal):
                    await self._refuse(received, reader, writer)
                    break
                answering = True
                answer = self._mock.answer(received)
                if answer.delay:
                    await asyncio.sleep(answer.delay)
                data = _render(connection, received.method, answer)
                if data is None:  # h11 refused the answer (a scenario's header, say)
                    writer.write(_raw_response(500, "the mock cannot send its answer"))
                    answering = False
                    await self._drain(writer)
                    break
                writer.write(data)
                answering = False
                await self._drain(writer)
                if connection.our_state is h11.MUST_CLOSE:
                    break
                connection.start_next_cycle()
        except (ConnectionError, asyncio.TimeoutError):
            pass  # the client went away, or does not take its answer
        except asyncio.CancelledError:
            pass  # the mock is stopping: end quietly rather than log a cancelled task
        except Exception:  # a bug: answer a waiting request; other connections go on
            _log.exception("dlr_core.mock: connection failed")
            if answering and not writer.is_closing():
                writer.write(_raw_response(500, "the mock failed; see its log"))
        finally:
            writer.close()

    async def _receive(
        self,
        connection: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> MockRequest | _Refusal | None:
        """The next request, whole; a refusal (timeout, too large, malformed); or None when
        the client closed the connection or started nothing within the idle timeout."""
        limits = self._limits
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limits.idle_timeout
        started = False  # whether the request's first bytes have come
        event: Any = None
        request: h11.Request | None = None
        body = bytearray()
        while True:
            try:
                event = connection.next_event()
            except h11.RemoteProtocolError as exc:
                return self._refusal(exc.error_status_hint, f"malformed request: {exc}", request, body)
            if event is h11.NEED_DATA:
                if connection.they_are_waiting_for_100_continue:
                    continue_ = h11.InformationalResponse(status_code=100, headers=[])
                    writer.write(connection.send(continue_) or b"")
                try:
                    data = await asyncio.wait_for(reader.read(_READ_SIZE), max(0.0, deadline - loop.time()))
                except asyncio.TimeoutError:
                    if not started:
                        return None
                    return self._refusal(
                        408,
                        f"the request did not arrive within {limits.request_timeout:g} s",
                        request,
                        body,
                    )
                if data and not started:
                    started = True
                    deadline = loop.time() + limits.request_timeout
                connection.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
                if not started:  # pipelined: it was already here
                    started = True
                    deadline = loop.time() + limits.request_timeout
                if _head_size(event) > limits.max_header_bytes:
                    # h11 bounds what it buffers of a head, this the head itself.
                    return self._refusal(
                        431,
                        "the request line and headers are over the mock's limit of "
                        f"{limits.max_header_bytes} bytes",
                        None,
                        body,
                    )
                declared = _content_length(event)
                if declared is not None and declared > limits.max_body_bytes:
                    return self._refusal(413, _too_large(limits), request, body, length=declared)
            elif isinstance(event, h11.Data):
                if len(body) + len(event.data) > limits.max_body_bytes:
                    room = limits.max_body_bytes - len(body)
                    length = len(body) + len(event.data)
                    body += event.data[:room]
                    return self._refusal(413, _too_large(limits), request, body, length=length)
                body += event.data
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                return _received(request, bytes(body))
            else:
                return None  # ConnectionClosed before a request

    def _refusal(
        self,
        status: int,
        message: str,
        request: h11.Request | None,
        body: bytearray,
        *,
        length: int | None = None,
    ) -> _Refusal:
        received = None
        if request is not None:
            received = _received(request, bytes(body[: self._mock._logged_body_bytes]))
            received.body_length = len(body) if length is None else length
            received.status = status
        return _Refusal(status, message, received)

    async def _refuse(
        self,
        refusal: _Refusal,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Answer a refused request and close; the request is logged without parameters."""
        if refusal.request is not None:
            self._mock._record(refusal.request, parameters=False)
        writer.write(_raw_response(refusal.status, refusal.message))
        loop = asyncio.get_running_loop()
        try:
            await self._drain(writer)
            if writer.can_write_eof():
                writer.write_eof()
            # Drop what the client still sends for a moment: closing with unread data
            # would reset the connection, and the client could lose the answer.
            until = loop.time() + min(_LINGER, self._limits.idle_timeout)
            while (remaining := until - loop.time()) > 0:
                if not await asyncio.wait_for(reader.read(_READ_SIZE), remaining):
                    break
        except (ConnectionError, asyncio.TimeoutError):
            pass

    async def _drain(self, writer: asyncio.StreamWriter) -> None:
        """Wait for the client to take the answer, at most the idle timeout."""
        if writer.transport.get_write_buffer_size():
            await asyncio.wait_for(writer.drain(), self._limits.idle_timeout)


def _render(connection: h11.Connection, method: str, answer: _Answer) -> bytes | None:
    """The answer on the wire, or None if h11 refuses it."""
    headers = [
        ("Content-Type", f"{answer.content_type}; charset=utf-8"),
        ("Content-Length", str(len(answer.body))),
        *answer.headers.items(),
    ]
    try:
        data = connection.send(
            h11.Response(
                status_code=answer.status,
                headers=headers,
                reason=_reason(answer.status).encode(),
            )
        )
        if method != "HEAD":  # a HEAD answer has the headers of a GET, without body
            data = (data or b"") + (connection.send(h11.Data(data=answer.body)) or b"")
        return (data or b"") + (connection.send(h11.EndOfMessage()) or b"")
    except Exception:
        _log.exception("dlr_core.mock: cannot send a %s answer", answer.status)
        return None


def _raw_response(status: int, message: str) -> bytes:
    """A JSON answer closing the connection, written without h11 (whatever its state)."""
    body = _dump({"message": message})
    head = (
        f"HTTP/1.1 {status} {_reason(status)}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _too_large(limits: _Limits) -> str:
    return f"the request body is over the mock's limit of {limits.max_body_bytes} bytes"


def _head_size(event: h11.Request) -> int:
    """The size of a request's line and headers, about as they came."""
    line = len(event.method) + len(event.target) + 11
    return line + sum(len(name) + len(value) + 4 for name, value in event.headers) + 2


def _content_length(event: h11.Request) -> int | None:
    for name, value in event.headers:
        if name == b"content-length":
            return int(value)
    return None


def _received(event: h11.Request, body: bytes) -> MockRequest:
    return MockRequest.received(
        event.method.decode("ascii", "replace"),
        event.target.decode("ascii", "replace"),
        [(name.decode("latin-1"), value.decode("latin-1")) for name, value in event.headers],
        body,
    )
