"""Tolerant readers for the raw values providers send. They never raise: a value that
cannot be read gives None, and the receipt keeps the raw record for inspection."""

from __future__ import annotations

import re

from collections.abc import Mapping
from functools import lru_cache
from datetime import datetime, timezone
from typing import TypeVar

from dlr_core.times import compile_pattern, parse_zone

Member = TypeVar("Member")


def lookup_raw(table: Mapping[int | str, Member], raw: object) -> Member | None:
    """The entry for a raw status value, tolerating the usual drift in how it is sent:
    ``3`` or ``"3"``, surrounding spaces, or a different letter case."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, (int, str)) and raw in table:
        return table[raw]
    if isinstance(raw, int):
        return table.get(str(raw))
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if text in table:
        return table[text]
    try:
        number = int(text)
    except ValueError:
        pass
    else:
        if number in table:
            return table[number]
    folded = text.casefold()
    for key, member in table.items():
        if isinstance(key, str) and key.casefold() == folded:
            return member
    return None


def as_text(value: object) -> str | None:
    """A scalar as text (ids are sometimes numbers); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# How much of a text a receipt pattern searches (a spec's ``{field: ..., pattern: ...}``):
# its first 256 characters. With the generator's bound on a pattern (every repeat on a single
# character, and the repeats' ranges multiplying to at most PATTERN_PATHS_BUDGET, an open-ended
# one counting as this many), one search is at most about 256 x 1,024 backtracking steps,
# milliseconds, however long the text or large the push.
MAX_MATCHED_TEXT = 256
PATTERN_PATHS_BUDGET = 4 * MAX_MATCHED_TEXT


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def text_match(value: object, pattern: str) -> str | None:
    """The part of a value's text the pattern's one group captures (``ErrorCode: (\\d+)``
    gives ``"5002"`` of ``"ErrorCode: 5002. ErrorMessage: ..."``), searched in the text's
    first MAX_MATCHED_TEXT characters; None for no value, no match or an empty capture."""
    text = as_text(value)
    if text is None:
        return None
    found = _compiled(pattern).search(text[:MAX_MATCHED_TEXT])
    if found is None:
        return None
    return found.group(1) or None


def from_unix_seconds(value: object) -> datetime | None:
    """A Unix time in seconds as an aware UTC datetime."""
    return _from_epoch(value, 1)


def from_unix_milliseconds(value: object) -> datetime | None:
    """A Unix time in milliseconds as an aware UTC datetime."""
    return _from_epoch(value, 1000)


def _from_epoch(value: object, per_second: int) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        return None
    if number is None or number <= 0:
        return None
    try:
        return datetime.fromtimestamp(number / per_second, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


_FRACTION = re.compile(r"(?<=[0-9]{2}:[0-9]{2}:[0-9]{2})\.([0-9]+)")


def from_iso8601(value: object) -> datetime | None:
    """An ISO-8601 time; one without a zone is taken as UTC."""
    if not isinstance(value, str):
        return None
    try:
        text = value.strip().replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
            text = f"{text[:-2]}:{text[-2:]}"  # +0000 -> +00:00 for Python < 3.11
        # Fractions of 1 to 6 digits (a provider may send 5): Python < 3.11 takes only 3 or 6.
        text = _FRACTION.sub(lambda match: "." + match.group(1).ljust(6, "0")[:6], text, count=1)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def from_rfc2822(value: object) -> datetime | None:
    """An RFC 2822 time, e.g. ``Fri, 24 May 2019 17:18:27 +0000``."""
    if not isinstance(value, str):
        return None
    # email.utils (socket with it) here, where a date is read: reading a spec needs none
    from email.utils import parsedate_to_datetime

    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def from_pattern(value: object, pattern: str, utc_offset: str) -> datetime | None:
    """A time written with ``pattern`` (``yyyy-MM-dd HH:mm:ss``, see ``dlr_core.times``), in
    the zone ``utc_offset`` (``+08:00``) unless it carries its own, as an aware datetime."""
    if not isinstance(value, str):
        return None
    try:
        parsed = compile_pattern(pattern).parse(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=parse_zone(utc_offset))
