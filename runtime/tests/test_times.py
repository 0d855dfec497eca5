"""dlr_core.times: the one interpreter of the date and time patterns specs write."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from dlr_core.times import compile_pattern, parse_zone

IST = timezone(timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    ("pattern", "moment", "text"),
    [
        ("yyyyMMdd", date(2024, 5, 1), "20240501"),
        ("yyyy-MM-dd HH:mm:ss", datetime(2024, 5, 1, 13, 45), "2024-05-01 13:45:00"),
        ("yyyy-MM-dd'T'HH:mm:ssXXX", datetime(2024, 5, 1, 13, 45, tzinfo=IST), "2024-05-01T13:45:00+05:30"),
        (
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            datetime(2024, 5, 1, 13, 45, 1, 250000, tzinfo=timezone.utc),
            "2024-05-01T13:45:01.250Z",
        ),
        ("yyyy-MM-dd'T'HH:mm:ssxxx", datetime(2024, 5, 1, tzinfo=timezone.utc), "2024-05-01T00:00:00+00:00"),
        (
            "yyyyMMddHHmmssZ",
            datetime(2024, 5, 1, 1, 2, 3, tzinfo=timezone(-timedelta(hours=3))),
            "20240501010203-0300",
        ),
        ("yyyy-MM-dd HH:mm:ss.SSSSSS", datetime(2024, 5, 1, 0, 0, 0, 42), "2024-05-01 00:00:00.000042"),
    ],
)
def test_format_and_parse_round_trip(pattern: str, moment: date, text: str) -> None:
    compiled = compile_pattern(pattern)
    assert compiled.format(moment) == text
    parsed = compiled.parse(text)
    expected = moment if isinstance(moment, datetime) else datetime(moment.year, moment.month, moment.day)
    assert parsed == expected and parsed.utcoffset() == expected.utcoffset()


def test_patterns_say_whether_they_hold_a_time_and_an_offset() -> None:
    assert not compile_pattern("yyyyMMdd").has_time
    assert compile_pattern("yyyy-MM-dd HH:mm:ss").has_time
    assert not compile_pattern("yyyy-MM-dd HH:mm:ss").has_offset
    assert compile_pattern("yyyy-MM-dd'T'HH:mm:ssXXX").has_offset


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("yyyy-MM-ddTHH:mm", "'T' at 10 is not a known field"),
        ("yyyy'T", "unclosed quote"),
        ("yyyy-yyyy", "appears twice"),
    ],
)
def test_bad_patterns_say_what_is_wrong(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compile_pattern(pattern)


def test_an_offset_needs_an_aware_moment_and_text_must_match() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compile_pattern("HH:mmXXX").format(datetime(2024, 5, 1, 13, 45))
    with pytest.raises(ValueError, match="does not match"):
        compile_pattern("yyyy-MM-dd").parse("2024-5-1")


def test_zones() -> None:
    assert parse_zone("UTC") is timezone.utc
    assert parse_zone("+08:00") == timezone(timedelta(hours=8))
    with pytest.raises(ValueError):
        parse_zone("Asia/Shanghai")
