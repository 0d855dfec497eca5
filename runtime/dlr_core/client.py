"""The machinery every generated client shares: building and signing a request from the
spec's description of it, sending it with httpx, and reading the answer's envelope into a
typed model or a typed error.

Generated clients are thin: their methods take typed keyword arguments, validate them
with the generated parameter model, and call ``dlr_call`` with the operation's description.

For a signature that does not match, and for accounts that need more than the spec says:

- ``client.prepare("operation", **arguments)`` returns the exact request the operation
  method would send (an ``httpx.Request``: method, URL, headers, body), its arguments
  checked as the method checks them (``ParameterError``) and signed with the client's
  ``clock``, ``nonce`` and credentials, without sending anything; its ``repr`` shows only
  the method and URL, secrets scrubbed.
- ``defaults={"region": "cn-zj"}`` gives per-call parameters a value for every call that
  passes none (keys are the operations' Python parameter names; the caller's value wins;
  a key no operation takes is a ``ParameterError`` when the client is made).
- ``extra_params={"WireName": "value"}``, on every operation method, sends parameters the
  spec does not declare where the operation's own go (its form or JSON body, else the
  query), signed with the rest; a name the spec declares (or the signature sets) is a
  ``ParameterError``. A link to the next page is followed as given, without them.

``clock`` is wall time, for the signatures' timestamps (a fixed one makes them
reproducible); how long something has taken (the retry deadline, ``wait_for_final``'s
timeout) is measured with ``monotonic`` (``time.monotonic`` unless given), so a fixed
``clock`` never keeps a wait from ending.

What the client sends and reads is bounded, whatever the provider (or whoever answers in
its place) does:

- every request goes to the client's own origin (scheme, host and port): a link to the
  next page that leads elsewhere is not followed (``UnsafeLinkError``), and redirects are
  never followed, whatever the ``http_client`` says (``UnexpectedRedirect``);
- an answer is read as a stream, at most ``max_response_bytes`` after decompression
  (``ResponseTooLarge``), within ``timeout`` seconds for the whole attempt, reading the
  body included (``RequestTimeout``);
- JSON nested deeper than 64 levels is refused (``ProviderResponseError``), and errors
  keep a bounded excerpt of the answer, with secrets scrubbed in their plain,
  JSON-escaped and URL-encoded forms.
"""

from __future__ import annotations

# Since 1.3 the client machinery lives in modules by concern (spec, credentials, wire,
# envelope, core, sync_client, async_client, batching). This module keeps every name it
# held before, for 1.x: generated packages import from it, and ``generator.names`` reads
# its names as taken.

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import os
import re
import time
import zlib
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Sized,
)
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from types import TracebackType
import urllib.request
from urllib.parse import quote, quote_plus
from typing import Any, ClassVar, Generic, Literal, TypeVar
import anyio
import httpx
import sniffio
from pydantic import BaseModel, ValidationError
from typing_extensions import Self
from dlr_core.errors import (
    EXCERPT_LIMIT,
    AuthenticationError,
    CredentialsError,
    DlrError,
    ErrorTable,
    InvalidRequest,
    NotFound,
    ParameterError,
    PermissionDenied,
    ProviderError,
    ProviderResponseError,
    RateLimited,
    RequestTimeout,
    ResponseTooLarge,
    TransportError,
    UnexpectedRedirect,
    UnsafeLinkError,
    error_class,
)
from dlr_core.options import per_call_option
from dlr_core.polling import PollingHints, PollResult
from dlr_core.receipt import Receipt
from dlr_core.request import PreparedRequest
from dlr_core.retry import (
    RetryPolicy,
    may_have_consumed,
    may_repeat_with_new_token,
    next_delay,
    parse_retry_after,
    resolve,
)
from dlr_core.signing import RequestSigner, Scheme, Signer
from dlr_core.tokens import TokenKeeper
from dlr_core.tokens import TokenUrl as TokenUrl
from dlr_core.status import DeliveryStatus
from dlr_core.times import compile_pattern, parse_zone
from dlr_core.async_client import (
    AsyncClientBase as AsyncClientBase,
    DEFAULT_MAX_CONCURRENCY as DEFAULT_MAX_CONCURRENCY,
    HttpTransport as HttpTransport,
)
from dlr_core.batching import (
    Item as Item,
    answered_in_order as answered_in_order,
    in_chunks as in_chunks,
    in_input_order as in_input_order,
)
from dlr_core.core import (
    ClientCore as ClientCore,
    DEFAULT_MAX_RESPONSE_BYTES as DEFAULT_MAX_RESPONSE_BYTES,
    SignedRequest as SignedRequest,
    TransportCause as TransportCause,
    logger as logger,
)
from dlr_core.credentials import (
    Credentials as Credentials,
    choose_auth_scheme as choose_auth_scheme,
    credentials_from_env as credentials_from_env,
)
from dlr_core.spec import (
    ApiSpec as ApiSpec,
    AsyncSleep as AsyncSleep,
    Clock as Clock,
    EnvelopeSpec as EnvelopeSpec,
    Model as Model,
    Monotonic as Monotonic,
    Nonce as Nonce,
    OperationSpec as OperationSpec,
    OperationTable as OperationTable,
    Paging as Paging,
    ParamSpec as ParamSpec,
    Params as Params,
    Retries as Retries,
    Sleep as Sleep,
)
from dlr_core.sync_client import SyncClientBase as SyncClientBase
from dlr_core.wire.read import MAX_JSON_DEPTH as MAX_JSON_DEPTH
