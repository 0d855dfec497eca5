"""What counts as success: an answer's status and envelope read into the typed model, or
into the typed error the provider's error table gives, keeping the raw body (scrubbed)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import field
from typing import Any
from pydantic import ValidationError
from dlr_core.errors import (
    EXCERPT_LIMIT,
    AuthenticationError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderResponseError,
    RateLimited,
    error_class,
)
from dlr_core.retry import parse_retry_after
from dlr_core.credentials import Credentials
from dlr_core.spec import ApiSpec, Clock, Model, OperationSpec
from dlr_core.wire import xml_body
from dlr_core.wire.read import MAX_JSON_DEPTH, MAX_XML_ELEMENTS, nested_deeper

MISSING = object()
_BODY_EXCERPT = 200


def _loose_equal(received: object, expected: int | str) -> bool:
    """``0`` and ``"0"`` are the same result code: providers drift between them."""
    if isinstance(received, bool):
        return False
    return str(received).strip() == str(expected)


def _lookup(body: Any, path: str, xml: bool = False) -> Any:
    """A dotted path into nested objects; a number steps into a list (``errors.0.code``,
    the first error's code). MISSING where any step is absent. In an XML answer
    (``xml``), an element given once is its list's only item: ``0`` steps onto it."""
    for part in path.split("."):
        index = part.isdigit() and part.isascii()
        if xml and index and not isinstance(body, list) and body is not MISSING:
            body = [body]
        if isinstance(body, list) and index:
            if int(part) >= len(body):
                return MISSING
            body = body[int(part)]
            continue
        if not isinstance(body, Mapping) or part not in body:
            return MISSING
        body = body[part]
    return body


def _first(body: Mapping[str, Any], fields: tuple[str, ...], xml: bool = False) -> Any:
    for field in fields:
        found = _lookup(body, field, xml)
        if found is not MISSING:
            return found
    return MISSING


def _text(value: object) -> str | None:
    return None if value is MISSING or value is None else str(value)


def scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _class_for_status(status: int) -> type[ProviderError] | None:
    """The error an HTTP status means by itself; None for a status that says nothing."""
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDenied
    if status == 404:
        return NotFound
    if status == 429:
        return RateLimited
    if 400 <= status < 500:
        return InvalidRequest
    if status >= 500:
        return ProviderError
    return None


class EnvelopeReader:
    """Reads an answer into the operation's model or a typed error; ``ClientCore``'s
    part that knows the provider's envelope and error table."""

    _api: ApiSpec
    _credentials: Credentials
    _clock: Clock

    def _raw_body(self, content: bytes) -> dict[str, Any]:
        """``raw_body`` (and ``raw_body_length`` when cut) for an error: scrubbed, bounded."""
        head, complete = self._credentials.scrub_head(content, EXCERPT_LIMIT)
        if complete:
            return {"raw_body": head}
        return {"raw_body": head, "raw_body_length": len(content)}

    def _parse(
        self,
        status: int,
        headers: Mapping[str, str],
        content: bytes,
        model: type[Model],
        operation: OperationSpec | None = None,
    ) -> Model:
        try:
            return self._read(status, content, model, operation)
        except ProviderError as error:
            error.retry_after = parse_retry_after(headers.get("Retry-After"), self._clock())
            raise

    def _read(
        self, status: int, content: bytes, model: type[Model], operation: OperationSpec | None = None
    ) -> Model:
        """The answer's body (JSON, or XML for an operation whose answers are XML), its
        envelope checked, read into ``model``; the typed error otherwise."""
        if operation is not None and operation.format == "xml":
            return self._read_xml(status, content, model, operation)
        too_deep = f"the answer nests deeper than {MAX_JSON_DEPTH} levels"
        if nested_deeper(content, MAX_JSON_DEPTH):
            raise self._error_for_status(status, content, too_deep)
        try:
            body = json.loads(content)
        except RecursionError:
            raise self._error_for_status(status, content, too_deep) from None
        except ValueError:
            raise self._error_for_status(status, content, "the answer is not JSON") from None
        return self._enveloped(body, status, content, model)

    def _read_xml(self, status: int, content: bytes, model: type[Model], operation: OperationSpec) -> Model:
        """An XML answer read as a push's XML is (``xml_body``): the root element's children
        are the body's fields, which the envelope's paths address as a JSON body's; within
        the same bounds (depth, elements; size and time were kept while reading it) and
        never expanding an entity."""
        try:
            body = xml_body.read_document(
                content, max_depth=MAX_JSON_DEPTH, max_elements=MAX_XML_ELEMENTS, what="the answer"
            )
        except xml_body.XmlBodyError as exc:
            raise self._error_for_status(status, content, str(exc)) from None
        data_field = self._api.envelope.data_field
        if operation.xml_lists:
            payload = body if data_field is None else _lookup(body, data_field)
            if isinstance(payload, dict):
                xml_body.as_lists(payload, operation.xml_lists)
        return self._enveloped(body, status, content, model, xml=True)

    def _enveloped(
        self, body: Any, status: int, content: bytes, model: type[Model], xml: bool = False
    ) -> Model:
        envelope = self._api.envelope
        if isinstance(body, list) and envelope.data_field is None and envelope.success_mode != "equals":
            # A top-level array answer (a RootModel): it carries no envelope fields, so its
            # HTTP status (or the absence of an error object) says whether it succeeded.
            if not 200 <= status < 300:
                raise self._error_for_status(status, content, "the answer is an array with an error status")
            return self._validated(model, body, status, content, None)
        if not isinstance(body, dict):
            raise self._error_for_status(status, content, "the answer is not a JSON object")
        request_id = _text(_first(body, envelope.request_id_fields, xml))
        if envelope.success_mode == "http":
            succeeded = 200 <= status < 300
        elif envelope.success_mode == "absent":
            found = _first(body, envelope.success_fields, xml)
            succeeded = found is MISSING or found is None
        else:
            result = _first(body, envelope.success_fields, xml)
            if result is MISSING:
                fields = " or ".join(envelope.success_fields)
                raise self._error_for_status(status, content, f"the answer has no {fields} field")
            expected = envelope.success_value
            wanted = expected if isinstance(expected, tuple) else () if expected is None else (expected,)
            succeeded = any(_loose_equal(result, value) for value in wanted)
        if not succeeded:
            raise self._envelope_error(body, status, content, request_id, xml)
        if status >= 400:
            raise self._error_for_status(status, content, "the answer says success with an error status")
        payload: Any = body
        if envelope.data_field is not None:
            payload = _lookup(body, envelope.data_field, xml)
            payload = None if payload is MISSING else payload
        return self._validated(model, payload, status, content, request_id)

    def _validated(
        self, model: type[Model], payload: Any, status: int, content: bytes, request_id: str | None
    ) -> Model:
        too_deep = f"the answer nests deeper than {MAX_JSON_DEPTH} levels"
        try:
            return model.model_validate(payload)
        except RecursionError:
            raise self._error_for_status(status, content, too_deep) from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or model.__name__}: {e['msg']}"
                for e in exc.errors()[:3]
            )
            raise ProviderResponseError(
                self._credentials.excerpt(f"unexpected {model.__name__}: {problems}"),
                provider=self._api.provider,
                request_id=request_id,
                http_status=status,
                **self._raw_body(content),
            ) from None

    def _envelope_error(
        self,
        body: Mapping[str, Any],
        status: int,
        content: bytes,
        request_id: str | None,
        xml: bool = False,
    ) -> ProviderError:
        """The typed error for an answer whose envelope says failure."""
        envelope = self._api.envelope
        code = _text(_first(body, envelope.code_fields, xml))
        if code is None and envelope.success_mode == "equals":
            code = _text(_first(body, envelope.success_fields, xml))
        message = _text(_first(body, envelope.message_fields, xml))
        info = self._api.errors.lookup(code)
        # A code the spec does not list may still tell its kind through the HTTP status.
        cls = error_class(info.kind) if info else (_class_for_status(status) or ProviderError)
        fallback = info.description if info else "the provider reported an error"
        return cls(
            self._credentials.excerpt(message or fallback),
            provider=self._api.provider,
            code=None if code is None else self._credentials.excerpt(code, 200),
            request_id=(None if request_id is None else self._credentials.excerpt(request_id, 200)),
            http_status=status,
            retryable=info.retryable if info else (status == 429 or status >= 500),
            **self._raw_body(content),
        )

    def _error_for_status(self, status: int, content: bytes, problem: str) -> ProviderError:
        """An error from the HTTP status alone, for answers without a readable envelope."""
        cls = _class_for_status(status) or ProviderResponseError
        # Scrubbed before it is cut, so that no part of a secret is left at the cut.
        head, _ = self._credentials.scrub_head(content, _BODY_EXCERPT)
        excerpt = head.decode("utf-8", errors="replace")
        return cls(
            self._credentials.scrub(f"HTTP {status}: {problem}: {excerpt!r}"),
            provider=self._api.provider,
            http_status=status,
            retryable=status == 429 or status >= 500,
            **self._raw_body(content),
        )
