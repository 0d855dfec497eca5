"""Statements whose length depends on the spec, laid out the way black lays them out.

black formats every generated file; most of its time goes into splitting lines that are too
long. Templates write their fixed code in black's layout already; the statements built from
spec names (calls with one argument per parameter, imports of generated classes) are laid
out here by black's rules for brackets: the whole statement on one line when it fits in 88
columns; else the bracket's contents on one line of their own; else one item per line with
a trailing comma, each item laid out the same way. black still formats the result (and has
the last word where these rules fall short); it then mostly has nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass

LINE_LENGTH = 88


@dataclass(frozen=True)
class Call:
    """``head(item, item, ...)``; with no head, a display (a tuple, or a dict with
    ``brackets="{}"``), which black splits one item per line as soon as it is too long."""

    head: str
    items: tuple[Expression, ...]
    brackets: str = "()"
    exploded: bool = False  # one item per line whatever the length (black's "magic trailing comma")
    prefix: str = ""  # what stands before it on its line, such as ``name=`` for a keyword argument

    def __str__(self) -> str:  # a template writing a Call itself would write its repr
        raise TypeError("a layout.Call is written through layout.statement, not str()")

    def flat(self) -> str:
        if self.exploded:  # as long as it takes never to fit on a line (it is never written)
            return "\0" * (LINE_LENGTH + 1)
        inner = ", ".join(flat(item) for item in self.items)
        return f"{self.prefix}{self.head}{self.brackets[0]}{inner}{self.brackets[1]}"


Expression = str | Call


def flat(expression: Expression) -> str:
    return expression.flat() if isinstance(expression, Call) else expression


def mapping(items: list[tuple[str, str]], exploded: bool = False) -> Call:
    """A dict display of ``key: value`` source pairs."""
    return Call("", tuple(f"{key}: {value}" for key, value in items), "{}", exploded)


def keyword(name: str, value: Expression) -> Expression:
    """``name=value`` as a call's item."""
    return (
        Call(f"{name}={value.head}", value.items, value.brackets, value.exploded)
        if isinstance(value, Call)
        else f"{name}={value}"
    )


def statement(expression: Expression, indent: int, prefix: str = "", suffix: str = "") -> str:
    """``prefix + expression + suffix`` at ``indent`` spaces, split as black splits it
    (no trailing newline)."""
    pad = " " * indent
    one_line = f"{pad}{prefix}{flat(expression)}{suffix}"
    if len(one_line) <= LINE_LENGTH or not isinstance(expression, Call) or not expression.items:
        return one_line
    opening = f"{pad}{prefix}{expression.prefix}{expression.head}{expression.brackets[0]}"
    closing = f"{pad}{expression.brackets[1]}{suffix}"
    inner = " " * (indent + 4) + ", ".join(flat(item) for item in expression.items)
    if not expression.exploded:
        if len(expression.items) == 1:
            # No comma to split at: the one item goes on its own line, laid out in turn.
            return "\n".join([opening, statement(expression.items[0], indent + 4), closing])
        if expression.head and len(inner) <= LINE_LENGTH:  # a display (dict, tuple) never hugs
            return f"{opening}\n{inner}\n{closing}"
    lines = [statement(item, indent + 4, suffix=",") for item in expression.items]
    return "\n".join([opening, *lines, closing])


def import_from(module: str, names: list[str]) -> str:
    """``from module import names``, one name per line in parentheses when it is too long."""
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return line
    return "\n".join([f"from {module} import (", *(f"    {name}," for name in names), ")"])
