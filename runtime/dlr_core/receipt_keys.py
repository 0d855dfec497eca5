"""A pushed receipt's ``idempotency_key``: the hex SHA-256 of the receipt as canonical JSON
(sorted keys, compact, not ASCII-escaped), its ``idempotency_key`` left out.

Receivers store the keys to recognise a report pushed again, so their text never changes:
``json.dumps(receipt.model_dump(mode="json", exclude={"idempotency_key"}), sort_keys=True,
ensure_ascii=False, separators=(",", ":"))``. Most receipts hold only what JSON holds
(text, integers, finite floats, booleans, null, lists and objects of them): their fields
are already what ``model_dump(mode="json")`` gives, and are encoded as they are; any
other value (a time, a tuple, a Decimal in the details) goes through ``model_dump``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from dlr_core.receipt import Receipt
from dlr_core.status import DeliveryStatus

__all__ = ["idempotency_key", "with_keys"]

# Made once (``json.dumps`` with these arguments builds a new encoder for every call), its
# text exactly ``json.dumps``'s.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_TIME = TypeAdapter(datetime)
"""A receipt's times in JSON as ``model_dump(mode="json")`` writes them (its own serializer)."""
_KEYED_FIELDS = tuple(name for name in Receipt.model_fields if name != "idempotency_key")


def idempotency_key(receipt: Receipt) -> str:
    """A stable key of one report: the same report pushed again has the same key; another
    report (another message or recipient, or a later status of the same one) has another.
    The hex SHA-256 of the receipt as canonical JSON: every attribute (the message id, the
    recipient, the status, the details) and the record exactly as sent."""
    data = _as_json(receipt)
    if data is None:
        data = receipt.model_dump(mode="json", exclude={"idempotency_key"})
    return hashlib.sha256(_CANONICAL_JSON.encode(data).encode("utf-8")).hexdigest()


def with_keys(receipts: Iterable[Receipt]) -> list[Receipt]:
    """The receipts, each with its ``idempotency_key``."""
    return [r.model_copy(update={"idempotency_key": idempotency_key(r)}) for r in receipts]


def _as_json(receipt: Receipt) -> dict[str, Any] | None:
    """``receipt.model_dump(mode="json")`` without its key, when every value is plain JSON
    (so the dump would give it unchanged); None for any other (a subclass, a value only
    ``model_dump`` knows how to write)."""
    if type(receipt) is not Receipt:
        return None
    fields = receipt.__dict__
    data: dict[str, Any] = {}
    for name in _KEYED_FIELDS:
        value = fields[name]
        if type(value) is DeliveryStatus:
            value = value.value  # a str Enum: its value
        elif type(value) is datetime:
            value = _TIME.dump_python(value, mode="json")
        elif not _plain(value):
            return None
        data[name] = value
    return data


def _plain(value: Any) -> bool:
    """Whether ``value`` is JSON as Python reads it, each part of exactly its own type."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if kind is list:
        return all(_plain(item) for item in value)
    return False
