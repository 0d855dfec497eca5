"""An auth scheme as Python source for generated ``api.py`` files: typed runtime objects
(``signing.Scheme``, ``signing.Bound``, ``signing.Nonce`` and the step classes of
``dlr_core.steps``), every value from the spec written through ``escape.python_literal``.

Only the runtime's classes are named, qualified by their module (so no spec name can
collide with them), and only their constructors are called, with literals: spec text
stays data (``generator.emit.verify`` checks the output).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from dlr_core import signing, steps

from generator.python.escape import python_literal

_MODULES = {"dlr_core.signing": "signing", "dlr_core.steps": "steps"}


def scheme_code(definition: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The scheme's Python expression, and the ``dlr_core`` modules it names."""
    scheme = signing.Scheme.from_data(definition)
    modules: set[str] = set()
    code = _code(scheme, modules, 2)
    return code, tuple(sorted(modules))


def _code(value: Any, names: set[str], depth: int) -> str:
    inner, outer = "    " * (depth + 1), "    " * depth
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        module = _MODULES.get(cls.__module__)
        if module is None or getattr(steps if module == "steps" else signing, cls.__name__) is not cls:
            raise TypeError(f"{cls.__name__} is not a runtime class")
        names.add(module)
        arguments = [
            f"{inner}{f.name}={_code(getattr(value, f.name), names, depth + 1)},\n"
            for f in dataclasses.fields(value)
            if getattr(value, f.name) != f.default
        ]
        call = f"{module}.{cls.__name__}"
        return f"{call}(\n{''.join(arguments)}{outer})" if arguments else f"{call}()"
    if isinstance(value, tuple):
        if not value:
            return "()"
        return "(\n" + "".join(f"{inner}{_code(v, names, depth + 1)},\n" for v in value) + outer + ")"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = "".join(
            f"{inner}{python_literal(k)}: {_code(v, names, depth + 1)},\n" for k, v in value.items()
        )
        return "{\n" + items + outer + "}"
    return python_literal(value)
