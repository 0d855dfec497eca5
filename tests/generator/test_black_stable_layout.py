"""black formats a text it changes twice (its stability pass), so what generation hands it is
laid out as black lays it out wherever that is known without black: chunks end in exactly one
newline, and tuples of generated names are written as black keeps them."""

from __future__ import annotations

from pathlib import Path

import black
import pytest

from generator.emit import formatting
from generator.python.escape import python_names

MODE = black.Mode(target_versions={black.mode.TargetVersion.PY310}, line_length=formatting.LINE_LENGTH)


@pytest.mark.parametrize(
    ("names", "written"),
    [
        ([], "()"),
        (["GET_RECEIPTS"], "(GET_RECEIPTS,)"),
        (["GET_RECEIPTS", "SEND"], "(\n        GET_RECEIPTS,\n        SEND,\n    )"),
    ],
)
def test_names_are_written_as_black_keeps_them(names: list[str], written: str) -> None:
    assert python_names(names) == written
    code = f"SPEC = Spec(\n    operations={written},\n)\n"
    assert black.format_str(code, mode=MODE) == code


def test_only_names_become_a_tuple_of_names() -> None:
    with pytest.raises(ValueError, match="not a Python name"):
        python_names(["A", "B); import os; ("])


def test_black_is_given_each_chunk_ending_in_one_newline(monkeypatch: pytest.MonkeyPatch) -> None:
    given: list[str] = []
    format_str = black.format_str

    def recording(source: str, *, mode: black.Mode) -> str:
        given.append(source)
        return format_str(source, mode=mode)

    monkeypatch.setattr(black, "format_str", recording)
    text = 'X = 1\n\n\ndef f() -> int:\n    return X\n\n\nclass A:\n    """A."""\n\n    def g(self) -> None:\n        pass\n'
    chunks = formatting.chunks(text)
    assert chunks[-1].text.endswith("\n")  # the file's last chunk ends as the file does
    formatted = [formatting.format_chunk(chunk) for chunk in chunks]
    assert given and all(source.endswith("\n") and not source.endswith("\n\n") for source in given)
    assert formatting.join(chunks, [f for f in formatted if f is not None]) == black.format_str(
        text, mode=MODE
    )
