"""dlrgen benchmarks: prints a table. Run from the repository root:

    .venv/bin/python benchmarks/run.py            # everything
    .venv/bin/python benchmarks/run.py load       # one section

Sections: ``load`` (async client against the local mock). Numbers depend on the machine;
they are measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for distribution in sorted((ROOT / "generated").glob("dlr_*")):
    sys.path.insert(0, str(distribution))

Row = tuple[str, str, str]


def _start_mock(provider: str, scenario: Path) -> tuple[subprocess.Popen[str], str]:
    """The mock in its own process, so client and server do not share one interpreter."""
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "mock", provider, "--port", "0", "--scenario", str(scenario)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if " on http" not in line:
        process.kill()
        raise RuntimeError(f"mock did not start: {line!r}")
    return process, line.rsplit(" ", 1)[1].strip()


def load(requests: int = 10_000, concurrency: int = 100) -> list[Row]:
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
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits) as http, dlr_itnio_voice.AsyncClient(
            api_key="bench-key", api_secret="bench-secret", base_url=url, http_client=http, retries=0
        ) as client:
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
        ("load: async fetch_receipts, ITNIO, local mock", "requests / concurrency", f"{done:,} / {concurrency}"),
        ("load", "errors", str(errors)),
        ("load", "throughput", f"{done / elapsed:,.0f} req/s ({elapsed:.1f} s)"),
        ("load", "client max RSS before / after", f"{rss_before / 1024:.0f} / {rss_after / 1024:.0f} MiB"),
    ]


SECTIONS: dict[str, Callable[[], list[Row]]] = {"load": load}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="*", choices=[*SECTIONS, []], help="sections to run (default: all)")
    chosen = parser.parse_args().sections or list(SECTIONS)
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
