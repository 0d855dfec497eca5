"""`dlrgen mock` in its own process: its memory under hostile bodies, and a provider it
does not know. (The mock itself against hostile clients: runtime/tests/test_mock_safety.py.)"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import ROOT

QUERY_PATH = "/voice/recallFlow/queryDetail"


def read_status(sock: socket.socket) -> int:
    """The status of one HTTP response (its head read whole; the body is not needed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            raise ConnectionError(f"closed before a whole response: {data!r}")
        data += part
    return int(data.split(b" ", 2)[1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc")
def test_the_mock_process_does_not_grow_by_the_bodies_it_refuses() -> None:
    """`dlrgen mock` in its own process: 20 bodies of 20 MB each, chunked (so it has to read
    up to the cap), leave its resident memory within a few MB."""
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "mock", "itnio_voice", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert " on http://" in line, line
        split = urllib.parse.urlsplit(line.rsplit(" ", 1)[1].strip())
        assert split.hostname is not None and split.port is not None

        def rss_kib() -> int:
            status = Path(f"/proc/{process.pid}/status").read_text()
            return int(next(s for s in status.splitlines() if s.startswith("VmRSS:")).split()[1])

        def send_big_body() -> int:
            with socket.create_connection((split.hostname, split.port), timeout=10) as sock:
                sock.sendall(
                    f"POST {QUERY_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n".encode()
                )
                chunk = b"%x\r\n%s\r\n" % (1 << 20, b"[" * (1 << 20))
                try:
                    for _ in range(20):
                        sock.sendall(chunk)
                        if select.select([sock], [], [], 0)[0]:
                            break
                except (BrokenPipeError, ConnectionResetError):
                    pass
                return read_status(sock)

        assert send_big_body() == 413  # warm up: the first request imports and allocates
        before = rss_kib()
        assert [send_big_body() for _ in range(20)] == [413] * 20
        grown = rss_kib() - before
        assert grown < 16 * 1024, f"RSS grew by {grown} KiB"
    finally:
        process.terminate()
        process.communicate(timeout=10)


# -- dlrgen mock <unknown provider> ------------------------------------------------------------


@pytest.mark.parametrize("provider", ["core", "dlr_core", "twillio"])
def test_dlrgen_mock_with_an_unknown_provider_lists_the_known_ones(provider: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "generator", "mock", provider, "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and done.stdout == ""
    [line] = done.stderr.splitlines()
    from generator.pipeline import spec_files

    known = ", ".join(path.stem for path in spec_files(ROOT / "specs"))  # no test lists the providers
    assert f"known providers (specs in specs/, packages in generated/): {known}" in line
    if provider == "twillio":
        assert "unknown provider 'twillio' (did you mean twilio_messaging?)" in line
    else:
        assert f"{provider!r} is the runtime package, not a provider" in line
