"""A callback's verification compiled once into plain closures (#25): the values a push's
signature is checked against, as ``callback_run.push_values_each`` gives them, without a
``PreparedRequest``, a ``StepRun`` or a template read per push.

The sign steps' language stays the interpreter's (``dlr_core.steps``, ``StepRun``); this is
a faster way to run it. A step kind offers a compiled form by registering a compiler here
(``@compiles(Hmac)``: the step -> a function of the values so far and the push); a kind
without one is run by the interpreter, through a ``StepRun`` made for it. A compiled form
only has to be right where it returns: anything unexpected (a missing value, bytes where
text is needed, a credential named like a pushed value) raises, and ``push_values_each``
then runs the interpreter, whose answer (or located ``SigningError``) is the one given.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from dlr_core import steps_data
from dlr_core.request import PreparedRequest
from dlr_core.signing import FILTER_FUNCTIONS, Bound, StepRun, TemplateReference, compile_template
from dlr_core.steps import Format, Hash, HASHES, Hmac, HmacChain, SortedConcat, Step, Value
from dlr_core.steps import hmac_digest, output

__all__ = ["Plan", "PushAt", "compiles", "plan_of", "text_of", "value_of"]

Values = dict[str, Value]


class PushAt:
    """The push as received at one URL, as compiled steps read it: its query and form
    pairs; a ``StepRun`` over the same values only for a step with no compiled form."""

    __slots__ = ("method", "origin", "path", "query", "form", "body", "body_kind", "credentials", "_moment")
    method: str
    origin: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    body: bytes
    body_kind: str
    credentials: Mapping[str, str]
    _moment: list[datetime]

    def __init__(
        self,
        method: str,
        origin: str,
        path: str,
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
        body: bytes,
        body_kind: str,
        credentials: Mapping[str, str],
        moment: list[datetime],
    ) -> None:
        self.method = method
        self.origin = origin
        self.path = path
        self.query = query
        self.form = form
        self.body = body
        self.body_kind = body_kind
        self.credentials = credentials
        self._moment = moment  # one signing moment for every URL of the push, taken when first needed

    def run(self, values: Values, now: Callable[[], datetime]) -> StepRun:
        """The interpreter's view of this push, sharing ``values`` (a step's ``binds`` land
        in them)."""
        if not self._moment:
            self._moment.append(now())
        request = PreparedRequest(
            self.method,
            self.origin,
            self.path,
            query=list(self.query),
            body_kind="form" if self.body_kind in ("form", "multipart") else "json",
            form=self.form,
            content=self.body,
        )
        return StepRun(request, values, self._moment[0], self.credentials, None)


CompiledStep = Callable[[Values, PushAt, Callable[[], datetime]], Value]
"""A step compiled: ``(values so far, the push, the clock)`` -> its result."""
_Kind = TypeVar("_Kind", bound=Step)
COMPILERS: dict[type[Step], Callable[[Any], CompiledStep]] = {}
"""Step kinds with a compiled form, and how each step of the kind is compiled."""


def compiles(
    kind: type[_Kind],
) -> Callable[[Callable[[_Kind], CompiledStep]], Callable[[_Kind], CompiledStep]]:
    """Registers the compiled form of a step kind."""

    def register(compiler: Callable[[_Kind], CompiledStep]) -> Callable[[_Kind], CompiledStep]:
        COMPILERS[kind] = compiler
        return compiler

    return register


def _interpreted(step: Step) -> CompiledStep:
    """A kind with no compiled form: its ``apply`` over a ``StepRun`` of the push."""
    return lambda values, push, now: step.apply(push.run(values, now))


# -- templates ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def value_of(template: str) -> Callable[[Values], Value]:
    """``StepRun.value(template)`` as a function of the values: a reference alone keeps
    bytes; references inside other text must be text (bytes there raise ``TypeError``,
    where the interpreter names the reference)."""
    parts = compile_template(template)
    if len(parts) == 1 and type(parts[0]) is TemplateReference:
        return _reference(parts[0])
    if all(type(part) is str or not part.filters for part in parts):  # type: ignore[union-attr]
        pieces = tuple((part, True) if type(part) is str else (part.name, False) for part in parts)  # type: ignore[union-attr]
        return lambda values: "".join([piece if literal else values[piece] for piece, literal in pieces])  # type: ignore[misc]
    getters = tuple(
        (lambda values, text=part: text) if type(part) is str else _reference(part)  # type: ignore[arg-type]
        for part in parts
    )
    return lambda values: "".join([get(values) for get in getters])  # type: ignore[misc]


def _reference(reference: TemplateReference) -> Callable[[Values], Value]:
    name = reference.name
    if not reference.filters:
        return lambda values: values[name]
    filters = tuple(
        FILTER_FUNCTIONS[each] for each in reference.filters
    )  # KeyError: compiled by the interpreter

    def filtered(values: Values) -> Value:
        value = values[name]
        for apply_filter in filters:
            value = apply_filter(value)
        return value

    return filtered


@functools.lru_cache(maxsize=1024)
def text_of(template: str) -> Callable[[Values], str]:
    """``StepRun.text(template)``: bytes decoded as UTF-8 (``UnicodeDecodeError`` otherwise)."""
    value = value_of(template)

    def text(values: Values) -> str:
        result = value(values)
        return result.decode("utf-8") if isinstance(result, bytes) else result

    return text


def _as_bytes(value: Value) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


# -- the step kinds with a compiled form ------------------------------------------------


@compiles(Format)
def _format(step: Format) -> CompiledStep:
    text = text_of(step.template)
    return lambda values, push, now: text(values)


@compiles(SortedConcat)
def _sorted_concat(step: SortedConcat) -> CompiledStep:
    source, repeated = step.source, step.repeated
    between, joiner = step.name_value_separator or "", step.pair_separator or ""

    def sorted_concat(values: Values, push: PushAt, now: Callable[[], datetime]) -> Value:
        pairs = (push.query if source != "body" else []) + (push.form if source != "query" else [])
        if repeated == "as_sent":
            ordered = sorted(pairs, key=lambda pair: pair[0])
        else:
            ordered = sorted(set(pairs) if repeated == "unique" else pairs)
        return joiner.join([f"{k}{between}{v}" for k, v in ordered])

    return sorted_concat


@compiles(Hmac)
def _hmac(step: Hmac) -> CompiledStep:
    key, message, algorithm, style = value_of(step.key), value_of(step.input), step.algorithm, step.output
    return lambda values, push, now: output(
        hmac_digest(_as_bytes(key(values)), _as_bytes(message(values)), algorithm), style
    )


@compiles(HmacChain)
def _hmac_chain(step: HmacChain) -> CompiledStep:
    key_of, messages, algorithm, style = (
        value_of(step.key),
        tuple(map(value_of, step.inputs)),
        step.algorithm,
        step.output,
    )

    def chain(values: Values, push: PushAt, now: Callable[[], datetime]) -> Value:
        key = _as_bytes(key_of(values))
        for message in messages:
            key = hmac_digest(key, _as_bytes(message(values)), algorithm)
        return output(key, style)

    return chain


@compiles(Hash)
def _hash(step: Hash) -> CompiledStep:
    data_of, digest, style, empty = (
        value_of(step.input),
        HASHES[step.algorithm],
        step.output,
        step.empty_input,
    )

    def hashed(values: Values, push: PushAt, now: Callable[[], datetime]) -> Value:
        data = _as_bytes(data_of(values))
        if empty == "empty" and not data:
            return b"" if style == "raw" else ""
        return output(digest(data).digest(), style)

    return hashed


# -- a sign list's plan -----------------------------------------------------------------

PlannedStep = tuple[str, CompiledStep, frozenset[str], "frozenset[str] | None", tuple[str, ...]]
"""A step's name, its compiled form, the variables its templates name, the request parts
it ``reads`` and the names it binds (its own and ``binds``)."""
Plan = tuple[PlannedStep, ...]
_PLANS: dict[int, tuple[Sequence[Bound], Plan]] = {}


def plan_of(bound: Sequence[Bound]) -> Plan:
    """A ``sign`` list compiled, once per list (a callback's is the same object for every
    push; keyed by identity, the list kept alive with it so its id stays its own)."""
    known = _PLANS.get(id(bound))
    if known is not None and known[0] is bound:
        return known[1]
    plan = tuple(_planned(each) for each in bound)
    if len(_PLANS) >= 256:
        _PLANS.clear()
    _PLANS[id(bound)] = (bound, plan)
    return plan


def runs_again(
    variables: frozenset[str], reads: frozenset[str] | None, parts: set[str], differ: set[str]
) -> bool:
    """Whether a step runs again for another URL of the push: it reads request parts it
    does not declare (``reads`` None), or one of the ``parts`` that differ from the first
    URL's, or a variable that differs (the URL's values, results of steps run again)."""
    return reads is None or bool(reads & parts) or bool(variables & differ)


def _planned(each: Bound) -> PlannedStep:
    kind = type(each.step)
    compiler = COMPILERS.get(kind)
    try:
        compiled = compiler(each.step) if compiler is not None else _interpreted(each.step)
    except Exception:  # e.g. an unknown filter or algorithm: the interpreter runs it and says what is wrong
        compiled = _interpreted(each.step)
    variables = frozenset(
        part.name
        for _, template in steps_data.templates(each.step)
        for part in compile_template(template)
        if isinstance(part, TemplateReference)
    )
    return (each.name, compiled, variables, kind.reads, (each.name, *kind.binds))


def values_each(
    plan: Plan,
    templates: Sequence[str],
    method: str,
    urls: Sequence[str],
    body: bytes,
    text: str,
    form: list[tuple[str, str]],
    body_kind: str,
    credentials: Mapping[str, str],
    pushed_values: Mapping[str, Value],
    now: Callable[[], datetime],
    read_query: Callable[[str], list[tuple[str, str]]],
) -> list[dict[str, str]]:
    """``callback_run.push_values_each`` run compiled: for each of ``urls``, every
    template's text. ``pushed_values`` are the values every URL shares (the signed time,
    the headers and fields the check reads). As the interpreter does (``push_runs``), every
    step runs for the first URL, and for the next ones again only where its inputs differ;
    raises on anything the compiled forms do not expect (the caller then interprets)."""
    moment: list[datetime] = []
    texts = tuple((template, text_of(template)) for template in templates)
    out: list[dict[str, str]] = []
    first: tuple[Values, tuple[str, str, list[tuple[str, str]]], list[Values]] | None = None
    for url in urls:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        path = parts.path or "/"
        query = read_query(parts.query) if parts.query else []
        pushed: Values = {
            "url": url,
            "method": method,
            "host": parts.netloc,
            "path": path,
            "path_and_query": url[len(origin) :] or "/",
            "body": text,
        }
        pushed.update(pushed_values)
        if "timestamp" in credentials or not credentials.keys().isdisjoint(pushed):
            raise KeyError("a credential named like a pushed value")  # the interpreter says which
        start: Values = {**credentials, **pushed}
        values = dict(start)
        push = PushAt(method, origin, path, query, form, body, body_kind, credentials, moment)
        if first is None:
            results = []
            for name, compiled, _, _, binds in plan:
                values[name] = compiled(values, push, now)
                results.append({each: values[each] for each in binds if each in values})
            first = (start, (origin, path, query), results)
        else:
            first_start, (first_origin, first_path, first_query), results = first
            differ = {
                each for each in start.keys() | first_start.keys() if start.get(each) != first_start.get(each)
            }
            request_parts = set()
            if origin != first_origin:
                request_parts.add("host")
            if path != first_path:
                request_parts.add("path")
            if query != first_query:
                request_parts.add("query")
            for (name, compiled, variables, reads, binds), result in zip(plan, results):
                if runs_again(variables, reads, request_parts, differ):
                    values[name] = compiled(values, push, now)
                    differ.update(binds)
                else:
                    values.update(result)
        out.append({template: text(values) for template, text in texts})
    return out
