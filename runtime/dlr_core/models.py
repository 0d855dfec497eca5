"""What every generated response model shares, and the field types they use.

Generated models type status fields as their enums and times as aware datetimes, which is
what callers want to compare and compute with. The provider's own spelling (``"DELIVERED"``
for ``Delivered``, ``"0"`` for ``0``, ``"2024-05-01 13:45:00"`` in China Standard Time) is
what receipts must report as *raw*, so each model also keeps the mapping it was read from:
:meth:`ProviderModel.wire_data`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ModelWrapValidatorHandler,
    model_validator,
)
from typing_extensions import Self

from dlr_core.values import (
    as_text,
    from_iso8601,
    from_pattern,
    from_rfc2822,
    from_unix_milliseconds,
    from_unix_seconds,
)

Listed = TypeVar("Listed", bound=Enum)
_WIRE = "_wire"


class ProviderModel(BaseModel):
    """Base of the generated response (and parameter) models.

    Fields the spec does not describe are kept (``extra="allow"``), and a model can be built
    from Python names as well as wire names."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="allow", populate_by_name=True)

    # The mapping a model was read from is kept in its private values under this key, set
    # by the validator below. It is not declared as a PrivateAttr: pydantic then calls a
    # Python post-init for every model it makes (twice for a subclass), which cost a
    # quarter of reading an answer.
    @model_validator(mode="wrap")
    @classmethod
    def _keep_wire(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        model = handler(data)
        if isinstance(data, dict):
            # The same object the answer was parsed into: no copy. Set in the private
            # values directly: BaseModel.__setattr__ would cost more than the validation.
            private = model.__pydantic_private__
            if private is None:
                object.__setattr__(model, "__pydantic_private__", {_WIRE: data})
            else:  # a subclass's own private attributes, set by pydantic
                private[_WIRE] = data
        return model

    def wire_data(self) -> dict[str, Any]:
        """The mapping this model was read from, exactly as the provider sent it (keys are
        wire names, values unconverted). A model built without one (``model_construct``)
        gives its fields by wire name instead."""
        private = self.__pydantic_private__  # read directly: BaseModel.__getattr__ is slow
        wire: dict[str, Any] | None = private.get(_WIRE) if private else None
        if wire is not None:
            return wire
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


def listed_or_text(parse: Callable[[object], Listed | None]) -> Callable[[object], Listed | str | None]:
    """A before-validator from a status enum's ``parse``: a raw value the enum lists (or an
    alias of one, with the usual drift: ``"3"`` for ``3``, another letter case) becomes its
    member; any other value is kept as text, so a value the provider added after the spec
    was written never fails a lookup."""

    def validate(raw: object) -> Listed | str | None:
        member = parse(raw)
        return member if member is not None else as_text(raw)

    return validate


def _time_reader(read: Callable[[object], datetime | None]) -> Callable[[object], datetime | None]:
    """A before-validator from a tolerant reader; a datetime passes (a naive one as UTC)."""

    def validate(raw: object) -> datetime | None:
        if isinstance(raw, datetime):
            return raw if raw.tzinfo is not None else raw.replace(tzinfo=timezone.utc)
        return read(raw)

    return validate


def pattern_time(pattern: str, utc_offset: str) -> Callable[[object], datetime | None]:
    """A before-validator for times written with ``pattern`` in the zone ``utc_offset``."""
    return _time_reader(lambda raw: from_pattern(raw, pattern, utc_offset))


_STANDARD_TIME_READERS: dict[str, Callable[[object], datetime | None]] = {
    "iso8601": from_iso8601,
    "rfc2822": from_rfc2822,
    "unix_seconds": from_unix_seconds,
    "unix_milliseconds": from_unix_milliseconds,
}


def _pattern_reader(pattern: str, utc_offset: str) -> Callable[[object], datetime | None]:
    return lambda raw: from_pattern(raw, pattern, utc_offset)


def time_formats(*formats: str | tuple[str, str]) -> Callable[[object], datetime | None]:
    """A before-validator for times a provider documents in several forms (RFC 3339 in one
    example, RFC 2822 in another): each form, a standard format's name or a ``(pattern,
    utc_offset)`` pair, is tried in order, and the first that reads the value gives it."""
    readers: list[Callable[[object], datetime | None]] = []
    for form in formats:
        if isinstance(form, str):
            readers.append(_STANDARD_TIME_READERS[form])
        else:
            readers.append(_pattern_reader(*form))

    def read(raw: object) -> datetime | None:
        for reader in readers:
            moment = reader(raw)
            if moment is not None:
                return moment
        return None

    return _time_reader(read)


# Times as aware datetimes. A value that cannot be read (an empty string while a message is
# still on its way, a format the provider changed) gives None; wire_data() keeps it.
Iso8601Time = Annotated[AwareDatetime | None, BeforeValidator(_time_reader(from_iso8601))]
Rfc2822Time = Annotated[AwareDatetime | None, BeforeValidator(_time_reader(from_rfc2822))]
UnixSecondsTime = Annotated[AwareDatetime | None, BeforeValidator(_time_reader(from_unix_seconds))]
UnixMillisecondsTime = Annotated[AwareDatetime | None, BeforeValidator(_time_reader(from_unix_milliseconds))]
