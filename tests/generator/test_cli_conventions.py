"""The CLI's conventions: one exit code per outcome (README, "Exit codes"), --version, a
description in every --help, errors on stderr, colour on a terminal only and never with
NO_COLOR. Run in-process: each case is one call of ``main``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SPECS
from generator import __version__
from generator.commands import cli
from generator.commands.cli import main


def _copy(tmp_path: Path) -> list[str]:
    """A project of one small provider, generated: the exit codes do not depend on how many
    providers there are, and one keeps these in-process cases fast (CI's `dlrgen check` covers
    the whole tree)."""
    (tmp_path / "specs").mkdir()
    shutil.copy(SPECS / "sgate_otp.yaml", tmp_path / "specs")
    paths = ["--specs", str(tmp_path / "specs"), "--out", str(tmp_path / "generated")]
    assert main(["generate", *paths]) == 0
    return paths


def test_exit_0_when_up_to_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *_copy(tmp_path)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_exit_1_when_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = _copy(tmp_path)
    (tmp_path / "generated" / "dlr_sgate_otp" / "README.md").write_text("edited\n", encoding="utf-8")
    assert main(["check", *paths]) == 1
    assert "is stale" in capsys.readouterr().err


def test_exit_2_for_spec_problems_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text("dlrgen: 1\nprovider: broken\n", encoding="utf-8")
    assert main(["validate", str(spec)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and re.search(r"broken\.yaml:\d+:\d+: ", err)


@pytest.mark.parametrize("argv", [["bogus"], ["check", "--nope"], [], ["mock"]])
def test_exit_64_for_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 64
    out, err = capsys.readouterr()
    assert out == "" and "usage: dlrgen" in err and "error:" in err


def test_exit_70_for_a_crash_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def crash(output: object = None) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "_schema", crash)
    monkeypatch.delenv("DLRGEN_DEBUG", raising=False)
    assert main(["schema"]) == 70
    err = capsys.readouterr().err
    assert "internal error, please report it: RuntimeError: boom" in err and "Traceback" not in err
    monkeypatch.setenv("DLRGEN_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["schema"])


def test_exit_70_when_generated_code_fails_its_own_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from generator.problems import UnsafeOutputError

    def unsafe(*args: Any, **kwargs: Any) -> None:
        raise UnsafeOutputError("specs/x.yaml: client.py:1: unexpected Call statement")

    paths = _copy(tmp_path)
    (tmp_path / "generated" / ".dlrgen-manifest.json").unlink()  # render everything
    monkeypatch.setattr("generator.emit.verify.verify_provider", unsafe)
    before = sorted(p.read_bytes() for p in (tmp_path / "generated").rglob("*.py"))
    assert main(["generate", *paths]) == 70
    assert "internal error" in capsys.readouterr().err
    assert sorted(p.read_bytes() for p in (tmp_path / "generated").rglob("*.py")) == before


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.strip() == f"dlrgen {__version__}"


def test_every_subcommand_help_has_a_description(capsys: pytest.CaptureFixture[str]) -> None:
    parser = cli._parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    assert subcommands
    for name, sub in subcommands.items():
        assert sub.description and len(sub.description) > 20, name


def test_every_option_and_argument_of_every_subcommand_has_help() -> None:
    parser = cli._parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    missing = [
        f"dlrgen {name} {'/'.join(action.option_strings) or action.dest}"
        for name, sub in subcommands.items()
        for action in sub._actions
        if action.dest != "help" and not (action.help and action.help.strip())
    ]
    assert not missing, f"no help text: {missing}"
    # The defaults a user would otherwise have to guess are in the text.
    for name, sub in subcommands.items():
        for action in sub._actions:
            if action.option_strings and isinstance(action.default, Path):
                assert f"default: {action.default}" in str(action.help), (name, action.option_strings)


def test_exit_codes_are_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Exit codes") :]
    for code in (cli.EXIT_OK, cli.EXIT_STALE, cli.EXIT_SPEC_ERROR, cli.EXIT_USAGE, cli.EXIT_INTERNAL):
        assert f"| {code} |" in table


class _Terminal:
    """A stderr that says it is a terminal."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_only_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert cli._styled("x", "error") == "\033[1;31mx\033[0m"
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli._styled("x", "error") == "x"
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr("sys.stderr", type("Pipe", (_Terminal,), {"isatty": lambda self: False})())
    assert cli._styled("x", "error") == "x"


def test_new_outside_a_checkout_writes_a_schema_its_spec_can_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    specs = tmp_path / "project" / "specs"
    assert main(["new", "acme_sms", "--specs", str(specs)]) == 0
    assert (
        (specs / "acme_sms.yaml")
        .read_text(encoding="utf-8")
        .startswith("# yaml-language-server: $schema=spec.schema.json\n")
    )
    written = json.loads((specs / "spec.schema.json").read_text(encoding="utf-8"))
    assert written == json.loads((ROOT / "generator" / "spec.schema.json").read_text(encoding="utf-8"))
    assert main(["validate", str(specs / "acme_sms.yaml")]) == 0
    assert main(["schema", "--output", str(tmp_path / "elsewhere.json")]) == 0
    assert json.loads((tmp_path / "elsewhere.json").read_text(encoding="utf-8")) == written


def test_a_problem_reached_twice_is_reported_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # One bad field in an object both operations share through a YAML anchor.
    text = (ROOT / "tests" / "cases" / "minimal" / "specs" / "demo.yaml").read_text(encoding="utf-8")
    text = text.replace("    response:\n      title: Message", "    response: &message\n      title: Message")
    text = text.replace(
        "        id: {type: string}", "        id: {type: string}\n        BadName: {type: string}"
    )
    text = text.replace(
        "statuses:",
        "  get_message_again:\n    summary: Again.\n    method: GET\n    path: /messages/again\n"
        "    params:\n      message_id: {wire: id, in: query, type: string, required: true}\n"
        "    response: *message\nstatuses:",
    )
    spec = tmp_path / "demo.yaml"
    spec.write_text(text, encoding="utf-8")
    assert main(["validate", str(spec)]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if "demo.yaml:" in line]
    assert lines and len(lines) == len(set(lines)), lines
    assert any("'BadName' is not a snake_case Python name" in line for line in lines)
