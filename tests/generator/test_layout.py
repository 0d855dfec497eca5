"""generator.python.layout writes spec-built statements in black's layout, so black has little
left to do; black is the oracle here: laid-out statements are what black makes of them."""

from __future__ import annotations

import pytest

from generator.python import layout
from generator.emit.formatting import format_python

L = layout.Call


def _black(source: str) -> str:
    return format_python("t.py", source)


def _in_function(statement: str) -> str:
    return "def f():\n" + statement + "\n"


CASES = {
    "fits": L("self._call", ("a", "b")),
    "hugs": L("self._call", tuple(f"argument_{i}" for i in range(8))),
    "one per line": L("self._call", tuple(f"a_long_argument_name_{i}" for i in range(8))),
    "nested": L(
        "self._params",
        (
            "CONSTANT",
            "ParamsClass",
            L("self._arguments", ("CONSTANT", layout.mapping([(f'"k{i}"', f"value_{i}") for i in range(9)]))),
        ),
    ),
    "one item": L("receipts.extend", (L("in_input_order", (f"{'x' * 40}(result, params)", "chunk")),)),
    "exploded": L(
        "Receipt",
        ("a=1", layout.keyword("raw", layout.mapping([('"k"', "v")], exploded=True))),
        exploded=True,
    ),
    "display": L("", ("CONSTANT_NAME_THAT_IS_LONG_ENOUGH", "SomeParamsClassNameThatIsLongerStill")),
}


@pytest.mark.parametrize("name", CASES)
def test_a_laid_out_statement_is_what_black_makes_of_it(name: str) -> None:
    expression = CASES[name]
    prefix = '"key": ' if name == "display" else "x = "
    suffix = "," if name == "display" else ""
    text = layout.statement(expression, 8 if name == "display" else 4, prefix, suffix)
    source = _in_function(f"    y = {{\n{text}\n    }}" if name == "display" else text)
    assert _black(source) == source


def test_imports_are_split_one_name_per_line_when_too_long() -> None:
    names = [f"Name{i}" for i in range(12)]
    text = layout.import_from("package.module", names) + "\n"
    assert _black(text) == text
    short = layout.import_from("package.module", names[:2]) + "\n"
    assert short == "from package.module import Name0, Name1\n" and _black(short) == short
