"""The values a push's signature is checked against: the pushed request as sign steps see
it (``url``, ``body``, the form or multipart fields...), every step of a callback's ``verify``
run over it, and the texts of the templates the check compares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Literal, Protocol
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from dlr_core.callback_verification import Verification
from dlr_core.request import PreparedRequest
from dlr_core import sign_plan
from dlr_core.signing import Bound, SigningError, StepRun
from dlr_core.steps import Value
from dlr_core.wire import multipart


class Callback(Protocol):
    """What reading, checking and signing a push need of its callback: the public shape of
    ``dlr_core.callbacks.Callback`` (a protocol, so these modules never import it back)."""

    @property
    def name(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def format(self) -> str: ...
    @property
    def array(self) -> bool: ...
    @property
    def json_field(self) -> str | None: ...
    @property
    def verify(self) -> Verification | None: ...
    def content_type(self, body: bytes) -> str: ...


MAX_FORM_FIELDS = 1000
"""The most fields a form push (or a GET push's query) may have: one with more is a
``MalformedCallback``, refused before its signature is computed."""


def read_form(text: str, max_fields: int = MAX_FORM_FIELDS) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` text as its (name, value) pairs: exactly
    ``urllib.parse.parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)``
    (its ``ValueError`` past ``max_fields`` too), at half its cost. Every push is read
    with it: ``parse_qsl`` decodes each name and value through ``unquote`` and checks its
    arguments' types on every call; here only a piece holding ``+`` or ``%`` is changed."""
    if not text:
        return []
    if text.count("&") >= max_fields:
        raise ValueError("Max number of fields exceeded")
    pairs = []
    for piece in text.split("&"):
        if not piece:  # "a=1&&b=2": parse_qsl skips the empty piece
            continue
        name, _, value = piece.partition("=")  # "a" alone: a blank value, kept
        if "+" in piece:  # a space, before any escape is decoded ("%2B" is a "+")
            name = name.replace("+", " ")
            value = value.replace("+", " ")
        if "%" in piece:
            name = _unescaped(name) if "%" in name else name
            value = _unescaped(value) if "%" in value else value
        pairs.append((name, value))
    return pairs


def _unescaped(piece: str) -> str:
    """``unquote(piece)``: ``%XX`` escapes as UTF-8 (an invalid sequence as U+FFFD). Text
    that is all ASCII is one run of bytes to ``unquote``, decoded here without its split."""
    return unquote_to_bytes(piece).decode("utf-8", "replace") if piece.isascii() else unquote(piece)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def push_values(
    callback: Callback,
    method: str,
    url: str,
    body: bytes,
    credentials: Mapping[str, str],
    timestamp: str | None,
    bound: Sequence[Bound],
    sent_headers: Mapping[str, str] | None = None,
    content_type: str = "",
    *,
    fields: Sequence[tuple[str, str]] | None = None,
) -> dict[str, str]:
    """Every step's result and the templates' texts (keyed by template). ``fields`` are the
    body's fields already read (``form_fields``)."""
    return push_values_each(
        callback,
        method,
        (url,),
        body,
        credentials,
        timestamp,
        bound,
        sent_headers,
        content_type,
        fields=fields,
    )[0]


def push_values_each(
    callback: Callback,
    method: str,
    urls: Sequence[str],
    body: bytes,
    credentials: Mapping[str, str],
    timestamp: str | None,
    bound: Sequence[Bound],
    sent_headers: Mapping[str, str] | None = None,
    content_type: str = "",
    *,
    fields: Sequence[tuple[str, str]] | None = None,
) -> list[dict[str, str]]:
    """``push_values`` for each of ``urls`` (a push checked against several), in order: run
    compiled (``dlr_core.sign_plan``), by the interpreter where a compiled form does not
    expect the push (``SIGN_PATH`` says otherwise)."""
    verify = callback.verify
    assert verify is not None
    templates = _templates(verify)
    compiled: list[dict[str, str]] | None = None
    if SIGN_PATH != "interpreted":
        text = body.decode("utf-8", errors="replace")
        pushed: dict[str, Value] = {} if timestamp is None else {"timestamp": timestamp}
        if sent_headers:
            pushed.update(sent_headers)
        try:
            compiled = sign_plan.values_each(
                sign_plan.plan_of(bound),
                templates,
                method,
                urls,
                body,
                text,
                list(fields) if fields is not None else form_fields(callback, body, text, content_type),
                callback.format,
                credentials,
                pushed,
                utc_now,
                read_form,
            )
        except Exception as exc:  # not what the compiled forms expect: the interpreter answers
            if SIGN_PATH == "compared":
                return _interpreted_too(
                    callback,
                    method,
                    urls,
                    body,
                    credentials,
                    timestamp,
                    bound,
                    sent_headers,
                    content_type,
                    fields,
                    templates,
                    exc,
                )
            compiled = None
        if compiled is not None and SIGN_PATH == "compiled":
            return compiled
    try:
        runs = push_runs(
            callback,
            method,
            urls,
            body,
            credentials,
            timestamp,
            bound,
            sent_headers,
            content_type,
            fields=fields,
        )
        interpreted = [{template: run.text(template) for template in templates} for run in runs]
    except Exception:
        if SIGN_PATH == "compared":
            raise AssertionError(f"the interpreter failed where the compiled sign steps gave {compiled!r}")
        raise
    if SIGN_PATH == "compared" and compiled != interpreted:
        raise AssertionError(f"the compiled sign steps gave {compiled!r}, the interpreter {interpreted!r}")
    return interpreted


def _interpreted_too(
    callback: Callback,
    method: str,
    urls: Sequence[str],
    body: bytes,
    credentials: Mapping[str, str],
    timestamp: str | None,
    bound: Sequence[Bound],
    sent_headers: Mapping[str, str] | None,
    content_type: str,
    fields: Sequence[tuple[str, str]] | None,
    templates: Sequence[str],
    compiled_error: Exception,
) -> list[dict[str, str]]:
    """``compared``: the compiled forms gave up on a push; the interpreter must fail too."""
    runs = push_runs(
        callback, method, urls, body, credentials, timestamp, bound, sent_headers, content_type, fields=fields
    )
    interpreted = [{template: run.text(template) for template in templates} for run in runs]
    raise AssertionError(
        f"the compiled sign steps failed ({type(compiled_error).__name__}: {compiled_error}) where the "
        f"interpreter gave {interpreted!r}"
    )


SIGN_PATH: Literal["compiled", "interpreted", "compared"] = "compiled"
"""How ``push_values_each`` runs a callback's sign steps: ``compiled`` (the interpreter only
where a compiled form does not expect the push), ``interpreted`` (``StepRun`` alone) or
``compared`` (both, ``AssertionError`` when they differ: how the tests prove them equal)."""

_TEMPLATES: dict[int, tuple[Verification, tuple[str, ...]]] = {}


def _templates(verify: Verification) -> tuple[str, ...]:
    """The templates a check compares (its texts are what ``push_values_each`` gives), read
    once per ``Verification`` (keyed by identity, kept alive with it)."""
    known = _TEMPLATES.get(id(verify))
    if known is not None and known[0] is verify:
        return known[1]
    templates = tuple(
        template
        for template in (
            *((verify.compare.value, *verify.compare.also) if verify.compare else ()),
            verify.public_key.input if verify.public_key else None,
            *(equals.value for equals in verify.equals),
        )
        if template is not None
    )
    if len(_TEMPLATES) >= 256:
        _TEMPLATES.clear()
    _TEMPLATES[id(verify)] = (verify, templates)
    return templates


def push_run(
    callback: Callback,
    method: str,
    url: str,
    body: bytes,
    credentials: Mapping[str, str],
    timestamp: str | None,
    bound: Sequence[Bound],
    sent_headers: Mapping[str, str] | None = None,
    content_type: str = "",
    *,
    fields: Sequence[tuple[str, str]] | None = None,
) -> StepRun:
    """The push's values (``url``, ``body``, ...) and every step's result, run. ``fields``:
    the body's fields (``form_fields``) when the caller has read them already."""
    return push_runs(
        callback,
        method,
        (url,),
        body,
        credentials,
        timestamp,
        bound,
        sent_headers,
        content_type,
        fields=fields,
    )[0]


def push_runs(
    callback: Callback,
    method: str,
    urls: Sequence[str],
    body: bytes,
    credentials: Mapping[str, str],
    timestamp: str | None,
    bound: Sequence[Bound],
    sent_headers: Mapping[str, str] | None = None,
    content_type: str = "",
    *,
    fields: Sequence[tuple[str, str]] | None = None,
) -> list[StepRun]:
    """``push_run`` for each of ``urls``, in order: the push as received at each URL an
    ``either_port`` check tries. Every step runs for the first URL; for the next ones, a
    step none of whose inputs differ (the variables its templates name, the parts of the
    request it ``reads``, the results of steps run again) keeps the first URL's result:
    the sorted fields are the same whatever the port, the HMAC over the URL is not. Every
    URL still gets every step's result, so each is compared as before."""
    text = body.decode("utf-8", errors="replace")
    form = list(fields) if fields is not None else form_fields(callback, body, text, content_type)
    moment = utc_now()
    plan = sign_plan.plan_of(bound)  # each step's inputs, read once per sign list
    runs: list[StepRun] = []
    first: tuple[PreparedRequest, dict[str, Value], list[dict[str, Value]]] | None = None
    for url in urls:
        request, start = _pushed(
            callback, method, url, body, text, credentials, timestamp, sent_headers, form
        )
        values = dict(start)
        run = StepRun(request, values, moment, credentials, None)
        runs.append(run)
        if first is None:
            results = []
            for each, (_, _, _, _, binds) in zip(bound, plan):
                values[each.name] = each.step.apply(run)
                results.append({name: values[name] for name in binds if name in values})
            first = (request, start, results)
            continue
        first_request, first_start, results = first
        differ = {
            name for name in start.keys() | first_start.keys() if start.get(name) != first_start.get(name)
        }
        parts = _parts_that_differ(first_request, request)
        for each, (_, _, variables, reads, binds), result in zip(bound, plan, results):
            if sign_plan.runs_again(variables, reads, parts, differ):
                values[each.name] = each.step.apply(run)
                differ.update(binds)
            else:
                values.update(result)
    return runs


def _pushed(
    callback: Callback,
    method: str,
    url: str,
    body: bytes,
    text: str,
    credentials: Mapping[str, str],
    timestamp: str | None,
    sent_headers: Mapping[str, str] | None,
    form: list[tuple[str, str]],
) -> tuple[PreparedRequest, dict[str, Value]]:
    """The push received at ``url`` as a request, and the values sign steps start from."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    request = PreparedRequest(
        method,
        origin,
        parts.path or "/",
        query=read_form(parts.query),
        body_kind="form" if callback.format in ("form", "multipart") else "json",
        form=form,
        content=body,
    )
    pushed: dict[str, Value] = {
        "url": url,
        "method": method,
        "host": parts.netloc,
        "path": request.full_path,
        "path_and_query": url[len(origin) :] or "/",
        "body": text,
    }
    if timestamp is not None:
        pushed["timestamp"] = timestamp
    if sent_headers:
        pushed.update(sent_headers)
    if "timestamp" in credentials or not credentials.keys().isdisjoint(pushed):
        # the push's values are the sender's: they must never stand for a secret
        clash = sorted(set(credentials) & (set(pushed) | {"timestamp"}))
        raise SigningError(f"the credential {clash[0]!r} has the name of a value the push carries")
    return request, {**credentials, **pushed}


def _parts_that_differ(first: PreparedRequest, other: PreparedRequest) -> set[str]:
    """The parts of the request (as steps' ``reads`` name them) that are not the same."""
    parts = set()
    if first.base_url != other.base_url:
        parts.add("host")
    if first.full_path != other.full_path:
        parts.add("path")
    if first.query != other.query:
        parts.add("query")
    if first.method != other.method:
        parts.add("method")
    return parts  # the headers, form and body are the push's own: one for every URL


def form_fields(callback: Callback, body: bytes, text: str, content_type: str) -> list[tuple[str, str]]:
    """The fields sign steps read (``sorted_concat`` over the body): a form's, or a
    multipart body's text fields (none when it is malformed: ``_read`` then says so)."""
    if callback.format == "form":
        return read_form(text)
    if callback.format == "multipart":
        try:
            return multipart.read_fields(body, content_type, max_fields=MAX_FORM_FIELDS)
        except multipart.MultipartError:
            return []
    return []


def pushed_fields(body: bytes) -> dict[str, str]:
    """A form push's fields (the first of a repeated name), for a signature among them."""
    text = body.decode("utf-8", errors="replace")
    return first_of_each(read_form(text))


def first_of_each(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A form's fields as a payload object: a field given several times keeps its first value."""
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form
