"""``dlrgen``: generate, check, validate; every command is a thin consumer of the pipeline."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from generator import __version__
from generator.problems import FormattingError, SpecError

EXIT_OK, EXIT_STALE, EXIT_SPEC_ERROR, EXIT_INTERNAL = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlrgen", description="Generate typed delivery-status clients from provider specs."
    )
    parser.add_argument("--version", action="version", version=f"dlrgen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_paths(command: argparse.ArgumentParser) -> None:
        command.add_argument("--specs", type=Path, default=Path("specs"), help="directory of specs (default: specs)")
        command.add_argument("--out", type=Path, default=Path("generated"), help="output directory (default: generated)")

    with_paths(commands.add_parser("generate", help="write every package generated from the specs"))
    with_paths(commands.add_parser("check", help="exit 1 with a diff if the output directory is stale"))
    validate = commands.add_parser("validate", help="check specs and print every problem as file:line:col")
    validate.add_argument("files", nargs="*", type=Path, help="spec files (default: every spec in --specs)")
    validate.add_argument("--specs", type=Path, default=Path("specs"))
    commands.add_parser("schema", help="print the JSON Schema of the spec format")
    mock = commands.add_parser("mock", help="serve a provider's API locally, checking signatures like the provider")
    mock.add_argument("provider", help="provider id, e.g. itnio_voice")
    mock.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    mock.add_argument("--port", type=int, default=8080, help="port (default: 8080; 0 picks a free one)")
    mock.add_argument("--scenario", type=Path, help="YAML or JSON file scripting the answers")
    mock.add_argument("--credential", action="append", default=[], metavar="NAME=VALUE",
                      help="a credential the mock accepts (VALUE may be @file); missing ones get test values")
    mock.add_argument("--out", type=Path, default=Path("generated"), help="where the generated packages are")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "generate":
            return _generate(args.specs, args.out)
        if args.command == "check":
            return _check(args.specs, args.out)
        if args.command == "validate":
            return _validate(args.files, args.specs)
        if args.command == "mock":
            return _mock(args)
        return _schema()
    except SpecError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"dlrgen: {count} problem{'s' if count != 1 else ''} in the specs; nothing was written",
              file=sys.stderr)
        return EXIT_SPEC_ERROR
    except FormattingError as exc:
        # The specs were valid but a template produced broken code: a dlrgen bug.
        print(f"dlrgen: internal error, please report it: {exc}", file=sys.stderr)
        print("dlrgen: nothing was written", file=sys.stderr)
        return EXIT_INTERNAL


def _progress_reporter() -> Callable[[str, int, int], None] | None:
    """Progress on an interactive terminal only: quiet in CI and in logs."""
    if os.environ.get("CI") or not sys.stderr.isatty():
        return None

    def report(unit: str, index: int, total: int) -> None:
        end = "\n" if index == total else ""
        print(f"\r\033[Kdlrgen: rendering {unit} ({index}/{total})", end=end, file=sys.stderr, flush=True)

    return report


def _generate(specs: Path, out: Path) -> int:
    from generator.pipeline import plan
    from generator.writer import apply

    todo = plan(specs, out, _progress_reporter())
    changed = apply(out, todo.write, todo.remove)
    for change in changed:
        print(f"{change.kind:8} {out / change.path}")
    rendered = f" (rendered: {', '.join(todo.rendered)})" if todo.rendered else " (nothing to render)"
    print(f"dlrgen: {len(changed)} file{'s' if len(changed) != 1 else ''} changed in {out}{rendered}")
    return EXIT_OK


def _check(specs: Path, out: Path) -> int:
    from generator.pipeline import build
    from generator.writer import changes

    pending = changes(out, build(specs))
    if not pending:
        print(f"dlrgen: {out} is up to date")
        return EXIT_OK
    for change in pending:
        sys.stdout.write(change.diff)
    for change in pending:
        print(f"{change.kind:8} {out / change.path}", file=sys.stderr)
    print(f"dlrgen: {out} is stale ({len(pending)} files); run `dlrgen generate`", file=sys.stderr)
    return EXIT_STALE


def _validate(files: list[Path], specs: Path) -> int:
    from generator.pipeline import load_providers, spec_files

    paths = files or (spec_files(specs) if specs.is_dir() else [])
    if not paths:
        print(f"dlrgen: no specs to validate in {specs}", file=sys.stderr)
        return EXIT_SPEC_ERROR
    _, problems = load_providers(paths)
    if problems:
        raise SpecError(problems)
    print(f"dlrgen: {len(paths)} spec{'s' if len(paths) != 1 else ''} valid")
    return EXIT_OK


def _mock(args: argparse.Namespace) -> int:
    from generator.mock_command import MockCommandError, run_mock

    try:
        return run_mock(args.provider, args.out, args.host, args.port, args.scenario, args.credential)
    except MockCommandError as exc:
        print(f"dlrgen mock: {exc}", file=sys.stderr)
        return EXIT_SPEC_ERROR


def _schema() -> int:
    from generator.loader import spec_schema

    print(json.dumps(spec_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK
