"""A pushed receipt's ``idempotency_key``: the hex SHA-256 of the receipt as canonical JSON
(sorted keys, compact, not ASCII-escaped), its ``idempotency_key`` left out.

Receivers store the keys to recognise a report pushed again, so their text never changes:
``json.dumps(receipt.model_dump(mode="json", exclude={"idempotency_key"}), sort_keys=True,
ensure_ascii=False, separators=(",", ":"))``. (Building that dump in Python from the
receipt's fields, when they are plain JSON, was tried for #25: it costs more than
pydantic's own dump, about 49,000 instructions against 27,000.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing dlr_core.callbacks brings no pydantic (#25)
    from dlr_core.receipt import Receipt

__all__ = ["idempotency_key", "keyed_as_built", "with_keys"]

# Made once (``json.dumps`` with these arguments builds a new encoder for every call), its
# text exactly ``json.dumps``'s.
_NOT_KEYED = {"idempotency_key"}  # read, never changed, by model_dump
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def idempotency_key(receipt: Receipt) -> str:
    """A stable key of one report: the same report pushed again has the same key; another
    report (another message or recipient, or a later status of the same one) has another.
    The hex SHA-256 of the receipt as canonical JSON: every attribute (the message id, the
    recipient, the status, the details) and the record exactly as sent."""
    data = receipt.model_dump(mode="json", exclude=_NOT_KEYED)
    return hashlib.sha256(_CANONICAL_JSON.encode(data).encode("utf-8")).hexdigest()


def with_keys(receipts: Iterable[Receipt]) -> list[Receipt]:
    """The receipts, each with its ``idempotency_key``."""
    return [r.model_copy(update={"idempotency_key": idempotency_key(r)}) for r in receipts]


def keyed_as_built(receipts: list[Receipt]) -> list[Receipt]:
    """``with_keys`` for receipts just built and not yet handed to anyone (a push's, in
    ``dlr_core.callbacks.parse``): each key set in the receipt itself, as ``model_copy``
    would set it in a copy (the field's value, and the field among those set), without
    copying every receipt of every push."""
    for receipt in receipts:
        key = idempotency_key(receipt)
        receipt.__dict__["idempotency_key"] = key  # frozen: not through __setattr__
        receipt.__pydantic_fields_set__.add("idempotency_key")
    return receipts
