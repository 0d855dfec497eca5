"""A request's headers as ``httpx.Request(content=...)`` writes them, worked out with less
work per call: httpx normalises every header twice per request (the merged list, then the
request's own with ``Host`` in front); here the http_client's headers are normalised once
per set of request header names, and only the request's own (its signature changes on
every call) are encoded per call."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

# Sets of (http_client headers, request header names) kept per client: an operation's names
# are the same on every call; a bound keeps names that vary from filling memory.
_BASES_KEPT = 64

Raw = list[tuple[bytes, bytes]]


class OutgoingHeaders:
    """One client's requests' headers, in the order and spelling httpx gives them: ``Host``
    (unless given), then the http_client's headers that the request does not replace, then
    the request's own, then ``Content-Length`` (of a body, or 0 for a POST, PUT or PATCH
    without one), unless given."""

    def __init__(self) -> None:
        self._bases: dict[tuple[tuple[tuple[bytes, bytes], ...], tuple[str, ...]], Raw] = {}

    def merged(
        self, client: httpx.Headers, own: Mapping[str, str], method: str, host: bytes, body: bytes
    ) -> Raw:
        """The headers of a request with ``own`` headers and ``body`` sent by an http_client
        whose headers are ``client`` (read each call: a caller may change them)."""
        names = tuple(own)
        key = (tuple(client.raw), names)
        base = self._bases.get(key)
        if base is None:
            replaced = {name.lower().encode("ascii") for name in names}
            base = [(name, value) for name, value in key[0] if name.lower() not in replaced]
            if len(self._bases) < _BASES_KEPT:
                self._bases[key] = base
        # As httpx encodes them: ASCII, else UnicodeEncodeError.
        headers = [*base, *((name.encode("ascii"), value.encode("ascii")) for name, value in own.items())]
        lowered = {name.lower() for name, _ in headers}
        front: Raw = [] if b"host" in lowered else [(b"Host", host)]
        if b"content-length" not in lowered and b"transfer-encoding" not in lowered:
            if body:
                headers.append((b"Content-Length", str(len(body)).encode("ascii")))
            elif method in ("POST", "PUT", "PATCH"):
                front.append((b"Content-Length", b"0"))
        return [*front, *headers] if front else headers
