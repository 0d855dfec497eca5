"""Stage 2, text patterns: whether a receipt value's ``pattern`` (part of a field's text,
``{field: deliveryStatusDetails, pattern: 'ErrorCode: (\\d+)'}``) is safe to run on what a
provider sends.

A pattern is spec data, and Python's ``re`` backtracks: a repeat inside a repeat (``(a+)+``)
takes exponential time, and repeats side by side (``\\d*\\d*\\d*x``) a power of the text's
length. So besides compiling with exactly one capture group, a pattern is held to a shape
whose work is bounded: every repeat applies to one character (a letter, ``.``, ``\\d``, a class
``[...]``), never to a group (but a group may be optional, ``(?:...)?``); no backreferences, lookarounds or conditionals; and the number
of ways its repeats can split a text (each repeat's range: its maximum + 1, or the searched
length for an open-ended one) is at most ``dlr_core.values.PATTERN_PATHS_BUDGET``. The
runtime searches only the first ``MAX_MATCHED_TEXT`` characters, so one search costs at most
about that length times the budget in steps.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

from dlr_core.values import MAX_MATCHED_TEXT, PATTERN_PATHS_BUDGET

with warnings.catch_warnings():  # the parser re itself uses; the modules warn on 3.11+
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sre
    import sre_parse

# Possessive repeats and atomic groups are Python 3.11's.
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}
_ATOMIC_GROUP = getattr(sre, "ATOMIC_GROUP", None)
_ONE_CHARACTER = {sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN}
_REFUSED = {
    sre.GROUPREF: "a backreference",
    sre.GROUPREF_EXISTS: "a conditional group",
    sre.ASSERT: "a lookahead or lookbehind",
    sre.ASSERT_NOT: "a negative lookahead or lookbehind",
}


_SHOWN = 80  # characters of a pattern a problem quotes


class _Unsafe(Exception):
    pass


def pattern_problem(pattern: str) -> str | None:
    """What makes ``pattern`` unusable as a receipt value's pattern, in words; None if it
    is fine."""
    shown = pattern if len(pattern) <= _SHOWN else pattern[: _SHOWN - 3] + "..."
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        return f"pattern '{shown}' is not a regular expression: {error}"
    except (OverflowError, RecursionError):  # a repeat count past sys.maxsize; groups too deep
        return f"pattern '{shown}' is not a regular expression Python can compile (too large or too deep)"
    if compiled.groups != 1:
        return (
            f"pattern '{shown}' has {compiled.groups} capture groups; it needs exactly one, "
            "the part taken (write other groups (?:...))"
        )
    try:
        paths = _paths(sre_parse.parse(pattern).data)
    except _Unsafe as unsafe:
        return f"pattern '{shown}': {unsafe}"
    except RecursionError:
        return f"pattern '{shown}' nests its groups too deep"
    if paths > PATTERN_PATHS_BUDGET:
        return (
            f"pattern '{shown}' can backtrack too much: its repeats and alternatives split a text "
            f"{paths if paths < 10**6 else 'over a million'} ways, "
            f"more than {PATTERN_PATHS_BUDGET} (an open-ended repeat, *, + or {{n,}}, counts "
            f"{MAX_MATCHED_TEXT}; {{m,n}} counts n + 1): use one open-ended repeat and bound "
            "the others ('\\s?' or '\\s{0,3}' rather than '\\s*')"
        )
    return None


def _paths(items: Sequence[tuple[object, object]]) -> int:
    """How many ways the repeats of a sequence can split a text, at most."""
    total = 1
    for op, argument in items:
        if op in _REFUSED:
            raise _Unsafe(f"{_REFUSED[op]} is not allowed (the work it takes is not bounded)")
        if op in _REPEATS:
            assert isinstance(argument, tuple)
            _, most, item = argument
            inner = item.data
            if most == 1:  # optional: skipped, or taken once
                total *= 1 + _paths(inner)
                continue
            if len(inner) != 1 or inner[0][0] not in _ONE_CHARACTER:
                raise _Unsafe(
                    "a repeat applies to a group; repeat one character or class only "
                    "(a repeated group can backtrack exponentially)"
                )
            total *= MAX_MATCHED_TEXT if most == sre.MAXREPEAT or most >= MAX_MATCHED_TEXT else most + 1
        elif op == sre.SUBPATTERN:
            assert isinstance(argument, tuple)
            total *= _paths(argument[-1].data)
        elif _ATOMIC_GROUP is not None and op == _ATOMIC_GROUP:
            assert isinstance(argument, sre_parse.SubPattern)
            total *= _paths(argument.data)
        elif op == sre.BRANCH:
            assert isinstance(argument, tuple)
            total *= sum(_paths(branch.data) for branch in argument[1])
    return total
