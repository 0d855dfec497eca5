"""The mock's signature check: a request is signed again, as the client signs it, with
its own nonce, timestamp and token read back from wherever its scheme placed them
(``dlr_core.mock_auth``), and every value the scheme places must come out the same.
``MockProvider`` asks it whether a request is authenticated and whether its timestamp is
too far from the mock's clock.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from dlr_core.mock.request_log import MockRequest
from dlr_core.mock_auth import (
    GivenTokens,
    TokenIssuer,
    generated,
    moment_of,
    placed_values,
    recover,
    token_steps,
    without_generators,
)
from dlr_core.request import PreparedRequest
from dlr_core.signing import Scheme, Signer, SigningError
from dlr_core.spec import ApiSpec

__all__ = ["SignatureCheck", "utc_now"]


def utc_now() -> datetime:
    """The mock's clock."""
    return datetime.now(timezone.utc)


class SignatureCheck:
    """Whether a request received is signed as ``api``'s auth schemes sign, with the
    credentials and constants in ``variables`` and the tokens ``tokens`` issued; and
    whether its timestamp is within ``max_clock_skew`` seconds of the mock's clock."""

    def __init__(
        self,
        api: ApiSpec,
        variables: Mapping[str, str],
        schemes: list[Scheme],
        tokens: TokenIssuer,
        max_clock_skew: float | None,
    ) -> None:
        self.api = api
        self.variables: dict[str, str] = dict(variables)
        self._schemes = schemes
        self.tokens = tokens
        self.max_clock_skew = max_clock_skew

    def schemes(self) -> list[Scheme]:
        """The API's auth schemes, read once (they are data in the generated ``api.py``)."""
        return self._schemes

    def known(self, request: MockRequest) -> dict[str, str]:
        """The variables the mock knows for this request: credentials, constants, the
        operation's action."""
        variables = dict(self.variables)
        operation = next((op for op in self.api.operations if op.name == request.operation), None)
        if operation is not None and operation.action is not None:
            variables["action"] = operation.action
        return variables

    def readings(
        self, scheme: Scheme, request: MockRequest
    ) -> tuple[dict[tuple[str, str], str], list[dict[str, str]]] | None:
        """The values the scheme placed in the request, and the candidate readings of what
        the client made up for it (nonce, timestamp, tokens); None when a value is missing."""
        received: dict[tuple[str, str], str] = {}
        for location, name, _ in placed_values(scheme):
            value = request.value(location, name)
            if value is None:
                return None
            received[(location, name)] = value
        wanted = [*generated(scheme), *token_steps(scheme)]
        return received, recover(scheme, received, self.known(request), wanted)

    def verifies(self, scheme: Scheme, request: MockRequest) -> bool:
        """Re-sign the request as received, with its own timestamp, nonce and token read
        back from wherever the scheme placed them, and compare every value the scheme
        places. RSA PKCS#1 v1.5 is deterministic, so this covers it."""
        readings = self.readings(scheme, request)
        if readings is None:
            return False
        received, candidates = readings
        placed = placed_values(scheme)
        rebuilt_once = self._rebuild(request, placed)
        for reading in candidates:
            for tokens in self._token_choices(scheme, reading):
                for moment in self._moments(scheme, reading):
                    rebuilt = copy.deepcopy(rebuilt_once)
                    try:
                        Signer(
                            without_generators(scheme, reading),
                            {**self.known(request), **reading},
                            clock=lambda moment=moment: moment,  # type: ignore[misc]
                            tokens=cast(Any, GivenTokens(tokens)),
                        ).sign(rebuilt)
                    except (SigningError, KeyError, ValueError):
                        continue
                    probe = MockRequest(
                        request.method,
                        request.path,
                        rebuilt.query,
                        {k.lower(): v for k, v in rebuilt.headers.items()},
                        rebuilt.body(),
                        request.operation,
                    )
                    if all(probe.value(loc, name) == received[(loc, name)] for loc, name, _ in placed):
                        return True
        return False

    def _token_choices(self, scheme: Scheme, reading: Mapping[str, str]) -> list[dict[int, str]]:
        """The tokens to re-sign with: each stateful step's token as read from the request
        (valid only if the mock issued it, for that step, and it is live), or, for a token
        the scheme does not place, each live one."""
        choices: list[dict[int, str]] = [{}]
        for name, step in token_steps(scheme).items():
            if name in reading:
                options = [reading[name]] if self.tokens.valid(step, reading[name]) else []
            else:
                options = self.tokens.live(step)[:4]
            choices = [{**chosen, id(step): token} for chosen in choices for token in options]
        return choices

    def _moments(self, scheme: Scheme, reading: Mapping[str, str]) -> list[datetime]:
        """The signing moment: the request's own timestamp when it has one, else now (and
        the two seconds before, for a JWT's ``iat`` signed a moment ago)."""
        now = utc_now()
        if scheme.timestamp is not None and "timestamp" in reading:
            window = self.max_clock_skew if self.max_clock_skew is not None else 900.0
            return [moment_of(reading["timestamp"], scheme.timestamp, now, window) or now]
        return [now, now - timedelta(seconds=1), now - timedelta(seconds=2)]

    def _rebuild(self, request: MockRequest, placed: list[tuple[str, str, str]]) -> PreparedRequest:
        """The request as it was before the signer touched it."""
        names = {(loc, name.lower() if loc == "header" else name) for loc, name, _ in placed}
        rebuilt = PreparedRequest(
            request.method,
            f"http://{request.headers.get('host', '')}",
            request.path,
            query=[(k, v) for k, v in request.query if ("query", k) not in names],
            headers={k: v for k, v in request.headers.items() if ("header", k) not in names},
        )
        content_type = request.headers.get("content-type", "")
        places_in_body = any(loc == "body" for loc, _ in names)
        if content_type.startswith("application/x-www-form-urlencoded"):
            rebuilt.body_kind = "form"
            rebuilt.form = [(k, v) for k, v in request.form if ("body", k) not in names]
            rebuilt.content = None if places_in_body else request.body
        elif content_type.startswith("application/json"):
            rebuilt.body_kind = "json"
            rebuilt.json = {k: v for k, v in request.json.items() if ("body", k) not in names}
            rebuilt.content = None if places_in_body else request.body
        return rebuilt

    def clock_skewed(self, request: MockRequest) -> bool:
        """Whether the request's timestamp, read back from wherever a scheme placed it, is
        further from the mock's clock than ``max_clock_skew``."""
        if self.max_clock_skew is None:
            return False
        now = utc_now()
        for scheme in self.schemes():
            if scheme.timestamp is None:
                continue
            readings = self.readings(scheme, request)
            for reading in readings[1] if readings else []:
                if "timestamp" not in reading:
                    continue
                # Not searched for (window 0): a text no parse reads is left to the
                # signature check, which signs it again as it is.
                moment = moment_of(reading["timestamp"], scheme.timestamp, now, 0)
                if moment is not None:
                    return abs((now - moment).total_seconds()) > self.max_clock_skew
        return False
