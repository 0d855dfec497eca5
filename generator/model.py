"""Stage 2's output: the intermediate model. Plain typed dataclasses with every name
resolved and every cross-reference checked, so rendering needs no further decisions.

Strings that end up in generated code are either validated identifiers (class, member,
attribute and parameter names) or data rendered through ``repr`` (descriptions, wire
names, raw values). Nothing from a spec is pasted into code unescaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

RawValue = int | str
# The closed sets of the spec format (spec.schema.json holds the same enums).
ParamLocation = Literal["query", "json", "form", "header", "path", "body"]  # body: the whole JSON body
ParamType = Literal["string", "integer", "number", "boolean", "date", "datetime", "array"]
SuccessMode = Literal["equals", "absent", "http"]

# Keys the parser adds to a response field's JSON Schema to say what the field means; the
# render stage turns them into the field's type (see generator/python/models.py).
STATUS_KEY = "x-dlr-status"  # the key of the status enum whose values the field holds
TIME_KEY = "x-dlr-time"  # unix_seconds | unix_milliseconds | iso8601 | rfc2822, or a TimePattern name


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
    format: Literal["text", "pem_private_key", "base64"]
    env: tuple[str, ...] = ()  # environment variables it is read from, first set wins


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


@dataclass(frozen=True)
class Auth:
    credentials: tuple[Credential, ...]
    default_scheme: str
    schemes: tuple[AuthScheme, ...]


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
    raw_type: Literal["int", "str"]
    description: str
    values: tuple[StatusValue, ...]

    @property
    def function_name(self) -> str:
        """Name of the generated ``raw value -> DeliveryStatus`` function."""
        return f"{self.key}_to_canonical"

    @property
    def field_type_name(self) -> str:
        """Name of the generated type of fields holding this status: member or text."""
        return f"{self.class_name}OrText"


@dataclass(frozen=True)
class TimePattern:
    """Times written with one pattern (``yyyy-MM-dd HH:mm:ss``) in one zone."""

    name: str  # the generated field type
    pattern: str
    utc_offset: str


TimeFormat = str | tuple[str, str]
"""A standard time format's name (``iso8601``), or a pattern and the zone of times without one."""


@dataclass(frozen=True)
class TimeChoice:
    """Times a provider documents in several forms (RFC 3339 here, RFC 2822 there): each is
    tried in order, and the first that reads a value gives it."""

    name: str  # the generated field type
    formats: tuple[TimeFormat, ...]


@dataclass(frozen=True)
class Envelope:
    success_mode: SuccessMode
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
    location: ParamLocation
    type: ParamType
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
    # The README example's value: the spec's ``example`` (for an array, a list of items),
    # else one made to fit the constraints (``generator.parse.examples``); None when not needed.
    example: Any = None


@dataclass
class ObjectModel:
    """An object in a response, with the schema passed to datamodel-code-generator."""

    class_name: str
    fields: dict[str, ModelField] = field(default_factory=dict)


@dataclass
class ModelField:
    wire: str
    name: str
    kind: Literal["scalar", "object", "array"]
    status: StatusEnum | None = None
    time_format: Any = None
    obj: ObjectModel | None = None  # for kind object, or array of objects
    item_kind: Literal["scalar", "object"] | None = None  # for arrays
    optional: bool = True


@dataclass(frozen=True)
class FieldRef:
    """A field of a response, read from one of the records in scope: scope 0 is the answer
    itself, scope n the current element of the n-th list the records path iterates; then
    the fields down to the value (optional objects on the way may be absent)."""

    scope: int
    chain: tuple[ModelField, ...]

    @property
    def field(self) -> ModelField:
        return self.chain[-1]


@dataclass(frozen=True)
class ParamRef:
    """A parameter of the request the answer came back for."""

    name: str


Source = FieldRef | ParamRef


@dataclass(frozen=True)
class TextMatch:
    """The part of a source's text that a pattern's one capture group takes (an error code
    inside a status text); no value when the pattern does not match."""

    source: Source
    pattern: str  # checked by parse.text_patterns: compiles, one group, bounded backtracking


ReceiptValue = Source | TextMatch  # what a receipt's text attribute or detail reads


@dataclass(frozen=True)
class Loop:
    """One list on the way to the receipt records: its elements are the next scope."""

    over: FieldRef
    item_class: str


@dataclass(frozen=True)
class RuleInput:
    parameter: str  # the rule function's parameter: the input's field name
    wire: str
    status: StatusEnum


@dataclass(frozen=True)
class RuleCondition:
    """When a rule line applies: the input's status is (not) final, or is one of ``members``."""

    input: RuleInput
    test: Literal["final", "not_final", "in"]
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleBranch:
    when: RuleCondition | None  # None: otherwise
    use: RuleInput | None  # the canonical status this input maps to ...
    canonical: str | None  # ... or this canonical status (a DeliveryStatus member name)
    explanation: str  # the same branch in words, for the package README


@dataclass(frozen=True)
class StatusRule:
    key: str
    description: str
    inputs: tuple[RuleInput, ...]
    branches: tuple[RuleBranch, ...]

    @property
    def function_name(self) -> str:
        return f"{self.key}_to_canonical"


ReceiptAttribute = Literal[
    "message_id", "recipient", "client_ref", "error_code", "error_description", "submitted_at", "completed_at"
]


@dataclass(frozen=True)
class ReceiptField:
    """Where one Receipt attribute comes from, and how it is read: as text, or as a time
    (the model already reads time fields as aware datetimes)."""

    attribute: ReceiptAttribute
    source: ReceiptValue
    reading: Literal["text", "time"]


@dataclass(frozen=True)
class ReceiptStatus:
    """A receipt's canonical status: a status field's, or a status rule's over its inputs."""

    field: FieldRef | None = None
    rule: StatusRule | None = None
    rule_inputs: tuple[FieldRef, ...] = ()
    raw: tuple[tuple[str, FieldRef], ...] = ()  # the receipt's raw status: key, field (as sent)


@dataclass(frozen=True)
class ReceiptPlan:
    function_name: str
    loops: tuple[Loop, ...]  # none when the payload itself is the one record
    status: ReceiptStatus
    fields: tuple[ReceiptField, ...]
    details: tuple[tuple[str, ReceiptValue], ...]  # (name, source) carried into Receipt.details
    ids_param: str | None = None  # the parameter holding the requested ids (id lookups)
    ids_field: Literal["message_id", "recipient"] | None = None  # the attribute they match
    ids_many: bool = False  # the parameter is an array

    @property
    def uses_params(self) -> bool:
        values = [f.source for f in self.fields] + [value for _, value in self.details]
        sources = [value.source if isinstance(value, TextMatch) else value for value in values]
        return any(isinstance(source, ParamRef) for source in sources)


@dataclass(frozen=True)
class Pagination:
    """A paged operation: which parameters page it and where its records are."""

    style: Literal["page_number", "next_url", "offset"]
    page_param: str | None
    size_param: str | None
    first_page: int
    items: FieldRef  # the page's records, from the answer
    item_class: str
    total: FieldRef | None  # page_number (and optionally offset): the total
    next: FieldRef | None  # next_url: the next page's URL
    offset_param: str | None = None  # offset: the first record's index
    limit_param: str | None = None  # offset: records per request
    max_records: int | None = None  # offset: the provider's ceiling on records in all
    page_count: FieldRef | None = None  # page_number, instead of total: the number of pages
    stop_at_short_page: bool = False  # page_number, counting neither: a short page is the last


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
    # How answers are written: json, or xml (dlr_core.wire.xml_body reads them as pushes' XML).
    format: Literal["json", "xml"] = "json"
    xml_root: str = ""  # for xml: the root element the mock answers with (the response's title)
    # For xml: the paths into the payload of the names the response types as arrays (a name
    # stepping into each item of its list ends in "[]"), read as lists even when given once.
    xml_lists: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Callback:
    """A pushed report (a status callback, a DLR webhook): its payload model, its receipts
    and, as data the runtime interprets (``dlr_core.callbacks.Callback``), how it arrives,
    how it is verified and what the provider expects back."""

    name: str
    summary: str
    description: str
    docs: str | None
    payload_class: str
    receipts: ReceiptPlan
    # method, format, array, verify (tolerance in seconds), answer, reject: JSON-compatible.
    definition: dict[str, Any]
    credentials: tuple[str, ...]  # the credentials verification uses: the parser's arguments
    array: bool
    format: Literal["form", "json", "multipart", "xml"]  # the first of ``formats``: the mock pushes in it
    formats: tuple[Literal["form", "json", "multipart", "xml"], ...]  # each read by its Content-Type
    verification: str  # how a push is authenticated, in words ("none", "hmac signature", ...)
    # The same in a table cell's few words: unsigned and in-code verification without the spec's reason.
    verification_brief: str
    verified_in_code: bool = False  # verify: {in_code: ...}: the parser requires a verifier
    fetches_certificates: bool = False  # public_key.certificate: the parser takes certificates=


@dataclass(frozen=True)
class ErrorCode:
    code: str | None
    prefix: str | None
    kind: str
    retryable: bool
    description: str
    http_status: int | None


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` calls in any ``per_seconds`` (None: the runtime's default period)."""

    requests: int
    per_seconds: float | None


@dataclass(frozen=True)
class Polling:
    """Seconds (a spec may say ``500ms``)."""

    first_check_after: float | None
    interval: float | None
    give_up_after: float | None
    provider_sync_interval: float | None
    note: str | None
    rate_limit: RateLimit | None = None


@dataclass(frozen=True)
class Retry:
    max_attempts: int | None
    initial_backoff: float | None
    max_backoff: float | None
    deadline: float | None
    on_status: tuple[int, ...] | None


@dataclass(frozen=True)
class Proof:
    """How a signing scheme or a callback's verification was proven: the test that checks it
    against the provider's SDK algorithm or published example (``proven_by``)."""

    what: str  # "auth.<scheme>" or "callbacks.<callback>"
    by: Literal["sdk", "example", "description"]
    source: str  # the SDK file or documentation page (a URL)
    detail: str  # which function or example of it, in words ("" for none)
    test: str  # tests/<file>.py::test_<name>


@dataclass(frozen=True)
class Gap:
    """Something of the provider's API its spec cannot say (``gaps``): shown in the package's
    README and docs/providers.md, never read as anything but text."""

    what: str
    why: str


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
    time_patterns: tuple[TimePattern, ...] = ()
    time_choices: tuple[TimeChoice, ...] = ()
    callbacks: tuple[Callback, ...] = ()
    distribution: str = ""  # the installed name; "" means dlr-<id>
    version: str = "0.1.0"  # the distribution's release version
    proofs: tuple[Proof, ...] = ()
    gaps: tuple[Gap, ...] = ()

    @property
    def receipts_operation(self) -> Operation | None:
        """The operation behind ``fetch_receipts`` and ``wait_for_final``: an idempotent query
        where the provider has one, a consuming (queue) operation only when it is all there is."""
        with_receipts = [op for op in self.operations if op.receipts]
        return next(
            (op for op in with_receipts if not op.consuming), with_receipts[0] if with_receipts else None
        )

    @property
    def package(self) -> str:
        """The import package."""
        return f"dlr_{self.id}"

    @property
    def distribution_name(self) -> str:
        return self.distribution or f"dlr-{self.id.replace('_', '-')}"
