"""Tokens that stateful sign steps fetch: OAuth2 client credentials (RFC 6749 4.4).

A client keeps one ``TokenKeeper``. Before each attempt it calls ``ensure`` (sync) or
``aensure`` (async): a token missing, or within its step's ``refresh_margin`` of expiry by
the client's ``clock``, is fetched, once however many threads or tasks ask at the same
time; signing then only reads the cached token. A token the provider refuses is dropped
(``forget``) only while it is still the cached one, so calls refused together fetch one
new token between them. The token request goes only to the step's
``token_url`` (redirects are never followed), or to the endpoint the client was explicitly
given for it (``token_url=``, see ``token_endpoints``: a mock's or a proxy's; never one
derived from ``base_url``, so the client secret only travels to a host the user chose), and
neither the token nor the client secret appears in a ``repr``, a log line or an exception.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlencode, urlsplit

from dlr_core.errors import DlrError, TransportError
from dlr_core.signing import Scheme, render
from dlr_core.steps import OAuth2ClientCredentials, SigningError, Step

# httpx is imported where a URL is read or a token fetched, asyncio where an async client
# fetches one: the generator reads a scheme's token steps (``token_steps``) without them.
if TYPE_CHECKING:
    import asyncio

    import httpx

TokenUrl = str | Mapping[str, str] | None
"""A client's ``token_url=``: one URL for every token step of its auth scheme, one per step
(by the name its result is bound to, ``as`` in the spec), or None for the spec's own."""

_DEFAULT_LIFETIME = 3600
"""Seconds a token is kept when the server gives no ``expires_in``."""
_MAX_TOKEN_ANSWER = 64 * 1024


def token_steps(scheme: Scheme) -> dict[str, OAuth2ClientCredentials]:
    """The scheme's token steps, by the name their result is bound to (``as``)."""
    return {
        bound.name: bound.step for bound in scheme.sign if isinstance(bound.step, OAuth2ClientCredentials)
    }


def sent_path(token_url: str) -> str:
    """The path of a spec's ``token_url`` (absolute, or a path) as a client sends it:
    percent-encoded as httpx encodes it (a space as ``%20``, an escape kept as written), so
    that the mock serves a token endpoint where clients ask for it."""
    import httpx

    path = urlsplit(token_url).path or "/"
    return httpx.URL("http://localhost").copy_with(path=path).raw_path.decode("ascii")


def token_endpoints(scheme: Scheme, token_url: TokenUrl) -> dict[str, str]:
    """The token endpoints ``token_url=`` gives the scheme's token steps, by step name (a
    step not named keeps its spec's ``token_url``). Each is an absolute ``http://`` or
    ``https://`` URL without credentials, query or fragment; anything else is a
    ``ValueError`` saying what to give."""
    if token_url is None:
        return {}
    steps = token_steps(scheme)
    names = ", ".join(steps)
    if isinstance(token_url, str):
        url = _endpoint("token_url", token_url)
        return {name: url for name in steps}
    if not isinstance(token_url, Mapping):
        raise ValueError(
            f"token_url: a URL, or a URL per token step ({names}), not a {type(token_url).__name__}"
        )
    if not token_url:
        raise ValueError(f"token_url: an empty mapping; give a URL, or a URL per token step ({names})")
    endpoints = {}
    for name, url in token_url.items():
        if name not in steps:
            raise ValueError(f"token_url: {name!r} is not a token step of the auth scheme (it has: {names})")
        endpoints[name] = _endpoint(f"token_url[{name!r}]", url)
    return endpoints


def _endpoint(where: str, value: object) -> str:
    """``value`` as a token endpoint (see ``token_endpoints``). A rejected value is shown
    only once it is known to hold no user name or password."""
    example = "such as http://127.0.0.1:8080/oauth2/token"
    if not isinstance(value, str):
        raise ValueError(
            f"{where}: an absolute http:// or https:// URL ({example}), not a {type(value).__name__}"
        )
    import httpx

    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{where}: not a URL ({exc})") from None
    if url.userinfo:
        raise ValueError(
            f"{where}: a URL without a user name or password (the token request authenticates "
            "with the client credentials)"
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{where}: an absolute http:// or https:// URL ({example}), got {value!r}")
    if url.query or url.fragment:
        raise ValueError(f"{where}: a URL without a query or fragment, got {value!r}")
    return str(url)


class TokenError(SigningError, DlrError):
    """The token endpoint refused or gave no usable token. Names the endpoint and the
    OAuth2 error code, never the token, the client secret or the answer's body. (A token
    request that gets no answer is a ``TransportError``, retried like any other.)"""


@dataclass
class _Cached:
    token: str
    refresh_at: datetime
    """When to fetch the next one: ``refresh_margin`` before expiry (at most half the lifetime)."""

    def __repr__(self) -> str:
        return f"_Cached(token=<redacted>, refresh_at={self.refresh_at.isoformat()})"


class _Slot:
    """One stateful step's token and the locks that guard fetching it."""

    def __init__(self) -> None:
        self.cached: _Cached | None = None
        self.thread_lock = threading.Lock()
        self.task_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"_Slot(cached={self.cached is not None})"


class TokenKeeper:
    """The tokens of one client's auth scheme (see the module's docstring)."""

    def __init__(
        self,
        scheme: Scheme,
        variables: Mapping[str, str],
        *,
        base_url: str,
        clock: Callable[[], datetime],
        timeout: float = 10.0,
        on_token: Callable[[str], None] | None = None,
        token_url: TokenUrl = None,
    ) -> None:
        """``on_token`` is told each new token (the client scrubs it from its errors);
        ``token_url`` replaces the spec's token endpoints (``token_endpoints``)."""
        self._steps = scheme.stateful_steps()
        named = token_steps(scheme)
        self._endpoints = {id(named[name]): url for name, url in token_endpoints(scheme, token_url).items()}
        self._variables = dict(variables)
        self._base_url = base_url
        self._clock = clock
        self._timeout = timeout
        self._slots = {id(step): _Slot() for step in self._steps}
        self._guard = threading.Lock()
        self._on_token = on_token

    def __repr__(self) -> str:
        return f"TokenKeeper(steps={[step.kind for step in self._steps]})"

    def __bool__(self) -> bool:
        return bool(self._steps)

    def current(self, step: Step) -> str:
        """The cached token of ``step`` (fetched by ``ensure``/``aensure`` before signing)."""
        slot = self._slots.get(id(step))
        if slot is None or slot.cached is None:
            raise SigningError(f"no {step.kind} token yet: the client fetches it before signing")
        return slot.cached.token

    def _due(self, slot: _Slot) -> bool:
        return slot.cached is None or self._clock() >= slot.cached.refresh_at

    def tokens(self) -> tuple[str, ...]:
        """The tokens cached now (what the next request signs with), for ``forget``."""
        return tuple(slot.cached.token for slot in self._slots.values() if slot.cached is not None)

    def ensure(self, http: httpx.Client) -> tuple[str, ...]:
        """Fetch every token that is missing or due; the tokens to sign with."""
        for step in self._steps:
            assert isinstance(step, OAuth2ClientCredentials)
            slot = self._slots[id(step)]
            if not self._due(slot):
                continue
            with slot.thread_lock:
                if self._due(slot):  # another thread may have fetched it meanwhile
                    import httpx

                    request = self._token_request(http, step)
                    try:
                        response = http.send(request, follow_redirects=False)
                        slot.cached = self._read(step, response.status_code, response.content)
                        if self._on_token is not None:
                            self._on_token(slot.cached.token)
                    except httpx.HTTPError as exc:
                        raise self._unanswered(step, exc) from None
        return self.tokens()

    async def aensure(self, http: httpx.AsyncClient) -> tuple[str, ...]:
        """``ensure`` for an async client."""
        for step in self._steps:
            assert isinstance(step, OAuth2ClientCredentials)
            slot = self._slots[id(step)]
            if not self._due(slot):
                continue
            with self._guard:
                if slot.task_lock is None:
                    import asyncio  # running in its loop: a lookup

                    slot.task_lock = asyncio.Lock()
            async with slot.task_lock:
                if self._due(slot):  # another task may have fetched it meanwhile
                    import httpx

                    request = self._token_request(http, step)
                    try:
                        response = await http.send(request, follow_redirects=False)
                        slot.cached = self._read(step, response.status_code, response.content)
                        if self._on_token is not None:
                            self._on_token(slot.cached.token)
                    except httpx.HTTPError as exc:
                        raise self._unanswered(step, exc) from None
        return self.tokens()

    def forget(self, refused: tuple[str, ...] | None = None) -> None:
        """Drop the cached tokens (the provider refused one): the next request fetches anew.
        With ``refused`` (what ``ensure`` returned for the refused request), only those: a
        token another call fetched since is kept."""
        for slot in self._slots.values():
            cached = slot.cached
            if cached is not None and (refused is None or cached.token in refused):
                slot.cached = None

    def _unanswered(self, step: OAuth2ClientCredentials, exc: httpx.HTTPError) -> TransportError:
        import httpx

        sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        return TransportError(
            f"the token request to {self._url(step)} got no answer ({type(exc).__name__})", request_sent=sent
        )

    def _url(self, step: OAuth2ClientCredentials) -> str:
        """The token endpoint: the one the client was given, else the step's URL, or its
        path on the client's own server."""
        given = self._endpoints.get(id(step))
        if given is not None:
            return given
        if step.token_url.startswith("/"):
            import httpx

            base = httpx.URL(self._base_url)
            return str(
                base.copy_with(raw_path=sent_path(step.token_url).encode("ascii"), query=None, fragment=None)
            )
        return step.token_url

    def _token_request(
        self, http: httpx.Client | httpx.AsyncClient, step: OAuth2ClientCredentials
    ) -> httpx.Request:
        moment = self._clock()
        client_id = render(step.client_id, self._variables, moment)
        client_secret = render(step.client_secret, self._variables, moment)
        form = {"grant_type": "client_credentials"}
        if step.scope is not None:
            form["scope"] = step.scope
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if step.client_auth == "basic":
            # RFC 6749 2.3.1: each form-urlencoded, then HTTP Basic.
            pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode("utf-8")
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form["client_id"] = client_id
            form["client_secret"] = client_secret
        return http.build_request(
            "POST",
            self._url(step),
            content=urlencode(form).encode("ascii"),
            headers=headers,
            timeout=self._timeout,
        )

    def _read(self, step: OAuth2ClientCredentials, status: int, content: bytes) -> _Cached:
        where = self._url(step)
        answer: Any = None
        if len(content) <= _MAX_TOKEN_ANSWER:
            try:
                answer = json.loads(content)
            except ValueError:
                answer = None
        if status != 200:
            code = answer.get("error") if isinstance(answer, dict) else None
            shown = f" ({code})" if isinstance(code, str) and code.replace("_", "").isalpha() else ""
            raise TokenError(f"the token endpoint {where} answered HTTP {status}{shown}")
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise TokenError(f"the token endpoint {where} gave no access_token")
        token_type = answer.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TokenError(f"the token endpoint {where} gave a token that is not a bearer token")
        lifetime = answer.get("expires_in", _DEFAULT_LIFETIME)
        if isinstance(lifetime, str) and lifetime.isdigit():
            lifetime = int(lifetime)
        if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
            raise TokenError(f"the token endpoint {where} gave an invalid expires_in")
        margin = min(step.refresh_margin, lifetime // 2)
        return _Cached(answer["access_token"], self._clock() + timedelta(seconds=lifetime - margin))
