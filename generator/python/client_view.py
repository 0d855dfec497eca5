"""Stage 3, the Python view of the clients: each client method's signature and arguments,
how ``fetch_receipts`` calls its operation and the imports client.py needs, as the typed views
of ``client_types`` (``client.py.jinja`` renders the sync and the async client from them)."""

from __future__ import annotations

from dlr_core.options import PER_CALL_OPTIONS, per_call_option
from dlr_core.signing import Scheme
from dlr_core.tokens import token_steps

from generator import model as m
from generator.python import layout
from generator.python.client_statements import client_statements
from generator.python.client_types import (
    ClientClass,
    ClientImports,
    ClientParam,
    ClientView,
    IdsView,
    OperationView,
    ReceiptsView,
)
from generator.python.escape import python_literal
from generator.python.readme_view import mock_token_arguments, number, polling_defaults
from generator.python.view import paging_view

_ANNOTATIONS = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "date": "date | str",
    "datetime": "datetime | str",
}


def _ids_view(op: m.Operation) -> IdsView | None:
    """For id lookups: the argument holding the ids asked for, always as a sequence (empty
    when an optional id is not given: the answer is then not an id lookup)."""
    plan = op.receipts
    if plan is None or plan.ids_param is None or plan.ids_field is None:
        return None
    param = next(p for p in op.params if p.name == plan.ids_param)
    if plan.ids_many:
        ids = plan.ids_param if param.required else f"{plan.ids_param} or ()"
    elif param.required or param.default is not None:
        ids = f"[{plan.ids_param}]"
    else:
        ids = f"[{plan.ids_param}] if {plan.ids_param} is not None else []"
    return IdsView(ids=ids, field=python_literal(plan.ids_field))


def _client_params(op: m.Operation) -> list[ClientParam]:
    """Keyword arguments of a client method: required ones first, as Python reads best."""
    params: list[ClientParam] = []
    for p in op.params:
        if p.const is not None or p.from_credential is not None:
            continue
        if "enum" in p.json_schema:  # mypy then catches a misspelt value at the call
            annotation = f"Literal[{', '.join(python_literal(v) for v in p.json_schema['enum'])}]"
        elif p.type == "array":
            annotation = f"Sequence[{_ANNOTATIONS[p.json_schema['items']['type']]}]"
        else:
            annotation = _ANNOTATIONS[p.type]
        if p.default is not None:
            signature = f"{p.name}: {annotation} = {python_literal(p.default)}"
        elif p.required:
            signature = f"{p.name}: {annotation}"
        else:
            signature = f"{p.name}: {annotation} | None = None"
        description = p.description or p.wire
        params.append(ClientParam(p.name, signature, description, p.required and p.default is None))
    return sorted(params, key=lambda p: not p.required)


def _set_for_you(op: m.Operation) -> list[str]:
    """What the method's docstring says of the described parameters its caller does not pass
    (constant, or filled from a credential): the description is the spec's, so it is given
    where a reader of the method looks."""
    notes = []
    for p in op.params:
        if not p.description or (p.const is None and p.from_credential is None):
            continue
        how = f"always {p.const}" if p.const is not None else f"from the {p.from_credential} credential"
        notes.append(f"``{p.wire}`` is sent for you ({how}): {p.description}")
    return notes


def _arguments(params: list[ClientParam], **overrides: str) -> layout.Call:
    """A dict display passing each keyword argument through, by Python name."""
    names = [p.name for p in params] + [name for name in overrides if name not in {p.name for p in params}]
    return layout.mapping([(python_literal(name), overrides.get(name, name)) for name in names])


def _options(params: list[ClientParam]) -> dict[str, str]:
    """The keywords of a method's per-call options: a parameter of the spec named like one
    keeps its name, and the option takes a trailing underscore (``timeout_``) instead."""
    taken = {p.name for p in params}
    return {name: per_call_option(name, taken) for name in PER_CALL_OPTIONS}


def client_view(provider: m.Provider) -> ClientView:
    """What client.py (and the README's client sections) write, for a provider with operations."""
    operations = []
    kinds: set[str] = set()
    for op in provider.operations:
        params = _client_params(op)
        kinds.update(p.type for p in op.params if p.const is None and p.from_credential is None)
        paged_params: list[ClientParam] = []
        if op.pagination:
            driven = {op.pagination.page_param, op.pagination.offset_param}  # set by the iteration
            paged_params = [p for p in params if p.name not in driven]
        operations.append(
            OperationView(
                name=op.name,
                constant=op.name.upper(),
                summary=op.summary,
                description=op.description,
                params=params,
                params_class=op.params_class,
                response_class=op.response_class,
                arguments=_arguments(params),
                set_for_you=_set_for_you(op),
                paging=paging_view(op.pagination) if op.pagination else None,
                consuming=op.consuming,
                options=_options(params),
                paged_params=paged_params,
                paged_options=_options(paged_params) if op.pagination else {},
                paged_arguments=_arguments(paged_params) if op.pagination else None,
                paging_constant=f"{op.name.upper()}_PAGING" if op.pagination else "",
            )
        )
    receipts = _receipts_view(provider, operations)
    paged = [o for o in operations if o.paging]
    core = {
        "credentials_from_env",
        "AsyncClientBase",
        "Clock",
        "Monotonic",
        "Nonce",
        "Retries",
        "SyncClientBase",
        "AsyncSleep",
        "Sleep",
        "DEFAULT_MAX_CONCURRENCY",
        "HttpTransport",
        "TokenUrl",
        "OperationTable",
    }
    if paged:
        core.add("Paging")
    if receipts and receipts.mode == "batched":
        core.update({"in_chunks"} if receipts.batch_is_ids else {"in_chunks", "in_input_order"})
    if receipts and receipts.ids:
        core.add("answered_in_order")
    collections = {"Mapping"}  # defaults, extra_params
    if "array" in kinds:
        collections.add("Sequence")
    if paged:
        collections.update({"AsyncIterator", "Iterator"})
    waits = receipts is not None and not receipts.consuming
    datetime_names = ({"date"} if "date" in kinds else set()) | (
        {"datetime"} if waits or "datetime" in kinds else set()
    )
    models = {n for op in provider.operations for n in (op.params_class, op.response_class)}
    models |= {op.pagination.item_class for op in provider.operations if op.pagination}
    title = provider.title
    return ClientView(
        client_operations=operations,
        receipts=receipts,
        token_steps=sorted({name for names in _token_flows(provider).values() for name in names}),
        mock_token_urls=mock_token_arguments(provider),
        client_imports=ClientImports(
            collections=sorted(collections),
            datetime=sorted(datetime_names),
            core=layout.import_from(
                "dlr_core.client", sorted(core, key=lambda name: (name[0].islower(), name))
            ),
            api=layout.import_from(
                f"{provider.package}.api", sorted([o.constant for o in operations] + ["API"])
            ),
            models=layout.import_from(f"{provider.package}.models", sorted(models)),
        ),
        clients=[
            ClientClass(
                name="Client",
                base="SyncClientBase",
                http_type="httpx.Client",
                sleep_type="Sleep",
                def_keyword="def",
                await_keyword="",
                async_prefix="",
                iterator="Iterator",
                is_async=False,
                summary=f"Synchronous client for {title}.",
                code=client_statements(operations, receipts, asynchronous=False),
            ),
            ClientClass(
                name="AsyncClient",
                base="AsyncClientBase",
                http_type="httpx.AsyncClient",
                sleep_type="AsyncSleep",
                def_keyword="async def",
                await_keyword="await ",
                async_prefix="async ",
                iterator="AsyncIterator",
                is_async=True,
                summary=f"Asynchronous client for {title}.",
                code=client_statements(operations, receipts, asynchronous=True),
            ),
        ],
    )


def _receipts_view(provider: m.Provider, operations: list[OperationView]) -> ReceiptsView | None:
    """How ``fetch_receipts`` calls the operation behind it: plainly, page by page or in batches."""
    receipts_op = provider.receipts_operation
    if receipts_op is None or receipts_op.receipts is None:
        return None
    entry = next(o for o in operations if o.name == receipts_op.name)
    if receipts_op.pagination:
        assert entry.paged_arguments is not None  # set for every paged operation
        mode, params, arguments = "paged", entry.paged_params, entry.paged_arguments
    elif receipts_op.batch:
        batch = receipts_op.batch
        mode, params, arguments = (
            "batched",
            entry.params,
            _arguments(entry.params, **{batch.param: "_chunk"}),
        )
    else:
        mode, params, arguments = "plain", entry.params, entry.arguments
    return ReceiptsView(
        operation=entry,
        function=receipts_op.receipts.function_name,
        mode=mode,
        params=params,
        options=_options(params),
        arguments=arguments,
        batch=receipts_op.batch,
        consuming=receipts_op.consuming,
        polling_defaults=polling_defaults(provider.polling),
        ids=_ids_view(receipts_op),
        batch_is_ids=(
            receipts_op.batch is not None
            and receipts_op.receipts.ids_param == receipts_op.batch.param
            and receipts_op.receipts.ids_field is not None
        ),
    )


def retry_arguments(retry: m.Retry) -> list[tuple[str, str]]:
    """Keyword arguments of the spec's RetryPolicy, as Python source."""
    arguments = [
        (name, repr(number(value)))
        for name, value in (
            ("max_attempts", retry.max_attempts),
            ("initial_backoff", retry.initial_backoff),
            ("max_backoff", retry.max_backoff),
            ("deadline", retry.deadline),
        )
        if value is not None
    ]
    if retry.on_status is not None:
        arguments.append(
            ("retry_on_status", "frozenset({" + ", ".join(str(s) for s in sorted(retry.on_status)) + "})")
        )
    return arguments


def _token_flows(provider: m.Provider) -> dict[str, tuple[str, ...]]:
    """Each auth scheme that fetches an OAuth2 token, and the names of its token steps."""
    flows = {}
    for scheme in provider.auth.schemes:
        names = tuple(token_steps(Scheme.from_data(scheme.definition)))
        if names:
            flows[scheme.name] = names
    return flows
