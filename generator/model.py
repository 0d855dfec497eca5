"""Stage 2's output: the intermediate model. Plain typed dataclasses with every name
resolved and every cross-reference checked, so rendering needs no further decisions.

Strings that end up in generated code are either validated identifiers (class, member,
attribute and parameter names) or data rendered through ``repr`` (descriptions, wire
names, raw values). Nothing from a spec is pasted into code unescaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RawValue = int | str


@dataclass(frozen=True)
class Server:
    key: str
    url: str
    description: str


@dataclass(frozen=True)
class Credential:
    name: str
    description: str
    secret: bool
    format: str


@dataclass(frozen=True)
class AuthScheme:
    name: str
    description: str
    docs: str | None
    # The scheme exactly as written in the spec (JSON-compatible); the runtime signer
    # interprets it as data, so no spec text is ever turned into code.
    definition: dict[str, Any]
    credentials: tuple[str, ...] = ()  # the credentials its templates use
    step_kinds: tuple[str, ...] = ()  # its sign steps' kinds, in order
    uses_rsa: bool = False  # a step needs the dlr-core[rsa] extra (rsa_sign, an RS256 JWT)
    # The scheme as typed runtime objects, in Python (generator.auth_code), and the
    # dlr_core modules that code names.
    code: str = ""
    modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Auth:
    credentials: tuple[Credential, ...]
    default_scheme: str
    schemes: tuple[AuthScheme, ...]

    def modules(self) -> list[str]:
        """The dlr_core modules the schemes' code names."""
        return sorted({module for scheme in self.schemes for module in scheme.modules})


@dataclass(frozen=True)
class StatusValue:
    value: RawValue
    aliases: tuple[RawValue, ...]
    member: str
    canonical: str
    description: str

    @property
    def raw_values(self) -> tuple[RawValue, ...]:
        return (self.value, *self.aliases)


@dataclass(frozen=True)
class StatusEnum:
    key: str
    class_name: str
    raw_type: str  # "int" or "str"
    description: str
    values: tuple[StatusValue, ...]

    @property
    def function_name(self) -> str:
        """Name of the generated ``raw value -> DeliveryStatus`` function."""
        return f"{self.key}_to_canonical"


@dataclass(frozen=True)
class Envelope:
    success_mode: str  # equals | absent | http
    success_fields: tuple[str, ...]
    success_values: tuple[RawValue, ...]  # equals: any of them means success
    code_fields: tuple[str, ...]
    message_fields: tuple[str, ...]
    request_id_fields: tuple[str, ...]
    data_field: str | None


@dataclass(frozen=True)
class Param:
    name: str
    wire: str
    location: str
    type: str
    description: str
    required: bool
    default: Any
    const: RawValue | None
    date_format: str | None  # for type date or datetime: the wire pattern (dlr_core.times)
    array_style: str | None
    index_start: int
    json_schema: dict[str, Any]
    from_credential: str | None = None
    default_from_credential: str | None = None
    time_zone: str | None = None  # for type datetime: UTC or an offset such as +08:00


@dataclass
class ObjectModel:
    """An object in a response, with the schema passed to datamodel-code-generator."""

    class_name: str
    fields: dict[str, ModelField] = field(default_factory=dict)


@dataclass
class ModelField:
    wire: str
    name: str
    kind: str  # scalar | object | array
    status: StatusEnum | None = None
    time_format: Any = None
    obj: ObjectModel | None = None  # for kind object, or array of objects
    item_kind: str | None = None  # for arrays: scalar | object
    optional: bool = True


@dataclass(frozen=True)
class Loop:
    """One ``for`` over a list on the way to the receipt records."""

    variable: str
    iterable: str  # a Python expression over already-bound variables


@dataclass(frozen=True)
class RuleBranch:
    condition: str | None  # Python expression, or None for "otherwise"
    result: str  # Python expression giving a DeliveryStatus
    explanation: str  # the same branch in words, for the package README


@dataclass(frozen=True)
class RuleInput:
    parameter: str
    wire: str
    status: StatusEnum

    @property
    def variable(self) -> str:
        return f"{self.parameter}_canonical"


@dataclass(frozen=True)
class StatusRule:
    key: str
    description: str
    inputs: tuple[RuleInput, ...]
    branches: tuple[RuleBranch, ...]

    @property
    def function_name(self) -> str:
        return f"{self.key}_to_canonical"


@dataclass(frozen=True)
class ReceiptField:
    """How one Receipt attribute is read from a record: a Python expression."""

    attribute: str
    expression: str
    helper: str  # the dlr_core.values function the expression calls


@dataclass(frozen=True)
class ReceiptPlan:
    function_name: str
    loops: tuple[Loop, ...]
    record_variable: str  # "result" when the payload itself is the one record
    status_expression: str
    raw_status: tuple[tuple[str, str], ...]  # (wire name, expression)
    fields: tuple[ReceiptField, ...]
    details: tuple[tuple[str, str], ...]  # (name, expression) carried into Receipt.details
    uses_params: bool
    ids_param: str | None = None  # the parameter holding the requested ids (id lookups)
    ids_field: str | None = None  # the Receipt attribute they are matched against
    ids_many: bool = False  # the parameter is an array


@dataclass(frozen=True)
class Pagination:
    """A page-numbered operation: which parameters page it and where its records are."""

    style: str  # page_number | next_url | offset
    page_param: str | None
    size_param: str | None
    first_page: int
    items_expression: str  # a Python expression over ``result`` giving the page's records
    item_class: str
    total_expression: str | None  # page_number (and optionally offset): the total, over ``result``
    next_expression: str | None  # next_url: the next page's URL, over ``result``
    offset_param: str | None = None  # offset: the first record's index
    limit_param: str | None = None  # offset: records per request
    max_records: int | None = None  # offset: the provider's ceiling on records in all


@dataclass(frozen=True)
class Batch:
    """An array-capped operation: ``param`` takes at most ``size`` values per call."""

    param: str
    size: int


@dataclass(frozen=True)
class Operation:
    name: str
    class_prefix: str
    summary: str
    description: str
    docs: str | None
    method: str
    path: str
    action: str | None
    params: tuple[Param, ...]
    params_class: str
    response_class: str
    receipts: ReceiptPlan | None
    pagination: Pagination | None
    batch: Batch | None
    example: dict[str, Any] | None
    consuming: bool
    headers: dict[str, str] = field(default_factory=dict)  # fixed request headers, top level's included
    alternatives: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (group, parameter names): give exactly one


@dataclass(frozen=True)
class ErrorCode:
    code: str | None
    prefix: str | None
    kind: str
    retryable: bool
    description: str
    http_status: int | None


@dataclass(frozen=True)
class Polling:
    """Seconds (a spec may say ``500ms``)."""

    first_check_after: float | None
    interval: float | None
    give_up_after: float | None
    provider_sync_interval: float | None
    note: str | None


@dataclass(frozen=True)
class Retry:
    max_attempts: int | None
    initial_backoff: float | None
    max_backoff: float | None
    deadline: float | None
    on_status: tuple[int, ...] | None


@dataclass(frozen=True)
class Provider:
    id: str
    spec_file: str
    title: str
    description: str
    channel: str | None
    docs: str
    api_version: str | None
    constants: dict[str, str]
    servers: tuple[Server, ...]
    default_server: str
    require_base_url: bool
    auth: Auth
    envelope: Envelope
    operations: tuple[Operation, ...]
    statuses: tuple[StatusEnum, ...]
    rules: tuple[StatusRule, ...]
    errors: tuple[ErrorCode, ...]
    polling: Polling
    retry: Retry
    models_schema: dict[str, Any]  # JSON Schema for datamodel-code-generator
    model_aliases: dict[str, str]  # "Class.wire" -> python name
    distribution: str = ""  # the installed name; "" means dlr-<id>
    version: str = "0.1.0"  # the distribution's release version

    @property
    def package(self) -> str:
        """The import package."""
        return f"dlr_{self.id}"

    @property
    def distribution_name(self) -> str:
        return self.distribution or f"dlr-{self.id.replace('_', '-')}"
