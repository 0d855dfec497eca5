"""generator.parse.text_patterns: which receipt patterns are refused, and that the ones
accepted stay within the runtime's bound on a text built to make them backtrack."""

from __future__ import annotations

import time

import pytest

from dlr_core.values import MAX_MATCHED_TEXT, text_match
from generator.parse.text_patterns import pattern_problem

ACCEPTED = [
    r"ErrorCode: (\d+)",
    r"ErrorCode:\s{0,3}(\d+)",
    r"^(?:ErrorCode: ?)?(\d+)",  # an optional group
    r"(?i)code=(\w+)",
    r"(ok|failed|expired)",
    r"\(network (\d+)\)",
    r"(?:a|b)(\d*)",
]

REFUSED = [
    (r"(\d+", "is not a regular expression"),
    (r"ErrorCode: \d+", "has 0 capture groups"),
    (r"(\w+)=(\w+)", "has 2 capture groups"),
    (r"((?:\d+)+)x", "a repeat applies to a group"),
    (r"(?:a|aa)*(b)", "a repeat applies to a group"),
    (r"(\d*)\d*x", "can backtrack too much"),
    (r"ErrorCode:\s*(\d+)", "can backtrack too much"),
    (r"(\d+)\s?\s?\s?x", "can backtrack too much"),  # 256 x 8
    (r"(a)\1", "a backreference"),
    (r"(?=code)(\w+)", "a lookahead or lookbehind"),
    (r"(?<!x)(\w+)", "lookahead or lookbehind"),
    (r"(a)?(?(1)b|c)", "a conditional group"),
    (r"(?:(a)|b)(?(1)c|d)", "a conditional group"),
]


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_accepted(pattern: str) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(("pattern", "reason"), REFUSED)
def test_refused(pattern: str, reason: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None and reason in problem
    assert f"'{pattern}'" in problem  # as written, not with its backslashes doubled


@pytest.mark.parametrize("pattern", ACCEPTED + [r"\d{0,3}(\d*)x", r"(\d*)x?x?", r"(\w{0,255})\s{0,3}!"])
def test_what_is_accepted_is_fast_on_a_hostile_text(pattern: str) -> None:
    assert pattern_problem(pattern) is None
    started = time.perf_counter()
    for filler in ("1", "a", " ", "ErrorCode: "):
        text_match(filler * (4 * MAX_MATCHED_TEXT), pattern)
    assert time.perf_counter() - started < 1.0
