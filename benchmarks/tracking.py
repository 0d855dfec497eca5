"""The ``tracking`` section: messages tracked from sent to final by ``dlr_core.tracking``.

N messages are tracked (``track_many``, 10,000 a transaction, never N in memory), all of
them due at once, then worked to final: polled in batches of 100 through the runtime tests'
hand-written client (``runtime/tests/apis_in_code.py``) against the in-process provider mock
(every id answered ``delivered``), each change handed to a handler that counts it. Rows:

- SQLite, one process: messages finalised per second (the poll, the record, the handler),
  and the process's peak resident memory at N / 10 and at N (the goal: flat in N, under
  200 MiB);
- PostgreSQL with 1, 2 and 4 worker processes on one database: messages finalised per
  second (from the moment all workers are ready until the last one is done) and the largest
  worker's peak memory. The server is ``DLR_TEST_POSTGRES_DSN`` when set, else a throwaway
  one started by ``runtime/tests/postgres_server.sh`` (as the tests do).

Each measurement runs in a fresh process (``python benchmarks/tracking.py ...``), so that
peak memory is the tracker's own. The rate limit is lifted (the mock answers at once).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from measure import Row, load_average

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 10_000
"""Messages tracked per transaction."""
MEMORY_GOAL_MIB = 200


def tracking(messages: int = 1_000_000) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        small = _sqlite_run(f"sqlite:///{folder}/small.db", max(messages // 10, 1))
        full = _sqlite_run(f"sqlite:///{folder}/full.db", messages)
    met = full["peak_mib"] < MEMORY_GOAL_MIB and full["peak_mib"] <= small["peak_mib"] * 1.25
    rows.append(
        Row(
            f"tracking, SQLite, 1 process: {messages:,} messages to final",
            f"{full['finalised_per_s']:,.0f} messages/s (tracked at {full['tracked_per_s']:,.0f}/s)",
            "1 round",
            load_average(),
        )
    )
    rows.append(
        Row(
            f"tracking, SQLite: peak memory at {max(messages // 10, 1):,} / {messages:,} messages",
            f"{small['peak_mib']:.0f} / {full['peak_mib']:.0f} MiB",
            "1 round",
            load_average(),
            f"flat in N, < {MEMORY_GOAL_MIB} MiB: {'met' if met else 'not met'}",
        )
    )
    with _postgres() as server:
        for workers in (1, 2, 4):
            result = _postgres_run(server, messages, workers)
            rows.append(
                Row(
                    f"tracking, PostgreSQL, {workers} worker process(es): {messages:,} messages to final",
                    f"{result['finalised_per_s']:,.0f} messages/s",
                    f"1 round; peak memory {result['peak_mib']:.0f} MiB a worker",
                    load_average(),
                )
            )
    return rows


def _child(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *arguments], stdout=subprocess.PIPE, text=True
    )


def _answer(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"a tracking benchmark process failed ({process.returncode})")
    return dict(json.loads(out.strip().splitlines()[-1]))


def _sqlite_run(url: str, messages: int) -> dict[str, Any]:
    """One process tracks ``messages`` and works them to final."""
    seeded = _answer(_child("seed", url, str(messages)))
    with tempfile.TemporaryDirectory() as folder:
        worker = _child("work", url, folder)
        _wait_ready(Path(folder), 1)
        started = time.time()
        (Path(folder) / "go").touch()
        result = _answer(worker)
    if result["taken"] != messages:
        raise RuntimeError(f"{result['taken']} of {messages} changes reached the handler")
    return {
        "tracked_per_s": messages / seeded["seconds"],
        "finalised_per_s": messages / (result["end"] - started),
        "peak_mib": max(seeded["peak_mib"], result["peak_mib"]),
    }


def _postgres_run(server: str, messages: int, workers: int) -> dict[str, Any]:
    """``workers`` processes work ``messages`` to final on a fresh schema of ``server``."""
    import psycopg

    schema = f"bench_{os.getpid()}_{workers}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if urlsplit(server).query else "?"
    url = f"{server}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        _answer(_child("seed", url, str(messages)))
        with tempfile.TemporaryDirectory() as folder:
            processes = [_child("work", url, folder) for _ in range(workers)]
            _wait_ready(Path(folder), workers)
            started = time.time()
            (Path(folder) / "go").touch()
            results = [_answer(process) for process in processes]
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    taken = sum(result["taken"] for result in results)
    if taken != messages:
        raise RuntimeError(f"{taken} of {messages} changes reached the handlers")
    return {
        "finalised_per_s": messages / (max(result["end"] for result in results) - started),
        "peak_mib": max(result["peak_mib"] for result in results),
    }


def _wait_ready(folder: Path, workers: int) -> None:
    deadline = time.monotonic() + 120
    while len(list(folder.glob("ready-*"))) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError("the tracking workers never got ready")
        time.sleep(0.02)


@contextmanager
def _postgres() -> Iterator[str]:
    given = os.environ.get("DLR_TEST_POSTGRES_DSN")
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="dlr-bench-pg-")
    script = str(ROOT / "runtime" / "tests" / "postgres_server.sh")
    try:
        started = subprocess.run(["bash", script, "start", folder], capture_output=True, text=True)
        if started.returncode != 0:
            raise RuntimeError(f"no PostgreSQL server for the tracking benchmark: {started.stderr.strip()}")
        yield started.stdout.strip()
    finally:
        subprocess.run(["bash", script, "stop", folder], capture_output=True)
        subprocess.run(["rm", "-rf", folder])


# What the child processes run.


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _lookup() -> Any:
    sys.path.insert(0, str(ROOT / "runtime" / "tests"))
    from apis_in_code import API, CREDENTIALS, client_class

    from dlr_core.testing import MockTransport
    from dlr_core.tracking import RateLimit, by_ids

    def respond(request: Any) -> dict[str, Any]:
        asked = [value for name, value in request.form if name.startswith("MsgIds.")]
        return {"reports": [{"msgId": message_id, "status": "DELIVRD"} for message_id in asked]}

    mock = MockTransport(API, CREDENTIALS, scenario={"get_reports": [{"respond": respond}]})
    client = mock.client(client_class("sync"), retries=0)
    # The mock answers at once: no rate limit to wait for (RateLimit books each call).
    return by_ids(
        client, "message_ids", batch_size=100, rate_limit=RateLimit(1_000, timedelta(seconds=0.001))
    )


def _seed(url: str, messages: int) -> None:
    from dlr_core.tracking import Tracker

    lookup = _lookup()
    tracker = Tracker(url, lookups=[lookup])
    sent_at = datetime.now(timezone.utc) - timedelta(hours=1)
    started = time.perf_counter()
    for first in range(0, messages, CHUNK):
        ids = (f"m-{i:08d}" for i in range(first, min(first + CHUNK, messages)))
        tracker.track_many(lookup.provider, ids, sent_at=sent_at)
    seconds = time.perf_counter() - started
    tracker.close()
    print(json.dumps({"seconds": seconds, "peak_mib": _peak_mib()}))


def _work(url: str, folder: str) -> None:
    from dlr_core.tracking import Tracker, TrackingState

    taken = 0

    def handler(change: Any) -> None:
        nonlocal taken
        taken += 1

    tracker = Tracker(url, lookups=[_lookup()], handler=handler)
    Path(folder, f"ready-{os.getpid()}").touch()
    while not Path(folder, "go").exists():
        time.sleep(0.005)
    while True:
        done = tracker.work()
        if not (done.polled or done.delivered):
            if tracker.store.pending_changes() == 0 and not any(
                count.state is TrackingState.OPEN for count in tracker.counts()
            ):
                break
            time.sleep(0.05)  # another worker holds what is left
    end = time.time()
    tracker.close()
    print(json.dumps({"taken": taken, "end": end, "peak_mib": _peak_mib()}))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "runtime"))
    command, *rest = sys.argv[1:]
    if command == "seed":
        _seed(rest[0], int(rest[1]))
    elif command == "work":
        _work(rest[0], rest[1])
    else:
        raise SystemExit(f"unknown command {command!r}")
