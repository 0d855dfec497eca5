"""The canonical delivery status every provider's own statuses map to."""

from __future__ import annotations

from enum import Enum


class DeliveryStatus(str, Enum):
    """Where a message stands, in words shared by every provider."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELED = "canceled"
    UNKNOWN = "unknown"

    @property
    def description(self) -> str:
        """What this status means, in one sentence."""
        return _DESCRIPTIONS[self]

    def __str__(self) -> str:
        return self.value

    @property
    def is_final(self) -> bool:
        """True when the status will not change any more."""
        return self in _FINAL

    @property
    def is_success(self) -> bool:
        """True only for a message known to be delivered."""
        return self in _SUCCESS


_FINAL = frozenset(
    {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.REJECTED,
        DeliveryStatus.EXPIRED,
        DeliveryStatus.CANCELED,
    }
)
_SUCCESS = frozenset(
    {
        DeliveryStatus.DELIVERED,
    }
)


_DESCRIPTIONS: dict[DeliveryStatus, str] = {
    DeliveryStatus.QUEUED: "Accepted by the provider, not yet sent.",
    DeliveryStatus.SENDING: "Being handed to the carrier.",
    DeliveryStatus.SENT: "Handed to the carrier; no delivery report yet.",
    DeliveryStatus.DELIVERED: "Delivered to the recipient.",
    DeliveryStatus.UNDELIVERED: "The carrier could not deliver it.",
    DeliveryStatus.FAILED: "The provider could not send it.",
    DeliveryStatus.REJECTED: "Refused, e.g. an invalid or blocked number.",
    DeliveryStatus.EXPIRED: "Not delivered within its validity period.",
    DeliveryStatus.CANCELED: "Canceled before delivery.",
    DeliveryStatus.UNKNOWN: "The provider's status is unknown or not understood.",
}
