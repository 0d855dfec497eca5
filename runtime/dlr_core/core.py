"""The sans-IO core both clients share (``ClientCore``): credentials and auth scheme chosen,
arguments checked, requests built and signed, retries and polling planned, errors made.
The I/O is in ``sync_client`` and ``async_client``; what a client does is told in
``dlr_core.client``."""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from urllib.parse import quote
from typing import Any, ClassVar
import httpx
from pydantic import BaseModel, ValidationError
from dlr_core.errors import (
    EXCERPT_LIMIT,
    AuthenticationError,
    DlrError,
    ParameterError,
    ProviderError,
    ProviderResponseError,
    RequestTimeout,
    ResponseTooLarge,
    TransportError,
    UnexpectedRedirect,
    UnsafeLinkError,
)
from dlr_core.options import per_call_option
from dlr_core.polling import PollResult
from dlr_core.receipt import Receipt
from dlr_core.request import PreparedRequest
from dlr_core.retry import (
    RetryPolicy,
    mark_consumed,
    may_have_consumed,
    may_repeat_with_new_token,
    next_delay,
    resolve,
)
from dlr_core.signing import RequestSigner, Scheme, Signer
from dlr_core.tokens import TokenKeeper
from dlr_core.tokens import TokenUrl as TokenUrl
from dlr_core.credentials import Credentials, choose_auth_scheme, credentials_from_env
from dlr_core.envelope import EnvelopeReader, scalar
from dlr_core.spec import (
    ApiSpec,
    Clock,
    Model,
    Monotonic,
    Nonce,
    OperationSpec,
    OperationTable,
    ParamSpec,
    Retries,
)
from dlr_core.wire.encode import WithExtra, caller_params, check_alternatives, time_argument, time_text
from dlr_core.wire.http import keep_cookies as keep_cookies
from dlr_core.wire.headers import OutgoingHeaders
from dlr_core.wire.http import Origin, normalized, origin_of, origin_text, parsed_url, split_base
from dlr_core.wire.read import ACCEPT_ENCODING, BadEncoding, BodyReader, TooLarge, TooSlow, Unreadable

logger: logging.Logger = logging.getLogger("dlr_core")
_LOCATION_EXCERPT = 200

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
"""The largest answer a client reads (after decompression), unless told otherwise."""


class TransportCause(Exception):
    """The cause of a ``TransportError``, as text: the httpx error's type and message with
    secrets scrubbed (the httpx error itself holds the signed request)."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def poll_result(receipts: list[Receipt]) -> PollResult:
    return PollResult(receipts=receipts, open=[r for r in receipts if not r.status.is_final])


@functools.lru_cache(maxsize=256)
def _address(base_url: str, path: str) -> tuple[str, Origin]:
    """A request's URL without its query as httpx writes it, and its origin: an operation's
    are the same on every call, worked out once."""
    scheme, netloc = split_base(base_url)
    return normalized(f"{scheme}://{netloc}{PreparedRequest('GET', base_url, path).full_path}")


class SignedRequest(httpx.Request):
    """What ``prepare`` returns: the ``httpx.Request`` an operation would send, signed.
    Its ``repr`` (method and URL) has secret credentials scrubbed, should a scheme put one
    in the URL."""

    def __init__(self, request: httpx.Request, scrub: Callable[[str], str]) -> None:
        super().__init__(
            request.method,
            request.url,
            headers=request.headers,
            content=request.content,
            extensions=request.extensions,
        )
        self._scrub = scrub

    def __repr__(self) -> str:
        return self._scrub(super().__repr__())


class ClientCore(EnvelopeReader):
    """State and request logic shared by the sync and async clients.

    ``timeout`` is the budget of one attempt in seconds, from sending to the last byte of
    the answer; ``max_response_bytes`` caps an answer's size after decompression. (The
    async client cancels an attempt 0.25 s past its budget, wherever it is; the sync
    client checks the budget as the body arrives, while a status line and headers sent a
    byte at a time are bounded only by httpx's timeout for each read.)

    ``clock`` gives wall time (signatures' timestamps, ``sent_at``, Retry-After dates) and
    ``monotonic`` measures elapsed time (retry deadlines, ``wait_for_final``'s timeout).
    ``defaults`` fills per-call parameters the caller leaves out (see ``_arguments``).

    ``token_url`` sends the auth scheme's OAuth2 token requests to another endpoint than the
    spec's (a mock's, a proxy's; ``dlr_core.tokens.token_endpoints``). It is only ever
    given: a ``base_url`` never moves the token requests of an absolute ``token_url``, so
    the client secret goes only to hosts the user chose.
    """

    # -- the contract with generated code ---------------------------------------------------
    # Generated clients use only the ``dlr_``-prefixed names below (and the module-level names
    # of ``dlr_core.contract``): public, documented in runtime/README.md ("The contract with
    # generated code"), kept for the whole of a major version. The prefix keeps them apart
    # from the spec's operation names (``generator.names`` refuses an operation that takes
    # one of a client's attribute names). The underscored names packages generated before
    # 1.3 use stay as aliases for 1.x, silently: those packages must not become noisy.

    dlr_operations: ClassVar[OperationTable] = {}
    """For generated code: each operation's description and parameter model, by name."""
    _operations: ClassVar[OperationTable] = {}
    """Deprecated: ``dlr_operations`` as packages generated before dlr-core 1.3 set it."""

    def _known_operations(self) -> OperationTable:
        return self.dlr_operations or self._operations

    @property
    def dlr_api(self) -> ApiSpec:
        """For generated code: the provider's description the client was made with."""
        return self._api

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str | None],
        *,
        server: str | None,
        base_url: str | None,
        auth_scheme: str | None,
        timeout: float,
        retries: Retries,
        clock: Clock | None,
        nonce: Nonce | None,
        max_response_bytes: int | None = None,
        monotonic: Monotonic | None = None,
        defaults: Mapping[str, object] | None = None,
        signer: RequestSigner | None = None,
        token_url: TokenUrl = None,
    ) -> None:
        self._api = api
        server = server or api.default_server
        if server not in api.servers:
            raise ValueError(f"unknown server {server!r}; choose one of: {', '.join(api.servers)}")
        given = {name: value for name, value in credentials.items() if value}
        if not given:  # none in code: the environment, as the providers' own SDKs do
            given = credentials_from_env(api)
        scheme = choose_auth_scheme(api, given, auth_scheme, signer=signer is not None)
        if api.require_base_url and not base_url:
            raise ValueError(f"{api.provider} has one endpoint per account: pass base_url")
        self.base_url: str = (base_url or api.servers[server]).rstrip("/")
        self._origin = origin_of(httpx.URL(self.base_url))
        self.auth_scheme: str = scheme
        self.timeout: float = timeout
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self.max_response_bytes: int = (
            DEFAULT_MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes
        )
        if self.max_response_bytes <= 0:
            raise ValueError("max_response_bytes must be positive")
        self.retry_policy: RetryPolicy = resolve(retries, api.retry)
        self._credentials = Credentials(given, api.secret_credentials)
        self._clock = clock or _utc_now
        self._nonce = nonce
        self._monotonic = monotonic or time.monotonic
        self._defaults = self._checked_defaults(defaults or {})
        self._signer = signer
        self._scheme = Scheme() if signer is not None else Scheme.from_data(api.auth_schemes[scheme])
        self._signers: dict[str | None, Signer] = {}
        self._headers = OutgoingHeaders()
        if token_url is not None and not self._scheme.stateful_steps():
            what = "a signer= replaces the auth scheme" if signer is not None else f"auth scheme {scheme!r}"
            raise ValueError(f"token_url: the client fetches no token ({what}); it is for OAuth2 token flows")
        self._tokens = TokenKeeper(
            self._scheme,
            {**api.constants, **self._credentials.as_variables()},
            base_url=self.base_url,
            clock=self._clock,
            timeout=timeout,
            on_token=self._credentials.add_secret,
            token_url=token_url,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self._api.provider!r}, base_url={self.base_url!r}, auth_scheme={self.auth_scheme!r})"

    # -- debugging and per-account arguments ----------------------------------------------

    def prepare(self, operation: str, /, **arguments: Any) -> SignedRequest:
        """The exact request ``operation`` would send with these arguments, signed, without
        sending it: to compare with another SDK's request when a signature does not match.

        ``arguments`` are the operation method's keyword arguments (``extra_params``
        included; ``retries`` is ignored), checked as the method checks them
        (``ParameterError``), with the client's ``defaults`` filled in. The signature uses
        the client's ``clock``, ``nonce`` and credentials, afresh on every call. The result
        is an ``httpx.Request`` (``method``, ``url``, ``headers``, ``content``), built by the
        client's ``http_client``, whose ``repr`` shows the method and URL, secrets scrubbed.
        """
        known = self._known_operations().get(operation)
        if known is None:
            names = ", ".join(sorted(self._known_operations())) or "none"
            raise ParameterError(
                "operation", f"{operation!r} is not an operation of {self._api.provider} (it has: {names})"
            )
        spec, model = known
        http = self._http_client()
        if self._tokens and isinstance(http, httpx.Client):
            self._tokens.ensure(http)  # an async client's prepare() uses the token its calls fetched
        accepted = caller_params(spec)
        extra = arguments.pop(per_call_option("extra_params", accepted), None)
        arguments.pop(per_call_option("retries", accepted), None)  # nothing is sent, nor retried
        for name in arguments:
            if name not in accepted:
                raise ParameterError(name, f"not a parameter of {operation}")
        params = self.dlr_params(spec, model, self.dlr_arguments(spec, arguments))
        request = self._prepare(self.dlr_with_extra(spec, extra), params)
        return SignedRequest(self._outgoing(self._http_client(), request), self._credentials.scrub)

    def _http_client(self) -> httpx.Client | httpx.AsyncClient:
        raise NotImplementedError  # each base has its own

    def _checked_defaults(self, defaults: Mapping[str, object]) -> dict[str, object]:
        """The client's ``defaults``, each the Python name of a parameter that some operation
        takes from its caller without a default of its own (else ``ParameterError``)."""
        checked = dict(defaults)
        for name in checked:
            takers = [op for op in self._api.operations if name in caller_params(op)]
            if not takers:
                raise ParameterError(
                    name, f"no {self._api.provider} operation takes it, so it cannot have a default"
                )
            for op in takers:
                known = self._known_operations().get(op.name)
                info = known[1].model_fields.get(name) if known is not None else None
                if info is not None and not info.is_required() and info.default is not None:
                    raise ParameterError(
                        name, f"{op.name} has a default of its own ({info.default!r}): pass it per call"
                    )
        return checked

    def dlr_arguments(self, operation: OperationSpec, values: Mapping[str, object]) -> dict[str, object]:
        """For generated code: a call's arguments with the client's ``defaults`` where the
        caller passed none (None): the caller's value wins."""
        merged = dict(values)
        if self._defaults:
            taken = caller_params(operation)
            for name, value in self._defaults.items():
                if name in taken and merged.get(name) is None:
                    merged[name] = value
        return merged

    def dlr_with_extra(self, operation: OperationSpec, extra: Mapping[str, str] | None) -> OperationSpec:
        """For generated code: ``operation`` as one call sends it: with the call's ``extra_params`` (wire names
        the spec does not declare, and their text), which never replace a declared
        parameter nor one the signature sets (``ParameterError``)."""
        if not extra:
            return operation
        if not isinstance(extra, Mapping):
            raise ParameterError(
                "extra_params", f"expected a mapping of wire names to text, got {type(extra).__name__}"
            )
        signed = self._scheme.placed("query", "body")
        pairs: list[tuple[str, str]] = []
        for wire, value in extra.items():
            if not isinstance(wire, str) or not wire:
                raise ParameterError("extra_params", f"{wire!r} is not a parameter name")
            if not isinstance(value, str):
                raise ParameterError("extra_params", f"{wire}: expected text, got {type(value).__name__}")
            for param in operation.params:
                item = rf"{re.escape(param.wire)}\.\d+"  # SessionNoSet.0 of an indexed SessionNoSet
                if wire == param.wire or (param.array_style == "indexed" and re.fullmatch(item, wire)):
                    given = param.name in caller_params(operation)
                    how = f"pass {param.name}=" if given else "it is set for you"
                    raise ParameterError(
                        "extra_params", f"{wire!r} is {operation.name}'s parameter {param.name!r}: {how}"
                    )
            if wire in signed:
                raise ParameterError("extra_params", f"{wire!r} is set by the {self.auth_scheme!r} signature")
            pairs.append((wire, value))
        copied = {
            f.name: getattr(operation, f.name)
            for f in dataclasses.fields(operation)
            if f.init and f.name != "extra"
        }
        return WithExtra(**copied, extra=tuple(pairs))

    # -- parameters ---------------------------------------------------------------------

    def dlr_params(self, operation: OperationSpec, model: type[Model], values: Mapping[str, object]) -> Model:
        """For generated code: the caller's arguments validated against the spec's
        constraints, before sending (``ParameterError``)."""
        check_alternatives(operation, values)
        prepared = dict(values)
        for param in operation.params:
            value = prepared.get(param.name)
            if value is None and param.default_from_credential is not None:
                prepared[param.name] = value = self._credentials.get(param.default_from_credential)
            if param.type in ("date", "datetime") and param.date_format and value is not None:
                prepared[param.name] = time_argument(param, value)
        try:
            return model.model_validate(prepared)
        except ValidationError as exc:
            error = exc.errors()[0]
            wire_to_name = {p.wire: p.name for p in operation.params}
            where = str(error["loc"][0]) if error["loc"] else "parameters"
            name = wire_to_name.get(where, where)
            raise ParameterError(name, f"{error['msg']} (got {error.get('input')!r})") from None

    # -- requests -----------------------------------------------------------------------

    def _prepare(
        self, operation: OperationSpec, params: BaseModel, url: str | None = None
    ) -> PreparedRequest:
        """The signed request for a call; with ``url`` (a next-page link, resolved by
        ``_next_link``), a GET of that URL instead of the operation's own parameters."""
        if url is not None:
            self._check_origin(httpx.URL(url), "the link to the next page")
            request = PreparedRequest.from_url("GET", url, self.base_url)
        else:
            request = self._build(operation, params)
            if isinstance(operation, WithExtra):
                operation.place_extra(request)
        request.set_content_type()
        if self._signer is not None:
            self._signer.sign(request, self._variables(operation.action))
        else:
            signer = self._signers.get(operation.action)
            if signer is None:
                # One signer per action, made once: the variables that do not change
                # between calls (credentials, constants, action, API version) are set.
                signer = Signer(
                    self._scheme,
                    self._variables(operation.action),
                    clock=self._clock,
                    nonce=self._nonce,
                    tokens=self._tokens,
                )
                self._signers[operation.action] = signer
            signer.sign(request)
        return request

    def _variables(self, action: str | None) -> dict[str, str]:
        """What a signature's templates may use besides the request: the spec's constants,
        the credentials, the operation's action and the API version."""
        variables = {**self._api.constants, **self._credentials.as_variables()}
        if action is not None:
            variables["action"] = action
        if self._api.api_version is not None:
            variables["api_version"] = self._api.api_version
        return variables

    def _check_origin(self, url: httpx.URL, what: str) -> None:
        """Refuse to send anything (credentials included) outside the client's origin."""
        origin = origin_of(url)
        if origin != self._origin:
            shown = self._credentials.scrub(origin_text(origin))
            raise UnsafeLinkError(
                f"{what} leads to {shown}, not to {origin_text(self._origin)}: not "
                "followed, since the request would carry the credentials there",
                provider=self._api.provider,
                origin=shown,
            )

    def _next_link(self, current: str, link: str) -> str:
        """The absolute URL of a next-page link (resolved against the URL of the page that
        gave it), when it stays on the client's origin; UnsafeLinkError otherwise."""
        try:
            target = httpx.URL(current).join(link)
        except (httpx.InvalidURL, ValueError, TypeError):
            shown = self._credentials.excerpt(str(link), _LOCATION_EXCERPT)
            raise ProviderResponseError(
                f"the link to the next page is not a URL: {shown!r}",
                provider=self._api.provider,
            ) from None
        self._check_origin(target, "the link to the next page")
        return str(target)

    def _outgoing(self, http: httpx.Client | httpx.AsyncClient, request: PreparedRequest) -> httpx.Request:
        """The httpx request for a prepared one, checked to go to the client's origin."""
        headers = dict(request.headers)
        if not any(name.lower() == "accept-encoding" for name in headers):
            headers["Accept-Encoding"] = ACCEPT_ENCODING
        if http.cookies or http.params:
            # What build_request merges besides headers: the slow path, as httpx does it.
            outgoing = http.build_request(
                request.method,
                request.url,
                headers=headers,
                content=request.body(),
                timeout=self.timeout,
            )
        else:
            # build_request's result, without its generic merging (the URL is absolute) nor
            # httpx's second pass over the headers (wire/headers.py).
            url = parsed_url(request.url) if not request.query else httpx.URL(request.url)
            body = request.body()
            outgoing = httpx.Request(
                request.method,
                url,
                headers=self._headers.merged(http.headers, headers, request.method, url.netloc, body),
                stream=httpx.ByteStream(body),
                extensions={"timeout": dict(self._timeouts)},
            )
            outgoing.read()  # its content readable, as with content=
        self._check_origin(outgoing.url, "the request")
        return outgoing

    def _raw_target(self, request: PreparedRequest) -> str:
        """The absolute, percent-encoded URL a request goes to when it is sent without
        httpx, written as httpx writes it, checked to be on the client's origin."""
        address, origin = _address(request.base_url, request.path)
        if origin != self._origin:
            self._check_origin(httpx.URL(address), "the request")
        query = request.query_string
        return f"{address}?{query}" if query else address

    def _open_body(self, response: httpx.Response, started: float) -> BodyReader:
        """Check an answer's status line and headers, and get ready to read its body
        within what is left of the attempt's budget."""
        self._refuse_redirect(response.status_code, response.headers)
        deadline = started + self.timeout
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TooSlow()
        # httpx waits up to the read timeout for each chunk: no longer than what is left.
        timeouts = response.request.extensions.get("timeout")
        if isinstance(timeouts, dict):
            read = timeouts.get("read")
            timeouts["read"] = remaining if read is None else min(read, remaining)
        return BodyReader(
            # A body read already (by an in-memory transport or an event hook) is decoded.
            ("" if response.is_stream_consumed else response.headers.get("Content-Encoding", "")),
            self.max_response_bytes,
            deadline,
        )

    def _open_raw_body(self, status: int, headers: Mapping[str, str], started: float) -> BodyReader:
        """``_open_body`` for an answer that came without httpx (its body as sent, the
        time for each read bounded by the attempt's own deadline)."""
        self._refuse_redirect(status, headers)
        deadline = started + self.timeout
        if deadline <= time.monotonic():
            raise TooSlow()
        return BodyReader(headers.get("Content-Encoding", ""), self.max_response_bytes, deadline)

    def _refuse_redirect(self, status: int, headers: Mapping[str, str]) -> None:
        """``UnexpectedRedirect`` for a 3xx answer: a signed request is never redirected."""
        if 300 <= status < 400:
            location = headers.get("Location")
            shown = self._credentials.excerpt(location, _LOCATION_EXCERPT) if location is not None else None
            raise UnexpectedRedirect(
                f"HTTP {status}: the provider redirects to {shown!r}; a signed request is "
                "never redirected, since the credentials would go along",
                provider=self._api.provider,
                http_status=status,
                location=shown,
            )

    @staticmethod
    def _read_already(response: httpx.Response) -> list[bytes] | None:
        """The body of a response read before it came here, or None to stream it."""
        if not response.is_stream_consumed:
            return None
        try:
            return [response.content]
        except httpx.ResponseNotRead:
            raise BadEncoding("the answer's body was consumed elsewhere") from None

    def _unreadable(self, problem: Unreadable, request: PreparedRequest, status: int) -> DlrError:
        """The typed error for an answer whose body went past a limit."""
        if isinstance(problem, TooLarge):
            head, _ = self._credentials.scrub_head(problem.head, EXCERPT_LIMIT, prefix=True)
            return ResponseTooLarge(
                f"HTTP {status}: the answer is larger than max_response_bytes "
                f"({self.max_response_bytes} bytes after decompression); reading stopped",
                provider=self._api.provider,
                http_status=status,
                limit=self.max_response_bytes,
                raw_body=head,
                raw_body_length=problem.size,
            )
        if isinstance(problem, BadEncoding):
            return ProviderResponseError(
                f"HTTP {status}: {problem.reason}",
                provider=self._api.provider,
                http_status=status,
            )
        return RequestTimeout(
            f"{self._api.provider}: no whole answer within {self.timeout}s from "
            f"{request.method} {request.base_url}{request.path}"
        )

    def _build(self, operation: OperationSpec, params: BaseModel) -> PreparedRequest:
        values = params.model_dump()
        credentials = self._credentials  # read where a parameter comes from one (no copy)
        path = operation.path
        for param in operation.params:
            if param.location == "path":
                segment = (  # a const path segment (a fixed region) is never a caller's
                    param.const
                    if param.const is not None
                    else credentials.get(param.from_credential or "") or values.get(param.name)
                )
                path = path.replace(f"{{{param.wire}}}", quote(scalar(segment), safe=""))
        request = PreparedRequest(operation.method, self.base_url, path)
        for name, text in operation.headers.items():
            request.place("header", name, text)
        locations = {p.location for p in operation.params}
        request.body_kind = (
            "json" if locations & {"json", "body"} else "form" if "form" in locations else "none"
        )
        for param in operation.params:
            if param.location == "path":
                continue
            if param.const is not None:
                value: object = param.const
            elif param.from_credential is not None:
                value = credentials.get(param.from_credential)
            else:
                value = values.get(param.name)
            if value is None:
                continue
            self._encode(request, param, value)
        if request.body_kind == "json" and request.json == {}:  # an array body is sent, even []
            request.body_kind = "none"
        return request

    @staticmethod
    def _encode(request: PreparedRequest, param: ParamSpec, value: object) -> None:
        if isinstance(value, date) and param.date_format:
            value = time_text(param, value)
        if param.location == "body":  # the whole body is this array
            request.json = list(value) if isinstance(value, (list, tuple)) else [value]
            return
        if param.location == "json":
            request.json_fields()[param.wire] = value
            return
        if isinstance(value, (list, tuple)):
            items = [scalar(item) for item in value]
            if param.array_style == "indexed":
                for index, item in enumerate(items, start=param.index_start):
                    request.place(param.location, f"{param.wire}.{index}", item)
            elif param.array_style == "comma":
                request.place(param.location, param.wire, ",".join(items))
            else:  # repeat
                for item in items:
                    request.place(param.location, param.wire, item)
            return
        request.place(param.location, param.wire, scalar(value))

    def _elapsed(self, started: float) -> float:
        """Seconds since ``started`` (a ``monotonic`` reading), whatever ``clock`` says."""
        return self._monotonic() - started

    def _retry_delay(
        self,
        policy: RetryPolicy,
        error: DlrError,
        attempt: int,
        started: float,
        operation: OperationSpec,
        renewed: bool = False,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to raise ``error``. A
        request repeated with a new token (``renewed``) is one more in ``error.attempts``,
        not a retry."""
        error.attempts = attempt + (1 if renewed else 0)
        if operation.consuming and may_have_consumed(error):
            mark_consumed(error, operation.name)
            return None
        delay = next_delay(
            policy,
            error,
            attempt,
            self._elapsed(started),
            consuming=operation.consuming,
        )
        if delay is not None:
            logger.info(
                "%s: attempt %d failed (%s); retrying in %.2fs",
                self._api.provider,
                attempt,
                type(error).__name__,
                delay,
            )
        elif isinstance(error, ProviderError) and error.retry_after is not None:
            logger.info(
                "%s: attempt %d failed (%s) and the provider asks to wait %ss: not retried",
                self._api.provider,
                error.attempts,
                type(error).__name__,
                error.retry_after,
            )
        return delay

    def _renew_token(
        self, error: DlrError, operation: OperationSpec, used: tuple[str, ...], renewed: bool
    ) -> bool:
        """After an authentication error: drop the tokens the refused request carried (the
        next request fetches a new one), and say whether to send it again now, with the new
        token. Once per call, and only when that is safe (``may_repeat_with_new_token``)."""
        if not isinstance(error, AuthenticationError) or not self._tokens:
            return False
        self._tokens.forget(used)
        if renewed or not may_repeat_with_new_token(operation.method, operation.consuming, error):
            return False
        logger.info(
            "%s: %s was refused for authentication; repeating it once with a new token",
            self._api.provider,
            operation.name,
        )
        return True

    def _poll_plan(
        self, timeout: float | None, interval: float | None, sent_at: datetime | None
    ) -> tuple[float, float, float]:
        """(first wait, interval, deadline) in seconds, from the arguments or the spec's hints."""
        return self._api.polling.plan(timeout, interval, sent_at, self._clock())

    def _transport_error(self, exc: httpx.HTTPError, request: PreparedRequest) -> TransportError:
        target = f"{request.method} {request.base_url}{request.path}"
        # Only these fail before the request could leave: no connection, none free.
        sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeout(
                f"{self._api.provider}: no answer within {self.timeout}s from {target}",
                request_sent=sent,
            )
        return TransportError(
            f"{self._api.provider}: {type(exc).__name__} calling {target}",
            request_sent=sent,
        )

    def _cause(self, exc: httpx.HTTPError) -> TransportCause:
        """What went wrong underneath, for ``__cause__``: the httpx error's type and text,
        scrubbed of secrets, without the request it holds (whose headers may sign)."""
        text = self._credentials.scrub(str(exc) or repr(exc.__cause__ or exc.__context__ or ""))
        return TransportCause(f"{type(exc).__module__}.{type(exc).__name__}: {text}")

    def _log(self, request: PreparedRequest, status: int, started: float) -> None:
        if not logger.isEnabledFor(logging.DEBUG):  # the success path builds nothing to log
            return
        logger.debug(
            "%s %s%s -> %s in %.3fs",
            request.method,
            request.base_url,
            request.path,
            status,
            time.monotonic() - started,
        )

    # Deprecated aliases, for packages generated before dlr-core 1.3 (kept for 1.x).
    _arguments = dlr_arguments
    _with_extra = dlr_with_extra
    _params = dlr_params
