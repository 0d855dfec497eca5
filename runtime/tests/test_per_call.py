"""Per-call work done once: encodings that skip urllib for text that needs none, and
templates read once per scheme, with the same results as before."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dlr_core.request import percent_encode
from dlr_core.signing import SigningError


def test_encodings_match_urllib_for_any_text() -> None:
    from urllib.parse import quote, urlencode

    # hypothesis is the repository's test dependency, not dlr-core's: runtime/tests alone
    # (dlr-core and pytest installed, tests/contract/test_runtime_alone.py) skips this one.
    hypothesis = pytest.importorskip("hypothesis")
    given, st = hypothesis.given, hypothesis.strategies
    # Text generation is slow on a loaded machine (the suite runs beside others): what is
    # checked is the encodings' equality, not how fast inputs are drawn.
    relaxed = hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.too_slow], deadline=None)

    from dlr_core.request import form_encode

    @relaxed
    @given(st.lists(st.tuples(st.text(), st.text()), max_size=5))
    def form(pairs: list[tuple[str, str]]) -> None:
        assert form_encode(pairs) == urlencode(pairs)

    @relaxed
    @given(st.text())
    def percent(text: str) -> None:
        assert percent_encode(text) == quote(text, safe="-_.~")

    form()
    percent()


def test_compiled_templates_read_as_the_template_syntax_says() -> None:
    from dlr_core.signing import compile_template, render

    moment = datetime(2024, 1, 1, tzinfo=timezone.utc)
    variables = {"a": "x y", "b": "B"}
    assert render("{a|percent}&{b|lower}", variables, moment) == "x%20y&b"
    assert render("{{literal}} {a}}}", variables, moment) == "{literal} x y}"
    assert render("no references", variables, moment) == "no references"
    assert render("", variables, moment) == ""
    assert render("{Not_a_reference} {a", variables, moment) == "{Not_a_reference} {a"
    assert compile_template("{a|percent}") is compile_template("{a|percent}")  # read once
    with pytest.raises(SigningError, match="unknown template filter 'nope'"):
        render("{a|nope}", variables, moment)
    with pytest.raises(SigningError, match="has no value"):
        render("{missing}", variables, moment)
