"""Fetching receipts for many ids: ids in batches the provider accepts, and the receipts
back in the order of the ids."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import field
from typing import TypeVar
from dlr_core.receipt import Receipt
from dlr_core.status import DeliveryStatus
from dlr_core.core import logger

Item = TypeVar("Item")


def in_chunks(items: Sequence[Item], size: int) -> list[Sequence[Item]]:
    """Split ``items`` into consecutive chunks of at most ``size`` (array-capped APIs)."""
    return [items[start : start + size] for start in range(0, len(items), size)] or [items[:0]]


def in_input_order(receipts: list[Receipt], ids: Sequence[object]) -> list[Receipt]:
    """Receipts sorted by the position of their message id among the ids asked for; receipts
    for ids not asked for keep their order, after the others."""
    position = {str(value): index for index, value in enumerate(ids)}
    return sorted(receipts, key=lambda r: position.get(r.message_id or "", len(position)))


def answered_in_order(
    receipts: list[Receipt], ids: Sequence[object], field: str, provider: str
) -> list[Receipt]:
    """The receipts of an id lookup, grouped by the ids asked for, in that order: the
    receipts of each id asked for (one, or one per recipient when an id stands for several),
    and nothing else. A receipt for an id not asked for (or for none) is dropped, and
    counted in a debug log: it is never returned as if asked for. An id the provider did
    not answer (many providers leave out ids they have no report for yet, and only count
    them) becomes an open receipt (``DeliveryStatus.UNKNOWN``, ``details["answered"] is
    False``), so it is neither lost nor taken for final. Without ids (the lookup was not by
    id: a time window, a queue), the receipts are returned as they are."""
    if not ids:
        return receipts
    by_id: dict[str, list[Receipt]] = {}
    unnamed = 0  # receipts that name no id: none can be taken for one asked for
    for receipt in receipts:
        named = getattr(receipt, field)
        if named is None:
            unnamed += 1
        else:
            by_id.setdefault(str(named), []).append(receipt)
    ordered: list[Receipt] = []
    for value in dict.fromkeys(str(item) for item in ids):
        answered = by_id.pop(value, None)
        if answered is None:
            answered = [
                Receipt(
                    provider=provider,
                    status=DeliveryStatus.UNKNOWN,
                    raw_status={},
                    details={"answered": False},
                    raw={},
                    message_id=value if field == "message_id" else None,
                    recipient=value if field == "recipient" else None,
                )
            ]
        ordered.extend(answered)
    if (by_id or unnamed) and logger.isEnabledFor(logging.DEBUG):  # counted only when logged
        logger.debug(
            "%s: %d receipt(s) for ids not asked for dropped (%d naming no id)",
            provider,
            sum(map(len, by_id.values())) + unnamed,
            unnamed,
        )
    return ordered
