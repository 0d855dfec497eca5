"""The one way each kind of spec text reaches a generated file.

Spec text is data. Each output context has exactly one function here, and templates reach
them through Jinja filters of the same name (``render.environment``):

| context | function | filter |
|---|---|---|
| Python docstring | ``docstring`` (``docwrap`` wraps first, then escapes) | ``docstring``, ``docwrap`` |
| Python string or number literal | ``python_literal`` (``repr``, in the quotes black prefers; finite numbers only) | ``py`` |
| Python comment | ``comment`` (one line, printable only) | (headers) |
| TOML string | ``toml_string`` | ``toml`` |
| Markdown text / code span | ``markdown``, ``markdown_code`` | ``md``, ``md_code`` |

Wrapping always happens before escaping, so a line break can never split an escape
sequence. After rendering, ``generator.emit.verify`` parses every Python file and checks that
the spec's texts came out as the same values.
"""

from __future__ import annotations

import json
import math
import textwrap
import unicodedata
from collections.abc import Iterable


def _escape_unprintable(text: str) -> str:
    """Control and other invisible characters as Python escapes (their value is kept)."""
    out = []
    for char in text:
        if char in "\n\t" or (char.isprintable() and unicodedata.category(char) not in ("Zl", "Zp")):
            out.append(char)
        else:
            code = ord(char)
            out.append(
                f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
            )
    return "".join(out)


def docstring(text: object) -> str:
    """Text to put between triple double quotes; the docstring's value is the text."""
    escaped = str(text).replace("\\", "\\\\").replace('"""', '\\"\\"\\"').replace("\r", "\\r")
    escaped = _escape_unprintable(escaped)
    return escaped + " " if escaped.endswith('"') else escaped


def docwrap(text: object, width: int = 79) -> str:
    """Wrapped for reading, then escaped: never a break inside an escape sequence."""
    wrapped = textwrap.fill(
        " ".join(str(text).split()), width, break_long_words=False, break_on_hyphens=False
    )
    return docstring(wrapped)


def python_literal(value: object) -> str:
    """A scalar from a spec as a Python literal: ``repr`` for text, finite numbers only."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    if isinstance(value, str):
        literal = repr(value)
        # repr picks single quotes unless the text holds one; black prefers double quotes when
        # the text holds neither, and written so here, black has nothing to change.
        return f'"{literal[1:-1]}"' if literal[0] == "'" and '"' not in value else literal
    if isinstance(value, (int, float, bool)) or value is None:
        return repr(value)
    raise TypeError(f"cannot render {value!r} as a Python literal")


def comment(text: object) -> str:
    """Text for a ``#`` comment: one line, every unprintable character escaped."""
    return _escape_unprintable(str(text)).replace("\n", "\\n").replace("\t", "\\t")


def html_comment(text: object) -> str:
    """Text inside ``<!-- ... -->``: one line, and ``--`` can never close it."""
    return comment(text).replace("--", "- -").replace(">", "&gt;")


def toml_string(value: object) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML accepts)."""
    return json.dumps(value, ensure_ascii=False)


def markdown(text: object) -> str:
    """Inline Markdown text: one line, table pipes escaped, no raw HTML."""
    collapsed = " ".join(_escape_unprintable(str(text)).split())
    return collapsed.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown_code(value: object) -> str:
    """A Markdown code span (backticks inside become quotes, so the span cannot end early)."""
    text = " ".join(_escape_unprintable(str(value)).split()).replace("`", "'").replace("|", "\\|")
    return f"`{text}`"


def python_tuple(values: object) -> str:
    items = [python_literal(v) for v in values]  # type: ignore[attr-defined]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def python_names(names: Iterable[str], depth: int = 1) -> str:
    """Names of generated code (identifiers, never spec text) as a tuple, laid out as black
    keeps it: ``()``, ``(NAME,)`` (a one-tuple's comma is not one black keeps a tuple open
    for), else one per line with a trailing comma. Text black would change it formats twice
    (its stability pass), so the layout is black's from the start."""
    items = list(names)
    for name in items:
        if not name.isidentifier():
            raise ValueError(f"not a Python name: {name!r}")
    if len(items) < 2:
        return "(" + "".join(f"{name}," for name in items) + ")"
    inner, outer = "    " * (depth + 1), "    " * depth
    return "(\n" + "".join(f"{inner}{name},\n" for name in items) + outer + ")"


def python_data(value: object, depth: int = 1) -> str:
    """JSON-like data (from a spec) as a Python literal; every string goes through repr.

    Written one item per line with trailing commas, as black would keep it, so formatting
    has nothing to split (splitting long lines is what makes black slow)."""
    inner, outer = "    " * (depth + 1), "    " * depth
    if isinstance(value, dict) and value:
        items = "".join(
            f"{inner}{python_literal(k)}: {python_data(v, depth + 1)},\n" for k, v in value.items()
        )
        return "{\n" + items + outer + "}"
    if isinstance(value, list) and value:
        items = "".join(f"{inner}{python_data(v, depth + 1)},\n" for v in value)
        return "[\n" + items + outer + "]"
    if isinstance(value, (dict, list)):
        return repr(value)
    return python_literal(value)
