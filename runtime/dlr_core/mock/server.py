"""The mock's HTTP server: HTTP/1.1 parsed by h11 on an asyncio loop of its own, with the
limits that keep a hostile or broken client from growing its memory or holding a connection
(body and header size, idle and request timeouts; see ``dlr_core.mock``). It hands each
request read whole to an ``answer`` function (``MockProvider.answer``) and refuses the rest
itself (400, 408, 413, 431), logging them with ``log_refused``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import h11

from dlr_core.mock.request_log import MockAnswer, MockRequest, json_body

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_REQUEST_TIMEOUT",
    "LoopServer",
    "ServerLimits",
]

DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_HEADER_BYTES = 16 << 10
DEFAULT_IDLE_TIMEOUT = 30.0
DEFAULT_REQUEST_TIMEOUT = 30.0
_LINGER = 2.0
"""How long, after refusing a request, the mock reads and drops what the client still
sends, so that closing does not reset the connection before the client reads the answer."""
_READ_SIZE = 65536

_log = logging.getLogger("dlr_core.mock")  # the logger the mock's documentation names


@dataclass(frozen=True)
class ServerLimits:
    """The server's limits (``MockProvider``'s keyword arguments of the same names)."""

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


class LoopServer:
    """HTTP/1.1 (parsed by h11) on an asyncio loop of its own: one thread serves every
    connection, so a load test measures the mock rather than thread switching."""

    def __init__(
        self,
        answer: Callable[[MockRequest], MockAnswer],
        log_refused: Callable[[MockRequest], object],
        logged_body_bytes: int,
        host: str,
        port: int,
        limits: ServerLimits,
    ) -> None:
        self._answer = answer
        self._log_refused = log_refused
        self._logged_body_bytes = logged_body_bytes
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
                answer = self._answer(received)
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
            received = _received(request, bytes(body[: self._logged_body_bytes]))
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
            self._log_refused(refusal.request)
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


def _render(connection: h11.Connection, method: str, answer: MockAnswer) -> bytes | None:
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
    body = json_body({"message": message})
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


def _too_large(limits: ServerLimits) -> str:
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
