"""A YAML syntax error as a located problem: where the mistake most likely is (a quote left
open, the flow collection that starts it), not only where PyYAML gave up."""

from __future__ import annotations

import yaml

from generator.problems import Problem


def yaml_error_problem(exc: yaml.MarkedYAMLError, shown: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = f"invalid YAML: {exc.problem or exc}"
    if exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
        # "while parsing a flow sequence" -> where that sequence starts, often the real culprit.
        context = exc.context.removeprefix("while parsing ")
        message += f" ({context} that starts at line {exc.context_mark.line + 1})"
    return Problem(shown, line, col, message)


def runaway_quote_problem(text: str, exc: yaml.MarkedYAMLError, shown: str) -> Problem | None:
    """A YAML error that follows a quote left open, placed where the quote opens.

    A quoted scalar may span lines, so a missing closing quote (``title: "Acme Sms``) is not
    an error where it happens: the text runs on to the next quote in the file, often many
    lines on, and YAML fails there. When the error is on the line where a quoted scalar
    spanning several lines ended (or the file ended inside one), the quote that opened it is
    the likely mistake, and that is where the problem is reported."""
    mark = exc.problem_mark
    if mark is None:
        return None
    if exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
        opened = exc.context_mark  # the file ended inside the quotes
    else:
        opened = None
        last_quoted: yaml.ScalarToken | None = None
        try:
            for token in yaml.scan(text, Loader=yaml.SafeLoader):
                if token.start_mark.index >= mark.index:
                    break
                if isinstance(token, yaml.ScalarToken) and token.style in ('"', "'"):
                    last_quoted = token
        except yaml.YAMLError:
            pass  # the scanner's own error: the tokens before it are what counts
        if (
            last_quoted is not None
            and last_quoted.start_mark.line < last_quoted.end_mark.line
            and last_quoted.end_mark.line == mark.line
        ):
            opened = last_quoted.start_mark
    if opened is None or opened.line == mark.line:
        return None
    quote = text[opened.index] if opened.index < len(text) else '"'
    start = (
        f"invalid YAML: the {quote} that opens here is not closed on its line (a closing {quote} missing?)"
    )
    if opened is exc.context_mark:
        return Problem(shown, opened.line + 1, opened.column + 1, f"{start}, so the file ends inside it")
    return Problem(
        shown,
        opened.line + 1,
        opened.column + 1,
        f"{start}, so the quoted text runs on to line {mark.line + 1}, where YAML finds: {exc.problem or exc}",
    )
