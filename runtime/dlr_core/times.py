"""Date and time patterns as providers document them (``yyyy-MM-dd'T'HH:mm:ss.SSSXXX``).

Specs write the pattern a provider expects for a date or date-time parameter; this module
is the one interpreter of those patterns, used by the generator to validate a spec and by
the clients to write and read values. Tokens (a Java/Unicode subset):

| token | meaning |
|---|---|
| ``yyyy`` ``MM`` ``dd`` | year, month, day |
| ``HH`` ``mm`` ``ss`` | hour (00-23), minute, second |
| ``SSS`` / ``SSSSSS`` | milliseconds / microseconds |
| ``XXX`` | the UTC offset as ``+05:30``, or ``Z`` for UTC |
| ``xxx`` | the UTC offset as ``+05:30`` (``+00:00`` for UTC) |
| ``Z`` | the UTC offset as ``+0530`` |
| ``'text'`` | literal text (``''`` is a quote); other non-letters are literal too |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

_FIELDS = ("yyyy", "MM", "dd", "HH", "mm", "ss", "SSSSSS", "SSS", "XXX", "xxx", "Z")
_TIME_FIELDS = frozenset({"HH", "mm", "ss", "SSSSSS", "SSS"})
_OFFSET_FIELDS = frozenset({"XXX", "xxx", "Z"})
_FIELD_REGEX = {
    "yyyy": r"(?P<yyyy>[0-9]{4})",
    "MM": r"(?P<MM>[0-9]{2})",
    "dd": r"(?P<dd>[0-9]{2})",
    "HH": r"(?P<HH>[0-9]{2})",
    "mm": r"(?P<mm>[0-9]{2})",
    "ss": r"(?P<ss>[0-9]{2})",
    "SSS": r"(?P<SSS>[0-9]{3})",
    "SSSSSS": r"(?P<SSSSSS>[0-9]{6})",
    "XXX": r"(?P<XXX>Z|[+-][0-9]{2}:[0-9]{2})",
    "xxx": r"(?P<xxx>[+-][0-9]{2}:[0-9]{2})",
    "Z": r"(?P<Z>[+-][0-9]{4})",
}


@dataclass(frozen=True)
class TimePattern:
    """A compiled pattern: a sequence of fields and literal text."""

    pattern: str
    parts: tuple[tuple[bool, str], ...]  # (is_field, token or literal text)

    @property
    def has_time(self) -> bool:
        return any(is_field and token in _TIME_FIELDS for is_field, token in self.parts)

    @property
    def has_offset(self) -> bool:
        return any(is_field and token in _OFFSET_FIELDS for is_field, token in self.parts)

    def format(self, value: date) -> str:
        """``value`` written in the pattern (an offset field needs an aware datetime)."""
        moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        return "".join(_format_field(token, moment) if is_field else token for is_field, token in self.parts)

    def parse(self, text: str) -> datetime:
        """The moment ``text`` stands for (aware when the pattern has an offset); ValueError
        when it does not match."""
        match = self._regex().fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} does not match {self.pattern!r}")
        found = match.groupdict()
        micro = int(found["SSSSSS"]) if found.get("SSSSSS") else int(found.get("SSS") or 0) * 1000
        moment = datetime(
            int(found.get("yyyy") or 1970),
            int(found.get("MM") or 1),
            int(found.get("dd") or 1),
            int(found.get("HH") or 0),
            int(found.get("mm") or 0),
            int(found.get("ss") or 0),
            micro,
        )
        offset = found.get("XXX") or found.get("xxx") or found.get("Z")
        return moment.replace(tzinfo=_parse_offset(offset)) if offset else moment

    def _regex(self) -> re.Pattern[str]:
        return _compiled_regex(self.parts)


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> TimePattern:
    """Compile a pattern; ValueError names what is wrong with it."""
    parts: list[tuple[bool, str]] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            end = pattern.find("'", index + 1)
            if end == -1:
                raise ValueError(f"unclosed quote in {pattern!r}")
            parts.append((False, pattern[index + 1 : end] or "'"))
            index = end + 1
            continue
        token = next((t for t in _FIELDS if pattern.startswith(t, index)), None)
        if token is not None:
            if any(is_field and existing == token for is_field, existing in parts):
                raise ValueError(f"{token} appears twice in {pattern!r}")
            parts.append((True, token))
            index += len(token)
        elif char.isalpha():
            raise ValueError(
                f"{pattern!r}: {char!r} at {index} is not a known field "
                "(yyyy MM dd HH mm ss SSS SSSSSS XXX xxx Z; quote literal letters, e.g. 'T')"
            )
        else:
            parts.append((False, char))
            index += 1
    return TimePattern(pattern, tuple(parts))


@lru_cache(maxsize=256)
def _compiled_regex(parts: tuple[tuple[bool, str], ...]) -> re.Pattern[str]:
    return re.compile(
        "".join(_FIELD_REGEX[token] if is_field else re.escape(token) for is_field, token in parts)
    )


def _format_field(token: str, moment: datetime) -> str:
    if token in _OFFSET_FIELDS:
        offset = moment.utcoffset()
        if offset is None:
            raise ValueError("the pattern writes a UTC offset: give a timezone-aware datetime")
        return _offset_text(offset, token)
    return {
        "yyyy": f"{moment.year:04d}",
        "MM": f"{moment.month:02d}",
        "dd": f"{moment.day:02d}",
        "HH": f"{moment.hour:02d}",
        "mm": f"{moment.minute:02d}",
        "ss": f"{moment.second:02d}",
        "SSS": f"{moment.microsecond // 1000:03d}",
        "SSSSSS": f"{moment.microsecond:06d}",
    }[token]


def _offset_text(offset: timedelta, token: str) -> str:
    if token == "XXX" and not offset:
        return "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{minutes:02d}" if token == "Z" else f"{sign}{hours:02d}:{minutes:02d}"


def _parse_offset(text: str) -> timezone:
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def parse_zone(text: str) -> timezone:
    """A spec's ``timezone``: ``UTC`` or a fixed offset such as ``+08:00``."""
    if text.upper() == "UTC":
        return timezone.utc
    if not re.fullmatch(r"[+-][0-9]{2}:[0-9]{2}", text):
        raise ValueError(f"timezone {text!r} is neither UTC nor an offset like +08:00")
    return _parse_offset(text)
