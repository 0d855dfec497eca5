"""The canonical receipt: one message's delivery status, whatever the provider."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from dlr_core.status import DeliveryStatus

RawStatus = int | str | float | bool | None


class Receipt(BaseModel):
    """One message's (or call's, or OTP's) delivery status, as reported by a provider."""

    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True)

    provider: str
    """Provider id, e.g. ``acme_sms``."""
    status: DeliveryStatus
    """The canonical status."""
    raw_status: dict[str, RawStatus]
    """The provider's own status value(s), by wire field name, exactly as received."""
    message_id: str | None = None
    """The provider's id of the message, session or task."""
    recipient: str | None = None
    """Phone number the message was sent to."""
    client_ref: str | None = None
    """The caller's own id, given when sending."""
    error_code: str | None = None
    """Carrier or provider detail code, e.g. ``DELIVRD`` or an error code."""
    error_description: str | None = None
    """Text that explains ``error_code``."""
    submitted_at: datetime | None = None
    """When the provider accepted or sent the message (timezone-aware)."""
    completed_at: datetime | None = None
    """When the final report arrived (timezone-aware)."""
    details: dict[str, Any] = {}
    """Provider fields the spec carries over, by name (e.g. whether an error is permanent)."""
    raw: dict[str, Any]
    """The record this receipt was read from, with every field the provider sent."""
    idempotency_key: str | None = None
    """For a pushed report (``dlr_core.callbacks``): a stable key of the report, the same
    when the provider pushes it again, to recognise duplicates; None for polled receipts."""

    @property
    def is_final(self) -> bool:
        """True when this receipt's status will not change any more."""
        return self.status.is_final
