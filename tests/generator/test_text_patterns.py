"""generator.parse.text_patterns: which receipt patterns are refused, and that the ones
accepted stay within the runtime's bound on a text built to make them backtrack."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dlr_core.values import MAX_MATCHED_TEXT, text_match
from generator.parse.text_patterns import pattern_problem
from tests.conftest import ROOT
from tests.generator.test_spec_features import cleanup_modules, generate_package  # noqa: F401 - a fixture

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


@pytest.mark.parametrize(
    "pattern",
    [
        "a{99999999999}(b)",  # a repeat count past sys.maxsize: OverflowError in re
        "(" * 1000 + "a" + ")" * 1000,  # deeper than re's parser recurses
        "(?:" * 5000 + "(a)" + ")" * 5000,
        "(a)" + "b?" * 5000,  # 2**5000 ways: the number is not printed
    ],
)
def test_a_hostile_pattern_is_a_problem_not_a_crash(pattern: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None and len(problem) < 400


def test_the_golden_cases_receipts_take_the_parts_of_the_texts(tmp_path: Path, cleanup_modules: None) -> None:
    """tests/cases/receipts_text_match generated and run: the code from the status text, a
    detail from an optional object's text and one from a parameter; no match, no value."""
    spec = (ROOT / "tests" / "cases" / "receipts_text_match" / "specs" / "demo.yaml").read_text()
    package = generate_package(tmp_path, "demo", spec)
    answer = {
        "id": "m-1",
        "state": "failed",
        "statusDetails": "ErrorCode: 5002. ErrorMessage: Message Delivery Timeout",
        "error": {"text": "rejected (network 27)"},
    }
    params = package.GetMessageParams(message_id="eu-123")
    [receipt] = package.get_message_receipts(package.Message.model_validate(answer), params)
    assert receipt.error_code == "5002"
    assert receipt.error_description == answer["statusDetails"]
    assert receipt.details == {"network": "27", "region": "eu"}
    quiet = {"id": "m-2", "state": "delivered", "statusDetails": "Delivered"}
    [receipt] = package.get_message_receipts(package.Message.model_validate(quiet))
    assert receipt.error_code is None and receipt.details == {"network": None, "region": None}
