"""The product's shared vocabulary, as the generator sees it: canonical delivery statuses
and error kinds.

The runtime package (``dlr_core``) defines them; this module only reads them, so the
generator, the JSON Schema check (tests/contract/test_runtime_contract.py) and the generated code
can never disagree with what the runtime accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlr_core.errors import ErrorKind, error_class
from dlr_core.status import DeliveryStatus


@dataclass(frozen=True)
class CanonicalStatus:
    value: str
    is_final: bool
    is_success: bool
    description: str

    @property
    def member(self) -> str:
        return self.value.upper()


CANONICAL_STATUSES: tuple[CanonicalStatus, ...] = tuple(
    CanonicalStatus(status.value, status.is_final, status.is_success, status.description)
    for status in DeliveryStatus
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


ERROR_KINDS: tuple[ErrorKindInfo, ...] = tuple(
    ErrorKindInfo(kind.value, error_class(kind).__name__, kind.description) for kind in ErrorKind
)
