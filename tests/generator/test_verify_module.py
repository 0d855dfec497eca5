"""``generator.emit.verify.read_module`` on a module that breaks every rule it checks: what
runs on import (the module's and every class's body, a class inside a function included)
and what is imported (anywhere), in the order it reports them."""

from __future__ import annotations

from generator.emit.verify import read_module

HOSTILE = '''"""doc"""
import os
from pkg import a
print(1)
class A:
    """d"""
    x: int = 1
    f()
    class B:
        import sys
        g()
def h():
    class C:
        k()
    import json
    return "s"
from . import rel
'''


def test_statements_that_run_on_import_then_foreign_imports_are_reported() -> None:
    found = read_module("pkg", "x.py", HOSTILE)
    assert found.problems == (
        # The module body, then class bodies outermost first.
        "x.py:4: unexpected Expr statement",
        "x.py:8: unexpected Expr statement",
        "x.py:11: unexpected Expr statement",
        "x.py:14: unexpected Expr statement",
        # Imports, outermost first: the package's own (line 3) is allowed, a relative one is not.
        "x.py:2: import of 'os' is not one generated code makes",
        "x.py:17: import of '' is not one generated code makes",
        "x.py:15: import of 'json' is not one generated code makes",
        "x.py:10: import of 'sys' is not one generated code makes",
    )
    assert found.constants == ("doc", "d", "s")
    assert found.fields == {"A": frozenset({"x"})}


def test_a_generated_looking_module_has_no_problems() -> None:
    text = 'from __future__ import annotations\n\nfrom dlr_core import Receipt\n\nclass M:\n    """A model."""\n\n    id: str\n'
    found = read_module("pkg", "m.py", text)
    assert (found.problems, found.constants, found.fields) == ((), ("A model.",), {"M": frozenset({"id"})})
