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
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import urllib.parse
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

import h11
from typing_extensions import Self

from dlr_core.client import ApiSpec, OperationSpec, ParamSpec
from dlr_core.errors import ErrorKind
from dlr_core.request import PreparedRequest
from dlr_core.signing import Signer, SigningError

Step = Mapping[str, Any]


@dataclass
class MockRequest:
    """One request the mock received, and what it made of it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # names in lower case
    body: bytes
    operation: str | None = None
    authenticated: bool = False

    @property
    def form(self) -> list[tuple[str, str]]:
        if not self.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return []
        return urllib.parse.parse_qsl(
            self.body.decode("utf-8", "replace"), keep_blank_values=True
        )

    @property
    def json(self) -> dict[str, Any]:
        if not self.headers.get("content-type", "").startswith("application/json"):
            return {}
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

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
        if location == "json":
            return name in self.json
        pairs = (
            self.query
            if location == "query"
            else self.form if location == "form" else []
        )
        if location == "header":
            return name.lower() in self.headers
        return any(k == name or k.startswith(f"{name}.") for k, _ in pairs)


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
            expanded = [
                step for step in self.steps for _ in range(int(step.get("repeat", 1)))
            ]
            if not expanded:
                return None
            step = expanded[min(self.served, len(expanded) - 1)]
            self.served += 1
            return step


class MockProvider:
    """A provider's API on 127.0.0.1, from its ``ApiSpec``. Use it as a context manager, or
    call ``start()`` and ``stop()``; ``base_url`` is where clients should point."""

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str],
        *,
        scenario: Mapping[str, Sequence[Step]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_clock_skew: float | None = 900.0,
        keep_requests: int = 10_000,
    ) -> None:
        self.api = api
        self.requests: deque[MockRequest] = deque(maxlen=keep_requests)
        """The latest requests received, oldest first."""
        self._variables = {**api.constants, **credentials}
        if api.api_version is not None:
            self._variables["api_version"] = api.api_version
        unknown = set(scenario or {}) - {op.name for op in api.operations}
        if unknown:
            raise ValueError(
                f"scenario names unknown operations: {', '.join(sorted(unknown))}"
            )
        self._scripts = {
            op.name: _Script(list((scenario or {}).get(op.name, [])))
            for op in api.operations
        }
        self._max_clock_skew = max_clock_skew
        self._base_path = urllib.parse.urlsplit(
            api.servers[api.default_server]
        ).path.rstrip("/")
        self._server = _LoopServer(self, host, port)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.address
        return f"http://{host}:{port}{self._base_path}"

    def start(self) -> Self:
        """Serve from a background thread."""
        self._thread = threading.Thread(
            target=self._server.run, name="dlr-mock", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until ``stop()`` is called from another (or Ctrl-C)."""
        self._server.run()

    def stop(self) -> None:
        self._server.shutdown()
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
        self.requests.append(request)
        operation = self._route(request)
        if operation is None:
            return _Answer(
                404,
                json.dumps(
                    {"message": f"no operation at {request.method} {request.path}"}
                ).encode(),
            )
        request.operation = operation.name
        skewed = self._clock_skewed(request)
        request.authenticated = not skewed and any(
            self._verify(scheme, request) for scheme in self.api.auth_schemes.values()
        )
        if skewed:
            return self._error(
                ErrorKind.CLOCK_SKEW,
                401,
                "the request's timestamp is too far from the server's clock",
            )
        if not request.authenticated:
            return self._error(
                ErrorKind.AUTHENTICATION, 401, "the signature does not match"
            )
        missing = [
            p.name
            for p in operation.params
            if p.required
            and p.location != "path"  # routing already matched the path
            and not request.has_param(p.location, p.wire)
        ]
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
            request.path[len(self._base_path) :]
            if request.path.startswith(self._base_path)
            else request.path
        )
        candidates = [
            op
            for op in self.api.operations
            if op.method == request.method and _path_matches(op.path, path or "/")
        ]
        if len(candidates) > 1:
            values = (
                {v for _, v in request.query}
                | {v for _, v in request.form}
                | set(request.headers.values())
            )
            candidates = [op for op in candidates if op.action in values] or candidates[
                :1
            ]
        return candidates[0] if candidates else None

    def _scripted(
        self, operation: OperationSpec, step: Step, request: MockRequest
    ) -> _Answer:
        delay = float(step.get("delay", 0.0))
        if "respond" in step:
            answer = _Answer(
                int(step.get("status", 200)),
                _dump(self._success(step["respond"](request))),
            )
        elif "body" in step:
            answer = _Answer(int(step.get("status", 200)), _dump(step["body"]))
        elif "data" in step:
            answer = _Answer(
                int(step.get("status", 200)), _dump(self._success(step["data"]))
            )
        elif "error" in step:
            answer = self._error_code(
                step["error"], step.get("message"), step.get("status")
            )
        elif "html" in step:
            answer = _Answer(
                int(step.get("status", 200)), str(step["html"]).encode(), "text/html"
            )
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

    def _success(self, data: Any) -> dict[str, Any]:
        envelope = self.api.envelope
        body: dict[str, Any] = {}
        if envelope.data_field is None:
            body.update(data if isinstance(data, dict) else {})
        else:
            _set_path(body, envelope.data_field, data)
        if envelope.success_mode == "equals":
            _set_path(body, envelope.success_fields[0], envelope.success_value)
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
        return self._error_code(
            code, f"{info.description} ({message})", info.http_status
        )

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

    def _verify(self, scheme: Mapping[str, Any], request: MockRequest) -> bool:
        """Re-sign the request as received, with its own timestamp and nonce, and compare
        every value the scheme places. RSA PKCS#1 v1.5 is deterministic, so this covers it.
        """
        placed = [
            (location, name, template)
            for stage in ("add", "attach")
            for location, values in scheme.get(stage, {}).items()
            for name, template in values.items()
        ]
        received: dict[tuple[str, str], str] = {}
        for location, name, _ in placed:
            value = request.value(location, name)
            if value is None:
                return False
            received[(location, name)] = value
        fixed = {
            template[1:-1]: received[(loc, name)]
            for loc, name, template in placed
            if template in ("{timestamp}", "{nonce}")
        }
        if "timestamp" in scheme and "timestamp" not in fixed:
            return False
        moment = (
            _moment(fixed.get("timestamp"), scheme.get("timestamp"))
            if "timestamp" in fixed
            else _now()
        )
        if moment is None:
            return False
        rebuilt = self._rebuild(request, placed)
        variables = dict(self._variables)
        operation = next(
            (op for op in self.api.operations if op.name == request.operation), None
        )
        if operation is not None and operation.action is not None:
            variables["action"] = operation.action
        nonce = fixed.get("nonce")
        try:
            Signer(
                scheme,
                variables,
                clock=lambda: moment,
                nonce=(lambda: nonce) if nonce else None,
            ).sign(rebuilt)
        except (SigningError, KeyError, ValueError):
            return False
        probe = MockRequest(
            request.method,
            request.path,
            rebuilt.query,
            {k.lower(): v for k, v in rebuilt.headers.items()},
            rebuilt.body(),
            request.operation,
        )
        return all(
            probe.value(loc, name) == received[(loc, name)] for loc, name, _ in placed
        )

    def _rebuild(
        self, request: MockRequest, placed: list[tuple[str, str, str]]
    ) -> PreparedRequest:
        """The request as it was before the signer touched it."""
        names = {
            (loc, name.lower() if loc == "header" else name) for loc, name, _ in placed
        }
        rebuilt = PreparedRequest(
            request.method,
            f"http://{request.headers.get('host', '')}",
            request.path,
            query=[(k, v) for k, v in request.query if ("query", k) not in names],
            headers={
                k: v for k, v in request.headers.items() if ("header", k) not in names
            },
        )
        content_type = request.headers.get("content-type", "")
        places_in_body = any(loc == "body" for loc, _ in names)
        if content_type.startswith("application/x-www-form-urlencoded"):
            rebuilt.body_kind = "form"
            rebuilt.form = [(k, v) for k, v in request.form if ("body", k) not in names]
            rebuilt.content = None if places_in_body else request.body
        elif content_type.startswith("application/json"):
            rebuilt.body_kind = "json"
            rebuilt.json = {
                k: v for k, v in request.json.items() if ("body", k) not in names
            }
            rebuilt.content = None if places_in_body else request.body
        return rebuilt

    def _clock_skewed(self, request: MockRequest) -> bool:
        if self._max_clock_skew is None:
            return False
        for scheme in self.api.auth_schemes.values():
            for location, values in {
                **scheme.get("add", {}),
                **scheme.get("attach", {}),
            }.items():
                for name, template in values.items():
                    if template != "{timestamp}":
                        continue
                    moment = _moment(
                        request.value(location, name), scheme.get("timestamp")
                    )
                    if moment is not None:
                        return (
                            abs((_now() - moment).total_seconds())
                            > self._max_clock_skew
                        )
        return False


def _invalid(request: MockRequest, param: ParamSpec) -> str | None:
    """What is wrong with a parameter's value as received, checked as the spec constrains it."""
    if param.location == "json":
        value: Any = request.json.get(param.wire)
    elif param.location in ("query", "form", "header"):
        value = request.value(
            "body" if param.location == "form" else param.location, param.wire
        )
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
    if (
        param.pattern is not None
        and isinstance(value, str)
        and not re.search(param.pattern, value)
    ):
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


def _moment(text: str | None, style: str | None) -> datetime | None:
    if not text:
        return None
    try:
        if style == "unix_seconds":
            return datetime.fromtimestamp(int(text), tz=timezone.utc)
        if style == "unix_milliseconds":
            return datetime.fromtimestamp(int(text) / 1000, tz=timezone.utc)
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=timezone.utc
        )
    except (ValueError, OverflowError, OSError):
        return None


def _is_integer(value: object) -> bool:
    return isinstance(value, int) or (
        isinstance(value, str) and value.lstrip("-").isdigit()
    )


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


class _LoopServer:
    """HTTP/1.1 (parsed by h11) on an asyncio loop of its own: one thread serves every
    connection, so a load test measures the mock rather than thread switching."""

    def __init__(self, mock: MockProvider, host: str, port: int) -> None:
        self._mock = mock
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
            self._loop.run_until_complete(
                asyncio.gather(*tasks, return_exceptions=True)
            )
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

    def shutdown(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connection = h11.Connection(h11.SERVER)
        try:
            while True:
                event = await _next_event(connection, reader)
                if not isinstance(event, h11.Request):
                    break  # the client closed the connection, or sent something else
                body = bytearray()
                while True:
                    part = await _next_event(connection, reader)
                    if isinstance(part, h11.Data):
                        body += part.data
                    elif isinstance(part, h11.EndOfMessage):
                        break
                    else:
                        return
                answer = self._mock.answer(_received(event, bytes(body)))
                if answer.delay:
                    await asyncio.sleep(answer.delay)
                headers = [
                    ("Content-Type", f"{answer.content_type}; charset=utf-8"),
                    ("Content-Length", str(len(answer.body))),
                    *answer.headers.items(),
                ]
                writer.write(
                    connection.send(
                        h11.Response(status_code=answer.status, headers=headers)
                    )
                    or b""
                )
                writer.write(connection.send(h11.Data(data=answer.body)) or b"")
                writer.write(connection.send(h11.EndOfMessage()) or b"")
                await writer.drain()
                if connection.our_state is h11.MUST_CLOSE:
                    break
                connection.start_next_cycle()
        except (h11.ProtocolError, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass  # the mock is stopping: end quietly rather than log a cancelled task
        finally:
            writer.close()


async def _next_event(connection: h11.Connection, reader: asyncio.StreamReader) -> Any:
    while True:
        event = connection.next_event()
        if event is not h11.NEED_DATA:
            return event
        connection.receive_data(await reader.read(65536))


def _received(event: h11.Request, body: bytes) -> MockRequest:
    split = urllib.parse.urlsplit(event.target.decode("ascii", "replace"))
    return MockRequest(
        event.method.decode("ascii"),
        split.path,
        urllib.parse.parse_qsl(split.query, keep_blank_values=True),
        {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in event.headers
        },
        body,
    )
