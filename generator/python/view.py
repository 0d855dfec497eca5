"""Stage 3, the Python view of the model: the expressions, variable names and imports the
templates write, computed from the model's references (the model itself says what is read
from where, never how Python reads it; see sqlc's per-language codegen views).

Every name here is either a validated identifier from the model or one of the fixed
variable names the templates bind (``result``, ``record``, ``params``); every string
literal goes through ``escape.python_literal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator import model as m
from generator.python import layout
from generator.python.escape import python_literal
from generator.python.names import snake_from_class

ANSWER = "result"  # the response model a receipts or paging function reads
RECORD = "record"  # the innermost record of a receipts loop


def scope_variables(loops: tuple[m.Loop, ...]) -> tuple[str, ...]:
    """The variable bound to each scope: the answer, then each list's current element."""
    names = [ANSWER]
    for index, loop in enumerate(loops):
        names.append(RECORD if index == len(loops) - 1 else snake_from_class(loop.item_class))
    return tuple(names)


def read(reference: m.FieldRef, variables: tuple[str, ...], *, as_sent: bool = False) -> str:
    """``a.b.c``, guarded so that an absent optional object gives None instead of an error;
    with ``as_sent``, ``a.b.wire_data().get("c")``: the value before the model converted it."""
    expression = variables[reference.scope]
    guards = []
    for index, field in enumerate(reference.chain):
        last = index == len(reference.chain) - 1
        if last and as_sent:
            expression = f"{expression}.wire_data().get({python_literal(field.wire)})"
        else:
            expression = f"{expression}.{field.name}"
        if not last and field.optional:
            guards.append(f"{expression} is not None")
    if not guards:
        return expression
    return f"({expression} if {' and '.join(guards)} else None)"


def source(value: m.Source, variables: tuple[str, ...]) -> str:
    if isinstance(value, m.ParamRef):
        return f"(params.{value.name} if params is not None else None)"
    return read(value, variables)


def receipt_value(value: m.ReceiptValue, variables: tuple[str, ...]) -> str:
    """A receipt value as Python: its source, or the part of its text a pattern takes."""
    if isinstance(value, m.TextMatch):
        return f"text_match({source(value.source, variables)}, {python_literal(value.pattern)})"
    return source(value, variables)


# -- time fields --------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeChoiceView:
    name: str
    arguments: str  # of dlr_core.models.time_formats: "iso8601", ("yyyy-MM-dd", "+08:00"), ...
    forms: str  # the forms in words, for the docstring


def time_choice_view(choice: m.TimeChoice) -> TimeChoiceView:
    arguments = ", ".join(
        (
            python_literal(form)
            if isinstance(form, str)
            else f"({python_literal(form[0])}, {python_literal(form[1])})"
        )
        for form in choice.formats
    )
    forms = ", ".join(
        form if isinstance(form, str) else f"{form[0]} (in UTC{form[1]} unless it says otherwise)"
        for form in choice.formats
    )
    return TimeChoiceView(choice.name, arguments, forms)


# -- receipts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoopView:
    variable: str
    iterable: str


@dataclass(frozen=True)
class ReceiptFieldView:
    attribute: str
    expression: str


@dataclass(frozen=True)
class ReceiptView:
    function_name: str
    loops: tuple[LoopView, ...]
    record_variable: str
    status_expression: str
    status_imports: tuple[str, ...]  # names the status expression takes from statuses.py
    uses_delivery_status: bool
    raw_status: tuple[tuple[str, str], ...]  # (wire name, expression)
    fields: tuple[ReceiptFieldView, ...]
    details: tuple[tuple[str, str], ...]
    uses_params: bool
    helpers: tuple[str, ...]  # the dlr_core.values readers the expressions call

    def construction(self) -> layout.Call:
        """``Receipt(...)`` for one record."""
        items: list[layout.Expression] = [
            "provider=PROVIDER_ID",
            f"status={self.status_expression}",
            layout.keyword(
                "raw_status",
                # A rule giving a canonical status outright reads no field: an empty mapping
                # (an exploded empty display would be a bare comma).
                (
                    layout.mapping([(python_literal(k), v) for k, v in self.raw_status], True)
                    if self.raw_status
                    else "{}"
                ),
            ),
            *(f"{field.attribute}={field.expression}" for field in self.fields),
        ]
        if self.details:
            details = layout.mapping([(python_literal(k), v) for k, v in self.details], True)
            items.append(layout.keyword("details", details))
        items.append(f"raw={self.record_variable}.wire_data()")
        return layout.Call("Receipt", tuple(items), exploded=True)

    @property
    def collect(self) -> str:
        """The statement that adds the innermost loop's receipt (or returns the only one)."""
        if self.loops:
            call = layout.Call("receipts.append", (self.construction(),))
            return layout.statement(call, 4 * (len(self.loops) + 1))
        return layout.statement(layout.Call("", (self.construction(),), "[]"), 4, "return ")


def receipt_view(plan: m.ReceiptPlan) -> ReceiptView:
    variables = scope_variables(plan.loops)
    loops = tuple(
        LoopView(variables[index + 1], f"{read(loop.over, variables)} or []")
        for index, loop in enumerate(plan.loops)
    )
    status = plan.status
    if status.field is not None and status.field.field.status is not None:
        function = status.field.field.status.function_name
        status_expression = f"{function}({read(status.field, variables)})"
        imports: tuple[str, ...] = (function,)
    elif status.rule is not None:
        arguments = ", ".join(read(reference, variables) for reference in status.rule_inputs)
        status_expression = f"{status.rule.function_name}({arguments})"
        imports = (status.rule.function_name,)
    else:
        status_expression, imports = "DeliveryStatus.UNKNOWN", ()
    fields = tuple(
        ReceiptFieldView(
            field.attribute,
            (
                # A text match is text already; anything else is read as text (ids may be numbers).
                receipt_value(field.source, variables)
                if field.reading == "time" or isinstance(field.source, m.TextMatch)
                else f"as_text({source(field.source, variables)})"
            ),
        )
        for field in plan.fields
    )
    values = [field.source for field in plan.fields] + [value for _, value in plan.details]
    reads_text = any(f.reading == "text" and not isinstance(f.source, m.TextMatch) for f in plan.fields)
    helpers = (("as_text",) if reads_text else ()) + (
        ("text_match",) if any(isinstance(value, m.TextMatch) for value in values) else ()
    )
    return ReceiptView(
        function_name=plan.function_name,
        loops=loops,
        record_variable=variables[-1],
        status_expression=status_expression,
        status_imports=imports,
        uses_delivery_status=not imports,
        raw_status=tuple((key, read(reference, variables, as_sent=True)) for key, reference in status.raw),
        fields=fields,
        details=tuple((name, receipt_value(value, variables)) for name, value in plan.details),
        uses_params=plan.uses_params,
        helpers=helpers,
    )


# -- status rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInputView:
    parameter: str
    wire: str
    variable: str  # the input's canonical status
    status_function: str


@dataclass(frozen=True)
class RuleBranchView:
    condition: str | None
    result: str
    explanation: str


@dataclass(frozen=True)
class RuleView:
    function_name: str
    description: str
    inputs: tuple[RuleInputView, ...]
    branches: tuple[RuleBranchView, ...]

    @property
    def decided_from(self) -> str:
        """The docstring's sentence on what the rule reads (a rule that gives a canonical
        status outright reads no field)."""
        if not self.inputs:
            return "Reads no field: the status is the rule's own."
        names = " and ".join(repr(each.wire) for each in self.inputs)
        return f"Decided from {names}, first matching rule wins."


def _canonical_variable(rule_input: m.RuleInput) -> str:
    return f"{rule_input.parameter}_canonical"


def _condition(condition: m.RuleCondition) -> str:
    if condition.test == "final":
        return f"{_canonical_variable(condition.input)}.is_final"
    if condition.test == "not_final":
        return f"not {_canonical_variable(condition.input)}.is_final"
    enum = condition.input.status.class_name
    members = ", ".join(f"{enum}.{member}" for member in condition.members)
    return f"{enum}.parse({condition.input.parameter}) in ({members},)"


def rule_view(rule: m.StatusRule) -> RuleView:
    branches = []
    for branch in rule.branches:
        if branch.use is not None:
            result = _canonical_variable(branch.use)
        else:
            result = f"DeliveryStatus.{branch.canonical}"
        condition = _condition(branch.when) if branch.when is not None else None
        branches.append(RuleBranchView(condition, result, branch.explanation))
    return RuleView(
        function_name=rule.function_name,
        description=rule.description,
        inputs=tuple(
            RuleInputView(i.parameter, i.wire, _canonical_variable(i), i.status.function_name)
            for i in rule.inputs
        ),
        branches=tuple(branches),
    )


# -- pagination -------------------------------------------------------------------------


@dataclass(frozen=True)
class PagingView:
    style: str
    item_class: str
    items_expression: str
    total_expression: str | None
    next_expression: str | None
    page_param: str | None
    first_page: int
    offset_param: str | None
    limit_param: str | None
    max_records: int | None
    page_count_expression: str | None = None
    size_param: str | None = None  # read by stop_at_short_page
    stop_at_short_page: bool = False


def paging_view(paging: m.Pagination) -> PagingView:
    answer = (ANSWER,)
    return PagingView(
        style=paging.style,
        item_class=paging.item_class,
        items_expression=f"{read(paging.items, answer)} or []",
        total_expression=read(paging.total, answer) if paging.total else None,
        next_expression=read(paging.next, answer) if paging.next else None,
        page_param=paging.page_param,
        first_page=paging.first_page,
        offset_param=paging.offset_param,
        limit_param=paging.limit_param,
        max_records=paging.max_records,
        page_count_expression=read(paging.page_count, answer) if paging.page_count else None,
        size_param=paging.size_param,
        stop_at_short_page=paging.stop_at_short_page,
    )


# -- callbacks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackView:
    name: str
    constant: str
    summary: str
    payload_class: str
    definition: dict[str, object]
    receipts: ReceiptView
    credentials: tuple[str, ...]
    credentials_dict: str  # the credentials mapping the parser passes on, as Python source
    credential_arguments: str  # ``name=name, `` for each credential
    credential_note: str
    credential_docs: tuple[tuple[str, str], ...]  # each credential the parser takes, and what it is
    description: str
    docs: str | None
    body_words: str  # how the push arrives, in words (Markdown-safe)
    verification: str
    answer_status: int
    payload_model: str
    verified_in_code: bool  # the parser and the endpoint require ``verifier``
    fetches_certificates: bool  # the parser and the endpoint take ``certificates``
    handshakes: tuple[str, ...]  # the handshakes' names, for the docs
    handshake_words: str  # each handshake and how it is answered, in words (spec text: escape it)
    keywords: tuple[str, ...]  # the keyword arguments the parser requires, for the README


@dataclass(frozen=True)
class CallbacksView:
    callbacks: tuple[CallbackView, ...]
    first: str
    models: tuple[str, ...]
    status_imports: tuple[str, ...]
    helpers: tuple[str, ...]
    uses_delivery_status: bool
    example: str  # the README's example: a function receiving a push


def callbacks_view(
    provider_id: str, package: str, callbacks: tuple[m.Callback, ...], credentials: tuple[m.Credential, ...]
) -> CallbacksView | None:
    """What ``callbacks.py`` writes; None when the spec has no callbacks."""
    described = {credential.name: credential.description for credential in credentials}
    if not callbacks:
        return None
    views = []
    for callback in callbacks:
        names = callback.credentials
        views.append(
            CallbackView(
                name=callback.name,
                constant=callback.name.upper(),
                summary=callback.summary,
                payload_class=callback.payload_class,
                definition=callback.definition,
                receipts=receipt_view(callback.receipts),
                credentials=names,
                credentials_dict="{" + ", ".join(f"{python_literal(n)}: {n}" for n in names) + "}",
                credential_arguments="".join(f"{n}={n}, " for n in names),
                credential_note=(
                    f"; {', '.join(f'``{n}``' for n in names)} verif{'ies' if len(names) == 1 else 'y'} it"
                    if names
                    else ("; your ``verifier`` verifies it" if callback.verified_in_code else "")
                ),
                credential_docs=tuple((n, described.get(n, "")) for n in names),
                description=callback.description,
                docs=callback.docs,
                body_words=_body_words(callback),
                verification=callback.verification,
                answer_status=int(callback.definition.get("answer", {}).get("status", 200)),
                payload_model=callback.payload_class,
                verified_in_code=callback.verified_in_code,
                fetches_certificates=callback.fetches_certificates,
                handshakes=tuple(callback.definition.get("handshakes", {})),
                handshake_words=_handshake_words(callback.definition.get("handshakes", {})),
                keywords=names + (("verifier",) if callback.verified_in_code else ()),
            )
        )
    receipts = [view.receipts for view in views]
    return CallbacksView(
        callbacks=tuple(views),
        first=callbacks[0].name,
        models=tuple(sorted({c.payload_class for c in callbacks})),
        status_imports=tuple(sorted({name for r in receipts for name in r.status_imports})),
        helpers=tuple(sorted({name for r in receipts for name in r.helpers})),
        uses_delivery_status=any(r.uses_delivery_status for r in receipts),
        example=_callbacks_example(package, callbacks[0], provider_id),
    )


def _handshake_words(handshakes: dict[str, Any]) -> str:
    """Each handshake: how it is recognised and what answers it, in words."""
    words = []
    for name, handshake in handshakes.items():
        when = handshake["when"]
        where = f"header {when['header']}" if "header" in when else f"member {when['field']}"
        if "confirm" in handshake:
            how = f"confirmed by fetching the URL in {handshake['confirm']['field']}"
        elif "echo" in handshake:
            how = "answered with " + ", ".join(f"{k} = {v}" for k, v in handshake["echo"].items())
        else:
            how = "acknowledged"
        words.append(f"{name} ({where} = {when['equals']}): {how}")
    return "; ".join(words)


def _body_words(callback: m.Callback) -> str:
    method = callback.definition.get("method", "POST")
    if len(callback.formats) > 1:
        each = " or ".join(_format_words(callback, body_format, method) for body_format in callback.formats)
        return f"{method}, {each}, as its Content-Type says"
    return f"{method}, {_format_words(callback, callback.format, method)}"


def _format_words(callback: m.Callback, body_format: str, method: str) -> str:
    json_field = callback.definition.get("json_field")
    if body_format == "form" and json_field is not None:
        document = "a JSON array of payloads" if callback.array else "a JSON object"
        where = f"the form field {json_field} holding {document}"
        if method == "GET":
            where += ", in the query"
        return where
    if body_format == "form":
        return "form fields in the query" if method == "GET" else "form fields"
    if body_format == "multipart":
        return "multipart/form-data fields"
    if body_format == "xml":
        return "an XML document"
    return "a JSON array of payloads" if callback.array else "a JSON object"


def _callbacks_example(package: str, callback: m.Callback, provider_id: str) -> str:
    """A function receiving a push (the README shows it; the tests run and type-check it)."""
    method = callback.definition.get("method", "POST")
    # The method is GET or POST and credential names are validated identifiers: no spec text.
    credentials = "".join(f', {name}="..."' for name in callback.credentials)
    if not callback.verified_in_code:
        return "\n".join(
            [
                "from dlr_core import Receipt",
                f"from {package}.callbacks import parse_callback",
                "",
                "",
                "def on_push(url: str, headers: dict[str, str], body: bytes) -> list[Receipt]:",
                "    # url exactly as given to the provider; raises CallbackSignatureError, StaleCallback,",
                "    # MalformedCallback (dlr_core) for a push to refuse.",
                f'    return parse_callback("{method}", url, headers, body{credentials})',
            ]
        )
    return "\n".join(
        [
            "from collections.abc import Mapping",
            "",
            "from dlr_core import CallbackSignatureError, Receipt",
            f"from {package}.callbacks import parse_callback",
            "",
            "",
            "def verify(method: str, url: str, headers: Mapping[str, str], body: bytes) -> None:",
            '    # Check the provider\'s signature as "Verified by" below says; header names are',
            "    # lowercased. Return None for a push that verifies; until then, refuse every push.",
            # The provider id is a validated snake_case name: no spec text.
            f'    raise CallbackSignatureError("not verified", provider="{provider_id}")',
            "",
            "",
            "def on_push(url: str, headers: dict[str, str], body: bytes) -> list[Receipt]:",
            "    # url exactly as given to the provider; raises CallbackSignatureError, StaleCallback,",
            "    # MalformedCallback (dlr_core) for a push to refuse.",
            f'    return parse_callback("{method}", url, headers, body{credentials}, verifier=verify)',
        ]
    )
