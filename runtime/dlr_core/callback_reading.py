"""A pushed body read into payload objects, by the callback's ``format``: form fields (one
of them holding JSON with ``json_field``), multipart text fields, an XML document's
elements, or a JSON object or array, each under the runtime's size and depth bounds."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from dlr_core.callback_run import Callback, MAX_FORM_FIELDS, first_of_each, read_form
from dlr_core.errors import MalformedCallback
from dlr_core.wire import multipart, xml_body
from dlr_core.wire.read import MAX_JSON_DEPTH, nested_deeper


def read_payloads(
    callback: Callback,
    body: bytes,
    content_type: str,
    *,
    form_pairs: list[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """The payload objects of ``body``. ``form_pairs``: a form body's fields already read
    (``callback_run.form_fields``, which decodes the same UTF-8 text), so a verified push's
    form is parsed once."""

    def malformed(why: str) -> MalformedCallback:
        return MalformedCallback(why, provider=callback.provider, raw_body=body)

    if callback.format == "multipart":
        try:
            pairs = multipart.read_fields(body, content_type, max_fields=MAX_FORM_FIELDS)
        except multipart.MultipartError as exc:
            raise malformed(str(exc)) from None
        return [first_of_each(pairs)]
    if callback.format == "xml":
        try:
            return [xml_body.read_document(body, max_depth=MAX_JSON_DEPTH, max_elements=MAX_FORM_FIELDS)]
        except xml_body.XmlBodyError as exc:
            raise malformed(str(exc)) from None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("the push is not UTF-8 text") from None
    if callback.format == "form":
        pairs = form_pairs if form_pairs is not None else read_form(text)
        if text.strip() and not pairs:
            raise malformed("the push is not a form (application/x-www-form-urlencoded)")
        form = first_of_each(pairs)
        if callback.json_field is None:
            return [form]
        if not isinstance(form.get(callback.json_field), str):
            raise malformed(f"the push has no {callback.json_field[:64]} field")
        return json_payloads(callback, form[callback.json_field], malformed, percent_encoded_again=True)
    return json_payloads(callback, text, malformed)


def json_payloads(
    callback: Callback,
    text: str,
    malformed: Callable[[str], MalformedCallback],
    percent_encoded_again: bool = False,
) -> list[dict[str, Any]]:
    """The payloads of a JSON document: the body, or a form's ``json_field``. A field's
    value may come percent-encoded once more (a provider's docs warn that some receivers
    need two decoding passes): a value starting with ``%``, which no JSON document does,
    is decoded again."""
    if percent_encoded_again and text.lstrip().startswith("%"):
        text = unquote_plus(text)
    if nested_deeper(text.encode("utf-8"), MAX_JSON_DEPTH):
        raise malformed(f"the push nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):
        raise malformed("the push is not JSON") from None
    try:  # an escaped lone surrogate ("\\ud800") loads, but is no text to store or hash
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise malformed("the push holds a lone surrogate: not Unicode text") from None
    if callback.array:
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise malformed("the push is not a JSON array of objects")
        return list(data)
    if not isinstance(data, dict):
        raise malformed("the push is not a JSON object")
    return [data]
