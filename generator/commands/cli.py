"""``dlrgen``: generate, check, validate; every command is a thin consumer of the pipeline."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from generator import __version__
from generator.problems import FormattingError, SpecError

# The exit codes (README, "Exit codes"). 64 and 70 are sysexits.h's EX_USAGE and EX_SOFTWARE.
EXIT_OK = 0  # done; or up to date
EXIT_STALE = 1  # check/docs --check: the output differs; build: nothing releasable
EXIT_SPEC_ERROR = 2  # a spec (or an input the command was given) has problems; nothing written
EXIT_USAGE = 64  # the command line itself is wrong
EXIT_INTERNAL = 70  # a dlrgen bug: generated code failed its own checks, or a crash


_STYLES = {"error": "\033[1;31m", "warning": "\033[33m", "ok": "\033[32m"}


def _styled(text: str, style: str) -> str:
    """``text`` in colour when standard error is a terminal and NO_COLOR is not set
    (https://no-color.org); plain in pipes, logs and CI."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb" or not sys.stderr.isatty():
        return text
    return f"{_STYLES[style]}{text}\033[0m"


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on exit 64 (its own default, 2, is our spec-error code)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dlrgen",
        description="Generate typed delivery-status clients from provider specs.",
        epilog="exit codes: 0 ok, 1 stale (check) or not releasable (build), 2 spec problems, "
        "64 usage error, 70 internal error",
    )
    parser.add_argument("--version", action="version", version=f"dlrgen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_parser = commands.add_parser

    def command(name: str, help: str) -> argparse.ArgumentParser:
        """A subcommand whose ``--help`` describes it too (argparse shows ``help`` only in the list)."""
        return add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")

    def with_paths(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--specs", type=Path, default=Path("specs"), help="directory of specs (default: specs)"
        )
        command.add_argument(
            "--out", type=Path, default=Path("generated"), help="output directory (default: generated)"
        )

    with_paths(command("generate", "write every package generated from the specs"))
    with_paths(command("check", "exit 1 with a diff if the output directory is stale"))
    validate = command("validate", "check specs and print every problem as file:line:col")
    validate.add_argument("files", nargs="*", type=Path, help="spec files (default: every spec in --specs)")
    validate.add_argument(
        "--specs", type=Path, default=Path("specs"), help="directory of specs (default: specs)"
    )
    schema = command("schema", "print the JSON Schema of the spec format, or write it to a file")
    schema.add_argument(
        "--output", type=Path, help="write it here (e.g. specs/spec.schema.json) for editors to use"
    )
    with_paths(command("watch", "regenerate on every save of a spec or template"))
    docs = command("docs", "write docs/providers.md, the cross-provider status matrix")
    docs.add_argument("--specs", type=Path, default=Path("specs"), help="directory of specs (default: specs)")
    docs.add_argument(
        "--output",
        type=Path,
        default=Path("docs/providers.md"),
        help="the file to write or check (default: docs/providers.md)",
    )
    docs.add_argument(
        "--check", action="store_true", help="exit 1 if the file is not current instead of writing"
    )
    new = command("new", "scaffold a commented spec for a new provider")
    new.add_argument("provider", help="provider id, snake_case, e.g. acme_sms")
    new.add_argument("--title", help="the provider's name (default: from the id)")
    new.add_argument(
        "--specs", type=Path, default=Path("specs"), help="where to write the spec (default: specs)"
    )
    release = command(
        "build", "build wheels and sdists of the runtime and every generated package, for your own index"
    )
    with_paths(release)
    release.add_argument("--dist", type=Path, default=Path("dist"), help="where to put them (default: dist)")
    release.add_argument(
        "--version-suffix",
        default="",
        metavar="SUFFIX",
        help="append to every package version, e.g. .dev42 for a CI build",
    )
    mock = command("mock", "serve a provider's API locally, checking signatures like the provider")
    mock.add_argument("provider", help="provider id, e.g. acme_sms")
    mock.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    mock.add_argument("--port", type=int, default=8080, help="port (default: 8080; 0 picks a free one)")
    mock.add_argument("--scenario", type=Path, help="YAML or JSON file scripting the answers")
    mock.add_argument(
        "--credential",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a credential the mock accepts (VALUE may be @file); missing ones get test values",
    )
    mock.add_argument(
        "--out",
        type=Path,
        default=Path("generated"),
        help="where the generated packages are (default: generated)",
    )
    mock.add_argument("--specs", type=Path, default=Path("specs"), help="directory of specs (default: specs)")
    mock.add_argument(
        "--push",
        metavar="URL",
        help="instead of serving, push the scenario's callbacks to URL, signed as the provider signs",
    )
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
        if args.command == "build":
            return _build(args.specs, args.out, args.dist, args.version_suffix)
        if args.command == "watch":
            return _watch(args.specs, args.out)
        if args.command == "docs":
            return _docs(args.specs, args.output, args.check)
        if args.command == "new":
            return _new(args.provider, args.title, args.specs)
        return _schema(args.output)
    except SpecError as exc:
        for problem in exc.problems:
            print(_styled(str(problem), "error"), file=sys.stderr)
        count = len(exc.problems)
        print(
            f"dlrgen: {count} problem{'s' if count != 1 else ''} in the specs; nothing was written",
            file=sys.stderr,
        )
        return EXIT_SPEC_ERROR
    except FormattingError as exc:
        # The specs were valid but a template produced broken code: a dlrgen bug.
        print(f"dlrgen: internal error, please report it: {exc}", file=sys.stderr)
        print("dlrgen: nothing was written", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a crash is a bug: say so, apart from "stale" and "spec problems"
        if os.environ.get("DLRGEN_DEBUG"):
            raise
        print(f"dlrgen: internal error, please report it: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("dlrgen: set DLRGEN_DEBUG=1 to see the traceback", file=sys.stderr)
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
    from generator.commands.release import package_digests
    from generator.emit.manifest import OutputPathError
    from generator.emit.writer import Staging, locked, remove_stray_temp_files
    from generator.pipeline import plan

    written: dict[str, tuple[str, str]] = {}  # each rendered package's version and digest

    try:
        with locked(out):  # plan reads what is then written: no other run may come between
            for path in remove_stray_temp_files(out):
                print(f"removed stray temp file {out / path}")
            with Staging(out) as staging:  # each file on disk as it comes; all renamed at the end

                def take(provider: object, files: dict[str, str]) -> None:
                    for path, content in files.items():
                        staging.add(path, content)
                    written.update(package_digests(files))

                todo = plan(specs, out, _progress_reporter(), take)
                for path, content in todo.write.items():
                    staging.add(path, content)
                changed = staging.commit(todo.remove)
            unbumped = _unreleased_changes(out, written, todo.rendered)
    except OutputPathError as exc:
        print(exc, file=sys.stderr)
        return EXIT_SPEC_ERROR
    for change in changed:
        print(f"{change.kind:8} {out / change.path}")
    for message in unbumped:
        print(_styled(f"dlrgen: warning: {message}", "warning"), file=sys.stderr)
    _refresh_status_matrix(specs, bool(todo.rendered))
    names = (
        todo.rendered
        if len(todo.rendered) <= 8
        else [*todo.rendered[:8], f"and {len(todo.rendered) - 8} more"]
    )
    rendered = f" (rendered: {', '.join(names)})" if todo.rendered else " (nothing to render)"
    print(f"dlrgen: {len(changed)} file{'s' if len(changed) != 1 else ''} changed in {out}{rendered}")
    return EXIT_OK


def _unreleased_changes(out: Path, written: dict[str, tuple[str, str]], rendered: list[str]) -> list[str]:
    """The packages just rendered whose files changed under the version of a recorded release
    (``.dlrgen-releases.json``, written by ``dlrgen build``; generating records nothing).
    ``written``: each rendered package's version and digest (``package_digests``)."""
    from generator.commands.release import read_record, unbumped
    from generator.emit.manifest import unit_of

    current = {top: entry for top, entry in written.items() if unit_of(top) in rendered}
    return unbumped(read_record(out), current)


def _check(specs: Path, out: Path) -> int:
    from generator.emit.manifest import OutputPathError
    from generator.emit.writer import changes, locked
    from generator.pipeline import build

    files = build(specs)  # reads only the specs: no need to hold up generate meanwhile
    try:
        with locked(out, reading=True):  # a tree being written would compare as neither old nor new
            pending = changes(out, files)
    except OutputPathError as exc:
        print(exc, file=sys.stderr)
        return EXIT_SPEC_ERROR
    notes = _check_notes(out, files, bool(pending))
    for note in notes:
        print(f"dlrgen: {note}", file=sys.stderr)
    if not pending:
        if notes:
            return EXIT_STALE
        print(f"dlrgen: {out} is up to date")
        return EXIT_OK
    for change in pending:
        sys.stdout.write(change.diff)
    for change in pending:
        print(f"{change.kind:8} {out / change.path}", file=sys.stderr)
    print(
        _styled(f"dlrgen: {out} is stale ({len(pending)} files); run `dlrgen generate`", "error"),
        file=sys.stderr,
    )
    return EXIT_STALE


def _check_notes(out: Path, files: dict[str, str], stale: bool) -> list[str]:
    """What a diff alone would not say: a package changed under an old version, or the tree
    was formatted by another black (so a diff may be nothing but formatting)."""
    from importlib.metadata import version

    from generator.commands.release import package_digests, read_record, unbumped
    from generator.emit.manifest import Manifest

    notes = unbumped(read_record(out), package_digests(files))
    manifest = Manifest.read(out)
    recorded = manifest.tools.get("black") if manifest else None
    installed = version("black")
    if stale and recorded and recorded != installed:
        notes.append(
            f"{out} was formatted by black {recorded} and this environment has black {installed}: "
            f"install black=={recorded} to compare, or regenerate and commit with black {installed}"
        )
    return notes


def _build(specs: Path, out: Path, dist: Path, version_suffix: str) -> int:
    from generator.commands.release import ReleaseError, build_releases

    try:
        built = build_releases(specs, out, dist, version_suffix=version_suffix)
    except ReleaseError as exc:
        print(f"dlrgen: {exc}", file=sys.stderr)
        return EXIT_STALE
    for release in built:
        for path in release.files:
            print(f"built    {path}")
    print(f"dlrgen: {len(built)} distributions built in {dist}")
    return EXIT_OK


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


def _watch(specs: Path, out: Path) -> int:
    import signal
    import threading

    from watchfiles import watch

    from generator.paths import templates_root

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())

    def regenerate() -> None:
        try:
            _generate(specs, out)
        except SpecError as exc:
            for problem in exc.problems:
                print(_styled(str(problem), "error"), file=sys.stderr, flush=True)
            print(
                f"dlrgen: {len(exc.problems)} problem(s); {out} left as it was", file=sys.stderr, flush=True
            )
        except FormattingError as exc:
            print(f"dlrgen: internal error, please report it: {exc}", file=sys.stderr, flush=True)
        sys.stdout.flush()

    roots = [specs, Path(str(templates_root()))]
    regenerate()
    ready = False
    try:
        # yield_on_timeout: the first (empty) batch says the watcher is in place, so
        # "watching" is only printed once a save can no longer be missed.
        for batch in watch(
            *roots,
            stop_event=stop,
            debounce=200,
            step=50,
            rust_timeout=300,
            yield_on_timeout=True,
            watch_filter=lambda change, path: path.endswith((".yaml", ".yml", ".jinja")),
        ):
            if not ready:
                ready = True
                print(f"dlrgen: watching {', '.join(str(r) for r in roots)} (Ctrl-C to stop)", flush=True)
            if not batch:
                continue
            names = sorted({Path(path).name for _, path in batch})
            print(f"dlrgen: changed: {', '.join(names)}", flush=True)
            regenerate()
    except KeyboardInterrupt:
        pass
    print("dlrgen: stopped watching", flush=True)
    return EXIT_OK


def _refresh_status_matrix(specs: Path, rendered: bool) -> None:
    """Keep the project's docs/providers.md (next to specs/) in step with the specs, when the
    project has one: adding a provider is then one command. Projects without it are left alone."""
    output = specs.parent / "docs" / "providers.md"
    if rendered and output.is_file():
        from generator.pipeline import build_docs

        text = build_docs(specs)
        if output.read_text(encoding="utf-8") != text:
            output.write_text(text, encoding="utf-8")
            print(f"dlrgen: wrote {output}")


def _docs(specs: Path, output: Path, check: bool) -> int:
    from generator.pipeline import build_docs

    text = build_docs(specs)
    current = output.read_text(encoding="utf-8") if output.is_file() else None
    if check:
        if current == text:
            print(f"dlrgen: {output} is up to date")
            return EXIT_OK
        print(f"dlrgen: {output} is stale; run `dlrgen docs`", file=sys.stderr)
        return EXIT_STALE
    if current != text:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        print(f"dlrgen: wrote {output}")
    else:
        print(f"dlrgen: {output} is up to date")
    return EXIT_OK


def _new(provider: str, title: str | None, specs: Path) -> int:
    import re

    import jinja2

    from generator.paths import templates_root

    if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", provider):
        print(f"dlrgen new: {provider!r} is not a snake_case provider id (e.g. acme_sms)", file=sys.stderr)
        return EXIT_SPEC_ERROR
    target = specs / f"{provider}.yaml"
    if target.exists():
        print(f"dlrgen new: {target} already exists", file=sys.stderr)
        return EXIT_SPEC_ERROR
    source = templates_root().joinpath("new").joinpath("spec.yaml.jinja").read_text(encoding="utf-8")
    title = title or " ".join(part.capitalize() for part in provider.split("_"))
    # Editors find the schema next to the spec: this checkout's own, or a copy written once.
    in_checkout = specs.parent / "generator" / "spec.schema.json"
    if in_checkout.is_file():
        schema_path = os.path.relpath(in_checkout, specs)
    else:
        schema_path = "spec.schema.json"
        if not (specs / schema_path).is_file():
            _schema(specs / schema_path)
    text = jinja2.Template(source, keep_trailing_newline=True).render(
        provider=provider, title=json.dumps(title), schema_path=schema_path
    )
    specs.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"dlrgen: wrote {target}; edit it, then `dlrgen validate {target}` and `dlrgen generate`")
    return EXIT_OK


def _mock(args: argparse.Namespace) -> int:
    from generator.commands.mock import MockCommandError, run_mock

    try:
        return run_mock(
            args.provider,
            args.out,
            args.host,
            args.port,
            args.scenario,
            args.credential,
            args.specs,
            push_url=args.push,
        )
    except MockCommandError as exc:
        print(f"dlrgen mock: {exc}", file=sys.stderr)
        return EXIT_SPEC_ERROR


def _schema(output: Path | None = None) -> int:
    from generator.load import spec_schema

    text = json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return EXIT_OK
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"dlrgen: wrote {output}")
    return EXIT_OK
