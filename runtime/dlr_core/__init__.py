"""The runtime of dlrgen's provider packages: canonical delivery statuses, receipts and
errors shared by every provider, and the client machinery generated code builds on.

Versioned semantically: the major version is the contract with generated code, so a
provider package generated against 1.x works with every later 1.y.
"""

__version__ = "1.6.0"

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
from dlr_core.polling import PollingHints, PollResult
from dlr_core.receipt import Receipt
from dlr_core.retry import RetryPolicy
from dlr_core.status import DeliveryStatus

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
