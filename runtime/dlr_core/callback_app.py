"""Serving pushed delivery reports: ``CallbackApp``, a framework-neutral ASGI app routing
``/callbacks/<name>`` to an ``Endpoint`` (a provider's parser, credentials bound) and answering
each provider as it expects (``Answer``).

``dlr_core.callbacks`` re-exports these names; import them from there.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from dlr_core.errors import CallbackError, CallbackSignatureError, MalformedCallback

# anyio and httpx are imported where a push is served or a handshake confirmed, pydantic
# (through ``Receipt``) only for type checkers: reading a spec's callbacks (dlrgen's parser,
# ``Callback.from_data``) needs none of them.
if TYPE_CHECKING:
    from dlr_core.receipt import Receipt

__all__ = [
    "MAX_CALLBACK_BYTES",
    "Answer",
    "CallbackApp",
    "Endpoint",
    "Handler",
    "HandshakePush",
    "Parser",
    "confirm_by_get",
]

MAX_CALLBACK_BYTES = 1024 * 1024
"""The largest push read (1 MiB) unless a parser is told otherwise: a larger body is a
``MalformedCallback`` (HTTP 413 from ``CallbackApp``), read no further."""

# Under the public module's name: refusals are logged as ``dlr_core.callbacks`` wherever the
# app lives, so a logging configuration written for 1.2 still sees them.
_log = logging.getLogger("dlr_core.callbacks")


@dataclass(frozen=True)
class Answer:
    """What the provider expects back."""

    status: int = 200
    content_type: str = "text/plain; charset=utf-8"
    body: str = ""

    def encoded(self) -> bytes:
        return self.body.encode("utf-8")


class HandshakePush(Exception):
    """Raised by a parser given a verified handshake push instead of a report: nothing to
    read, something to answer. ``answer`` is what the provider expects back;
    ``confirm_url`` (already checked against the spec's pattern) is the URL to fetch to
    confirm, or ``None``. ``CallbackApp`` answers (and confirms) it by itself; code calling
    a parser directly does the same, or ``confirm()`` for the URL."""

    def __init__(self, provider: str, handshake: str, answer: Answer, confirm_url: str | None) -> None:
        super().__init__(f"{provider} {handshake} handshake")
        self.provider = provider
        self.handshake = handshake
        self.answer = answer
        self.confirm_url = confirm_url

    def confirm(self, fetch: Callable[[str], object] | None = None) -> None:
        """Fetch ``confirm_url`` (with ``fetch``, or a bounded GET without redirects)."""
        if self.confirm_url is not None:
            (fetch or confirm_by_get)(self.confirm_url)


def confirm_by_get(url: str, *, timeout: float = 10.0) -> None:
    """A GET of a handshake's confirmation URL, not following redirects, within ``timeout``
    seconds; ``CallbackError`` unless the provider answers 2xx."""
    import httpx

    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            answer = client.get(url)
    except httpx.HTTPError as exc:
        raise CallbackError(f"confirming failed: {type(exc).__name__}", provider="") from None
    if not 200 <= answer.status_code < 300:
        raise CallbackError(f"confirming answered HTTP {answer.status_code}", provider="")


# -- serving: a framework-neutral ASGI app ------------------------------------------------------

Parser = Callable[[str, str, Mapping[str, str], bytes], "list[Receipt]"]
"""A push -> receipts: ``(method, url, headers, body)``, credentials already bound."""
Handler = Callable[[str, "list[Receipt]"], "Awaitable[object] | object"]


@dataclass(frozen=True)
class Endpoint:
    """One route of ``CallbackApp``: a provider's parser with its credentials bound, and the
    answers it expects. Generated packages make them (``callback_endpoint(...)``)."""

    provider: str
    parse: Parser
    answer: Answer
    reject: Answer
    max_bytes: int = MAX_CALLBACK_BYTES

    def __repr__(self) -> str:  # the parser holds credentials
        return f"Endpoint(provider={self.provider!r})"


_Read = TypeVar("_Read")  # what a bounded read gives
Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


class CallbackApp:
    """An ASGI 3 app receiving pushed delivery reports.

    ``endpoints`` maps a route name to an ``Endpoint``: a push to ``{prefix}/<name>`` is
    parsed by it; its receipts go to ``on_receipts(name, receipts)`` (a function or a
    coroutine function), then the provider gets the answer it expects. A push that fails
    verification gets the provider's rejection (``Endpoint.reject``, 403 by default), a
    malformed one 400, a too large one 413, and an error in ``on_receipts`` 500 (so the
    provider pushes again later; receipts carry ``idempotency_key`` to recognise it).

    ``public_url`` is the public origin the provider pushes to (``https://hooks.example.com``,
    plus any path a proxy strips before the app sees it); the request's full path and query
    are appended to it to make the URL the provider signed. Behind a proxy the URL the app
    sees differs; without ``public_url`` it is rebuilt from the request (scheme, Host).
    Serve it with any ASGI server (uvicorn, hypercorn) or mount it in Starlette/FastAPI
    (routes are then below the mount point: give ``prefix=""``).

    The body must arrive within ``read_timeout`` seconds (``None``: no limit), or the push
    is answered 408 and nothing is parsed: a sender dripping a body cannot hold it open
    (on asyncio it is stopped within a tenth of ``read_timeout`` after it).

    A handshake (a verified push checking the endpoint: a subscription to confirm, a code
    to echo; ``HandshakePush``) is answered as the provider expects; one that carries a
    confirmation URL (checked against the spec's pattern) is confirmed first by
    ``confirm(url)`` (a bounded GET, ``confirm_by_get``, by default), in a worker thread:
    subscribing is what the endpoint was set up for, and the push proved it comes from the
    provider. Give ``confirm=`` to decide otherwise (record the URL, confirm by hand); a
    confirmation that raises is answered 500, so the provider asks again.
    """

    def __init__(
        self,
        endpoints: Mapping[str, Endpoint],
        on_receipts: Handler,
        *,
        prefix: str = "/callbacks",
        public_url: str | None = None,
        read_timeout: float | None = 30.0,
        confirm: Callable[[str], object] | None = None,
    ) -> None:
        self.endpoints: dict[str, Endpoint] = dict(endpoints)
        self.on_receipts: Handler = on_receipts
        self.prefix: str = prefix.rstrip("/")
        self.public_url: str | None = public_url.rstrip("/") if public_url else None
        self.read_timeout: float | None = read_timeout
        self.confirm: Callable[[str], object] = confirm or confirm_by_get

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):  # mounted (Starlette's Mount): route below the mount
            path = path[len(root) :]
        name = path[len(self.prefix) + 1 :] if path.startswith(self.prefix + "/") else None
        endpoint = self.endpoints.get(name) if name else None
        if endpoint is None:
            await _respond(send, Answer(404, body="not found"))
            return
        try:
            body, too_large = await _within(self.read_timeout, _read_body(receive, endpoint.max_bytes))
        except TimeoutError:
            await _respond(send, Answer(408, body="timeout"))
            return
        if body is None:  # the client left before the push was whole: nothing to answer
            return
        if too_large:
            await _respond(send, Answer(413, body="too large"))
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers", ())}
        url = self._url(scope, headers)
        try:
            receipts = endpoint.parse(scope["method"], url, headers, body)
        except CallbackSignatureError as exc:
            # Signatures cover the URL: a refusal names the URL checked, so a URL that differs
            # from the one the provider signed (a proxy, a wrong public_url) is seen as such.
            _log.warning(
                "refused a push to %s: %s; the URL checked was %s (%s)",
                name,
                exc,
                url[:2048],
                (
                    f"public_url {self.public_url}"
                    if self.public_url is not None
                    else "rebuilt from the request; give public_url if the provider calls another"
                ),
            )
            await _respond(send, endpoint.reject)
            return
        except HandshakePush as handshake:
            if handshake.confirm_url is not None:
                try:
                    import anyio.to_thread

                    await anyio.to_thread.run_sync(self.confirm, handshake.confirm_url)
                except Exception:
                    _log.warning("confirming the %s handshake of %s failed", handshake.handshake, name)
                    await _respond(send, Answer(500, body="error"))
                    return
            await _respond(send, handshake.answer)
            return
        except MalformedCallback:
            await _respond(send, Answer(400, body="malformed"))
            return
        except Exception:  # a misconfigured key, a bug: 500, its text for the server's log only
            await _respond(send, Answer(500, body="error"))
            raise
        try:
            outcome = self.on_receipts(name or "", receipts)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            await _respond(send, Answer(500, body="error"))
            raise
        await _respond(send, endpoint.answer)

    def _url(self, scope: Scope, headers: Mapping[str, str]) -> str:
        raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8")
        path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else str(raw_path)
        query = scope.get("query_string", b"").decode("latin-1")
        tail = path + (f"?{query}" if query else "")
        if self.public_url is not None:
            return self.public_url + tail
        host = {k.lower(): v for k, v in headers.items()}.get("host")
        if host is None:
            server = scope.get("server") or ("localhost", None)
            host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
        return f"{scope.get('scheme', 'http')}://{host}{tail}"


def _asyncio_deadline_of(seconds: float, work: Coroutine[Any, Any, _Read]) -> Coroutine[Any, Any, _Read]:
    from dlr_core import callback_deadlines  # imports asyncio: imported by the loop serving the push

    return callback_deadlines.within(seconds, work)


# asyncio is not imported here (reading a spec's callbacks needs no event loop): its
# deadlines are set when a push is read, on Python 3.11+ (``Task.uncancel``).
_asyncio_deadline: Callable[[float, Coroutine[Any, Any, Any]], Coroutine[Any, Any, Any]] | None = (
    _asyncio_deadline_of if sys.version_info >= (3, 11) else None
)


async def _within(seconds: float | None, work: Coroutine[Any, Any, _Read]) -> _Read:
    """``work``'s result, or ``TimeoutError`` once ``seconds`` have passed (``None``: no
    limit). On asyncio (3.11+) one timer per loop looks at every read's deadline
    (``dlr_core.callback_deadlines``), a fraction of a timer per push; anyio's cancel scope
    serves any other event loop (trio)."""
    if seconds is None:
        return await work
    if _asyncio_deadline is not None and _in_asyncio_task():
        result: _Read = await _asyncio_deadline(seconds, work)
        return result
    import anyio

    with anyio.fail_after(seconds):
        return await work


def _in_asyncio_task() -> bool:
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:  # never imported: no asyncio loop runs
        return False
    try:
        return asyncio.current_task() is not None
    except RuntimeError:  # no asyncio loop runs here (trio)
        return False


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, bool]:
    """The body, read no further than ``limit`` bytes (then ``(b"", True)``); ``None`` when
    the client disconnected before sending all of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


async def _respond(send: Send, answer: Answer) -> None:
    body = answer.encoded()
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", answer.content_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
