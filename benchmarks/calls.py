"""What a call costs with a generated client, next to bare HTTP clients and the providers'
official SDKs, against the same server: a real HTTP server on 127.0.0.1 in another
process (aiohttp.web), answering every request with the provider's documented example.

- ``call_overhead``: sync calls one at a time, as ratios within one run: rounds of
  ``batch`` calls of each contender, interleaved (the order alternates each round), and the
  median of the per-round ratios (with the median time per call of each);
- ``async_throughput``: rounds of 4,000 async calls at concurrency 100, every contender
  once per round: requests/s and latency of the generated UCloud client (httpx's transport
  and aiohttp's), bare httpx and bare aiohttp, and the official UCloud and Alibaba SDKs in a
  pool of 100 threads; then the aiohttp transport's per-round ratios to the fastest SDK and
  to bare aiohttp.

The official SDKs (``ucloud-sdk-python3``, ``alibabacloud_dysmsapi20170525``) are
installed for the benchmark only; a row says "not installed" without them. Numbers depend
on the machine (and on what else runs on it); they are measured here, never asserted in
tests. Run: ``.venv/bin/python benchmarks/run.py calls async_calls``.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
for _distribution in sorted((ROOT / "generated").glob("dlr_*")):
    if str(_distribution) not in sys.path:
        sys.path.insert(0, str(_distribution))

from measure import (
    Row,
    load_average,
    ratio_row,
    spread,
)  # noqa: E402 - benchmarks/measure.py, next to this file

FIXTURES = ROOT / "tests" / "fixtures"
UCLOUD_BODY = FIXTURES / "ucloud_usms_get_usms_send_receipt.json"
ALIYUN_BODY = FIXTURES / "aliyun_dysms_query_send_details.json"
UCLOUD = {"public_key": "bench-public", "private_key": "bench-private-key"}
ALIYUN = {"access_key_id": "LTAI-bench", "access_key_secret": "bench-secret-key"}
ALIYUN_QUERY = {"phone_number": "15298356881", "send_date": "20190108", "biz_id": "134523^4351232"}

# The server: aiohttp.web, answering every method and path with one file's bytes as JSON.
_SERVER = """
import sys
from aiohttp import web

body = open(sys.argv[1], "rb").read()

async def answer(request):
    await request.read()
    return web.Response(body=body, content_type="application/json")

app = web.Application()
app.router.add_route("*", "/{tail:.*}", answer)

async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    print(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()

import asyncio
asyncio.run(main())
"""


@contextmanager
def serving(body: Path) -> Iterator[str]:
    """The server in its own process, answering with ``body``; yields its base URL."""
    process = subprocess.Popen([sys.executable, "-c", _SERVER, str(body)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the benchmark server did not start: {url!r}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _goal(met: bool) -> str:
    return "met" if met else "not met"


# -- sync: one call at a time, as ratios -----------------------------------------------------


def _interleaved(
    contenders: dict[str, Callable[[], object]], rounds: int, batch: int
) -> dict[str, list[float]]:
    """Seconds per call of each contender in each round, the order alternating by round."""
    for call in contenders.values():  # warm up: connections, caches, imports
        for _ in range(20):
            call()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            call = contenders[name]
            started = time.perf_counter()
            for _ in range(batch):
                call()
            times[name].append((time.perf_counter() - started) / batch)
    return times


def _ratio_row(label: str, times: dict[str, list[float]], ours: str, theirs: str, goal: float) -> Row:
    return ratio_row(
        f"{label}: {ours} / {theirs} (interleaved rounds)",
        times[ours],
        times[theirs],
        lambda seconds: f"{seconds * 1e6:,.0f} µs",
        lambda ratio: f"goal <= {goal:.2f}x: {_goal(ratio <= goal)}",
    )


def _aliyun_sdk(url: str) -> Callable[[], object] | None:
    """The official Alibaba Cloud SDK's QuerySendDetails against ``url``; None without it."""
    try:
        from alibabacloud_dysmsapi20170525 import models as sdk_models
        from alibabacloud_dysmsapi20170525.client import Client as SdkClient
        from alibabacloud_tea_openapi import models as openapi_models
        from alibabacloud_tea_util import models as util_models
    except ImportError:
        return None
    config = openapi_models.Config(
        access_key_id=ALIYUN["access_key_id"],
        access_key_secret=ALIYUN["access_key_secret"],
        endpoint=url.removeprefix("http://"),
        protocol="http",
    )
    sdk = SdkClient(config)
    request = sdk_models.QuerySendDetailsRequest(
        phone_number=ALIYUN_QUERY["phone_number"],
        send_date=ALIYUN_QUERY["send_date"],
        biz_id=ALIYUN_QUERY["biz_id"],
        page_size=10,
        current_page=1,
    )
    runtime = util_models.RuntimeOptions(autoretry=False)

    def call() -> object:
        response = sdk.query_send_details_with_options(request, runtime)
        assert response.body.code == "OK"
        return response

    return call


def _ucloud_sdk(url: str) -> Callable[[], object] | None:
    """The official UCloud SDK's GetUSMSSendReceipt against ``url``; None without it."""
    try:
        from ucloud.client import Client as SdkClient
    except ImportError:
        return None
    # It logs every answer at INFO level to stderr: off, as in production.
    logging.getLogger("ucloud").setLevel(logging.WARNING)
    sdk = SdkClient({"region": "cn-bj2", **UCLOUD, "base_url": url, "max_retries": 0})
    usms = sdk.usms()

    def call() -> object:
        response = usms.get_usms_send_receipt({"SessionNoSet": ["BmThtoRB"]})
        assert response["Data"]
        return response

    return call


def call_overhead(rounds: int = 30, batch: int = 50) -> list[Row]:
    """Sync calls, one at a time, against the same loopback server: the generated UCloud
    client next to bare httpx (GET + ``.json()``), the generated Alibaba client (V3 and RPC
    v1 signatures) next to the official Alibaba SDK."""
    import httpx

    import dlr_aliyun_dysms
    import dlr_ucloud_usms

    rows: list[Row] = []
    with serving(UCLOUD_BODY) as url, httpx.Client() as bare:
        with dlr_ucloud_usms.Client(**UCLOUD, base_url=url, retries=0) as client:

            def receipts() -> object:
                found = client.fetch_receipts(session_nos=["BmThtoRB"])
                assert found[0].status.value == "delivered"
                return found

            def operation() -> object:
                result = client.get_usms_send_receipt(session_nos=["BmThtoRB"])
                assert result.data
                return result

            times = _interleaved(
                {
                    "dlrgen get_usms_send_receipt": operation,
                    "dlrgen fetch_receipts": receipts,
                    "httpx GET + json": lambda: bare.get(url).json(),
                },
                rounds,
                batch,
            )
        for ours in ("dlrgen get_usms_send_receipt", "dlrgen fetch_receipts"):
            rows.append(
                _ratio_row("calls: UCloud sync call vs bare httpx", times, ours, "httpx GET + json", 1.10)
            )

    with serving(ALIYUN_BODY) as url:
        sdk = _aliyun_sdk(url)
        for scheme, goal in (("v3", 1.0), ("rpc_v1", 1.0)):
            label = f"calls: Alibaba {scheme} call vs official SDK"
            if sdk is None:
                rows.append(Row(label, "alibabacloud_dysmsapi20170525", "", load_average(), "not installed"))
                continue
            with dlr_aliyun_dysms.Client(**ALIYUN, base_url=url, auth_scheme=scheme, retries=0) as client:

                def call(client: Any = client) -> object:
                    result = client.query_send_details(**ALIYUN_QUERY)
                    assert result.code == "OK"
                    return result

                name = f"dlrgen Alibaba {scheme}"
                times = _interleaved({name: call, "official SDK": sdk}, rounds, batch)
            rows.append(_ratio_row(label, times, name, "official SDK", goal))
    return rows


# -- async: 10,000 calls at concurrency 100 --------------------------------------------------


async def _drive(
    call: Callable[[int], Any], requests: int, concurrency: int
) -> tuple[list[float], float, int]:
    """``requests`` awaited calls by ``concurrency`` workers: latencies, elapsed, errors."""
    latencies: list[float] = []
    errors = 0
    queue = iter(range(requests))

    async def worker() -> None:
        nonlocal errors
        for index in queue:
            started = time.perf_counter()
            try:
                await call(index)
            except Exception:  # noqa: BLE001 - counted, reported in the table
                errors += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started, errors


def _threaded(call: Callable[[], object], requests: int, threads: int) -> tuple[list[float], float, int]:
    """``requests`` blocking calls in a pool of ``threads``: latencies, elapsed, errors."""
    for _ in range(20):
        call()

    def timed(_: int) -> tuple[float, bool]:
        started = time.perf_counter()
        try:
            call()
        except Exception:  # noqa: BLE001
            return time.perf_counter() - started, False
        return time.perf_counter() - started, True

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(timed, range(requests)))
    elapsed = time.perf_counter() - started
    return [t for t, _ in results], elapsed, sum(1 for _, ok in results if not ok)


class _Run(NamedTuple):
    """One contender's run of ``requests`` calls: its rate, and its latencies' p50 and p99."""

    rate: float
    p50: float
    p99: float
    errors: int


def _run(result: tuple[list[float], float, int]) -> _Run:
    latencies, elapsed, errors = result
    ordered = sorted(latencies)
    return _Run(
        len(latencies) / elapsed,
        ordered[len(ordered) // 2],
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        errors,
    )


def _rate(rate: float) -> str:
    return f"{rate:,.0f} req/s"


def async_throughput(requests: int = 4_000, rounds: int = 3, concurrency: int = 100) -> list[Row]:
    """Rounds of ``requests`` calls at ``concurrency`` against the loopback server, every
    contender once per round (the order alternating by round): the generated UCloud client
    on each transport, bare httpx and bare aiohttp, and the official SDKs in a pool of
    ``concurrency`` threads. The ratio rows are medians of per-round ratios."""
    import aiohttp
    import httpx

    import dlr_ucloud_usms

    def dlrgen(url: str, transport: str) -> Callable[[], _Run]:
        async def main() -> tuple[list[float], float, int]:
            async with dlr_ucloud_usms.AsyncClient(
                **UCLOUD, base_url=url, retries=0, transport=transport
            ) as client:

                async def call(index: int) -> None:
                    receipts = await client.fetch_receipts(session_nos=[f"BmThtoRB{index}"])
                    assert (
                        len(receipts) == 1
                    )  # only the session asked for (open: the example answers another)

                await _drive(call, 100, concurrency)  # warm up
                return await _drive(call, requests, concurrency)

        return lambda: _run(asyncio.run(main()))

    def bare_httpx(url: str) -> _Run:
        async def main() -> tuple[list[float], float, int]:
            async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as http:

                async def call(index: int) -> None:
                    (await http.get(url)).json()

                await _drive(call, 100, concurrency)
                return await _drive(call, requests, concurrency)

        return _run(asyncio.run(main()))

    def bare_aiohttp(url: str) -> _Run:
        async def main() -> tuple[list[float], float, int]:
            async with aiohttp.ClientSession() as session:

                async def call(index: int) -> None:
                    async with session.get(url) as response:
                        await response.json()

                await _drive(call, 100, concurrency)
                return await _drive(call, requests, concurrency)

        return _run(asyncio.run(main()))

    with serving(UCLOUD_BODY) as ucloud, serving(ALIYUN_BODY) as aliyun:
        contenders: dict[str, Callable[[], _Run]] = {
            "dlrgen UCloud (aiohttp transport)": dlrgen(ucloud, "aiohttp"),
            "bare aiohttp GET + json": lambda: bare_aiohttp(ucloud),
            "dlrgen UCloud (httpx transport, the default)": dlrgen(ucloud, "httpx"),
            "bare httpx.AsyncClient GET + json": lambda: bare_httpx(ucloud),
        }
        missing: list[str] = []
        for name, sdk in (
            ("official UCloud SDK", _ucloud_sdk(ucloud)),
            ("official Alibaba SDK", _aliyun_sdk(aliyun)),
        ):
            if sdk is None:
                missing.append(name)
            else:
                contenders[f"{name}, {concurrency} threads"] = lambda sdk=sdk: _run(
                    _threaded(sdk, requests, concurrency)
                )
        runs: dict[str, list[_Run]] = {name: [] for name in contenders}
        names = list(contenders)
        for index in range(rounds):
            for name in names if index % 2 == 0 else reversed(names):
                runs[name].append(contenders[name]())

    rows: list[Row] = []
    where = f"{requests:,} calls at concurrency {concurrency}"
    for name, measured in runs.items():
        text = (
            f"{_rate(statistics.median(run.rate for run in measured))}, "
            f"p50 {statistics.median(run.p50 for run in measured) * 1e3:,.0f} ms, "
            f"p99 {statistics.median(run.p99 for run in measured) * 1e3:,.0f} ms"
        )
        errors = sum(run.errors for run in measured)
        if errors:
            text += f", {errors} errors"
        rows.append(
            Row(
                f"async: {name}, {where}", text, spread([run.rate for run in measured], _rate), load_average()
            )
        )
    rows.extend(
        Row(f"async: {name}", "not installed", "", load_average(), "pip install the SDK") for name in missing
    )

    sdks = [name for name in runs if name.startswith("official")]

    def ratio(ours: str, goal: float, versus: str, label: str) -> Row:
        errors = any(run.errors for run in runs[ours])
        return ratio_row(  # rates, higher is better: the same per-round ratios, read the other way
            f"async, {where}: {ours} / {label} (interleaved rounds)",
            [run.rate for run in runs[ours]],
            [run.rate for run in runs[versus]],
            _rate,
            lambda median: f"goal >= {goal:g}x: {_goal(median >= goal and not errors)}",
        )

    aiohttp_client = "dlrgen UCloud (aiohttp transport)"
    if sdks:
        fastest = max(sdks, key=lambda name: statistics.median(run.rate for run in runs[name]))
        rows.append(ratio(aiohttp_client, 3, fastest, f"the fastest SDK in threads ({fastest})"))
    rows.append(ratio(aiohttp_client, 0.5, "bare aiohttp GET + json", "bare aiohttp GET + json"))
    return rows
