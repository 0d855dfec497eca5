"""Memory under hostile answers (slow tier: ``pytest -m slow``): a 200 MB answer and a
1 GiB gzip bomb (about 1 MiB on the wire) end in a typed error, and the client's memory
grows by less than 50 MiB.

The server runs here; the client runs in a fresh subprocess that makes only these calls,
so that its peak RSS (``ru_maxrss``) measures the client alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import dlr_core

# Memory budgets measure this process: the slow tier runs them alone (serial).
pytestmark = [pytest.mark.slow, pytest.mark.serial]

BIG = 200 * 1000 * 1000
BOMB = 1024 * 1024 * 1024
MAX_GROWTH_KIB = 50 * 1024

HERE = Path(__file__).resolve().parent
CLIENT = r"""
import asyncio, json, sys, time
sys.path[:0] = [{runtime!r}, {helpers!r}]
import dlr_core
from apis_in_code import CREDENTIALS, client_class

def status_kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

def rss_kib():
    return status_kib("VmRSS")

mode, base = sys.argv[1], sys.argv[2]

def call(path):
    client = client_class(mode)(**CREDENTIALS, base_url=base + path, timeout=60, retries=0)
    if mode == "sync":
        with client:
            return client.get_report(message_id="m-1")
    async def main():
        async with client:
            return await client.get_report(message_id="m-1")
    return asyncio.run(main())

try:  # warm up: every module and code path of an error, before measuring
    call("/warm")
except dlr_core.DlrError:
    pass
before = rss_kib()
started = time.monotonic()
try:
    call(sys.argv[3])
    outcome = {{"error": None}}
except dlr_core.DlrError as error:
    outcome = {{"error": type(error).__name__, "message": len(error.message),
               "raw_body": len(error.raw_body), "raw_body_length": error.raw_body_length}}
outcome["elapsed"] = time.monotonic() - started
# The peak over the whole call, against the resident size just before it. VmHWM, not
# ru_maxrss: Linux carries ru_maxrss over from the parent through fork and exec, so under a
# big pytest process it would measure pytest.
outcome["growth_kib"] = status_kib("VmHWM") - before
print(json.dumps(outcome))
"""


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzip-compressed in a stream (never all in memory)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    parts = [compressor.compress(zeros) for _ in range(size // len(zeros))]
    parts.append(compressor.flush())
    return b"".join(parts)


class Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is what these tests are about


class Server:
    def __init__(self, bomb: bytes) -> None:
        self.bomb = bomb
        self.sent: dict[str, int] = {}
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = self.path.split("/")[1]
                try:
                    state.answer(self, kind)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = Quiet(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, handler: BaseHTTPRequestHandler, kind: str) -> None:
        self.sent[kind] = 0
        if kind == "warm":
            body = b"warming up"
            handler.send_response(500)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        if kind == "big":
            handler.send_response(500)  # an error page: its text once became the message
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(BIG))
            handler.end_headers()
            chunk = b"<p>" + b"x" * 65530 + b"</p>"[:3]
            while self.sent[kind] < BIG:
                piece = chunk[: BIG - self.sent[kind]]
                handler.wfile.write(piece)
                self.sent[kind] += len(piece)
            return
        handler.send_response(200)
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(self.bomb)))
        handler.end_headers()
        for start in range(0, len(self.bomb), 65536):
            handler.wfile.write(self.bomb[start : start + 65536])
            self.sent[kind] += min(65536, len(self.bomb) - start)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    state = Server(gzip_bomb(BOMB))
    thread = threading.Thread(target=state.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.server.shutdown()
        state.server.server_close()


def run_client(mode: str, server: Server, kind: str) -> dict[str, Any]:
    # The subprocess imports the dlr_core this process runs (a checkout's or an installed one).
    script = CLIENT.format(runtime=str(Path(dlr_core.__file__).resolve().parent.parent), helpers=str(HERE))
    result = subprocess.run(
        [sys.executable, "-c", script, mode, server.url, f"/{kind}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_bomb_is_a_gigabyte_in_a_megabyte(server: Server) -> None:
    assert len(server.bomb) < 1.1 * 1024 * 1024
    assert sum(len(piece) for piece in _inflate(server.bomb)) == BOMB


def _inflate(data: bytes) -> Iterator[bytes]:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    piece = inflater.decompress(data, 1 << 20)
    while piece:
        yield piece
        piece = inflater.decompress(inflater.unconsumed_tail, 1 << 20)


@pytest.mark.parametrize("mode", ["sync", "async", "aiohttp"])
def test_a_200_mb_answer_is_a_bounded_typed_error(mode: str, server: Server) -> None:
    outcome = run_client(mode, server, "big")
    assert outcome["error"] == "ResponseTooLarge", outcome
    assert outcome["message"] <= 4096 and outcome["raw_body"] <= 4096 + 100
    assert 10 * 1024 * 1024 < outcome["raw_body_length"] < 11 * 1024 * 1024  # read up to the cap
    assert outcome["growth_kib"] < MAX_GROWTH_KIB, outcome
    assert server.sent["big"] < BIG / 2  # the client closed the connection long before the end


@pytest.mark.parametrize("mode", ["sync", "async", "aiohttp"])
def test_a_gzip_bomb_is_a_bounded_typed_error(mode: str, server: Server) -> None:
    outcome = run_client(mode, server, "bomb")
    assert outcome["error"] == "ResponseTooLarge", outcome
    assert outcome["raw_body"] <= 4096 + 100
    assert outcome["raw_body_length"] < 11 * 1024 * 1024  # decoding stopped at the cap
    assert outcome["growth_kib"] < MAX_GROWTH_KIB, outcome
    assert outcome["elapsed"] < 10
