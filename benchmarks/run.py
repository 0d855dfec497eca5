"""dlrgen benchmarks: prints a table. Run from the repository root:

    .venv/bin/pip install openapi-python-client ruff   # the reference generator, as its docs set it up
    .venv/bin/pip install alibabacloud_dysmsapi20170525 ucloud-sdk-python3  # the official SDKs
    .venv/bin/python benchmarks/run.py                 # everything (it prints how long it took)
    .venv/bin/python benchmarks/run.py generation      # one section

Sections:
- ``generation``: dlrgen against openapi-python-client on the same operations (the four
  seed specs; one provider with 400 operations; 400 providers), each pair run interleaved,
  cold (no output, no spec-dependent cache), and medians compared; a first run with no cache
  at all; a no-op run and a one-spec change against a bare interpreter start; peak memory
  against the number of providers;
- ``calls``: a call next to bare httpx and next to the official Alibaba SDK, against one
  loopback server, as ratios of interleaved medians (``benchmarks/calls.py``);
- ``async_calls``: rounds of 4,000 calls at concurrency 100 (both transports) next to bare
  httpx, bare aiohttp and the official SDKs in 100 threads, every contender once per round;
  the aiohttp transport's per-round ratios to the fastest SDK and to bare aiohttp;
- ``callbacks``: pushed reports served by ``CallbackApp`` (Twilio's status callback) next
  to a bare ASGI app answering 204, each under one uvicorn worker, loaded by aiohttp at
  concurrency 50 (``benchmarks/callbacks.py``);
- ``runtime``: client overhead per call for each provider over an in-process transport, and
  status-mapping throughput (informative);
- ``tracking``: N messages (``--messages``, 1,000,000 by default) tracked from sent to final
  against the in-process mock: on SQLite in one process (messages finalised per second, peak
  memory at N / 10 and N), and on PostgreSQL with 1, 2 and 4 worker processes
  (``benchmarks/tracking.py``; the server from ``DLR_TEST_POSTGRES_DSN`` or started by
  ``runtime/tests/postgres_server.sh``). ``benchmarks/run.py tracking --messages 2000`` checks it works.

Absolute times move with the machine's load (it is shared); the ratios, measured side by
side within one run, are what the goals are about. Every row gives its median, the range
over its rounds and the 1-minute load average when it was measured (``benchmarks/measure.py``);
the last line, the whole run's time and load. Nothing here is asserted in tests.
"""

from __future__ import annotations

import argparse
import os
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

from calls import async_throughput, call_overhead  # noqa: E402 - the call rows (benchmarks/calls.py)
from callbacks import push_throughput  # noqa: E402 - the push rows (benchmarks/callbacks.py)
from measure import Row, load_average, print_table, ratio_row, spread  # noqa: E402
from tracking import tracking  # noqa: E402 - the tracking rows (benchmarks/tracking.py)

DLRGEN = [sys.executable, "-m", "generator"]
OPENAPI_PYTHON_CLIENT = Path(sys.executable).with_name("openapi-python-client")
BARE_PYTHON = [sys.executable, "-c", "pass"]


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Wall time of one command, in seconds; it must succeed."""
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def _peak_rss_mib(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """The largest resident set of any process the command ran (workers included), in MiB."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *command], cwd=cwd, env=env, check=True, capture_output=True
    )
    return int(out.stdout) / 1024


class _Work:
    """One side of a comparison: a command run in a fresh folder each round."""

    def __init__(self, root: Path, name: str, command: list[str], prepare: Callable[[Path], None]) -> None:
        self.folder = root / name
        self.command = command
        self.prepare = prepare
        self.times: list[float] = []
        self.env = {
            **os.environ,
            "DLRGEN_CACHE_DIR": str(root / ("cache-first" if name.endswith("first") else "cache")),
        }
        # openapi-python-client formats with ruff, found on PATH, as its docs set it up.
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        # Bytecode is written and kept, as for an installed package (pip compiles it): with
        # PYTHONDONTWRITEBYTECODE set, an editable checkout's generator and runtime would be
        # compiled from source in every round (about 0.2 s a run on the development machine).
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def round(self, cold: bool = True, first: bool = False) -> None:
        """One run. ``cold``: nothing generated and nothing cached that depends on the specs
        (formatted code, models); the templates' compiled code and the runtime's names stay,
        as Python's own bytecode does (they depend on the installed tools only). ``first``:
        the cache emptied too, as on a machine dlrgen never ran on."""
        if cold or first:
            shutil.rmtree(self.folder / "generated", ignore_errors=True)
            shutil.rmtree(self.folder / "client", ignore_errors=True)
            # Every entry that depends on the specs: formatted code, models, the schema's
            # verdicts on specs, each provider's part of docs/providers.md.
            for kind in ("black", "models", "valid", "docs"):
                for folder in Path(self.env["DLRGEN_CACHE_DIR"]).glob(f"v*/{kind}"):
                    shutil.rmtree(folder)
        if first:
            shutil.rmtree(self.env["DLRGEN_CACHE_DIR"], ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prepare(self.folder)
        self.times.append(_run(self.command, self.folder, self.env))

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def _interleaved(works: list[_Work], rounds: int, cold: bool = True, first: bool = False) -> None:
    for _ in range(rounds):
        for work in works:
            work.round(cold, first)


def _verdict(ratio: float, goal: float) -> str:
    return f"goal <= {goal:g}x: {'met' if ratio <= goal else 'not met'}"


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 0.1 else f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def _ratio_row(label: str, ours: _Work, theirs: _Work, goal: float | None = None) -> Row:
    """Two sides run in interleaved rounds: the median per-round ratio, its range, the load."""
    verdict = "" if goal is None else (lambda ratio: _verdict(ratio, goal))
    return ratio_row(label, ours.times, theirs.times, _seconds, verdict)


def _opc_command(document: Path) -> list[str]:
    return [
        str(OPENAPI_PYTHON_CLIENT), "generate", "--path", str(document), "--meta", "none",
        "--output-path", "client", "--overwrite",
    ]  # fmt: skip


def generation(rounds: int = 3, operations: int = 400, providers: int = 400) -> list[Row]:
    """dlrgen's generation against openapi-python-client on the same operations (one OpenAPI
    document), and against a bare interpreter start; the rounds interleave the two sides."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import openapi
    import workloads

    if not OPENAPI_PYTHON_CLIENT.exists():
        return [
            Row(
                "generation",
                "openapi-python-client",
                "",
                load_average(),
                "not installed: pip install openapi-python-client ruff",
            )
        ]
    rows: list[Row] = []
    nothing = lambda folder: None  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seeds = workloads.seed_specs(root / "seeds" / "specs")
        document = openapi.write_document(seeds, root / "seeds-opc" / "openapi.yaml")
        ours = _Work(root, "seeds", DLRGEN + ["generate"], nothing)
        theirs = _Work(root, "seeds-opc", _opc_command(document), nothing)
        ours.round()  # compiles the templates into the cache, as installing dlrgen would
        ours.times.clear()
        _interleaved([ours, theirs], rounds)
        rows.append(
            _ratio_row(
                "cold generate, 4 seed specs / openapi-python-client, the same 4 operations",
                ours,
                theirs,
                1.0,
            )
        )
        first = _Work(root, "seeds-first", DLRGEN + ["generate"], nothing)
        workloads.seed_specs(first.folder / "specs")
        theirs.times.clear()
        _interleaved([first, theirs], rounds, first=True)
        rows.append(
            _ratio_row(
                "first run on a machine (no cache at all), 4 seed specs / openapi-python-client",
                first,
                theirs,
            )
        )

        bare = _Work(root, "bare", BARE_PYTHON, nothing)
        noop = _Work(root, "seeds", DLRGEN + ["generate"], nothing)
        spec = root / "seeds" / "specs" / "itnio_voice.yaml"
        original = spec.read_text(encoding="utf-8")
        edits = iter(range(1_000_000))

        def edit(folder: Path) -> None:
            spec.write_text(
                original.replace("Waiting to start.", f"Waiting to start ({next(edits)})."), encoding="utf-8"
            )

        changed = _Work(root, "seeds", DLRGEN + ["generate"], edit)
        for _ in range(max(rounds, 5)):
            for work in (bare, noop, changed):
                work.round(cold=False)
        rows.append(_ratio_row("one spec changed (cache warm) / bare `python -c pass`", changed, bare, 10))
        rows.append(
            _ratio_row("no-op generate / bare `python -c pass`", noop, bare)._replace(
                goal="keep (0.20 s, 9x, at the start of this work)"
            )
        )

        many = workloads.many_operations(root / "operations" / "specs", operations)
        document = openapi.write_document([many], root / "operations-opc" / "openapi.yaml")
        workloads.many_providers(root / "providers" / "specs", providers)
        one = _Work(root, "operations", DLRGEN + ["generate"], nothing)
        reference = _Work(root, "operations-opc", _opc_command(document), nothing)
        spread_out = _Work(root, "providers", DLRGEN + ["generate"], nothing)
        _interleaved([one, reference, spread_out], max(2, rounds - 1))
        row = _ratio_row(
            f"{operations} operations in one provider / openapi-python-client with {operations} operations",
            one,
            reference,
        )
        per_operation = f"; {one.median / operations * 1000:.0f} vs {reference.median / operations * 1000:.0f} ms per operation"
        rows.append(row._replace(median=row.median[:-1] + per_operation + ")"))
        rows.append(
            _ratio_row(
                f"{providers} providers / openapi-python-client with {operations} operations",
                spread_out,
                reference,
                2.0,
            )
        )
        small = workloads.many_providers(root / "few" / "specs", 25)
        env = {**spread_out.env, "DLRGEN_NO_CACHE": "1"}
        few_rss = _peak_rss_mib(DLRGEN + ["generate"], small[0].parent.parent, env)
        shutil.rmtree(root / "providers" / "generated")
        many_rss = _peak_rss_mib(DLRGEN + ["generate"], root / "providers", env)
        rows.append(
            Row(
                f"peak memory of one process, 25 / {providers} providers",
                f"{few_rss:.0f} / {many_rss:.0f} MiB",
                "1 round",
                load_average(),
                f"flat in the number of providers: {'met' if many_rss <= few_rss * 1.5 else 'not met'}",
            )
        )
    return rows


def runtime(calls: int = 300, rounds: int = 5) -> list[Row]:
    """Client-side cost of one call (validate, build, sign, send, parse the envelope, map to
    receipts) over an in-process transport, so no server time is counted; ``rounds`` of
    ``calls`` calls each."""
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
        per_call = []
        with (
            httpx.Client(transport=transport) as http,
            package.Client(**credentials, http_client=http) as client,
        ):
            client.fetch_receipts(**query)
            for _ in range(rounds):
                started = time.perf_counter()
                for _ in range(calls):
                    client.fetch_receipts(**query)
                per_call.append((time.perf_counter() - started) / calls)
        rows.append(
            Row(
                f"client overhead per call, in-process transport: {provider}",
                f"{statistics.median(per_call) * 1e6:,.0f} µs",
                spread(per_call, lambda seconds: f"{seconds * 1e6:,.0f} µs"),
                load_average(),
            )
        )

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
    repeats = 20  # passes over the 1,000 records per round

    def per_second(work: Callable[[], object]) -> list[float]:
        rates = []
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(repeats):
                work()
            rates.append(repeats * len(records) / (time.perf_counter() - started))
        return rates

    def rate_row(label: str, rates: list[float], unit: str) -> Row:
        show = lambda rate: f"{rate:,.0f} {unit}"  # noqa: E731
        return Row(label, show(statistics.median(rates)), spread(rates, show), load_average())

    rates = per_second(lambda: dlr_ucloud_usms.get_usms_send_receipt_receipts(result))
    rows.append(rate_row("status mapping: parsed records -> canonical receipts", rates, "receipts/s"))
    to_canonical = dlr_ucloud_usms.receipt_result_to_canonical

    def map_each() -> None:
        for record in records:
            to_canonical(record["ReceiptResult"])

    rates = per_second(map_each)
    rows.append(rate_row("status mapping: raw value -> DeliveryStatus", rates, "/s"))
    return rows


SECTIONS: dict[str, Callable[[], list[Row]]] = {
    "generation": generation,
    "runtime": runtime,
    "calls": call_overhead,
    "async_calls": async_throughput,
    "callbacks": push_throughput,
    "tracking": lambda: tracking(MESSAGES[0]),
}
MESSAGES = [1_000_000]
"""The tracking section's N (``--messages``)."""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sections", nargs="*", help=f"sections to run: {', '.join(SECTIONS)} (default: all)")
    parser.add_argument(
        "--messages",
        type=int,
        default=MESSAGES[0],
        help="the tracking section's messages (default 1,000,000)",
    )
    arguments = parser.parse_args()
    MESSAGES[0] = arguments.messages
    chosen = arguments.sections or list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    rows: list[Row] = []
    started = time.perf_counter()
    for name in chosen:
        rows.extend(SECTIONS[name]())
    print_table(rows)
    one, five, fifteen = os.getloadavg()
    print(
        f"\n{' '.join(chosen)}: {time.perf_counter() - started:,.0f} s in all; "
        f"load average at the end {one:.2f} (1 min), {five:.2f} (5 min), {fifteen:.2f} (15 min)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
