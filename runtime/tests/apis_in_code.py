"""API descriptions built in code, and a client written by hand over one, for the runtime's
own tests: they need neither the generator nor a generated package.

``api()`` describes a small report API ("example_sms") the way a generated ``api.py`` does:
``ApiSpec``, ``OperationSpec``, ``ParamSpec`` and ``EnvelopeSpec`` objects, its auth scheme
as data (a dict, which ``signing.Scheme.from_data`` reads like the generated
``signing.Scheme``). ``ReportClient`` and ``AsyncReportClient`` (``report_clients(spec)``
makes them for another spec) use the runtime's public contract (``dlr_core.contract``) the
way a generated ``client.py`` does: ``dlr_operations`` in the class body, then
``dlr_params(op, Params, dlr_arguments(op, {...}))`` and
``dlr_call(dlr_with_extra(op, extra), params, Model, retries)``; ``dlr_call_each`` and
``dlr_wait_for_final`` for batches and polling; pydantic models written by hand.

(Not named conftest: tests/ and runtime/tests/ both have a conftest.py outside any package,
and pytest imports each as the module ``conftest``, so ``from conftest import`` would be
ambiguous. Tests import these by name; tests/ may too, never the reverse.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, ClassVar

from pydantic import Field

from dlr_core import (
    DeliveryStatus,
    ErrorInfo,
    ErrorKind,
    ErrorTable,
    PollingHints,
    PollResult,
    Receipt,
    RetryPolicy,
)
from dlr_core.client import (
    ApiSpec,
    AsyncClientBase,
    EnvelopeSpec,
    OperationSpec,
    OperationTable,
    ParamSpec,
    Retries,
    SyncClientBase,
    answered_in_order,
    in_chunks,
)
from dlr_core.models import ProviderModel, UnixSecondsTime

BASE_URL = "https://api.example.com/v1"
CREDENTIALS = {"api_key": "example-key", "api_secret": "example-secret-value"}

# HMAC-SHA256 over "method\npath\ntimestamp" with the secret, hex, in a header.
HMAC_SCHEME: dict[str, Any] = {
    "description": "X-Signature = hex HMAC-SHA256(api_secret, method \\n path \\n unix seconds)",
    "timestamp": "unix_seconds",
    "sign": [
        {"as": "to_sign", "format": "{method}\n{path}\n{timestamp}"},
        {
            "as": "signature",
            "hmac": {"algorithm": "sha256", "key": "{api_secret}", "input": "{to_sign}", "output": "hex"},
        },
    ],
    "attach": {
        "header": {"X-Api-Key": "{api_key}", "X-Timestamp": "{timestamp}", "X-Signature": "{signature}"}
    },
}

ERRORS = ErrorTable(
    {
        "400": ErrorInfo(ErrorKind.INVALID_REQUEST, "bad request"),
        "401": ErrorInfo(ErrorKind.AUTHENTICATION, "bad key or signature"),
        "404": ErrorInfo(ErrorKind.NOT_FOUND, "no such message"),
        "425": ErrorInfo(ErrorKind.CLOCK_SKEW, "timestamp out of range"),
        "429": ErrorInfo(ErrorKind.RATE_LIMITED, "slow down", retryable=True),
    }
)


def param(name: str, wire: str | None = None, **fields: Any) -> ParamSpec:
    """A parameter: a string in the query string unless ``fields`` say otherwise."""
    return ParamSpec(
        name=name,
        wire=wire or name,
        location=fields.pop("location", "query"),
        type=fields.pop("type", "string"),
        **fields,
    )


def operation(name: str, path: str, *params: ParamSpec, method: str = "GET", **fields: Any) -> OperationSpec:
    """An operation with ``params``, in the order given."""
    return OperationSpec(name=name, method=method, path=path, action=None, params=params, **fields)


def envelope(**fields: Any) -> EnvelopeSpec:
    """``{"code": 0, "message": ..., "requestId": ..., "data": {...}}``: success is code 0."""
    defaults: dict[str, Any] = {
        "success_fields": ("code",),
        "success_value": 0,
        "code_fields": ("code",),
        "message_fields": ("message",),
        "request_id_fields": ("requestId",),
        "data_field": "data",
    }
    return EnvelopeSpec(**{**defaults, **fields})


BATCH_SIZE = 100
"""``get_reports`` takes at most that many ids a call: ``fetch_receipts`` sends more in batches."""

GET_REPORT = operation(
    "get_report",
    "/reports",
    param("message_id", "msgId", required=True),
    param("limit", type="integer", minimum=1, maximum=100),
    example={"code": 0, "message": "ok", "requestId": "r-1", "data": {"msgId": "m-1", "status": "DELIVRD"}},
)

GET_REPORTS = operation(
    "get_reports",
    "/reports/batch",
    param(
        "message_ids",
        "MsgIds",
        location="form",
        type="array",
        array_style="indexed",
        index_start=0,
        required=True,
        max_items=BATCH_SIZE,
    ),
    method="POST",
    example={"code": 0, "message": "ok", "data": {"reports": [{"msgId": "m-1", "status": "DELIVRD"}]}},
)


def api(*operations: OperationSpec, **fields: Any) -> ApiSpec:
    """The example API: ``GET_REPORT`` and ``GET_REPORTS`` (or ``operations``), the HMAC scheme, ``ERRORS``;
    ``fields`` replace any of ``ApiSpec``'s."""
    spec = ApiSpec(
        provider="example_sms",
        servers={"default": BASE_URL},
        default_server="default",
        api_version=None,
        envelope=envelope(),
        auth_schemes={"hmac": HMAC_SCHEME},
        default_scheme="hmac",
        credentials=("api_key", "api_secret"),
        scheme_credentials={"hmac": ("api_key", "api_secret")},
        secret_credentials=("api_secret",),
        errors=ERRORS,
        operations=operations or (GET_REPORT, GET_REPORTS),
        retry=RetryPolicy(),
        polling=PollingHints(),
        credential_env={"api_key": ("EXAMPLE_API_KEY",), "api_secret": ("EXAMPLE_API_SECRET",)},
    )
    return dataclasses.replace(spec, **fields)


API = api()


CLIENT_OPTIONS: dict[str, Any] = {
    "http_client": None,
    "server": None,
    "base_url": None,
    "auth_scheme": None,
    "timeout": 10.0,
    "retries": None,
    "clock": None,
    "nonce": None,
}
"""The constructor options a generated client always passes its base (its own defaults)."""


class Report(ProviderModel):
    """What ``get_report`` answers (the envelope's ``data``)."""

    message_id: Annotated[str | None, Field(alias="msgId")] = None
    status: str | None = None
    done_at: Annotated[UnixSecondsTime | None, Field(alias="doneAt")] = None


class ReportBatch(ProviderModel):
    """What ``get_reports`` answers."""

    reports: list[Report] | None = None


class GetReportsParams(ProviderModel):
    message_ids: Annotated[list[str], Field(alias="MsgIds", min_length=1, max_length=BATCH_SIZE)]


STATUSES = {
    "ENROUTE": DeliveryStatus.SENDING,
    "DELIVRD": DeliveryStatus.DELIVERED,
    "UNDELIV": DeliveryStatus.UNDELIVERED,
}


def report_receipts(batch: ReportBatch) -> list[Receipt]:
    """Receipts read from a ``get_reports`` answer, as a generated ``receipts.py`` does."""
    return [
        Receipt(
            provider="example_sms",
            status=STATUSES.get(report.status or "", DeliveryStatus.UNKNOWN),
            raw_status={"status": report.status},
            message_id=report.message_id,
            completed_at=report.done_at,
            raw=report.wire_data(),
        )
        for report in batch.reports or []
    ]


class GetReportParams(ProviderModel):
    """``get_report``'s parameters: the spec's constraints are the model's, as generated."""

    message_id: Annotated[str, Field(alias="msgId")]
    limit: Annotated[int | None, Field(ge=1, le=100)] = None


def report_clients(spec: ApiSpec) -> tuple[type[SyncClientBase], type[AsyncClientBase]]:
    """The sync and async clients dlrgen would generate for ``spec``, whose operation
    ``get_report`` takes ``message_id`` and ``limit`` (as ``GET_REPORT`` does) wherever and
    however it sends them, and ``get_reports`` (when ``spec`` has it) ``message_ids``, at most
    ``BATCH_SIZE`` a call (``fetch_receipts`` takes any number, ``wait_for_final`` polls
    it). The spec's credentials are keyword arguments, as in a generated client (its other
    options too)."""
    get_report = next(op for op in spec.operations if op.name == "get_report")
    get_reports = next((op for op in spec.operations if op.name == "get_reports"), GET_REPORTS)
    table: OperationTable = {"get_report": (get_report, GetReportParams)}
    if get_reports in spec.operations:
        table["get_reports"] = (get_reports, GetReportsParams)

    class Client(SyncClientBase):
        dlr_operations: ClassVar[OperationTable] = table

        def __init__(self, **options: Any) -> None:
            credentials = {name: options.pop(name, None) for name in spec.credentials}
            super().__init__(spec, credentials, **{**CLIENT_OPTIONS, **options})

        def get_report(
            self,
            *,
            message_id: str,
            limit: int | None = None,
            retries: Retries = None,
            extra_params: Mapping[str, str] | None = None,
        ) -> Report:
            arguments = self.dlr_arguments(get_report, {"message_id": message_id, "limit": limit})
            params = self.dlr_params(get_report, GetReportParams, arguments)
            return self.dlr_call(self.dlr_with_extra(get_report, extra_params), params, Report, retries)

        def fetch_receipts(self, *, message_ids: Sequence[str], retries: Retries = None) -> list[Receipt]:
            receipts: list[Receipt] = []
            for chunk in in_chunks(message_ids, BATCH_SIZE):
                params = self.dlr_params(
                    get_reports, GetReportsParams, self.dlr_arguments(get_reports, {"message_ids": chunk})
                )
                result = self.dlr_call(get_reports, params, ReportBatch, retries)
                receipts.extend(
                    answered_in_order(report_receipts(result), chunk, "message_id", spec.provider)
                )
            return answered_in_order(receipts, message_ids, "message_id", self.dlr_api.provider)

        def wait_for_final(
            self,
            *,
            message_ids: Sequence[str],
            timeout: float | None = None,
            interval: float | None = None,
            sent_at: datetime | None = None,
        ) -> PollResult:
            return self.dlr_wait_for_final(
                lambda: self.fetch_receipts(message_ids=message_ids), timeout, interval, sent_at
            )

    class AsyncClient(AsyncClientBase):
        dlr_operations: ClassVar[OperationTable] = table

        def __init__(self, **options: Any) -> None:
            credentials = {name: options.pop(name, None) for name in spec.credentials}
            super().__init__(spec, credentials, **{**CLIENT_OPTIONS, **options})

        async def get_report(
            self,
            *,
            message_id: str,
            limit: int | None = None,
            retries: Retries = None,
            extra_params: Mapping[str, str] | None = None,
        ) -> Report:
            arguments = self.dlr_arguments(get_report, {"message_id": message_id, "limit": limit})
            params = self.dlr_params(get_report, GetReportParams, arguments)
            return await self.dlr_call(self.dlr_with_extra(get_report, extra_params), params, Report, retries)

        async def fetch_receipts(
            self, *, message_ids: Sequence[str], retries: Retries = None
        ) -> list[Receipt]:
            chunks = in_chunks(message_ids, BATCH_SIZE)
            batches = [
                self.dlr_params(
                    get_reports, GetReportsParams, self.dlr_arguments(get_reports, {"message_ids": chunk})
                )
                for chunk in chunks
            ]
            # The batches go concurrently, at most max_concurrency at once, in order.
            results = await self.dlr_call_each(get_reports, batches, ReportBatch, retries)
            receipts: list[Receipt] = []
            for chunk, result in zip(chunks, results):
                receipts.extend(
                    answered_in_order(report_receipts(result), chunk, "message_id", spec.provider)
                )
            return answered_in_order(receipts, message_ids, "message_id", self.dlr_api.provider)

        async def wait_for_final(
            self,
            *,
            message_ids: Sequence[str],
            timeout: float | None = None,
            interval: float | None = None,
            sent_at: datetime | None = None,
        ) -> PollResult:
            return await self.dlr_wait_for_final(
                lambda: self.fetch_receipts(message_ids=message_ids), timeout, interval, sent_at
            )

    return Client, AsyncClient


ReportClient, AsyncReportClient = report_clients(API)


def run_client(mode: str, client: Any, action: Callable[[Any], Any]) -> Any:
    """``action(client)`` in a ``with`` block (sync), or awaited in ``async with`` (async,
    aiohttp)."""
    if mode == "sync":
        with client:
            return action(client)

    async def main() -> Any:
        async with client:
            return await action(client)

    return asyncio.run(main())


def client_class(mode: str, spec: ApiSpec = API) -> Any:
    """``spec``'s client (``API``'s by default) of the kind ``mode`` names: sync, async, or
    aiohttp (the async one made with ``transport="aiohttp"``)."""
    sync, async_ = (ReportClient, AsyncReportClient) if spec is API else report_clients(spec)
    if mode == "aiohttp":
        return functools.partial(async_, transport="aiohttp")
    return sync if mode == "sync" else async_


class FakeTime:
    """A clock (and a monotonic counter, for deadlines) that only moves when the client
    sleeps: no real waiting in tests."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)
        self.elapsed += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def options(self, mode: str) -> dict[str, Any]:
        """A client's ``clock``, ``monotonic`` and ``sleep`` (of ``mode``'s kind) on this time."""
        sleep = self.sleep if mode == "sync" else self.async_sleep
        return {"clock": self.clock, "monotonic": self.monotonic, "sleep": sleep}
