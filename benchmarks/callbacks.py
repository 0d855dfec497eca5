"""What serving pushed reports costs: ``CallbackApp`` receiving Twilio's status callback (the
signature checked, the form read into the typed payload, receipts with idempotency keys
handed to a handler) next to a bare ASGI app answering 204, each under one uvicorn worker
in its own process, the same signed pushes sent to both by an aiohttp client at a fixed
concurrency.

The pushes are signed before any is timed, as the mock signs them (``Callback.sign_push``
over the URL the app rebuilds from the request); every answer must be the 204 Twilio is
given, or the row says how many were not. The two servers take turns, round by round; the
row is the median of the per-round throughput ratios (CallbackApp / bare), with each side's
median pushes/s and p99 latency. Run: ``.venv/bin/python benchmarks/run.py callbacks``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
for _distribution in sorted((ROOT / "generated").glob("dlr_*")):
    if str(_distribution) not in sys.path:
        sys.path.insert(0, str(_distribution))

from measure import Row, load_average, spread  # noqa: E402 - benchmarks/measure.py, next to this file

TOKEN = "bench-auth-token"
ROUTE = "/callbacks/twilio"

# One server: uvicorn, one worker, on a socket bound here (port 0: the kernel picks one,
# printed for the benchmark to connect to). ``callbacks``: CallbackApp with Twilio's
# endpoint and a handler that keeps nothing; ``bare``: reads the body, answers 204.
_SERVER = """
import socket, sys
import uvicorn

kind, token = sys.argv[1], sys.argv[2]
if kind == "callbacks":
    from dlr_core.callbacks import CallbackApp
    from dlr_twilio_messaging.callbacks import callback_endpoint

    async def handle(name, receipts):
        assert receipts and receipts[0].idempotency_key

    app = CallbackApp({"twilio": callback_endpoint(auth_token=token)}, handle)
else:
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(1024)
print(sock.getsockname()[1], flush=True)
config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", workers=1)
uvicorn.Server(config).run(sockets=[sock])
"""


@contextmanager
def serving(kind: str) -> Iterator[str]:
    """One uvicorn worker serving ``kind`` in its own process; yields its base URL."""
    generated = [str(path) for path in sorted((ROOT / "generated").glob("dlr_*"))]
    python_path = os.pathsep.join([*generated, os.environ.get("PYTHONPATH", "")])
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER, kind, TOKEN],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": python_path},
    )
    assert process.stdout is not None
    try:
        port = process.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError(f"the {kind} server did not start: {port!r}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def signed_pushes(base_url: str, count: int) -> list[tuple[dict[str, str], bytes]]:
    """``count`` distinct status callbacks (a message SID each), signed for ``base_url``'s
    route as the mock signs them."""
    from dlr_core.push import encode
    from dlr_twilio_messaging.callbacks import STATUS_CALLBACK

    url = base_url + ROUTE
    pushes = []
    for index in range(count):
        payload = {
            "MessageSid": f"SM{index:032x}",
            "MessageStatus": ("delivered", "sent", "undelivered", "failed")[index % 4],
            "SmsSid": f"SM{index:032x}",
            "SmsStatus": "delivered",
            "AccountSid": "AC" + "0" * 32,
            "From": "+15005550006",
            "To": f"+1415555{index % 10000:04d}",
            "ApiVersion": "2010-04-01",
        }
        body = encode(STATUS_CALLBACK, payload)
        headers, body = STATUS_CALLBACK.sign_push(url, body, credentials={"auth_token": TOKEN})
        pushes.append((headers, body))
    return pushes


class Load(NamedTuple):
    rate: float
    """Pushes answered per second."""
    p99: float
    """Seconds."""
    unexpected: int
    """Answers other than 204 (or failed requests)."""


async def _load(url: str, pushes: list[tuple[dict[str, str], bytes]], total: int, concurrency: int) -> Load:
    """``total`` pushes (cycling through ``pushes``) by ``concurrency`` workers over one
    aiohttp session."""
    import aiohttp

    latencies: list[float] = []
    unexpected = 0
    queue = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal unexpected
            for index in queue:
                headers, body = pushes[index % len(pushes)]
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as answer:
                        await answer.read()
                        if answer.status != 204:
                            unexpected += 1
                except aiohttp.ClientError:
                    unexpected += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return Load(total / elapsed, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], unexpected)


def per_push(pushes: int = 2_000, rounds: int = 7) -> list[Row]:
    """CPU time of one push in-process, no server: through ``CallbackApp`` (an ASGI call
    with the whole body in one message) and through ``parse_callback`` alone; ``rounds``
    of ``pushes`` each. CPU time, not wall time: on a shared machine it moves less."""
    from dlr_core.callbacks import CallbackApp
    from dlr_twilio_messaging.callbacks import callback_endpoint, parse_callback

    base_url = "http://127.0.0.1:8000"
    [(signed_headers, body)] = signed_pushes(base_url, 1)
    headers = {"host": "127.0.0.1:8000", **{name.lower(): value for name, value in signed_headers.items()}}
    url = base_url + ROUTE

    async def handle(name: str, receipts: list[Any]) -> None:
        assert receipts[0].idempotency_key

    app = CallbackApp({"twilio": callback_endpoint(auth_token=TOKEN)}, handle)
    scope = {
        "type": "http",
        "method": "POST",
        "path": ROUTE,
        "raw_path": ROUTE.encode(),
        "query_string": b"",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
    }

    async def served(count: int) -> None:
        for _ in range(count):
            answers: list[Any] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: Any) -> None:
                answers.append(message)

            await app(scope, receive, send)
            assert answers[0]["status"] == 204, answers[0]

    def parsed(count: int) -> None:
        for _ in range(count):
            parse_callback("POST", url, headers, body, auth_token=TOKEN)

    times: dict[str, list[float]] = {"app": [], "parse": []}
    asyncio.run(served(100))
    parsed(100)
    for _ in range(rounds):
        started = time.process_time()
        asyncio.run(served(pushes))
        times["app"].append((time.process_time() - started) / pushes)
        started = time.process_time()
        parsed(pushes)
        times["parse"].append((time.process_time() - started) / pushes)

    def show(seconds: float) -> str:
        return f"{seconds * 1e6:,.0f} µs"

    return [
        Row(
            f"callbacks: CPU per push in-process (no server), {label}",
            show(statistics.median(times[key])),
            spread(times[key], show),
            load_average(),
        )
        for key, label in (
            ("app", "CallbackApp serving Twilio's push (an ASGI call)"),
            ("parse", "parse_callback alone (verify, read, receipts, keys)"),
        )
    ]


def push_throughput(pushes: int = 20_000, rounds: int = 5, concurrency: int = 50) -> list[Row]:
    """CallbackApp serving Twilio's push endpoint against a bare ASGI app answering 204."""
    try:
        import aiohttp  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as missing:
        return [Row("callbacks", "", "", load_average(), f"not installed: {missing.name}")]
    sides: dict[str, list[Load]] = {"callbacks": [], "bare": []}
    with serving("callbacks") as ours, serving("bare") as bare:
        # The app checks the URL it rebuilds from the Host header: both servers are pushed
        # to the same route, each push signed for the server it goes to.
        signed = {"callbacks": signed_pushes(ours, 200), "bare": signed_pushes(bare, 200)}
        urls = {"callbacks": ours + ROUTE, "bare": bare + ROUTE}
        for name in sides:  # warm up: connections, imports, the first model validation
            asyncio.run(_load(urls[name], signed[name], 500, concurrency))
        for index in range(rounds):
            names = list(sides) if index % 2 == 0 else list(reversed(sides))
            for name in names:
                sides[name].append(asyncio.run(_load(urls[name], signed[name], pushes, concurrency)))
    ratios = [a.rate / b.rate for a, b in zip(sides["callbacks"], sides["bare"], strict=True)]
    median = statistics.median(ratios)

    def middle(name: str, field: str) -> float:
        return statistics.median(getattr(load, field) for load in sides[name])

    unexpected = sum(load.unexpected for loads in sides.values() for load in loads)
    text = (
        f"{median:.2f}x ({middle('callbacks', 'rate'):,.0f} vs {middle('bare', 'rate'):,.0f} pushes/s; "
        f"p99 {middle('callbacks', 'p99') * 1e3:,.0f} vs {middle('bare', 'p99') * 1e3:,.0f} ms)"
    )
    if unexpected:
        text += f", {unexpected} answers not 204"
    return [
        *per_push(),
        Row(
            f"callbacks: CallbackApp (Twilio's push: HMAC check, parse, handler) / bare ASGI app answering "
            f"204, one uvicorn worker each, {pushes:,} pushes at concurrency {concurrency} (interleaved rounds)",
            text,
            spread(ratios, lambda ratio: f"{ratio:.2f}x"),
            load_average(),
            f"goal >= 0.7x: {'met' if median >= 0.7 and not unexpected else 'not met'}",
        ),
    ]
