"""The product's shared vocabulary: canonical delivery statuses and error kinds.

This is the single source of truth; dlr_core's enums are rendered from it and spec
validation checks against it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CanonicalStatus:
    value: str
    is_final: bool
    is_success: bool
    description: str

    @property
    def member(self) -> str:
        return self.value.upper()


CANONICAL_STATUSES: tuple[CanonicalStatus, ...] = (
    CanonicalStatus("queued", False, False, "Accepted by the provider, not yet sent."),
    CanonicalStatus("sending", False, False, "Being handed to the carrier."),
    CanonicalStatus("sent", False, False, "Handed to the carrier; no delivery report yet."),
    CanonicalStatus("delivered", True, True, "Delivered to the recipient."),
    CanonicalStatus("undelivered", True, False, "The carrier could not deliver it."),
    CanonicalStatus("failed", True, False, "The provider could not send it."),
    CanonicalStatus("rejected", True, False, "Refused, e.g. an invalid or blocked number."),
    CanonicalStatus("expired", True, False, "Not delivered within its validity period."),
    CanonicalStatus("canceled", True, False, "Canceled before delivery."),
    CanonicalStatus("unknown", False, False, "The provider's status is unknown or not understood."),
)

CANONICAL_BY_VALUE = {status.value: status for status in CANONICAL_STATUSES}


@dataclass(frozen=True)
class ErrorKindInfo:
    value: str
    class_name: str
    description: str

    @property
    def member(self) -> str:
        return self.value.upper()


ERROR_KINDS: tuple[ErrorKindInfo, ...] = (
    ErrorKindInfo("authentication", "AuthenticationError", "The credentials or the signature were refused."),
    ErrorKindInfo("permission_denied", "PermissionDenied", "Authenticated, but not allowed to do this."),
    ErrorKindInfo("rate_limited", "RateLimited", "Too many requests; slow down."),
    ErrorKindInfo("invalid_request", "InvalidRequest", "A parameter was missing or invalid."),
    ErrorKindInfo("clock_skew", "ClockSkew", "The request's timestamp is too far from the provider's clock."),
    ErrorKindInfo("not_found", "NotFound", "The requested API or resource does not exist."),
    ErrorKindInfo("provider_error", "ProviderError", "The provider failed to handle the request."),
)
