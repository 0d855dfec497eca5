"""The contract between dlr-core and the packages dlrgen generates: every runtime name a
generated package uses, in one place.

A package generated against dlr-core 1.x runs on every later 1.y, so what it uses must not
move or change within a major version. It uses exactly:

- the names in ``__all__``, which it imports (``from dlr_core.client import ApiSpec``;
  each is importable from here too, the same object);
- the names in ``MODULE_ATTRIBUTES``, which it reaches through one of the modules in
  ``__all__`` (``signing.Scheme``, ``steps.Hmac``, ``callbacks.Endpoint``): kept apart
  because two of them share a name with an imported one (``signing.Nonce`` is a nonce's
  description, ``client.Nonce`` the type of a nonce function);
- the client attributes in ``CLIENT_ATTRIBUTES``, defined by ``SyncClientBase`` and
  ``AsyncClientBase``, which its clients call on ``self`` or set in their class body. They
  are public and ``dlr_``-prefixed: ``generator.names`` refuses an operation named like a
  client attribute, and no provider's operation is likely to want that prefix.

runtime/README.md ("The contract with generated code") documents each of them, and
``tests/contract/test_contract.py`` fails when generated code (``generated/`` and the golden cases)
uses a runtime name outside these lists. Packages generated before dlr-core 1.3 use the
underscored names in ``DEPRECATED_CLIENT_ALIASES``: those still work, for 1.x.
"""

from __future__ import annotations

from dlr_core import (
    DeliveryStatus,
    ErrorInfo,
    ErrorKind,
    ErrorTable,
    PollingHints,
    PollResult,
    Receipt,
    RetryPolicy,
    callbacks,
    signing,
    steps,
)
from dlr_core.client import (
    DEFAULT_MAX_CONCURRENCY,
    ApiSpec,
    AsyncClientBase,
    AsyncSleep,
    Clock,
    EnvelopeSpec,
    HttpTransport,
    Monotonic,
    Nonce,
    OperationSpec,
    OperationTable,
    Paging,
    ParamSpec,
    Retries,
    Sleep,
    SyncClientBase,
    TokenUrl,
    answered_in_order,
    credentials_from_env,
    in_chunks,
    in_input_order,
)
from dlr_core.models import (
    Iso8601Time,
    ProviderModel,
    Rfc2822Time,
    UnixMillisecondsTime,
    UnixSecondsTime,
    listed_or_text,
    pattern_time,
    time_formats,
)
from dlr_core.signing import RequestSigner
from dlr_core.values import as_text, lookup_raw, text_match

__all__ = [
    # dlr_core: the shared vocabulary, and the modules reached by attribute (below)
    "DeliveryStatus",
    "ErrorInfo",
    "ErrorKind",
    "ErrorTable",
    "PollResult",
    "PollingHints",
    "Receipt",
    "RetryPolicy",
    "callbacks",
    "signing",
    "steps",
    # dlr_core.client: the API description (api.py) and the clients' bases (client.py)
    "ApiSpec",
    "EnvelopeSpec",
    "OperationSpec",
    "OperationTable",
    "ParamSpec",
    "Paging",
    "SyncClientBase",
    "AsyncClientBase",
    "AsyncSleep",
    "Clock",
    "DEFAULT_MAX_CONCURRENCY",
    "HttpTransport",
    "Monotonic",
    "Nonce",
    "Retries",
    "Sleep",
    "TokenUrl",
    "answered_in_order",
    "credentials_from_env",
    "in_chunks",
    "in_input_order",
    # dlr_core.signing
    "RequestSigner",
    # dlr_core.models: the models' base and wire time types
    "Iso8601Time",
    "ProviderModel",
    "Rfc2822Time",
    "UnixMillisecondsTime",
    "UnixSecondsTime",
    "listed_or_text",
    "pattern_time",
    "time_formats",
    # dlr_core.values: what receipt functions read answers with
    "as_text",
    "lookup_raw",
    "text_match",
]

MODULE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "callbacks": (
        "Callback",
        "CallbackVerifier",
        "CertificateStore",
        "Endpoint",
        "MAX_CALLBACK_BYTES",
        "parse",
    ),
    "signing": ("Bound", "Nonce", "RequestSigner", "Scheme", "TimestampPattern"),
    # every registered sign step (any spec may use any of them) and their parts
    "steps": tuple(sorted({cls.__name__ for cls in steps.STEPS.values()} | {"JsonField", "SignedHeaders"})),
}
"""Names generated code reaches through ``callbacks.``, ``signing.`` and ``steps.``."""

CLIENT_ATTRIBUTES: tuple[str, ...] = (
    "dlr_api",
    "dlr_operations",
    "dlr_arguments",
    "dlr_with_extra",
    "dlr_params",
    "dlr_call",
    "dlr_call_each",
    "dlr_pages",
    "dlr_wait_for_final",
)
"""What generated clients use of ``SyncClientBase``/``AsyncClientBase`` (``dlr_call_each``:
the async base only)."""

DEPRECATED_CLIENT_ALIASES: dict[str, str] = {
    "_api": "dlr_api",
    "_operations": "dlr_operations",
    "_arguments": "dlr_arguments",
    "_with_extra": "dlr_with_extra",
    "_params": "dlr_params",
    "_call": "dlr_call",
    "_call_each": "dlr_call_each",
    "_pages": "dlr_pages",
    "_wait_for_final": "dlr_wait_for_final",
}
"""The names packages generated before dlr-core 1.3 use, and the contract's name for each:
kept, silently, for 1.x."""
