"""Broken specs give every problem as file:line:col, never a traceback.

Each case is a valid spec with one mistake; the line the error must point at is marked
``# <-`` in the text, so each expectation was placed by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from generator.pipeline import load_providers

VALID = """\
dlrgen: 1
provider: demo_sms
title: Demo SMS
docs: https://example.com/docs
servers:
  default: main
  choices:
    main: {url: https://api.example.com}
auth:
  credentials:
    api_key: {description: Key.}
    api_secret: {description: Secret., secret: true}
  default_scheme: md5
  schemes:
    md5:
      description: MD5 of key, secret and timestamp.
      timestamp: unix_seconds
      sign:
        - as: signature
          hash: {algorithm: md5, input: "{api_key}{api_secret}{timestamp}", output: hex}
      attach:
        header: {X-Key: "{api_key}", X-Sign: "{signature}"}
envelope:
  success: {field: code, equals: 0}
  code: code
  message: msg
  data: data
operations:
  query:
    summary: Query one message.
    method: GET
    path: /status
    params:
      message_id: {wire: msgId, in: query, type: string, required: true}
      day: {wire: day, in: query, type: date, format: yyyyMMdd}
    response:
      title: MessageStatus
      type: object
      properties:
        msgId: {name: message_id, type: string}
        state: {name: state, status: state}
        report: {status: report}
    receipts:
      records: .
      status: {rule: combined}
      message_id: msgId
statuses:
  state:
    class: State
    type: integer
    description: Gateway state.
    values:
      - {value: 1, member: SENT, canonical: sent, description: Sent.}
      - {value: 2, member: FAILED, canonical: failed, description: Failed.}
  report:
    class: Report
    type: string
    description: Carrier report.
    values:
      - {value: DELIVRD, member: DELIVERED, canonical: delivered, description: Delivered.}
status_rules:
  combined:
    description: Report first.
    first_match:
      - when: {field: report, final: true}
        use: report
      - use: state
"""


def write(tmp_path: Path, text: str, name: str = "demo_sms.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def mutate(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


def test_the_base_spec_is_valid(tmp_path: Path) -> None:
    providers, problems = load_providers([write(tmp_path, VALID)])
    assert problems == []
    assert [p.id for p in providers] == ["demo_sms"]


CASES = [
    (
        "typo in a top-level key",
        mutate("statuses:\n", "statuse:  # <-\n"),
        "unknown key 'statuse'",
        "did you mean 'statuses'",
    ),
    (
        "canonical value misspelt",
        mutate("canonical: failed,", "canonical: faild,  # <-\n       "),
        "'faild' is not one of",
        "did you mean 'failed'",
    ),
    (
        "status enum that does not exist",
        mutate("state: {name: state, status: state}", "state: {name: state, status: stat}  # <-"),
        "unknown status enum 'stat'",
        "defined: state, report",
    ),
    (
        "duplicate wire name",
        mutate("      day: {wire: day,", "      day: {wire: msgId,  # <-\n           "),
        "wire name 'msgId' is already used by parameter 'message_id'",
        "",
    ),
    (
        "raw value of the wrong type",
        mutate("{value: 2, member: FAILED", "{value: two, member: FAILED  # <-\n        "),
        "'two' is not an integer",
        "has type integer",
    ),
    (
        "raw value mapped twice",
        mutate("{value: 2, member: FAILED", "{value: 1, member: FAILED  # <-\n        "),
        "raw value 1 is already mapped by member SENT",
        "",
    ),
    (
        "template uses an unknown variable",
        mutate('X-Sign: "{signature}"', 'X-Sign: "{signatur}"  # <-\n        '),
        "template uses {signatur}, which is not defined here",
        "",
    ),
    (
        "records path to a missing field",
        mutate("      records: .\n", "      records: Items[]  # <-\n"),
        "MessageStatus has no field 'Items'",
        "fields: msgId, state, report",
    ),
    (
        "default scheme not defined",
        mutate("default_scheme: md5", "default_scheme: sha  # <-"),
        "default scheme 'sha' is not one of: md5",
        "",
    ),
    (
        "wire name that is not a Python name",
        mutate("        msgId: {name: message_id, type: string}\n", "        msgId: {type: string}  # <-\n"),
        "wire name 'msgId' is not a snake_case Python name",
        "add name: msg_id",
    ),
    (
        "provider id not the file name",
        mutate("provider: demo_sms", "provider: other_sms  # <-"),
        "must match the file name 'demo_sms.yaml'",
        "",
    ),
    (
        "duplicate YAML key",
        mutate("    method: GET\n", "    method: GET\n    method: POST  # <-\n"),
        "duplicate key 'method'",
        "",
    ),
    (
        "unsafe YAML tag",
        mutate("title: Demo SMS", "title: !!python/object/apply:os.system [echo hacked]  # <-"),
        "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed",
        "",
    ),
    (
        "YAML syntax error",
        mutate("    method: GET\n", "    method: [GET\n    path2: x  # <-\n"),
        "invalid YAML",
        "",
    ),
    (
        "missing required key",
        mutate("    method: GET\n", ""),
        "operations.query is missing the required key 'method'",
        "",
    ),
    (
        "unknown date token",
        mutate("format: yyyyMMdd}", "format: yyyyMMddQ}  # <-"),
        "'Q' at 8 is not a known field",
        "",
    ),
    (
        "catch-all rule before another",
        mutate(
            "      - when: {field: report, final: true}\n        use: report\n", "      - use: report  # <-\n"
        ),
        "always matches",
        "move it last",
    ),
    (
        "bad provider name pattern",
        mutate("provider: demo_sms", "provider: Demo-SMS  # <-"),
        "must be a snake_case name",
        "",
    ),
    (
        "credential never used",
        mutate('input: "{api_key}{api_secret}{timestamp}"', 'input: "{api_key}{timestamp}"').replace(
            "    api_secret: {description: Secret., secret: true}",
            "    api_secret: {description: Secret., secret: true}  # <-",
        ),
        "credential 'api_secret' is not used by any auth scheme or callback",
        "",
    ),
    (
        "raw status value with no canonical mapping",
        mutate("{value: 2, member: FAILED, canonical: failed,", "{value: 2, member: FAILED,  # <-\n       "),
        "is missing the required key 'canonical'",
        "(one of: queued, sending, sent, delivered",
    ),
    (
        "python keyword as a name",
        mutate("      message_id: {wire: msgId,", "      class: {wire: msgId,  # <-\n              "),
        "'class' is a Python keyword",
        "",
    ),
]


@pytest.mark.parametrize(("title", "text", "message", "hint"), CASES, ids=[c[0] for c in CASES])
def test_spec_mistake_is_reported_at_its_line(
    tmp_path: Path, title: str, text: str, message: str, hint: str
) -> None:
    path = write(tmp_path, text)
    _, problems = load_providers([path])
    lines = text.splitlines()
    marked = [i + 1 for i, line in enumerate(lines) if "# <-" in line]
    matching = [p for p in problems if message in p.message]
    assert matching, f"{title}: no problem mentions {message!r}; got {[str(p) for p in problems]}"
    problem = matching[0]
    assert problem.file.endswith("demo_sms.yaml")
    if marked:
        assert problem.line == marked[0], f"{title}: {problem} (expected line {marked[0]})"
    assert hint in problem.message
    assert str(problem).startswith(f"{problem.file}:{problem.line}:{problem.column}: ")


def test_missing_key_points_at_the_mapping(tmp_path: Path) -> None:
    text = mutate("    method: GET\n", "")
    _, problems = load_providers([write(tmp_path, text)])
    [problem] = [p for p in problems if "'method'" in p.message]
    # The operation's mapping starts on the line of its first key, `summary:`.
    assert text.splitlines()[problem.line - 1].strip().startswith("summary:")


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = mutate("statuses:\n", "statuse:\n").replace("default_scheme: md5", "default_scheme: sha")
    _, problems = load_providers([write(tmp_path, text)])
    messages = " | ".join(p.message for p in problems)
    assert "unknown key 'statuse'" in messages
    assert "missing the required key 'statuses'" in messages


def test_cli_prints_problems_and_exits_2_without_traceback(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    write(specs, mutate("canonical: failed,", "canonical: faild,"))
    out = tmp_path / "generated"
    result = subprocess.run(
        [sys.executable, "-m", "generator", "generate", "--specs", str(specs), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "specs/demo_sms.yaml:" in result.stderr
    assert "'faild' is not one of" in result.stderr
    assert not out.exists()


def test_an_unclosed_quote_in_a_new_spec_is_reported_where_it_opens(tmp_path: Path) -> None:
    """The issue's case: `dlrgen new`'s spec with `title: "Acme Sms` on line 9 failed 27
    lines later, where the runaway text met the next quote."""
    from generator.commands.cli import main

    assert main(["new", "acme_sms", "--specs", str(tmp_path / "specs")]) == 0
    spec = tmp_path / "specs" / "acme_sms.yaml"
    lines = spec.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[8].startswith("title: ")
    lines[8] = 'title: "Acme Sms\n'
    spec.write_text("".join(lines), encoding="utf-8")
    _, [problem] = load_providers([spec])
    assert (problem.line, problem.column) == (9, 8), str(problem)
    assert "is not closed on its line" in problem.message and "runs on to line" in problem.message


def test_a_quoted_text_over_several_lines_is_not_blamed_for_a_later_mistake(tmp_path: Path) -> None:
    # A description written as a quoted scalar on two lines is valid YAML; the mistake is
    # the unclosed flow sequence further down, and that is where it is reported.
    text = mutate("title: Demo SMS\n", 'title: "Demo\n  SMS"\n').replace(
        "    method: GET\n", "    method: [GET  # <-\n"
    )
    _, [problem] = load_providers([write(tmp_path, text)])
    assert "is not closed on its line" not in problem.message, str(problem)
    marked = next(i + 1 for i, line in enumerate(text.splitlines()) if "# <-" in line)
    assert marked <= problem.line <= marked + 1, str(problem)
