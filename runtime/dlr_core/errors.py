"""Typed errors shared by every provider package, and the tables that classify codes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum


class ErrorKind(str, Enum):
    """What kind of failure a provider's error code stands for."""

    AUTHENTICATION = "authentication"
    PERMISSION_DENIED = "permission_denied"
    RATE_LIMITED = "rate_limited"
    INVALID_REQUEST = "invalid_request"
    CLOCK_SKEW = "clock_skew"
    NOT_FOUND = "not_found"
    PROVIDER_ERROR = "provider_error"

    @property
    def description(self) -> str:
        """What this kind of error means, in one sentence."""
        return _DESCRIPTIONS[self]


@dataclass(frozen=True)
class ErrorInfo:
    """One entry of a provider's error-code table."""

    kind: ErrorKind
    description: str
    retryable: bool = False
    http_status: int | None = None
    """The HTTP status the provider answers this code with, when not 200."""


class ErrorTable:
    """A provider's error codes: exact codes first, then code prefixes in spec order."""

    def __init__(
        self,
        codes: Mapping[str, ErrorInfo],
        prefixes: tuple[tuple[str, ErrorInfo], ...] = (),
    ) -> None:
        self._codes = dict(codes)
        self._prefixes = prefixes

    def lookup(self, code: object) -> ErrorInfo | None:
        """The entry for a code as received (``-1`` and ``"-1"`` are the same code)."""
        if code is None or isinstance(code, bool):
            return None
        text = str(code).strip()
        found = self._codes.get(text)
        if found is not None:
            return found
        for prefix, info in self._prefixes:
            if text.startswith(prefix):
                return info
        return None

    def first_code(self, kind: ErrorKind) -> tuple[str, ErrorInfo] | None:
        """The first listed code of a kind (the mock answers with it)."""
        for code, info in self._codes.items():
            if info.kind is kind:
                return code, info
        return None


EXCERPT_LIMIT = 4096
"""Most characters of ``message`` and bytes of ``raw_body`` an error keeps; the rest is cut
and marked, so that an enormous answer never makes an enormous error."""


def bounded_message(message: str, limit: int = EXCERPT_LIMIT) -> str:
    """``message`` cut to ``limit`` characters, saying so and how long it was."""
    if len(message) <= limit:
        return message
    return f"{message[:limit]}... [truncated: {len(message)} characters in all]"


class DlrError(Exception):
    """Base of every error raised by dlrgen's packages."""

    attempts: int = 1
    """How many requests were made before giving up (retries included)."""
    may_have_consumed: bool = False
    """True when the failed call read a queue (a ``consuming`` operation) and the provider
    may have handed the records out already: they may be lost, so it was not retried."""


class ProviderError(DlrError):
    """The provider answered with an error; subclasses say which kind.

    ``raw_body`` keeps the provider's answer for diagnosis; it is not part of ``str()``.
    Both ``message`` and ``raw_body`` are bounded: past ``EXCERPT_LIMIT`` (4 KiB) they are
    cut and end with a ``[truncated: ...]`` marker; ``raw_body_length`` is the length of
    the whole answer as received, and ``raw_body_truncated`` says whether it was cut.
    Pass ``raw_body_length`` only with a ``raw_body`` that is the beginning of a longer
    answer.
    """

    kind = ErrorKind.PROVIDER_ERROR

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        retryable: bool = False,
        raw_body: bytes = b"",
        retry_after: float | None = None,
        raw_body_length: int | None = None,
    ) -> None:
        message = bounded_message(message)
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.code = code
        self.request_id = request_id
        self.http_status = http_status
        self.retryable = retryable
        # ``raw_body_length`` given: ``raw_body`` is only the beginning of the answer.
        self.raw_body_length: int = len(raw_body) if raw_body_length is None else raw_body_length
        """How many bytes the answer had (as far as it was read)."""
        kept = raw_body[:EXCERPT_LIMIT]
        self.raw_body_truncated: bool = len(raw_body) > len(kept) or raw_body_length is not None
        """Whether ``raw_body`` is only the beginning of the answer."""
        if self.raw_body_truncated:
            kept += (f"\n[truncated: {self.raw_body_length} bytes received]").encode("ascii")
        self.raw_body = kept
        self.retry_after = retry_after
        """Seconds the provider asked to wait (Retry-After), if it said."""

    def __str__(self) -> str:
        parts = [f"{self.provider}: "]
        if self.code is not None:
            parts.append(f"[{self.code}] ")
        parts.append(self.message)
        details = []
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        if details:
            parts.append(f" ({', '.join(details)})")
        return "".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, code={self.code!r}, "
            f"message={self.message!r}, http_status={self.http_status!r}, "
            f"request_id={self.request_id!r})"
        )


class AuthenticationError(ProviderError):
    """The credentials or the signature were refused."""

    kind = ErrorKind.AUTHENTICATION


class PermissionDenied(ProviderError):
    """Authenticated, but not allowed to do this."""

    kind = ErrorKind.PERMISSION_DENIED


class RateLimited(ProviderError):
    """Too many requests; slow down."""

    kind = ErrorKind.RATE_LIMITED


class InvalidRequest(ProviderError):
    """A parameter was missing or invalid."""

    kind = ErrorKind.INVALID_REQUEST


class ClockSkew(ProviderError):
    """The request's timestamp is too far from the provider's clock."""

    kind = ErrorKind.CLOCK_SKEW


class NotFound(ProviderError):
    """The requested API or resource does not exist."""

    kind = ErrorKind.NOT_FOUND


class ProviderResponseError(ProviderError):
    """The response could not be understood: not JSON, or not the shape the spec describes."""


class UnsafeLinkError(ProviderResponseError):
    """The provider's link to the next page leads to another origin (scheme, host or
    port) than the client's: it is not followed, since the request would carry the
    credentials there. ``origin`` names where it leads."""

    def __init__(self, message: str, *, provider: str, origin: str) -> None:
        super().__init__(message, provider=provider)
        self.origin = origin


class UnexpectedRedirect(ProviderResponseError):
    """The provider answered with a redirect (3xx). Signed requests never follow one:
    the signature and credentials are for the provider's own endpoint. ``location`` is
    an excerpt of where it pointed."""

    def __init__(self, message: str, *, provider: str, http_status: int, location: str | None) -> None:
        super().__init__(message, provider=provider, http_status=http_status)
        self.location = location


class ResponseTooLarge(ProviderResponseError):
    """The answer was larger than the client's ``max_response_bytes`` (counted after
    decompression); reading stopped there. ``raw_body`` holds its beginning."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        http_status: int,
        limit: int,
        raw_body: bytes,
        raw_body_length: int,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            http_status=http_status,
            raw_body=raw_body,
            raw_body_length=raw_body_length,
        )
        self.limit = limit


class ParameterError(DlrError, ValueError):
    """A parameter breaks the spec's constraints; raised before anything is sent."""

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter
        self.problem = problem


class CredentialsError(DlrError, ValueError):
    """The credentials given (or found in the environment) cannot make a client: one is
    missing, or they belong to several auth schemes and none was chosen. Raised before
    anything is sent; never shows a credential's value. ``variables`` are the environment
    variables that would provide the missing credentials."""

    def __init__(
        self, message: str, *, missing: tuple[str, ...] = (), variables: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.missing = missing
        self.variables = variables


class TransportError(DlrError):
    """The request did not get an answer (connection refused, reset, TLS failure).

    ``request_sent`` is False only when the failure came before the request could have
    reached the provider (no connection could be made, or none was free in the pool).
    """

    retryable = True

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class RequestTimeout(TransportError):
    """No whole answer within the timeout (the budget of one attempt, reading the
    answer included)."""


_CLASSES: dict[ErrorKind, type[ProviderError]] = {
    ErrorKind.AUTHENTICATION: AuthenticationError,
    ErrorKind.PERMISSION_DENIED: PermissionDenied,
    ErrorKind.RATE_LIMITED: RateLimited,
    ErrorKind.INVALID_REQUEST: InvalidRequest,
    ErrorKind.CLOCK_SKEW: ClockSkew,
    ErrorKind.NOT_FOUND: NotFound,
    ErrorKind.PROVIDER_ERROR: ProviderError,
}


def error_class(kind: ErrorKind) -> type[ProviderError]:
    """The exception class raised for an error of this kind."""
    return _CLASSES[kind]


_DESCRIPTIONS: dict[ErrorKind, str] = {
    ErrorKind.AUTHENTICATION: "The credentials or the signature were refused.",
    ErrorKind.PERMISSION_DENIED: "Authenticated, but not allowed to do this.",
    ErrorKind.RATE_LIMITED: "Too many requests; slow down.",
    ErrorKind.INVALID_REQUEST: "A parameter was missing or invalid.",
    ErrorKind.CLOCK_SKEW: "The request's timestamp is too far from the provider's clock.",
    ErrorKind.NOT_FOUND: "The requested API or resource does not exist.",
    ErrorKind.PROVIDER_ERROR: "The provider failed to handle the request.",
}


class CallbackError(DlrError):
    """A pushed delivery report (a status callback, a DLR webhook) was refused.

    ``raw_body`` keeps the beginning of what was pushed, at most ``EXCERPT_LIMIT`` (4 KiB)
    bytes, for diagnosis; ``raw_body_length`` is how many bytes arrived (as far as they were
    read). Neither ``str()`` nor ``repr()`` shows the body, a signature or a secret.
    ``http_status`` is the answer the provider expects for this refusal.
    """

    http_status = 400

    def __init__(self, message: str, *, provider: str, raw_body: bytes = b"") -> None:
        message = bounded_message(message)
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.raw_body_length: int = len(raw_body)
        """How many bytes of the push were read."""
        self.raw_body_truncated: bool = len(raw_body) > EXCERPT_LIMIT
        """Whether ``raw_body`` is only the beginning of the push."""
        self.raw_body: bytes = raw_body[:EXCERPT_LIMIT]
        """The beginning of the push, at most ``EXCERPT_LIMIT`` bytes."""

    def __str__(self) -> str:
        return f"{self.provider}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, message={self.message!r})"


class CallbackSignatureError(CallbackError):
    """The push's signature is missing or does not verify: it may not come from the provider."""

    http_status = 403


class StaleCallback(CallbackSignatureError):
    """The push's signed timestamp is missing, unreadable or outside the tolerance (a replay)."""


class MalformedCallback(CallbackError, ValueError):
    """The push is not what the spec describes: not form or JSON, not the payload's shape,
    too large, or sent with another method."""

    http_status = 400
