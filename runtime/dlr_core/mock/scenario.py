"""The mock's scenario engine: ``MockProvider`` routes each request to an operation of its
``ApiSpec``, has its signature checked (``dlr_core.mock.verify``), checks its parameters as
the spec constrains them and answers the scenario's next step (the provider's documented
example by default), in the provider's envelope. See ``dlr_core.mock`` for scenarios and
limits.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import urllib.parse
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from typing_extensions import Self

from dlr_core.errors import ErrorKind
from dlr_core.mock.request_log import (
    DEFAULT_LOGGED_BODY_BYTES,
    BadRequest,
    MockAnswer,
    MockRequest,
    json_body,
)
from dlr_core.mock.server import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    LoopServer,
    ServerLimits,
)
from dlr_core.mock.verify import SignatureCheck, utc_now
from dlr_core.mock_auth import DEFAULT_TOKEN_LIFETIME, TokenIssuer, mock_token_url
from dlr_core.signing import Scheme
from dlr_core.spec import ApiSpec, OperationSpec, ParamSpec
from dlr_core.wire import xml_body

__all__ = ["DEFAULT_KEEP_REQUESTS", "STEP_KEYS", "MockProvider", "ScenarioError", "Step"]

Step = Mapping[str, Any]

DEFAULT_KEEP_REQUESTS = 1000

_log = logging.getLogger("dlr_core.mock")  # the logger the mock's documentation names


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
        schemes = [Scheme.from_data(s) for s in api.auth_schemes.values()]
        self._tokens = TokenIssuer(schemes, self._variables, lifetime=token_lifetime, clock=utc_now)
        self._signatures = SignatureCheck(api, self._variables, schemes, self._tokens, max_clock_skew)
        self._base_path = urllib.parse.urlsplit(api.servers[api.default_server]).path.rstrip("/")
        self._listen = (
            host,
            port,
            ServerLimits(max_body_bytes, max_header_bytes, idle_timeout, request_timeout),
        )
        self._loop_server: LoopServer | None = None  # bound on first use: in-process use opens no socket
        self._thread: threading.Thread | None = None

    @property
    def _server(self) -> LoopServer:
        if self._loop_server is None:
            host, port, limits = self._listen
            self._loop_server = LoopServer(
                self.answer,
                functools.partial(self._record, parameters=False),
                self._logged_body_bytes,
                host,
                port,
                limits,
            )
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

    def answer(self, request: MockRequest) -> MockAnswer:
        """Log the request and answer it; never raises: a body the mock cannot read is
        answered 400, anything else going wrong 500."""
        entry = self._record(request)
        try:
            answer = self._answer(request)
        except BadRequest as exc:
            answer = MockAnswer(400, json_body({"message": f"bad request: {exc}"}))
        except Exception as exc:  # a bug, in the mock or a scenario's respond function
            _log.exception("dlr_core.mock: failed answering %s %s", request.method, request.path)
            answer = MockAnswer(
                500,
                json_body({"message": f"the mock failed: {type(exc).__name__}: {exc}"}),
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

    def _answer(self, request: MockRequest) -> MockAnswer:
        # Parse the body first: one the mock cannot read is answered 400 whatever the path.
        _ = (request.form, request.json)
        if request.path in self._tokens.endpoints:
            return self._token_answer(request)
        operation = self._route(request)
        if operation is None:
            return MockAnswer(
                404,
                json.dumps({"message": f"no operation at {request.method} {request.path}"}).encode(),
            )
        request.operation = operation.name
        skewed = self._signatures.clock_skewed(request)
        request.authenticated = not skewed and any(
            self._signatures.verifies(scheme, request) for scheme in self._signatures.schemes()
        )
        if skewed:
            return self._error(
                ErrorKind.CLOCK_SKEW,
                401,
                "the request's timestamp is too far from the server's clock",
                operation,
            )
        if not request.authenticated:
            return self._error(ErrorKind.AUTHENTICATION, 401, "the signature does not match", operation)
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
                ErrorKind.INVALID_REQUEST,
                400,
                f"give the parameters of one of {', '.join(given)}, not both",
                operation,
            )
        if missing:
            return self._error(
                ErrorKind.INVALID_REQUEST,
                400,
                f"missing required parameter {missing[0]}",
                operation,
            )
        problems = (_invalid(request, p) for p in operation.params)
        invalid = next((problem for problem in problems if problem), None)
        if invalid is not None:
            return self._error(ErrorKind.INVALID_REQUEST, 400, invalid, operation)
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

    def _scripted(self, operation: OperationSpec, step: Step, request: MockRequest) -> MockAnswer:
        delay = float(step.get("delay", 0.0))
        if "respond" in step:
            answer = _written(
                operation, int(step.get("status", 200)), self._success(step["respond"](request))
            )
        elif "body" in step:
            answer = _written(operation, int(step.get("status", 200)), step["body"])
        elif "data" in step:
            answer = _written(operation, int(step.get("status", 200)), self._success(step["data"]))
        elif "error" in step:
            answer = self._error_code(step["error"], step.get("message"), step.get("status"), operation)
        elif "html" in step:
            answer = MockAnswer(int(step.get("status", 200)), str(step["html"]).encode(), "text/html")
        elif step.get("revoke_tokens"):
            self._tokens.revoke()
            answer = self._error(ErrorKind.AUTHENTICATION, 401, "the access token was revoked", operation)
            answer.status = int(step.get("status", answer.status))
        elif "status" in step:
            status = int(step["status"])
            answer = _written(operation, status, {"message": f"HTTP {status}"}, error=True)
        elif operation.example is not None:
            answer = _written(operation, 200, operation.example)
        else:
            answer = _written(operation, 200, self._success({}))
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

    def _error(
        self, kind: ErrorKind, fallback_status: int, message: str, operation: OperationSpec | None = None
    ) -> MockAnswer:
        found = self.api.errors.first_code(kind)
        if found is None:
            return self._error_code(fallback_status, message, fallback_status, operation)
        code, info = found
        return self._error_code(code, f"{info.description} ({message})", info.http_status, operation)

    def _error_code(
        self, code: Any, message: str | None, status: Any, operation: OperationSpec | None = None
    ) -> MockAnswer:
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
        return _written(operation, int(status), body, error=True)

    # -- OAuth2 token endpoints ----------------------------------------------------------

    def _token_answer(self, request: MockRequest) -> MockAnswer:
        status, body = self._tokens.answer(request.method, request.path, request.headers, request.form)
        request.authenticated = status == 200
        headers = {"Cache-Control": "no-store"} if status == 200 else {}
        if status == 401:
            headers["WWW-Authenticate"] = "Basic"
        return MockAnswer(status, json_body(body), headers=headers)


XML_ERROR_ROOT = "error"
"""The root element of the mock's error answers to an operation answering XML (a reader
drops the root's name: the envelope's paths start below it)."""


def _written(operation: OperationSpec | None, status: int, value: Any, *, error: bool = False) -> MockAnswer:
    """An answer of ``status`` holding ``value`` as the operation writes its answers: JSON,
    or for ``format: xml`` an XML document whose root (the answer's ``xml_root``, or
    ``XML_ERROR_ROOT`` for an error) holds the value's fields."""
    if operation is None or operation.format != "xml":
        return MockAnswer(status, json_body(value))
    if not isinstance(value, Mapping):
        raise ValueError(f"{operation.name} answers XML: an answer is a mapping of fields, not {value!r:.60}")
    root = XML_ERROR_ROOT if error else operation.xml_root or "response"
    return MockAnswer(status, xml_body.encode_document(root, value), "application/xml")


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
    """Set a dotted path, creating the objects on the way; a number is an index into a list
    (``errors.0.code``), created as long as it needs to be."""
    parts = path.split(".")
    node: Any = body
    for part, following in zip(parts, [*parts[1:], None]):
        index = part.isdigit() and part.isascii() and isinstance(node, list)
        if following is None:
            if index:
                node.extend({} for _ in range(int(part) + 1 - len(node)))
                node[int(part)] = value
            else:
                node[part] = value
            return
        empty: Any = [] if following.isdigit() and following.isascii() else {}
        if index:
            node.extend(empty.copy() for _ in range(int(part) + 1 - len(node)))
            node = node[int(part)]
        else:
            node = node.setdefault(part, empty)


def _path_matches(template: str, path: str) -> bool:
    """``/Accounts/{AccountSid}/Messages.json`` matches ``/Accounts/AC1/Messages.json``."""
    pattern = re.escape(template)
    pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", pattern)
    return re.fullmatch(pattern, path) is not None


def _is_integer(value: object) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())
