"""Sample values for a parameter the spec gives no ``example`` for: the generated README calls
an operation with them, and the tests run that example against the mock, so each value must
satisfy the parameter's constraints (enum, bounds, lengths, pattern).

A pattern is read with Python's own regular expression parser and one of its matches is
written out: the shortest, its repetitions lengthened a step at a time when ``min_length``
asks for more. Deterministic and small on purpose; what it cannot produce (lookarounds,
conditionals, a length the pattern does not allow) gives None, and the spec is then asked
for an ``example`` (``parse_operations``). Every value is checked against the constraints
before it is returned: a value is never a guess.
"""

from __future__ import annotations

import re
from typing import Any

try:  # Python 3.11+; sre_parse before (deprecated since 3.11)
    from re import _constants as sre_constants  # type: ignore[attr-defined,unused-ignore]
    from re import _parser as sre_parse  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef,unused-ignore]
    import sre_parse  # type: ignore[no-redef,unused-ignore]

PLACEHOLDER = "..."  # an unconstrained string's sample: plainly a value to fill in
_MAX_LENGTH = 256  # no README example grows longer than this
_CATEGORY_CHARACTER = {
    "CATEGORY_DIGIT": "1",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
}
_PREFERRED = "a1A-_. x0"  # tried in this order for a negated set


class _Unsupported(Exception):
    """The pattern uses what this generator does not write out (lookarounds, conditionals)."""


def sample(
    ptype: str,
    *,
    enum: list[Any] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
) -> Any:
    """A value of ``ptype`` (string, integer, number, boolean) within the constraints, or
    None when none could be made."""
    if enum:
        return enum[0]
    if ptype == "boolean":
        return True
    if ptype in ("integer", "number"):
        one = 1.0
        if minimum is not None and one < minimum:
            one = minimum
        if maximum is not None and one > maximum:
            one = maximum
        if ptype == "number":
            return float(one)
        return int(one) if float(one).is_integer() else None  # an integer's bounds are whole
    if ptype != "string":
        return None
    low, high = min_length or 0, max_length if max_length is not None else _MAX_LENGTH
    if pattern is None:
        value = PLACEHOLDER if low <= len(PLACEHOLDER) <= high else "." * max(low, 1)
        return value if low <= len(value) <= high else None
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return None
    for step in range(0, _MAX_LENGTH + 1):
        try:
            value = _write(parsed, step, {})
        except (_Unsupported, RecursionError):
            return None
        if len(value) > min(high, _MAX_LENGTH):
            return None
        if len(value) >= low:
            return value if re.search(pattern, value) else None
    return None


def _write(parsed: Any, step: int, groups: dict[int, str]) -> str:
    """One match of ``parsed``: each repetition ``step`` times more than its minimum (up to its
    maximum), the first branch of each alternation, the first character of each set."""
    out = []
    for op, argument in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(argument))
        elif name == "NOT_LITERAL":
            out.append(next(c for c in _PREFERRED if ord(c) != argument))
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_set_character(argument))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, item = argument
            count = low + step if high is sre_constants.MAXREPEAT else min(high, low + step)
            out.append("".join(_write(item, step, groups) for _ in range(count)))
        elif name == "SUBPATTERN":
            group, _, _, item = argument
            text = _write(item, step, groups)
            if group is not None:
                groups[group] = text
            out.append(text)
        elif name == "ATOMIC_GROUP":
            out.append(_write(argument, step, groups))
        elif name == "BRANCH":
            out.append(_write(argument[1][0], step, groups))
        elif name == "GROUPREF":
            out.append(groups.get(argument, ""))
        elif name == "AT":
            continue  # ^, $, \A, \Z, \b: the match written out is checked at the end
        elif name == "CATEGORY":
            out.append(_CATEGORY_CHARACTER.get(str(argument), "a"))
        else:  # ASSERT, ASSERT_NOT, GROUPREF_EXISTS, ...
            raise _Unsupported(name)
    return "".join(out)


def _set_character(items: list[tuple[Any, Any]]) -> str:
    """A character of a ``[...]`` set: its first member, or for ``[^...]`` a plain one it
    leaves out."""
    if items and str(items[0][0]) == "NEGATE":
        for candidate in _PREFERRED:
            if not any(_in_member(candidate, op, argument) for op, argument in items[1:]):
                return candidate
        raise _Unsupported("NEGATE")
    op, argument = items[0]
    name = str(op)
    if name == "LITERAL":
        return chr(argument)
    if name == "RANGE":
        return chr(argument[0])
    if name == "CATEGORY":
        return _CATEGORY_CHARACTER.get(str(argument), "a")
    raise _Unsupported(name)


def _in_member(character: str, op: Any, argument: Any) -> bool:
    name = str(op)
    if name == "LITERAL":
        return bool(ord(character) == argument)
    if name == "RANGE":
        return bool(argument[0] <= ord(character) <= argument[1])
    if name == "CATEGORY":
        tests = {
            "CATEGORY_DIGIT": str.isdigit,
            "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
            "CATEGORY_SPACE": str.isspace,
        }
        category = str(argument)
        positive = category.replace("_NOT_", "_")
        inside = tests[positive](character) if positive in tests else True
        return inside if positive == category else not inside
    raise _Unsupported(name)
