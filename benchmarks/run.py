"""dlrgen benchmarks: prints a table. Run from the repository root:

    .venv/bin/python benchmarks/run.py            # everything (several minutes)
    .venv/bin/python benchmarks/run.py generate   # one section

Sections:
- ``generate``: cold generation of the seeds, a no-op run, one changed spec;
- ``scaling``: cold generation of 25, 100 and 400 synthetic providers (copies of the seeds);
- ``reference``: the same four APIs as OpenAPI through datamodel-code-generator and
  openapi-python-client (``.venv/bin/pip install openapi-python-client`` first);
- ``runtime``: client overhead per call for each provider, and status-mapping throughput;
- ``load``: the async client, 10,000 queries at concurrency 100 against ``dlrgen mock``;
- ``calls``, ``async_calls``: a call next to bare httpx and the official SDKs, as ratios, and
  async throughput (``benchmarks/calls.py``).

Numbers depend on the machine; they are measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for distribution in sorted((ROOT / "generated").glob("dlr_*")):
    sys.path.insert(0, str(distribution))

Row = tuple[str, str, str]

from calls import async_throughput, call_overhead  # noqa: E402 - the call rows (benchmarks/calls.py)


def _start_mock(provider: str, scenario: Path) -> tuple[subprocess.Popen[str], str]:
    """The mock in its own process, so client and server do not share one interpreter."""
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "mock", provider, "--port", "0", "--scenario", str(scenario)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if " on http" not in line:
        process.kill()
        raise RuntimeError(f"mock did not start: {line!r}")
    return process, line.rsplit(" ", 1)[1].strip()


def load(requests: int = 10_000, concurrency: int = 100, connections: int = 100) -> list[Row]:
    import httpx

    import dlr_itnio_voice

    scenario = ROOT / "benchmarks" / "load-scenario.yaml"
    scenario.write_text(
        "credentials: {api_key: bench-key, api_secret: bench-secret}\n"
        "operations:\n  query_recall_flow_detail:\n    - data: {keyId: 1, status: 2}\n",
        encoding="utf-8",
    )
    process, url = _start_mock("itnio_voice", scenario)
    errors = 0
    done = 0

    async def run() -> float:
        nonlocal errors, done
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with (
            httpx.AsyncClient(limits=limits) as http,
            dlr_itnio_voice.AsyncClient(
                api_key="bench-key", api_secret="bench-secret", base_url=url, http_client=http, retries=0
            ) as client,
        ):
            queue = iter(range(requests))

            async def worker() -> None:
                nonlocal errors, done
                for index in queue:
                    try:
                        receipts = await client.fetch_receipts(key_id=index)
                        if receipts[0].status.value != "delivered":
                            errors += 1
                    except Exception:  # noqa: BLE001 - counted, reported in the table
                        errors += 1
                    done += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - started

    try:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        elapsed = asyncio.run(run())
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        process.terminate()
        process.wait(timeout=10)
        scenario.unlink(missing_ok=True)
    return [
        (
            f"load: async fetch_receipts, ITNIO, local mock, {connections} connections",
            "requests / concurrency",
            f"{done:,} / {concurrency}",
        ),
        ("load", "errors", str(errors)),
        ("load", "throughput", f"{done / elapsed:,.0f} req/s ({elapsed:.1f} s)"),
        ("load", "client max RSS before / after", f"{rss_before / 1024:.0f} / {rss_after / 1024:.0f} MiB"),
    ]


def load_pooled() -> list[Row]:
    """The same load over a pool of 20 connections (httpcore's pool costs grow with its size)."""
    return load(connections=20)


def _timed(command: list[str], cwd: Path = ROOT, repeat: int = 3) -> float:
    """Median wall time of a command, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


DLRGEN = [sys.executable, "-m", "generator"]


def generate() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "specs", work / "specs")
        cold = []
        for _ in range(3):
            shutil.rmtree(work / "generated", ignore_errors=True)
            cold.append(_timed(DLRGEN + ["generate"], work, repeat=1))
        noop = _timed(DLRGEN + ["generate"], work, repeat=5)
        spec = work / "specs" / "itnio_voice.yaml"
        text = spec.read_text(encoding="utf-8")
        changed = []
        for index in range(3):
            spec.write_text(
                text.replace("Waiting to start.", f"Waiting to start ({index})."), encoding="utf-8"
            )
            changed.append(_timed(DLRGEN + ["generate"], work, repeat=1))
    return [
        ("generate: 4 seeds", "cold (empty output)", f"{statistics.median(cold):.2f} s"),
        ("generate: 4 seeds", "no-op (nothing changed)", f"{noop:.3f} s"),
        ("generate: 4 seeds", "one spec changed", f"{statistics.median(changed):.2f} s"),
    ]


def scaling(counts: tuple[int, ...] = (25, 100, 400)) -> list[Row]:
    rows = []
    seeds = sorted((ROOT / "specs").glob("*.yaml"))
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            specs = Path(tmp) / "specs"
            specs.mkdir()
            for index in range(count):
                seed = seeds[index % len(seeds)]
                provider = f"{seed.stem}_{index}"
                text = seed.read_text(encoding="utf-8").replace(
                    f"provider: {seed.stem}", f"provider: {provider}"
                )
                (specs / f"{provider}.yaml").write_text(text, encoding="utf-8")
            elapsed = _timed(DLRGEN + ["generate"], Path(tmp), repeat=1)
        rows.append(
            (
                f"scaling: {count} providers",
                "cold generate",
                f"{elapsed:.1f} s ({elapsed / count * 1000:.0f} ms each)",
            )
        )
    return rows


def reference() -> list[Row]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from openapi import write_documents

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        documents = write_documents(ROOT / "specs", work / "openapi")
        datamodel = Path(sys.executable).with_name("datamodel-codegen")
        started = time.perf_counter()
        for document in documents:
            subprocess.run(
                [
                    str(datamodel),
                    "--input",
                    str(document),
                    "--input-file-type",
                    "openapi",
                    "--output",
                    str(work / f"{document.stem}.py"),
                ],
                check=True,
                capture_output=True,
            )
        rows.append(
            (
                "reference: 4 APIs as OpenAPI",
                "datamodel-code-generator (models only)",
                f"{time.perf_counter() - started:.2f} s",
            )
        )
        client = Path(sys.executable).with_name("openapi-python-client")
        if not client.exists():
            rows.append(("reference: 4 APIs as OpenAPI", "openapi-python-client", "not installed"))
            return rows
        started = time.perf_counter()
        for document in documents:
            subprocess.run(
                [
                    str(client),
                    "generate",
                    "--path",
                    str(document),
                    "--meta",
                    "none",
                    "--output-path",
                    str(work / f"client_{document.stem}"),
                ],
                check=True,
                capture_output=True,
            )
        rows.append(
            (
                "reference: 4 APIs as OpenAPI",
                "openapi-python-client (clients)",
                f"{time.perf_counter() - started:.2f} s",
            )
        )
    return rows


def runtime(calls: int = 300) -> list[Row]:
    """Client-side cost of one call (validate, build, sign, send, parse the envelope, map to
    receipts) over an in-process transport, so no server time is counted."""
    import httpx
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    sys.path.insert(0, str(ROOT / "tests"))
    fixtures = ROOT / "tests" / "fixtures"
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    cases = {
        "aliyun_dysms": (
            {"access_key_id": "id", "access_key_secret": "secret"},
            {"phone_number": "1", "send_date": "20240101"},
            "aliyun_dysms_query_send_details.json",
        ),
        "ucloud_usms": (
            {"public_key": "p", "private_key": "secret"},
            {"session_nos": ["a", "b"]},
            "ucloud_usms_get_usms_send_receipt.json",
        ),
        "itnio_voice": (
            {"api_key": "k", "api_secret": "secret"},
            {"key_id": 1},
            "itnio_voice_query_recall_flow_detail.json",
        ),
        "sgate_otp": (
            {"api_key": "k", "private_key_pem": pem},
            {"mobile": "1", "session_id": "s"},
            "sgate_otp_otp_detail.json",
        ),
    }
    rows = []
    for provider, (credentials, query, fixture) in cases.items():
        body = (fixtures / fixture).read_bytes()
        transport = httpx.MockTransport(lambda request, body=body: httpx.Response(200, content=body))
        package = __import__(f"dlr_{provider}")
        with (
            httpx.Client(transport=transport) as http,
            package.Client(**credentials, http_client=http) as client,
        ):
            client.fetch_receipts(**query)
            started = time.perf_counter()
            for _ in range(calls):
                client.fetch_receipts(**query)
            elapsed = time.perf_counter() - started
        rows.append((f"runtime: {provider}", "client overhead per call", f"{elapsed / calls * 1e6:,.0f} µs"))

    import dlr_ucloud_usms

    records = [
        {
            "Phone": str(i),
            "ReceiptResult": ["发送成功", "Fail", "Unknow", "new"][i % 4],
            "ReceiptTime": 1700000000,
        }
        for i in range(1000)
    ]
    result = dlr_ucloud_usms.GetUSMSSendReceiptResult.model_validate(
        {
            "RetCode": 0,
            "Data": [
                {"SessionNo": f"s{i}", "ReceiptSet": records[i * 10 : (i + 1) * 10]} for i in range(100)
            ],
        }
    )
    started = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        dlr_ucloud_usms.get_usms_send_receipt_receipts(result)
    elapsed = time.perf_counter() - started
    rows.append(
        (
            "runtime: status mapping",
            "parsed records -> canonical receipts",
            f"{rounds * len(records) / elapsed:,.0f} receipts/s",
        )
    )
    started = time.perf_counter()
    for _ in range(rounds):
        for record in records:
            dlr_ucloud_usms.receipt_result_to_canonical(record["ReceiptResult"])
    elapsed = time.perf_counter() - started
    rows.append(
        (
            "runtime: status mapping",
            "raw value -> DeliveryStatus",
            f"{rounds * len(records) / elapsed:,.0f} /s",
        )
    )
    return rows


SECTIONS: dict[str, Callable[[], list[Row]]] = {
    "generate": generate,
    "scaling": scaling,
    "reference": reference,
    "runtime": runtime,
    "load": load,
    "load_pooled": load_pooled,
    "calls": call_overhead,
    "async_calls": async_throughput,
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sections", nargs="*", help=f"sections to run: {', '.join(SECTIONS)} (default: all)")
    chosen = parser.parse_args().sections or list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    rows: list[Row] = []
    for name in chosen:
        rows.extend(SECTIONS[name]())
    widths = [max(len(row[i]) for row in rows + [("benchmark", "measure", "result")]) for i in range(3)]
    line = "| " + " | ".join(f"{{:{w}}}" for w in widths) + " |"
    print(line.format("benchmark", "measure", "result"))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line.format(*row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
