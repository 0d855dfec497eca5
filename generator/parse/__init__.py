"""Stage 2: a loaded spec to the intermediate model (``generator.model``), or located problems.

One module of free functions per concern, each given the explicit ``ParseContext``
(``context``): ``statuses``, ``responses``, ``receipts``, ``auth``, ``operations``,
``callbacks``; ``provider.parse_provider`` calls them in order.
"""

from generator.parse.provider import parse_provider

__all__ = ["parse_provider"]
