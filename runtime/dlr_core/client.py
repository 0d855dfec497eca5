"""The machinery every generated client shares: building and signing a request from the
spec's description of it, sending it with httpx, and reading the answer's envelope into a
typed model or a typed error.

Generated clients are thin: their methods take typed keyword arguments, validate them
with the generated parameter model, and call ``_call`` with the operation's description.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Sized,
)
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from types import TracebackType
from urllib.parse import quote
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from typing_extensions import Self

from dlr_core.errors import (
    AuthenticationError,
    DlrError,
    ErrorTable,
    InvalidRequest,
    NotFound,
    ParameterError,
    PermissionDenied,
    ProviderError,
    ProviderResponseError,
    RateLimited,
    RequestTimeout,
    TransportError,
    error_class,
)
from dlr_core.polling import PollingHints, PollResult
from dlr_core.receipt import Receipt
from dlr_core.request import PreparedRequest
from dlr_core.retry import RetryPolicy, next_delay, parse_retry_after, resolve
from dlr_core.signing import Signer

Model = TypeVar("Model", bound=BaseModel)
Clock = Callable[[], datetime]
Nonce = Callable[[], str]
Sleep = Callable[[float], None]
AsyncSleep = Callable[[float], Awaitable[None]]
Retries = RetryPolicy | int | None
Item = TypeVar("Item")
Params = TypeVar("Params", bound=BaseModel)

logger = logging.getLogger("dlr_core")

_MISSING = object()
_MIN_SCRUBBED_LENGTH = 6
_BODY_EXCERPT = 200


@dataclass(frozen=True)
class ParamSpec:
    """How one parameter travels: its Python name, wire name, place and encoding."""

    name: str
    wire: str
    location: str  # query | json | form | header
    type: str  # string | integer | number | boolean | date | array
    date_format: str | None = None
    array_style: str | None = None  # indexed | repeat | comma | json
    index_start: int = 0
    const: str | int | None = None
    required: bool = False
    from_credential: str | None = None
    """Filled from this credential rather than from the caller (an account id in the path)."""
    minimum: float | None = None
    maximum: float | None = None
    max_items: int | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class OperationSpec:
    name: str
    method: str
    path: str
    action: str | None
    params: tuple[ParamSpec, ...]
    example: Any = None
    """The provider's documented example answer (the whole body), served by the mock."""


@dataclass(frozen=True)
class EnvelopeSpec:
    """How answers say success: ``success_mode`` is ``equals`` (a field equals a value),
    ``absent`` (a field, such as an error object, is missing) or ``http`` (a 2xx status).
    Field names may be dotted paths into nested objects."""

    success_fields: tuple[str, ...]
    success_value: int | str | None
    code_fields: tuple[str, ...] = ()
    message_fields: tuple[str, ...] = ()
    request_id_fields: tuple[str, ...] = ()
    data_field: str | None = None
    success_mode: str = "equals"


@dataclass(frozen=True)
class ApiSpec:
    """Everything a client needs to know about a provider's API, from its spec."""

    provider: str
    servers: Mapping[str, str]
    default_server: str
    api_version: str | None
    envelope: EnvelopeSpec
    auth_schemes: Mapping[str, Mapping[str, Any]]
    default_scheme: str
    credentials: tuple[str, ...]
    """The credentials every client needs, whatever its auth scheme."""
    secret_credentials: tuple[str, ...]
    errors: ErrorTable
    pem_credentials: tuple[str, ...] = ()
    operations: tuple[OperationSpec, ...] = ()
    retry: RetryPolicy = RetryPolicy()
    polling: PollingHints = PollingHints()
    require_base_url: bool = False
    scheme_credentials: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The credentials each auth scheme needs."""
    constants: Mapping[str, str] = field(default_factory=dict)
    """Named constants the auth templates use (such as a signing service name)."""


@dataclass(frozen=True)
class Paging(Generic[Model]):
    """How an operation pages: by page number up to a total, or by following the link to
    the next page until there is none."""

    items: Callable[[Model], Sized]
    page_param: str | None = None
    first_page: int = 1
    total: Callable[[Model], int | None] | None = None
    next_url: Callable[[Model], str | None] | None = None


class Credentials:
    """Credential values; secret ones never show in ``repr`` and are scrubbed from errors."""

    def __init__(self, values: Mapping[str, str], secret: Iterable[str]) -> None:
        self._values = dict(values)
        self._secret = frozenset(secret)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'<redacted>' if name in self._secret else repr(value)}"
            for name, value in self._values.items()
        )
        return f"Credentials({shown})"

    def as_variables(self) -> dict[str, str]:
        return dict(self._values)

    def _scrubbable(self) -> list[str]:
        # Very short values would mangle ordinary words; no real secret is that short.
        return [
            v
            for name in self._secret
            if len(v := self._values.get(name, "")) >= _MIN_SCRUBBED_LENGTH
        ]

    def scrub(self, text: str) -> str:
        for value in self._scrubbable():
            text = text.replace(value, "<redacted>")
        return text

    def scrub_bytes(self, data: bytes) -> bytes:
        for value in self._scrubbable():
            data = data.replace(value.encode("utf-8"), b"<redacted>")
        return data


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _loose_equal(received: object, expected: int | str) -> bool:
    """``0`` and ``"0"`` are the same result code: providers drift between them."""
    if isinstance(received, bool):
        return False
    return str(received).strip() == str(expected)


def _lookup(body: Any, path: str) -> Any:
    """A dotted path into nested objects; _MISSING where any step is absent."""
    for part in path.split("."):
        if not isinstance(body, Mapping) or part not in body:
            return _MISSING
        body = body[part]
    return body


def _first(body: Mapping[str, Any], fields: tuple[str, ...]) -> Any:
    for field in fields:
        found = _lookup(body, field)
        if found is not _MISSING:
            return found
    return _MISSING


def _text(value: object) -> str | None:
    return None if value is _MISSING or value is None else str(value)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_DEFAULT_POLL_INTERVAL = 60.0
_DEFAULT_POLL_TIMEOUT = 3600.0


def _seconds(value: Any, default: float) -> float:
    return value.total_seconds() if value is not None else default


def _poll_result(receipts: list[Receipt]) -> PollResult:
    return PollResult(
        receipts=receipts, open=[r for r in receipts if not r.status.is_final]
    )


def _class_for_status(status: int) -> type[ProviderError] | None:
    """The error an HTTP status means by itself; None for a status that says nothing."""
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDenied
    if status == 404:
        return NotFound
    if status == 429:
        return RateLimited
    if 400 <= status < 500:
        return InvalidRequest
    if status >= 500:
        return ProviderError
    return None


class ClientCore:
    """State and request logic shared by the sync and async clients."""

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str | None],
        *,
        server: str | None,
        base_url: str | None,
        auth_scheme: str | None,
        timeout: float,
        retries: Retries,
        clock: Clock | None,
        nonce: Nonce | None,
    ) -> None:
        self._api = api
        server = server or api.default_server
        if server not in api.servers:
            raise ValueError(
                f"unknown server {server!r}; choose one of: {', '.join(api.servers)}"
            )
        scheme = auth_scheme or api.default_scheme
        if scheme not in api.auth_schemes:
            raise ValueError(
                f"unknown auth scheme {scheme!r}; choose one of: {', '.join(api.auth_schemes)}"
            )
        needed = [*api.credentials, *api.scheme_credentials.get(scheme, ())]
        for name in dict.fromkeys(needed):
            if not credentials.get(name):
                raise ValueError(
                    f"credential {name!r} is required (auth scheme {scheme!r})"
                )
        if api.require_base_url and not base_url:
            raise ValueError(
                f"{api.provider} has one endpoint per account: pass base_url"
            )
        self.base_url = (base_url or api.servers[server]).rstrip("/")
        self.auth_scheme = scheme
        self.timeout = timeout
        self.retry_policy = resolve(retries, api.retry)
        given = {
            name: value for name, value in credentials.items() if value is not None
        }
        self._credentials = Credentials(given, api.secret_credentials)
        self._clock = clock or _utc_now
        self._nonce = nonce

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self._api.provider!r}, base_url={self.base_url!r}, auth_scheme={self.auth_scheme!r})"

    # -- parameters ---------------------------------------------------------------------

    def _params(
        self, operation: OperationSpec, model: type[Model], values: Mapping[str, object]
    ) -> Model:
        """Validate the caller's arguments against the spec's constraints, before sending."""
        prepared = dict(values)
        for param in operation.params:
            value = prepared.get(param.name)
            if param.type == "date" and isinstance(value, str) and param.date_format:
                try:
                    prepared[param.name] = datetime.strptime(
                        value, param.date_format
                    ).date()
                except ValueError:
                    raise ParameterError(
                        param.name,
                        f"{value!r} is not a date in the format {param.date_format!r}",
                    ) from None
        try:
            return model.model_validate(prepared)
        except ValidationError as exc:
            error = exc.errors()[0]
            wire_to_name = {p.wire: p.name for p in operation.params}
            where = str(error["loc"][0]) if error["loc"] else "parameters"
            name = wire_to_name.get(where, where)
            raise ParameterError(
                name, f"{error['msg']} (got {error.get('input')!r})"
            ) from None

    # -- requests -----------------------------------------------------------------------

    def _prepare(
        self, operation: OperationSpec, params: BaseModel, url: str | None = None
    ) -> PreparedRequest:
        """The signed request for a call; with ``url`` (a next-page link), a GET of that
        URL instead of the operation's own parameters."""
        if url is not None:
            request = PreparedRequest.from_url("GET", url, self.base_url)
        else:
            request = self._build(operation, params)
        request.set_content_type()
        variables = {**self._api.constants, **self._credentials.as_variables()}
        if operation.action is not None:
            variables["action"] = operation.action
        if self._api.api_version is not None:
            variables["api_version"] = self._api.api_version
        Signer(
            self._api.auth_schemes[self.auth_scheme],
            variables,
            clock=self._clock,
            nonce=self._nonce,
        ).sign(request)
        return request

    def _build(self, operation: OperationSpec, params: BaseModel) -> PreparedRequest:
        values = params.model_dump()
        credentials = self._credentials.as_variables()
        path = operation.path
        for param in operation.params:
            if param.location == "path":
                segment = credentials.get(param.from_credential or "") or values.get(
                    param.name
                )
                path = path.replace(
                    f"{{{param.wire}}}", quote(_scalar(segment), safe="")
                )
        request = PreparedRequest(operation.method, self.base_url, path)
        locations = {p.location for p in operation.params}
        request.body_kind = (
            "json" if "json" in locations else "form" if "form" in locations else "none"
        )
        for param in operation.params:
            if param.location == "path":
                continue
            if param.const is not None:
                value: object = param.const
            elif param.from_credential is not None:
                value = credentials.get(param.from_credential)
            else:
                value = values.get(param.name)
            if value is None:
                continue
            self._encode(request, param, value)
        if request.body_kind == "json" and not request.json:
            request.body_kind = "none"
        return request

    @staticmethod
    def _encode(request: PreparedRequest, param: ParamSpec, value: object) -> None:
        if isinstance(value, date) and param.date_format:
            value = value.strftime(param.date_format)
        if param.location == "json":
            request.json[param.wire] = value
            return
        if isinstance(value, (list, tuple)):
            items = [_scalar(item) for item in value]
            if param.array_style == "indexed":
                for index, item in enumerate(items, start=param.index_start):
                    request.place(param.location, f"{param.wire}.{index}", item)
            elif param.array_style == "comma":
                request.place(param.location, param.wire, ",".join(items))
            else:  # repeat
                for item in items:
                    request.place(param.location, param.wire, item)
            return
        request.place(param.location, param.wire, _scalar(value))

    # -- responses ----------------------------------------------------------------------

    def _parse(self, response: httpx.Response, model: type[Model]) -> Model:
        try:
            return self._read(response.status_code, response.content, model)
        except ProviderError as error:
            error.retry_after = parse_retry_after(
                response.headers.get("Retry-After"), self._clock()
            )
            raise

    def _read(self, status: int, content: bytes, model: type[Model]) -> Model:
        envelope = self._api.envelope
        try:
            body = json.loads(content)
        except ValueError:
            raise self._error_for_status(
                status, content, "the answer is not JSON"
            ) from None
        if not isinstance(body, dict):
            raise self._error_for_status(
                status, content, "the answer is not a JSON object"
            )
        request_id = _text(_first(body, envelope.request_id_fields))
        if envelope.success_mode == "http":
            succeeded = 200 <= status < 300
        elif envelope.success_mode == "absent":
            found = _first(body, envelope.success_fields)
            succeeded = found is _MISSING or found is None
        else:
            result = _first(body, envelope.success_fields)
            if result is _MISSING:
                fields = " or ".join(envelope.success_fields)
                raise self._error_for_status(
                    status, content, f"the answer has no {fields} field"
                )
            succeeded = envelope.success_value is not None and _loose_equal(
                result, envelope.success_value
            )
        if not succeeded:
            raise self._envelope_error(body, status, content, request_id)
        if status >= 400:
            raise self._error_for_status(
                status, content, "the answer says success with an error status"
            )
        payload: Any = body
        if envelope.data_field is not None:
            payload = _lookup(body, envelope.data_field)
            payload = None if payload is _MISSING else payload
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or model.__name__}: {e['msg']}"
                for e in exc.errors()[:3]
            )
            raise ProviderResponseError(
                f"unexpected {model.__name__}: {problems}",
                provider=self._api.provider,
                request_id=request_id,
                http_status=status,
                raw_body=self._credentials.scrub_bytes(content),
            ) from None

    def _envelope_error(
        self,
        body: Mapping[str, Any],
        status: int,
        content: bytes,
        request_id: str | None,
    ) -> ProviderError:
        """The typed error for an answer whose envelope says failure."""
        envelope = self._api.envelope
        code = _text(_first(body, envelope.code_fields))
        if code is None and envelope.success_mode == "equals":
            code = _text(_first(body, envelope.success_fields))
        message = _text(_first(body, envelope.message_fields))
        info = self._api.errors.lookup(code)
        # A code the spec does not list may still tell its kind through the HTTP status.
        cls = (
            error_class(info.kind)
            if info
            else (_class_for_status(status) or ProviderError)
        )
        fallback = info.description if info else "the provider reported an error"
        return cls(
            self._credentials.scrub(message or fallback),
            provider=self._api.provider,
            code=code,
            request_id=request_id,
            http_status=status,
            retryable=info.retryable if info else (status == 429 or status >= 500),
            raw_body=self._credentials.scrub_bytes(content),
        )

    def _error_for_status(
        self, status: int, content: bytes, problem: str
    ) -> ProviderError:
        """An error from the HTTP status alone, for answers without a readable envelope."""
        cls = _class_for_status(status) or ProviderResponseError
        excerpt = content[:_BODY_EXCERPT].decode("utf-8", errors="replace")
        return cls(
            self._credentials.scrub(f"HTTP {status}: {problem}: {excerpt!r}"),
            provider=self._api.provider,
            http_status=status,
            retryable=status == 429 or status >= 500,
            raw_body=self._credentials.scrub_bytes(content),
        )

    def _elapsed(self, started: datetime) -> float:
        return (self._clock() - started).total_seconds()

    def _retry_delay(
        self, policy: RetryPolicy, error: DlrError, attempt: int, started: datetime
    ) -> float | None:
        error.attempts = attempt
        delay = next_delay(policy, error, attempt, self._elapsed(started))
        if delay is not None:
            logger.info(
                "%s: attempt %d failed (%s); retrying in %.2fs",
                self._api.provider,
                attempt,
                type(error).__name__,
                delay,
            )
        return delay

    def _poll_plan(
        self, timeout: float | None, interval: float | None, sent_at: datetime | None
    ) -> tuple[float, float, float]:
        """(first wait, interval, deadline) in seconds, from the arguments or the spec's hints."""
        hints = self._api.polling
        every = (
            interval
            if interval is not None
            else _seconds(hints.interval, _DEFAULT_POLL_INTERVAL)
        )
        limit = (
            timeout
            if timeout is not None
            else _seconds(hints.give_up_after, _DEFAULT_POLL_TIMEOUT)
        )
        first = 0.0
        if sent_at is not None and hints.first_check_after is not None:
            first = max(
                0.0, (sent_at + hints.first_check_after - self._clock()).total_seconds()
            )
        return first, every, limit

    def _transport_error(
        self, exc: httpx.HTTPError, request: PreparedRequest
    ) -> TransportError:
        target = f"{request.method} {request.base_url}{request.path}"
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeout(
                f"{self._api.provider}: no answer within {self.timeout}s from {target}"
            )
        return TransportError(
            f"{self._api.provider}: {type(exc).__name__} calling {target}"
        )

    def _log(self, request: PreparedRequest, status: int, started: float) -> None:
        logger.debug(
            "%s %s%s -> %s in %.3fs",
            request.method,
            request.base_url,
            request.path,
            status,
            time.monotonic() - started,
        )


class SyncClientBase(ClientCore):
    """Base of every generated synchronous client."""

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str | None],
        *,
        http_client: httpx.Client | None,
        sleep: Sleep | None = None,
        **options: Any,
    ) -> None:
        super().__init__(api, credentials, **options)
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client()
        self._sleep = sleep or time.sleep

    def _call(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        retries: Retries = None,
        url: str | None = None,
    ) -> Model:
        policy = resolve(retries, self.retry_policy)
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(operation, params, model, url)
            except (ProviderError, TransportError) as error:
                delay = self._retry_delay(policy, error, attempt, started)
                if delay is None:
                    raise
            self._sleep(delay)

    def _attempt(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        url: str | None,
    ) -> Model:
        # Signed afresh for every attempt: a new timestamp and nonce.
        request = self._prepare(operation, params, url)
        started = time.monotonic()
        try:
            response = self._http.request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.body(),
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request) from None
        self._log(request, response.status_code, started)
        return self._parse(response, model)

    def _pages(
        self,
        operation: OperationSpec,
        params_model: type[Params],
        model: type[Model],
        values: Mapping[str, object],
        paging: Paging[Model],
        retries: Retries,
    ) -> Iterator[tuple[Params, Model]]:
        """Each page of a paged operation, fetched only when the caller gets to it."""
        page, seen, url = paging.first_page, 0, None
        while True:
            numbered = {paging.page_param: page} if paging.page_param else {}
            params = self._params(operation, params_model, {**values, **numbered})
            result = self._call(operation, params, model, retries, url)
            yield params, result
            count = len(paging.items(result))
            if paging.next_url is not None:
                url = paging.next_url(result)
                if not url or count == 0:
                    return
                continue
            seen += count
            total = paging.total(result) if paging.total is not None else None
            if count == 0 or total is None or seen >= total:
                return
            page += 1

    def _wait_for_final(
        self,
        fetch: Callable[[], list[Receipt]],
        timeout: float | None,
        interval: float | None,
        sent_at: datetime | None,
    ) -> PollResult:
        first, every, limit = self._poll_plan(timeout, interval, sent_at)
        started = self._clock()
        if first:
            self._sleep(first)
        while True:
            result = _poll_result(fetch())
            if result.complete or self._elapsed(started) + every > limit:
                return result
            self._sleep(every)

    def close(self) -> None:
        """Close the HTTP client if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClientBase(ClientCore):
    """Base of every generated asynchronous client."""

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str | None],
        *,
        http_client: httpx.AsyncClient | None,
        sleep: AsyncSleep | None = None,
        **options: Any,
    ) -> None:
        super().__init__(api, credentials, **options)
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient()
        self._sleep = sleep or asyncio.sleep

    async def _call(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        retries: Retries = None,
        url: str | None = None,
    ) -> Model:
        policy = resolve(retries, self.retry_policy)
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(operation, params, model, url)
            except (ProviderError, TransportError) as error:
                delay = self._retry_delay(policy, error, attempt, started)
                if delay is None:
                    raise
            await self._sleep(delay)

    async def _attempt(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        url: str | None,
    ) -> Model:
        # Signed afresh for every attempt: a new timestamp and nonce.
        request = self._prepare(operation, params, url)
        started = time.monotonic()
        try:
            response = await self._http.request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.body(),
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request) from None
        self._log(request, response.status_code, started)
        return self._parse(response, model)

    async def _pages(
        self,
        operation: OperationSpec,
        params_model: type[Params],
        model: type[Model],
        values: Mapping[str, object],
        paging: Paging[Model],
        retries: Retries,
    ) -> AsyncIterator[tuple[Params, Model]]:
        """Each page of a paged operation, fetched only when the caller gets to it."""
        page, seen, url = paging.first_page, 0, None
        while True:
            numbered = {paging.page_param: page} if paging.page_param else {}
            params = self._params(operation, params_model, {**values, **numbered})
            result = await self._call(operation, params, model, retries, url)
            yield params, result
            count = len(paging.items(result))
            if paging.next_url is not None:
                url = paging.next_url(result)
                if not url or count == 0:
                    return
                continue
            seen += count
            total = paging.total(result) if paging.total is not None else None
            if count == 0 or total is None or seen >= total:
                return
            page += 1

    async def _wait_for_final(
        self,
        fetch: Callable[[], Awaitable[list[Receipt]]],
        timeout: float | None,
        interval: float | None,
        sent_at: datetime | None,
    ) -> PollResult:
        first, every, limit = self._poll_plan(timeout, interval, sent_at)
        started = self._clock()
        if first:
            await self._sleep(first)
        while True:
            result = _poll_result(await fetch())
            if result.complete or self._elapsed(started) + every > limit:
                return result
            await self._sleep(every)

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def in_chunks(items: Sequence[Item], size: int) -> list[Sequence[Item]]:
    """Split ``items`` into consecutive chunks of at most ``size`` (array-capped APIs)."""
    return [items[start : start + size] for start in range(0, len(items), size)] or [
        items[:0]
    ]


def in_input_order(receipts: list[Receipt], ids: Sequence[object]) -> list[Receipt]:
    """Receipts sorted by the position of their message id among the ids asked for; receipts
    for ids not asked for keep their order, after the others."""
    position = {str(value): index for index, value in enumerate(ids)}
    return sorted(
        receipts, key=lambda r: position.get(r.message_id or "", len(position))
    )
