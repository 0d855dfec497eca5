"""The typed views of the clients that ``client.py.jinja`` reads (built by ``client_view``;
the statements by ``client_statements``)."""

from __future__ import annotations

from dataclasses import dataclass

from generator import model as m
from generator.python import layout
from generator.python.view import PagingView


@dataclass(frozen=True)
class ClientParam:
    """A keyword argument of a client method."""

    name: str
    signature: str  # ``name: annotation = default``
    description: str
    required: bool


@dataclass(frozen=True)
class OperationView:
    """One operation as its client methods call it."""

    name: str
    constant: str  # its OperationSpec in api.py
    summary: str
    description: str
    params: list[ClientParam]
    params_class: str
    response_class: str
    arguments: layout.Call  # the keyword arguments passed through, by name
    set_for_you: list[str]
    paging: PagingView | None
    consuming: bool
    options: dict[str, str]  # per-call option -> its keyword in this method
    # The ``iter_`` method of a paged operation: its arguments but those the paging sets.
    paged_params: list[ClientParam]
    paged_options: dict[str, str]
    paged_arguments: layout.Call | None
    paging_constant: str


@dataclass(frozen=True)
class IdsView:
    """For id lookups: the ids asked for, always a sequence, and the field answers hold them in."""

    ids: str
    field: str


@dataclass(frozen=True)
class ReceiptsView:
    """How ``fetch_receipts`` calls the operation behind it."""

    operation: OperationView
    function: str  # the receipts function of receipts.py
    mode: str  # "plain", "paged" or "batched"
    params: list[ClientParam]
    options: dict[str, str]
    arguments: layout.Call
    batch: m.Batch | None
    consuming: bool
    polling_defaults: str
    ids: IdsView | None
    batch_is_ids: bool


@dataclass(frozen=True)
class OperationStatements:
    params: str
    call: str
    pages: str  # "" for an operation without paging


@dataclass(frozen=True)
class ReceiptStatements:
    pages: str
    params: str
    call: str
    batches: str
    call_each: str
    extend: str
    answered: str
    fetch_again: str


@dataclass(frozen=True)
class ClientStatements:
    """The statements of one client's methods built from the spec's names."""

    operations: dict[str, OperationStatements]  # by operation name
    operations_table: list[str]
    receipts: ReceiptStatements | None


@dataclass(frozen=True)
class ClientImports:
    collections: list[str]
    datetime: list[str]
    core: str
    api: str
    models: str


@dataclass(frozen=True)
class ClientClass:
    """The sync or the async client: the words that differ between them."""

    name: str
    base: str
    http_type: str
    sleep_type: str
    def_keyword: str
    await_keyword: str
    async_prefix: str
    iterator: str
    is_async: bool
    summary: str
    code: ClientStatements


@dataclass(frozen=True)
class ClientView:
    client_operations: list[OperationView]
    receipts: ReceiptsView | None
    token_steps: list[str]
    mock_token_urls: list[str]
    client_imports: ClientImports
    clients: list[ClientClass]
