"""The sign-step registry's problems at the spec's ``file:line`` (the parser reads steps
with ``dlr_core.steps``), and generated packages carrying the spec's schemes as typed data.
The registry itself is runtime/tests/test_sign_steps.py."""

from __future__ import annotations

from pathlib import Path

from dlr_core import steps
from dlr_core.signing import Scheme

from generator.load import load_spec
from generator.parse.provider import parse_provider
from generator.pipeline import load_providers

SPEC = Path(__file__).resolve().parent.parent.parent / "specs" / "itnio_voice.yaml"


def _parse_with(tmp_path: Path, old: str, new: str) -> list[str]:
    text = SPEC.read_text(encoding="utf-8")
    assert old in text
    spec = tmp_path / "itnio_voice.yaml"
    spec.write_text(text.replace(old, new), encoding="utf-8")
    _, problems = load_providers([spec])
    return [f"{p.line}: {p.message}" for p in problems]


def _line_of(tmp_path: Path, needle: str) -> int:
    lines = (tmp_path / "itnio_voice.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_the_parser_reports_the_registry_problems_at_the_spec_line(tmp_path: Path) -> None:
    """Bypassing the JSON Schema (which also refuses these), the parser's own check of a
    step is the registry's, at the step's line."""
    spec, problems = load_spec(SPEC)
    assert spec is not None and not problems
    step = spec.data["auth"]["schemes"]["md5_header"]["sign"][0]
    step["hash"]["padding"] = "pkcs1v15"
    step["hash"]["algorithm"] = "sha512"
    provider, found = parse_provider(spec)
    assert provider is None
    messages = {p.message for p in found}
    assert "unknown key 'padding'; keys: algorithm, input, output" in messages
    assert "'sha512' is not one of: md5, sha1, sha256" in messages
    line = next(
        i for i, text in enumerate(SPEC.read_text().splitlines(), 1) if "hash: {algorithm: md5" in text
    )
    assert [(p.line, Path(p.file).name) for p in found] == [(line, "itnio_voice.yaml")] * 2


def test_unknown_timestamp_styles_and_date_filters_on_milliseconds_are_spec_errors(tmp_path: Path) -> None:
    problems = _parse_with(tmp_path, "timestamp: unix_seconds", "timestamp: unix_nanoseconds")
    assert problems and all(p.startswith(f"{_line_of(tmp_path, 'unix_nanoseconds')}:") for p in problems)
    problems = _parse_with(
        tmp_path,
        'Timestamp: "{timestamp}"',
        'Timestamp: "{timestamp|utc_date}"',
    )
    assert problems == []  # unix seconds: fine
    text_problems = _parse_with(
        tmp_path,
        "      timestamp: unix_seconds\n",
        "      timestamp: unix_milliseconds\n",
    )
    assert text_problems == []
    spec = tmp_path / "itnio_voice.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace(
            'Timestamp: "{timestamp}"', 'Timestamp: "{timestamp|utc_date}"'
        ),
        encoding="utf-8",
    )
    _, found = load_providers([spec])
    assert [p.message for p in found] == [
        "the utc_date filter reads Unix seconds or ISO 8601, not the scheme's unix_milliseconds"
    ]
    assert found[0].line == _line_of(tmp_path, "{timestamp|utc_date}")


def test_generated_api_modules_carry_typed_schemes_equal_to_the_specs() -> None:
    from tests.conftest import provider_specs, spec_data

    for path in provider_specs():
        data = spec_data(path)
        module = __import__(f"dlr_{data['provider']}")
        # a push-only spec has no schemes (and its package no API)
        for name, raw in data.get("auth", {}).get("schemes", {}).items():
            scheme = module.API.auth_schemes[name]
            assert isinstance(scheme, Scheme)
            assert scheme == Scheme.from_data(raw)
            assert Scheme.from_data(dict(scheme)) == scheme  # as a mapping: the spec's data


def test_spec_text_in_a_step_stays_data(tmp_path: Path) -> None:
    from tests.generator.test_spec_features import generate_package

    payload = "'''); __import__('os').system('touch PWNED') #\\\" \\\\"
    text = SPEC.read_text(encoding="utf-8").replace(
        "      sign:\n",
        f'      sign:\n        - as: evil\n          format: "{payload}"\n',
        1,
    )
    package = generate_package(tmp_path, "itnio_voice", text)
    try:
        [bound, _] = package.API.auth_schemes["md5_header"].sign
        assert bound.step == steps.Format(template="'''); __import__('os').system('touch PWNED') #\" \\")
        assert not list(tmp_path.rglob("PWNED"))
    finally:
        import sys

        for module in [m for m in sys.modules if m == "dlr_itnio_voice" or m.startswith("dlr_itnio_voice.")]:
            del sys.modules[module]


def test_raw_bytes_where_text_is_needed_are_spec_errors(tmp_path: Path) -> None:
    """A base64-decoded key is raw bytes: fine alone as a digest's input or an HMAC key, a
    problem inside other text, in a header, or under a filter that reads text."""
    digest = 'hash: {algorithm: md5, input: "{api_key}{api_secret}{timestamp}", output: hex}'
    assert (
        _parse_with(
            tmp_path, digest, digest.replace("{api_key}{api_secret}{timestamp}", "{api_secret|base64_decode}")
        )
        == []
    )
    line = _line_of(tmp_path, "hash: {algorithm: md5")
    inside = _parse_with(tmp_path, digest, digest.replace("{api_secret}", "{api_secret|base64_decode}"))
    assert inside == [
        f"{line}: {{api_secret|base64_decode}} is raw bytes: use it alone, as an HMAC key or a digest's input, "
        "or encode it again (|base64)"
    ]
    header = _parse_with(tmp_path, 'Api-Key: "{api_key}"', 'Api-Key: "{api_key|base64_decode}"')
    assert len(header) == 1 and "{api_key|base64_decode} is raw bytes" in header[0]
    lowered = _parse_with(tmp_path, 'Api-Key: "{api_key}"', 'Api-Key: "{api_key|base64_decode|lower}"')
    assert lowered == [
        f"{_line_of(tmp_path, 'Api-Key')}: the lower filter reads text, but "
        "{api_key|base64_decode|lower} gives it raw bytes"
    ]
    assert _parse_with(tmp_path, 'Api-Key: "{api_key}"', 'Api-Key: "{api_key|base64_decode|base64}"') == []
