"""HTTP test doubles: ``serve`` runs a real server on 127.0.0.1 that records every request
it receives (where it matters who received what); ``Transport`` is an
``httpx.MockTransport`` that records every request a client sends, with its headers, and
``answer`` makes a response streamed as a real transport's is (not read yet). tests/ uses
them too (tests/conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Seen:
    method: str
    host: str
    path: str
    headers: dict[str, str]


@dataclass
class Server:
    url: str
    port: int
    seen: list[Seen] = field(default_factory=list)
    sent: list[int] = field(default_factory=lambda: [0])  # body bytes written


Handler = Callable[[BaseHTTPRequestHandler, Server], None]


class Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is what several tests are about


@contextmanager
def serve(answer: Handler) -> Iterator[Server]:
    """A server on 127.0.0.1 that records every request and answers with ``answer``."""
    state = Server("", 0)

    class Handle(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            state.seen.append(
                Seen(
                    self.command,
                    self.headers.get("Host", ""),
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                )
            )
            try:
                answer(self, state)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading: what these tests want

        do_GET = do_POST = _any  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = Quiet(("127.0.0.1", 0), Handle)
    state.port = server.server_address[1]
    state.url = f"http://127.0.0.1:{state.port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def record_everything(handler: BaseHTTPRequestHandler, state: Server) -> None:
    body = b'{"stolen": true}'
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class Raw(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body as a transport streams it (in chunks, not read yet), unlike ``content=``."""

    def __init__(self, data: bytes, chunk: int = 65536) -> None:
        self._data = data
        self._chunk = chunk

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self._data), self._chunk):
            yield self._data[start : start + self._chunk]

    async def __aiter__(self) -> Any:
        for piece in self:
            yield piece


def answer(status: int, content: bytes = b"", headers: Any = None, json_body: Any = None) -> httpx.Response:
    if json_body is not None:
        content = json.dumps(json_body).encode()
    return httpx.Response(status, headers=headers, stream=Raw(content))


@dataclass
class Transport:
    """An httpx.MockTransport that records every request (URL and headers) it is sent."""

    answer: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def http(self, mode: str, **options: Any) -> httpx.Client | httpx.AsyncClient:
        transport = httpx.MockTransport(self)
        if mode == "sync":
            return httpx.Client(transport=transport, **options)
        return httpx.AsyncClient(transport=transport, **options)
