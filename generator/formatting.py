"""Stage 4: every generated Python file is formatted by black, so output looks hand-kept
and diffs stay minimal."""

from __future__ import annotations

import black

from generator.problems import FormattingError

_MODE = black.Mode(target_versions={black.mode.TargetVersion.PY310}, line_length=88)


def format_files(files: dict[str, str]) -> dict[str, str]:
    formatted = {}
    for path, content in files.items():
        if path.endswith(".py"):
            try:
                content = black.format_str(content, mode=_MODE)
            except black.parsing.InvalidInput as exc:
                raise FormattingError(f"{path}: generated code does not parse: {exc}") from exc
        elif content and not content.endswith("\n"):
            content += "\n"
        formatted[path] = content
    return formatted
