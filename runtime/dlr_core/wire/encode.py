"""A call's parameters as the wire wants them: alternatives checked, dates and times in
the provider's pattern and zone, and the parameters a call adds (``extra_params``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from dlr_core.errors import ParameterError
from dlr_core.request import PreparedRequest
from dlr_core.times import compile_pattern, parse_zone
from dlr_core.spec import OperationSpec, ParamSpec


def check_alternatives(operation: OperationSpec, values: Mapping[str, object]) -> None:
    """Exactly one group of an operation's alternatives is given, and given whole."""
    if not operation.alternatives:
        return
    given = [
        (group, names)
        for group, names in operation.alternatives
        if any(values.get(n) is not None for n in names)
    ]
    described = "; or ".join(f"{group} ({', '.join(names)})" for group, names in operation.alternatives)
    if len(given) != 1:
        first = given[0][1][0] if given else operation.alternatives[0][1][0]
        problem = "give only one of" if given else "give one of"
        raise ParameterError(first, f"{problem}: {described}")
    group, names = given[0]
    missing = [name for name in names if values.get(name) is None]
    if missing:
        raise ParameterError(missing[0], f"{group} needs {', '.join(names)} together")


def time_argument(param: ParamSpec, value: object) -> date:
    """A caller's date or date-time argument, checked: a ``date``/``datetime`` as is (an
    aware one for a datetime), or text in the parameter's pattern (or ISO 8601)."""
    if isinstance(value, str):
        moment = _parse_time_text(param, value)
        if param.type == "date":
            return moment.date()
        value = moment if moment.tzinfo is not None else _provider_local(param, moment, value)
    if param.type == "datetime":
        if not isinstance(value, datetime):
            raise ParameterError(param.name, f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ParameterError(
                param.name,
                "a naive datetime is ambiguous: give it a timezone, e.g. datetime.now(timezone.utc)",
            )
        return value
    if isinstance(value, datetime):
        raise ParameterError(param.name, "expected a date, got a datetime (use .date())")
    if not isinstance(value, date):
        raise ParameterError(param.name, f"expected a date, got {type(value).__name__}")
    return value


def _parse_time_text(param: ParamSpec, text: str) -> datetime:
    """Text in the parameter's wire pattern, or (for a date-time) ISO 8601."""
    try:
        return compile_pattern(param.date_format or "").parse(text)
    except ValueError:
        pass
    if param.type == "datetime":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    kind = "date" if param.type == "date" else "date-time"
    raise ParameterError(param.name, f"{text!r} is not a {kind} in the format {param.date_format!r}")


def _provider_local(param: ParamSpec, moment: datetime, text: str) -> datetime:
    """Text in the wire pattern without an offset is in the provider's zone, as written."""
    if param.time_zone is None:
        raise ParameterError(
            param.name, f"{text!r} has no UTC offset and the spec names no timezone: pass an aware datetime"
        )
    return moment.replace(tzinfo=parse_zone(param.time_zone))


def time_text(param: ParamSpec, value: date) -> str:
    """A date or date-time in the parameter's wire pattern, in the provider's zone."""
    if isinstance(value, datetime) and param.time_zone is not None:
        value = value.astimezone(parse_zone(param.time_zone))
    return compile_pattern(param.date_format or "").format(value)


@dataclass(frozen=True)
class WithExtra(OperationSpec):
    """An operation as one call sends it: with that call's ``extra_params``."""

    extra: tuple[tuple[str, str], ...] = ()

    def place_extra(self, request: PreparedRequest) -> None:
        """Put the extra parameters where the operation's own go: its JSON or form body
        when it has one, else the query."""
        locations = {p.location for p in self.params}
        where = "json" if "json" in locations else "form" if "form" in locations else "query"
        if where == "json":
            request.body_kind = "json"  # also when no declared parameter had a value
        for name, value in self.extra:
            request.place(where, name, value)


def caller_params(operation: OperationSpec) -> dict[str, ParamSpec]:
    """The parameters a caller passes (not fixed by the spec, nor filled from a credential)."""
    return {p.name: p for p in operation.params if p.const is None and p.from_credential is None}
