"""The runtime of dlrgen's provider packages: canonical delivery statuses, receipts and
errors shared by every provider, and the client machinery generated code builds on.

Versioned semantically: the major version is the contract with generated code, so a
provider package generated against 1.x works with every later 1.y.
"""

__version__ = "1.5.0"

import importlib
from typing import TYPE_CHECKING

from dlr_core.errors import (
    AuthenticationError,
    CallbackError,
    CallbackSignatureError,
    MalformedCallback,
    StaleCallback,
    PermissionDenied,
    RateLimited,
    InvalidRequest,
    ClockSkew,
    NotFound,
    ProviderError,
    DlrError,
    ErrorInfo,
    ErrorKind,
    ErrorTable,
    CredentialsError,
    ParameterError,
    ProviderResponseError,
    RequestTimeout,
    ResponseTooLarge,
    TransportError,
    UnexpectedRedirect,
    UnsafeLinkError,
    error_class,
)
from dlr_core.status import DeliveryStatus

if TYPE_CHECKING:  # imported on first use (``__getattr__`` below); here for type checkers
    from dlr_core.polling import PollingHints as PollingHints, PollResult as PollResult
    from dlr_core.receipt import Receipt as Receipt
    from dlr_core.retry import RetryPolicy as RetryPolicy

# Names whose modules bring pydantic (``Receipt``, and ``PollResult`` holding receipts) or are
# not needed to read a spec: imported when first asked for, so that what only reads the
# runtime's registries (dlrgen's parser: statuses, error kinds, step kinds) starts without
# pydantic. ``from dlr_core import Receipt`` works as before (it calls ``__getattr__``).
_LAZY = {
    "PollingHints": "dlr_core.polling",
    "PollResult": "dlr_core.polling",
    "Receipt": "dlr_core.receipt",
    "RetryPolicy": "dlr_core.retry",
}


def __getattr__(name: str) -> object:
    """A lazily imported public name (PEP 562), kept in the module once imported."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "__version__",
    "AuthenticationError",
    "CallbackError",
    "CallbackSignatureError",
    "ClockSkew",
    "DeliveryStatus",
    "DlrError",
    "ErrorInfo",
    "ErrorKind",
    "ErrorTable",
    "InvalidRequest",
    "MalformedCallback",
    "NotFound",
    "CredentialsError",
    "ParameterError",
    "PermissionDenied",
    "PollResult",
    "PollingHints",
    "ProviderError",
    "ProviderResponseError",
    "RateLimited",
    "Receipt",
    "RequestTimeout",
    "ResponseTooLarge",
    "RetryPolicy",
    "StaleCallback",
    "TransportError",
    "UnexpectedRedirect",
    "UnsafeLinkError",
    "error_class",
]
