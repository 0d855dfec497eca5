"""dlr_core.values.text_match: the part of a text a receipt pattern takes, searched in a
bounded prefix so that no text or push makes a search slow."""

from __future__ import annotations

import time

import pytest

from dlr_core.values import MAX_MATCHED_TEXT, text_match

# How Azure Communication Services writes a failed report's code (Microsoft Q&A 5730794).
AZURE_FAILED = "ErrorCode: 5002. ErrorMessage: Message Delivery Timeout"


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        (AZURE_FAILED, r"ErrorCode: (\d+)", "5002"),
        (AZURE_FAILED, r"ErrorMessage: (.+)", "Message Delivery Timeout"),
        ("rejected (network 27)", r"\(network (\d+)\)", "27"),
        (4005, r"(\d{2})$", "05"),  # a number is read as its text
        ("Delivered", r"ErrorCode: (\d+)", None),  # no match: no value
        (None, r"ErrorCode: (\d+)", None),
        ("code=", r"code=(\w*)", None),  # an empty capture is no value
        ("(b) x", r"(a)|b", None),  # the group took no part in the match
    ],
)
def test_text_match_takes_the_group(value: object, pattern: str, expected: str | None) -> None:
    assert text_match(value, pattern) == expected


def test_only_the_first_characters_are_searched() -> None:
    padding = "x" * (MAX_MATCHED_TEXT - len("ErrorCode: 5002"))
    assert text_match(padding + "ErrorCode: 5002", r"ErrorCode: (\d+)") == "5002"
    assert text_match(padding + "_ErrorCode: 5002", r"ErrorCode: (\d+)") == "500"
    assert text_match("x" * MAX_MATCHED_TEXT + "ErrorCode: 5002", r"ErrorCode: (\d+)") is None


def test_a_pattern_at_the_bound_stays_fast_on_a_hostile_text() -> None:
    # One open-ended repeat and a short one (4 x 256 = 1,024 ways, the generator's budget):
    # on a megabyte of digits with no "x" every start backtracks; only 256 are searched.
    hostile = "1" * 1_000_000
    started = time.perf_counter()
    for _ in range(20):
        assert text_match(hostile, r"\d{0,3}(\d*)x") is None
    assert time.perf_counter() - started < 2.0  # about 6 ms each; unbounded, hours
