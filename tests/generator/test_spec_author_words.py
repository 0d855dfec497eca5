"""A spec's words stay the spec's: parameter names the generated code once used for itself
(``status``, ``page``, ``timeout``, ``params`` ...) generate and reach the wire as given;
every text a valid spec holds has a place in the output; the README's example calls the
operation with values that fit the parameters' constraints, and runs against the mock."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, serve_every_client_from
from dlr_core.testing import MockTransport
from generator.parse import examples
from generator.pipeline import load_providers
from tests.generator.test_spec_features import cleanup_modules, generate_package  # noqa: F401 - a fixture

CASES = ROOT / "tests" / "cases"
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _run_readme_example(tmp_path: Path, package: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Run the generated README's first example against the in-process mock; the requests."""
    readme = tmp_path / "generated" / package.__name__ / "README.md"
    code = FENCE.findall(readme.read_text(encoding="utf-8"))[0]
    monkeypatch.setenv("DLR_DEMO_API_KEY", "key-1")
    mock = MockTransport(package.API, {"api_key": "key-1"}, max_clock_skew=None)
    serve_every_client_from(mock, monkeypatch)
    exec(compile(code, str(readme), "exec"), {"__name__": "example"})  # noqa: S102 - generated docs
    assert mock.requests and all(r.authenticated and r.status == 200 for r in mock.requests)
    return list(mock.requests)


def test_the_readme_example_fits_constraints_it_was_given_no_example_for(
    tmp_path: Path, cleanup_modules: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (CASES / "params_example_values" / "specs" / "demo.yaml").read_text(encoding="utf-8")
    package = generate_package(tmp_path, "demo", text)
    [request] = _run_readme_example(tmp_path, package, monkeypatch)
    query = dict(request.query)
    assert re.fullmatch("[A-Z]{2}[0-9]+", query["id"]) and 6 <= len(query["id"]) <= 8
    assert len(query["from"]) >= 5
    assert query["channel"] == "voice" and query["count"] == "10" and float(query["ratio"]) <= 0.5
    assert query["to"] == "+4412,+4413"  # an array's example given as a list
    assert query["tags"] == "7"  # ... or as one item


@pytest.mark.parametrize(
    ("pattern", "min_length", "max_length"),
    [
        (r"^[A-Z]{2}\d{6}$", None, None),
        (r"^\+?[1-9][0-9]{7,14}$", None, None),
        (r"^(abc|de)+$", 7, None),
        (r"^[^0-9a]+$", 3, 3),
        (r"^SM[0-9a-f]{32}$", None, None),
        (r"^(\w+)-\1$", None, None),
        (r"(?i)^msg_[a-z]{4,}$", 10, 12),
        (r"\d{3}", None, None),  # a search: the value need only contain a match
    ],
)
def test_a_made_value_fits_its_pattern_and_lengths(
    pattern: str, min_length: int | None, max_length: int | None
) -> None:
    value = examples.sample("string", pattern=pattern, min_length=min_length, max_length=max_length)
    assert isinstance(value, str) and re.search(pattern, value), value
    assert (min_length or 0) <= len(value) <= (max_length or len(value))


@pytest.mark.parametrize(
    ("pattern", "min_length", "max_length"),
    [
        (r"^(?=.*[0-9])[a-z]{8}$", None, None),  # a lookahead: not written out
        (r"^a{3}$", 5, None),  # lengths the pattern does not allow
        (r"^[0-9]+$", None, 0),
    ],
)
def test_a_value_that_cannot_be_made_is_none(
    pattern: str, min_length: int | None, max_length: int | None
) -> None:
    assert examples.sample("string", pattern=pattern, min_length=min_length, max_length=max_length) is None


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("{wire: id, in: query, type: string, required: true, example: [a, b]}", "only an array"),
        (
            "{wire: id, in: query, type: array, items: string, array_style: comma, max_items: 1,"
            " required: true, example: [a, b]}",
            "outside min/max_items",
        ),
        (
            "{wire: id, in: query, type: array, items: integer, array_style: comma, required: true,"
            " example: [1, x]}",
            "example 'x' is not a valid value",
        ),
        ("{wire: id, in: query, type: string, required: true, enum: [a], example: b}", "not a valid"),
        ("{wire: id, in: query, type: string, required: true, max_length: 2, example: abc}", "not a valid"),
    ],
)
def test_an_example_that_does_not_fit_is_refused_where_it_is(
    tmp_path: Path, param: str, message: str
) -> None:
    text = (CASES / "minimal" / "specs" / "demo.yaml").read_text(encoding="utf-8")
    old = "message_id: {wire: id, in: query, type: string, required: true}"
    spec = tmp_path / "demo.yaml"
    spec.write_text(text.replace(old, f"message_id: {param}"), encoding="utf-8")
    _, problems = load_providers([spec])
    assert [p for p in problems if message in p.message and p.line == 28], problems


def test_parameters_named_like_the_generated_locals_reach_the_wire(
    tmp_path: Path, cleanup_modules: None, mode: str
) -> None:
    from tests.conftest import run_client
    from dlr_core.mock import MockProvider

    text = (CASES / "params_provider_words" / "specs" / "demo.yaml").read_text(encoding="utf-8")
    package = generate_package(tmp_path, "demo", text)
    words = ("status", "params", "result", "receipts", "client", "chunk", "item")
    options = ("timeout", "retries", "extra_params", "interval", "sent_at")
    sent = {"id": "p-1", **{word: f"{word}-1" for word in words + options}}
    delivered = {"get_message": [{"data": {"id": "m-1", "status": "delivered"}}]}
    with MockProvider(package.API, {"api_key": "key-1"}, scenario=delivered) as mock:
        client_class = package.AsyncClient if mode == "async" else package.Client
        for method in ("get_message", "fetch_receipts"):
            client = client_class(api_key="key-1", base_url=mock.base_url, retries=0)
            arguments: dict[str, Any] = {"page": "p-1", **{word: f"{word}-1" for word in words + options}}
            # The options give way, spelled with a trailing underscore in these methods.
            arguments.update(retries_=0, extra_params_={"x-extra": "1"})
            run_client(mode, client, lambda c: getattr(c, method)(**arguments))
        client = client_class(api_key="key-1", base_url=mock.base_url, retries=0)
        arguments = {"page": "p-1", **{word: f"{word}-1" for word in words + options}}
        waited = run_client(
            mode, client, lambda c: c.wait_for_final(**arguments, timeout_=5.0, interval_=0.01, retries_=0)
        )
        prepared = client.prepare("get_message", **arguments, extra_params_={"x-extra": "2"})
    assert waited.receipts and not waited.open
    for request in list(mock.requests)[:2]:
        assert dict(request.query) == {**sent, "x-extra": "1"}
    assert dict(mock.requests[2].query) == sent
    assert dict(prepared.url.params) == {**sent, "x-extra": "2"}


@pytest.mark.slow  # a mypy --strict subprocess
def test_parameters_named_like_the_generated_locals_type_check(tmp_path: Path, cleanup_modules: None) -> None:
    from tests.conftest import mypy_strict_errors

    text = (CASES / "params_provider_words" / "specs" / "demo.yaml").read_text(encoding="utf-8")
    generate_package(tmp_path, "demo", text)
    script = tmp_path / "user.py"
    script.write_text(
        "from dlr_demo import Client\n\n"
        "with Client(api_key='k') as client:\n"
        "    client.fetch_receipts(page='p', status='s', params='x', result='r', client='c',\n"
        "                          timeout='t', retries='r', retries_=0)\n"
        "    client.wait_for_final(page='p', timeout='t', timeout_=60.0, sent_at='s', sent_at_=None)\n",
        encoding="utf-8",
    )
    # the script and the whole generated package, strictly
    assert mypy_strict_errors(script, tmp_path / "generated" / "dlr_demo") == []
