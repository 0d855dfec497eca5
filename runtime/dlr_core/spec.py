"""The description of a provider's API that a generated package's ``api.py`` builds
(``ApiSpec`` and its parts) and how a paged operation pages (``Paging``): data, read by
the clients, the mock and the callbacks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sized
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from pydantic import BaseModel
from dlr_core.errors import ErrorTable
from dlr_core.polling import PollingHints
from dlr_core.retry import RetryPolicy

Model = TypeVar("Model", bound=BaseModel)
Clock = Callable[[], datetime]
Nonce = Callable[[], str]
Sleep = Callable[[float], None]
AsyncSleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]
Retries = RetryPolicy | int | None
Params = TypeVar("Params", bound=BaseModel)


@dataclass(frozen=True)
class ParamSpec:
    """How one parameter travels: its Python name, wire name, place and encoding."""

    name: str
    wire: str
    location: str  # query | json | form | header | path | body (the whole JSON body)
    type: str  # string | integer | number | boolean | date | datetime | array
    date_format: str | None = None
    """For date and datetime: the wire pattern (``dlr_core.times``), e.g. ``yyyyMMdd``."""
    time_zone: str | None = None
    """For datetime: ``UTC`` or an offset; an aware datetime is converted to it first."""
    array_style: str | None = None  # indexed | repeat | comma | json
    index_start: int = 0
    const: str | int | None = None
    required: bool = False
    from_credential: str | None = None
    """Filled from this credential rather than from the caller (an account id in the path)."""
    default_from_credential: str | None = None
    """Filled from this credential when the caller gives no value (a caller may override it)."""
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
    consuming: bool = False
    """The operation reads a queue: the provider hands each record out once. A failed
    attempt that may have reached the provider is then never retried (see
    ``dlr_core.retry.may_have_consumed``)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Fixed request headers (``Accept``, ``Content-Type``), placed before signing."""
    alternatives: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Groups of parameters of which a call gives exactly one, whole (ids, or a time
    window, never both): ``((group name, parameter names), ...)``."""
    format: str = "json"
    """How the answers (success and error alike) are written: ``json``, or ``xml`` (read by
    ``dlr_core.wire.xml_body``: the root element's children are the body's fields)."""
    xml_root: str = ""
    """For ``xml``: the root element's name the mock answers with (any is read)."""
    xml_lists: tuple[tuple[str, ...], ...] = ()
    """For ``xml``: the paths into the payload (``xml_body.as_lists``: ``("messages[]",
    "to")``) that the answer's schema types as arrays, read as lists even when the element
    comes once."""


OperationTable = Mapping[str, tuple[OperationSpec, type[BaseModel]]]
"""A generated client's operations by name: each one's spec and parameters model
(``dlr_operations``, which ``prepare()`` reads)."""


@dataclass(frozen=True)
class EnvelopeSpec:
    """How answers say success: ``success_mode`` is ``equals`` (a field equals a value),
    ``absent`` (a field, such as an error object, is missing) or ``http`` (a 2xx status).
    Field names may be dotted paths into nested objects."""

    success_fields: tuple[str, ...]
    success_value: int | str | tuple[int | str, ...] | None
    """The value (or any of the values) that means success."""
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
    base64_credentials: tuple[str, ...] = ()
    """Credentials handed out base64-encoded (a key a scheme decodes with ``base64_decode``):
    test values and ``dlrgen mock``'s are base64 text."""
    operations: tuple[OperationSpec, ...] = ()
    retry: RetryPolicy = RetryPolicy()
    polling: PollingHints = PollingHints()
    require_base_url: bool = False
    scheme_credentials: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The credentials each auth scheme needs."""
    constants: Mapping[str, str] = field(default_factory=dict)
    """Named constants the auth templates use (such as a signing service name)."""
    credential_env: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Every credential the provider has, and the environment variables it is read from
    (first set wins)."""


@dataclass(frozen=True)
class Paging(Generic[Model]):
    """How an operation pages: by page number up to a total, a number of pages or a short
    page, by a record offset and count (until a short page, the total or the provider's
    ceiling), or by following the link to the next page until there is none."""

    items: Callable[[Model], Sized]
    page_param: str | None = None
    first_page: int = 1
    total: Callable[[Model], int | None] | None = None
    next_url: Callable[[Model], str | None] | None = None
    offset_param: str | None = None
    limit_param: str | None = None
    max_records: int | None = None
    page_count: Callable[[Model], int | None] | None = None
    """Page numbers, instead of ``total``: the number of pages the answer says there are."""
    size_param: str | None = None
    """Page numbers: the parameter holding the page size (``stop_at_short_page`` reads it)."""
    stop_at_short_page: bool = False
    """Page numbers, for an answer that says neither a total nor a number of pages: the
    last page is the one with fewer records than the page size asked for (``size_param``'s
    value), or, when no size was given, the first empty page."""

    def first(self) -> dict[str, int]:
        """The paging arguments of the first request."""
        if self.offset_param is not None:
            return {self.offset_param: 0}
        return {self.page_param: self.first_page} if self.page_param else {}

    def after(
        self,
        current: dict[str, int],
        params: BaseModel,
        count: int,
        seen: int,
        total: int | None,
        page_count: int | None = None,
    ) -> dict[str, int] | None:
        """The paging arguments of the next request, or None when this page was the last.
        ``count`` records came on this page, ``seen`` in all so far; ``page_count`` pages
        there are, when the answer says so instead of a total."""
        if count == 0 or (total is not None and seen >= total):
            return None
        if self.offset_param is not None:
            limit = getattr(params, self.limit_param or "", None)
            if isinstance(limit, int) and count < limit:
                return None  # a short page: nothing more
            if self.max_records is not None and seen >= self.max_records:
                return None
            return {self.offset_param: current[self.offset_param] + count}
        if self.page_param is None:
            return None
        page = current[self.page_param]
        if page_count is not None:
            return None if page - self.first_page + 1 >= page_count else {self.page_param: page + 1}
        if self.stop_at_short_page:
            size = getattr(params, self.size_param or "", None)
            if isinstance(size, int) and count < size:
                return None  # a short page: nothing more
            return {self.page_param: page + 1}
        if total is None:
            return None
        return {self.page_param: page + 1}
