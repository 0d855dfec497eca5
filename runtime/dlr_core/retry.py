"""Retries: which failures are worth another attempt, and how long to wait before it.

Exponential backoff with full jitter (a random wait between 0 and the capped exponential),
bounded by a number of attempts and a total deadline; a provider's Retry-After is honoured.
Errors that another attempt cannot fix (authentication, permission, parameters, clock skew)
are never retried, whatever the spec says.

Operations that read a queue (``consuming`` in the spec: the provider hands each record
out once) are retried only when the failed attempt cannot have drained the queue: the
request never left (no connection could be made) or the provider refused it outright
(rate limits, including HTTP 429 with Retry-After, and other 4xx refusals, which are not
retried anyway). A timeout, a 5xx, a retryable provider error or an unreadable answer
may come after the provider handed the batch out: retrying would get the next (often
empty) batch and lose this one, so it is raised instead, marked ``may_have_consumed``.

A Retry-After (seconds, however many digits, or an HTTP date) that ends past the retry
deadline (or past ``LONGEST_RETRY_AFTER`` when the policy has none) ends the call at once:
the ``RateLimited`` raised carries it in ``retry_after``, for the caller to schedule by.

A client whose scheme fetches tokens (OAuth2) repeats a call refused for authentication
once, with a new token (``may_repeat_with_new_token``): providers revoke or rotate tokens
before they expire, and document "get a new token and repeat the request".
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from dlr_core.errors import (
    AuthenticationError,
    ClockSkew,
    DlrError,
    ErrorKind,
    InvalidRequest,
    NotFound,
    ParameterError,
    PermissionDenied,
    ProviderError,
    ProviderResponseError,
    RateLimited,
    TransportError,
    UnsafeLinkError,
    error_class,
)

_NEVER_RETRIED = (
    AuthenticationError,
    PermissionDenied,
    InvalidRequest,
    ClockSkew,
    NotFound,
    ParameterError,
    ProviderResponseError,
)
# The error kinds a spec may not mark retryable: derived from the classes above.
NEVER_RETRIED_KINDS = frozenset(kind for kind in ErrorKind if issubclass(error_class(kind), _NEVER_RETRIED))
# Answers that refuse the request: whatever the operation, nothing was handed out.
_REFUSALS = (
    AuthenticationError,
    PermissionDenied,
    RateLimited,
    InvalidRequest,
    ClockSkew,
    NotFound,
    ParameterError,
    UnsafeLinkError,  # raised before anything is sent
)
# Retry-After in seconds: ASCII digits only (str.isdigit would take "٣" or "²"), however
# many: a Retry-After of 99999999999999999999 means "not before long", never "absent".
_RETRY_AFTER_SECONDS = re.compile(r"[0-9]+")
LONGEST_RETRY_AFTER = 24 * 3600.0
"""The longest Retry-After waited for by a policy without a deadline: a longer one ends the call."""
# Methods whose repetition has the effect of one request (RFC 9110, section 9.2.2).
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries. ``RetryPolicy(max_attempts=1)`` (or ``retries=0``) turns retries off."""

    max_attempts: int = 3
    """Attempts in all, the first one included."""
    initial_backoff: float = 0.5
    """Upper bound of the first wait, in seconds; it doubles each attempt."""
    max_backoff: float = 10.0
    """Cap on any single wait, in seconds."""
    deadline: float | None = 30.0
    """Give up when the next attempt would start later than this many seconds after the first."""
    retry_on_status: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))
    """HTTP statuses retried even when the provider's error code is not marked retryable."""

    def with_retries(self, retries: int) -> RetryPolicy:
        """The same policy with ``retries`` attempts after the first."""
        return replace(self, max_attempts=max(1, retries + 1))

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt number ``attempt`` (1-based): full jitter."""
        ceiling = min(self.max_backoff, self.initial_backoff * (2 ** (attempt - 1)))
        return (rng or random).uniform(0.0, ceiling)


def resolve(value: RetryPolicy | int | None, default: RetryPolicy) -> RetryPolicy:
    """A per-client or per-call setting: a policy, a number of retries, or None for the default."""
    if value is None:
        return default
    if isinstance(value, RetryPolicy):
        return value
    return default.with_retries(value)


def is_retryable(error: DlrError, policy: RetryPolicy) -> bool:
    if isinstance(error, _NEVER_RETRIED):
        return False
    if isinstance(error, TransportError):
        return True
    if isinstance(error, ProviderError):
        return error.retryable or (error.http_status in policy.retry_on_status)
    return False


def may_have_consumed(error: DlrError) -> bool:
    """Whether the provider may have handled the failed request: it got through and was
    not refused. For an operation that reads a queue, the records may be gone."""
    if isinstance(error, TransportError):
        return error.request_sent
    if isinstance(error, _REFUSALS):
        return False
    if isinstance(error, ProviderError):
        return error.http_status != 429
    return False


def next_delay(
    policy: RetryPolicy,
    error: DlrError,
    attempt: int,
    elapsed: float,
    *,
    consuming: bool = False,
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up and raise ``error``.

    With ``consuming`` (the operation reads a queue), an attempt that may have drained it
    is never retried (see ``may_have_consumed``); a connect failure or a rate limit still
    is, Retry-After included, since the provider did not hand anything out.
    """
    if attempt >= policy.max_attempts or not is_retryable(error, policy):
        return None
    if consuming and may_have_consumed(error):
        return None
    delay = policy.backoff(attempt)
    retry_after = error.retry_after if isinstance(error, ProviderError) else None
    if retry_after is not None:
        delay = max(delay, retry_after)
    if policy.deadline is not None and elapsed + delay > policy.deadline:
        return None
    if not math.isfinite(delay) or delay > max(LONGEST_RETRY_AFTER, policy.max_backoff):
        return None  # no deadline, but no wait of days either (nor one no sleep can do)
    return delay


def may_repeat_with_new_token(method: str, consuming: bool, error: DlrError) -> bool:
    """Whether a call refused for authentication may be sent again, once, with a new token.

    An idempotent request (GET, PUT, ...) of an operation that does not read a queue may
    always be. Any other (a POST, a queue read) only when the provider refused it with
    HTTP 401, which says the request was not carried out for want of valid credentials
    (RFC 9110, section 15.5.2; RFC 6750, section 3.1): an authentication error in another
    answer does not say that the provider did nothing.
    """
    if not isinstance(error, AuthenticationError):
        return False
    if method.upper() in _IDEMPOTENT_METHODS and not consuming:
        return True
    return error.http_status == 401


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: either a number of seconds (ASCII digits, any number of them)
    or an HTTP date; None for anything else, which is ignored."""
    if not value:
        return None
    value = value.strip(" \t")
    if _RETRY_AFTER_SECONDS.fullmatch(value):
        return float(value)  # inf past float's range: a wait that never ends
    if not value.isascii() or len(value) > 64:
        return None
    # email.utils (socket with it) here, where a date is read: reading a spec needs none
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def mark_consumed(error: DlrError, operation: str) -> None:
    """Say on a failed queue read (``operation``) that its batch may be gone, and why it
    was not retried."""
    note = (
        f" [{operation} reads a queue: the provider may have handed this batch "
        "out already, so it was not retried; its records may be lost]"
    )
    error.may_have_consumed = True
    if isinstance(error, ProviderError):
        error.message += note
        error.args = (error.message,)
    else:
        error.args = (f"{error.args[0] if error.args else ''}{note}",)
