"""The identity seam between signing and the tokens it signs with.

A sign step such as ``oauth2_client_credentials`` signs with a token fetched from the
provider before the request is signed. Signing needs only to read that token; fetching,
caching and dropping it is another job (``dlr_core.tokens.TokenKeeper``). ``TokenSource``
names what signing and the clients rely on, as smithy's ``IdentityResolver`` does
(``get_identity``/``invalidate``): ``dlr_core.signing`` depends on this Protocol, never on
``dlr_core.tokens``, so the two modules import each other in one direction only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # httpx types only, for the Protocol's signatures
    import httpx

    from dlr_core.steps import Step

__all__ = ["TokenSource"]


class TokenSource(Protocol):
    """The tokens of one client's auth scheme: fetched before signing (``ensure`` for a
    sync client, ``aensure`` for an async one), read while signing (``current``) and
    dropped when the provider refuses one (``forget``). ``TokenKeeper`` implements it."""

    def current(self, step: Step) -> str:
        """The token ``step`` signs with, already fetched; ``SigningError`` when there is none."""
        ...

    def ensure(self, http: httpx.Client) -> tuple[str, ...]:
        """Fetch every token that is missing or due; the tokens the next request signs with."""
        ...

    async def aensure(self, http: httpx.AsyncClient) -> tuple[str, ...]:
        """``ensure`` for an async client."""
        ...

    def forget(self, refused: tuple[str, ...] | None = None) -> None:
        """Drop the cached tokens (``refused``: only if they are still these ones)."""
        ...
