"""The per-call options of generated client methods, and how a method spells them.

Generated methods take their operation's parameters by the spec's names, and a few options
of their own (``retries``, ``extra_params``; ``wait_for_final`` also ``timeout``,
``interval`` and ``sent_at``). A provider's word comes first: where a parameter of the spec
is named like an option, the option is spelled with a trailing underscore in that method
(``timeout_``), which no spec name can have. The generator and ``prepare()`` share this rule,
so a method and the request ``prepare()`` shows for it always agree.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["PER_CALL_OPTIONS", "per_call_option"]

PER_CALL_OPTIONS = ("retries", "extra_params", "timeout", "interval", "sent_at")
"""Keyword arguments generated methods take besides their operation's parameters."""


def per_call_option(name: str, parameters: Iterable[str]) -> str:
    """The keyword the option ``name`` has in a method whose parameters are ``parameters``:
    its own name, or, where a parameter takes that name, the name with a trailing
    underscore (PEP 8's spelling of a taken name)."""
    return f"{name}_" if name in parameters else name
