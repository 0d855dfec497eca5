"""Reading an answer's body within bounds: decompressed in pieces, at most a number of
bytes, within a deadline, and JSON no deeper than ``MAX_JSON_DEPTH``."""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterator

MAX_JSON_DEPTH = 64
"""Answers whose JSON nests deeper than this are refused (no provider needs half of it)."""
MAX_XML_ELEMENTS = 100_000
"""Answers written as XML with more elements than this are refused (their depth is bounded
by ``MAX_JSON_DEPTH``, their size by the client's ``max_response_bytes``)."""
ACCEPT_ENCODING = "gzip, deflate"  # the encodings decoded here, in bounded pieces
_PIECE = 64 * 1024  # most bytes decompressed at once
_HEAD_BYTES = 64 * 1024  # the beginning of an oversized answer kept for its error


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def nested_deeper(content: bytes, limit: int) -> bool:
    """Whether the JSON in ``content`` nests deeper than ``limit``, found without parsing:
    strings are dropped, then innermost bracket pairs are removed ``limit`` times. Text
    whose brackets do not pair up is left to the JSON parser to refuse."""
    if content.count(b"[") + content.count(b"{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", content))
    run = re.compile(rb"[\[{]{%d}" % (limit + 1))
    for _ in range(limit):
        if not brackets:
            return False
        if run.search(brackets):
            return True
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not removed:
            return False
    return bool(brackets)


class Unreadable(Exception):
    """Reading an answer's body stopped at one of the client's limits."""


class TooSlow(Unreadable):
    pass


class TooLarge(Unreadable):
    def __init__(self, head: bytes, size: int) -> None:
        super().__init__()
        self.head = head
        self.size = size


class BadEncoding(Unreadable):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Inflater:
    """gzip or deflate decoding that hands its output out in pieces of at most 64 KiB: a
    few compressed bytes can stand for a gigabyte, which must never be held at once."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._deflate = encoding == "deflate"
        wbits = zlib.MAX_WBITS if self._deflate else zlib.MAX_WBITS | 16
        self._zlib = zlib.decompressobj(wbits)
        self._fresh = True

    def _decompress(self, data: bytes) -> bytes:
        try:
            return self._zlib.decompress(data, _PIECE)
        except zlib.error:
            if self._deflate and self._fresh:
                # Some servers send raw deflate, without the zlib wrapper.
                self._fresh = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._decompress(data)
            raise BadEncoding(f"the answer's {self._encoding} encoding is corrupt") from None

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._zlib.eof:
            return  # bytes after the end of the compressed stream are ignored
        out = self._decompress(data)
        self._fresh = False
        while True:
            if out:
                yield out
            tail = self._zlib.unconsumed_tail
            if self._zlib.eof or (not tail and len(out) < _PIECE):
                return
            out = self._decompress(tail)


class BodyReader:
    """An answer's body, read chunk by chunk under a size cap (counting decoded bytes)
    and a deadline (checked between chunks)."""

    def __init__(self, content_encoding: str, limit: int, deadline: float) -> None:
        encodings = [
            e.strip().lower()
            for e in content_encoding.split(",")
            if e.strip().lower() not in ("", "identity")
        ]
        if len(encodings) > 1 or (encodings and encodings[0] not in ("gzip", "x-gzip", "deflate")):
            raise BadEncoding(
                f"the answer's Content-Encoding {content_encoding[:100]!r} is not "
                f"supported (asked for {ACCEPT_ENCODING})"
            )
        self._inflater = _Inflater(encodings[0]) if encodings else None
        self._limit = limit
        self._deadline = deadline
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> None:
        if time.monotonic() > self._deadline:
            raise TooSlow()
        if self._inflater is None:
            self._add(data)
            return
        for piece in self._inflater.decode(data):
            self._add(piece)

    def finish(self) -> bytes:
        if time.monotonic() > self._deadline:
            raise TooSlow()
        return b"".join(self._parts)

    def _add(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self._limit:
            head: list[bytes] = []
            for part in [*self._parts, piece]:
                head.append(part)
                if sum(map(len, head)) >= _HEAD_BYTES:
                    break
            self._parts.clear()
            raise TooLarge(b"".join(head), self._size)
        self._parts.append(piece)
