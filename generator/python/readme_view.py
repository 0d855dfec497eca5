"""Stage 3, the prose of the generated README and of docs/providers.md: the overview row of
a provider, its polling hints, parameter notes and the README's runnable examples (the tests
run them against the mock and type-check them)."""

from __future__ import annotations

from dataclasses import dataclass

from dlr_core.mock_auth import mock_token_url
from dlr_core.signing import Scheme

from generator import model as m
from generator.python import escape
from generator.python.escape import python_literal


@dataclass(frozen=True)
class GlanceRow:
    """One row of docs/providers.md's overview table, each cell Markdown."""

    provider: str
    channel: str
    pull: str
    push: str
    auth: str
    env: str
    paging: str
    polling: str


def polling_defaults(polling: m.Polling) -> str:
    parts = []
    if polling.interval is not None:
        parts.append(f"a query every {human_duration(polling.interval)}")
    if polling.give_up_after is not None:
        parts.append(f"giving up after {human_duration(polling.give_up_after)}")
    if polling.first_check_after is not None:
        parts.append(f"the first check {human_duration(polling.first_check_after)} after sending")
    if not parts:
        return "none are documented, so a query every minute, giving up after an hour."
    return ", ".join(parts) + "."


def required_credentials(provider: m.Provider) -> list[str]:
    """Credentials every client needs: those every auth scheme uses, and those parameters
    are filled from. The others are needed only by the scheme that uses them."""
    schemes = [set(s.credentials) for s in provider.auth.schemes]
    needed = set.intersection(*schemes) if schemes else set()
    needed |= {p.from_credential for op in provider.operations for p in op.params if p.from_credential}
    return [c.name for c in provider.auth.credentials if c.name in needed]


def number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def human_duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{number(seconds)} seconds"


_PAGING_WORDS = {"page_number": "by number", "next_url": "next links", "offset": "by offset"}


def at_a_glance(provider: m.Provider) -> GlanceRow:
    """One row of docs/providers.md's overview table, each cell Markdown."""
    op = provider.receipts_operation
    if op is None or op.receipts is None:
        pull = "—"
    else:
        how = [
            text
            for text, applies in (
                ("a queue (each report once)", op.consuming),
                ("by ids, in the order asked", op.receipts.ids_param is not None),
                (
                    f"every page ({_PAGING_WORDS[op.pagination.style]})" if op.pagination else "",
                    op.pagination,
                ),
                (f"in batches of {op.batch.size}" if op.batch else "", op.batch),
            )
            if applies
        ]
        pull = f"{escape.markdown_code(op.name)}" + (f": {', '.join(how)}" if how else "")
    schemes = ", ".join(
        escape.markdown_code(s.name) + (" (default)" if s.name == provider.auth.default_scheme else "")
        for s in provider.auth.schemes
    )
    env = ", ".join(escape.markdown_code(c.env[0]) for c in provider.auth.credentials) or "—"
    paged = [
        f"{escape.markdown_code(o.name)} ({_PAGING_WORDS[o.pagination.style]})"
        for o in provider.operations
        if o.pagination
    ]
    polling = provider.polling
    hints = [
        f"{label} {human_duration(seconds)}"
        for label, seconds in (
            ("first", polling.first_check_after),
            ("every", polling.interval),
            ("give up", polling.give_up_after),
        )
        if seconds is not None
    ]
    return GlanceRow(
        provider=escape.markdown_code(provider.id),
        channel=escape.markdown(provider.channel or "—"),
        pull=pull,
        push="<br>".join(
            f"{escape.markdown_code(c.name)}: {escape.markdown(c.verification)}" for c in provider.callbacks
        )
        or "—",
        auth=schemes or "—",
        env=env,
        paging=", ".join(paged) or "—",
        polling=", ".join(hints) or "—",
    )


def polling_lines(polling: m.Polling) -> list[str]:
    lines = []
    if polling.note:
        lines.append(escape.markdown(polling.note))
    for label, seconds in (
        ("First query after", polling.first_check_after),
        ("Query every", polling.interval),
        ("Give up after", polling.give_up_after),
        ("The provider refreshes statuses every", polling.provider_sync_interval),
    ):
        if seconds is not None:
            lines.append(f"{label}: {human_duration(seconds)}.")
    if polling.rate_limit is not None:
        per = polling.rate_limit.per_seconds
        period = "second" if per in (None, 1) else human_duration(per).removeprefix("1 ")
        lines.append(f"Rate limit: {polling.rate_limit.requests} queries per {period}.")
    return lines


def param_note(param: m.Param) -> str:
    notes = []
    if param.description:
        notes.append(param.description)
    schema = param.json_schema
    if param.const is not None:
        notes.append(f"Always `{param.const}`.")
    if "minimum" in schema or "maximum" in schema:
        notes.append(f"Range {schema.get('minimum', '')}..{schema.get('maximum', '')}.")
    if param.date_format:
        notes.append(f"Sent as `{param.date_format}`.")
    if param.time_zone:
        notes.append(f"In {param.time_zone}: an aware datetime is converted.")
    if param.from_credential:
        notes.append(f"From the `{param.from_credential}` credential.")
    if param.default_from_credential:
        notes.append(f"Defaults to the `{param.default_from_credential}` credential.")
    if param.array_style == "indexed":
        notes.append(
            f"Sent as `{param.wire}.{param.index_start}`, `{param.wire}.{param.index_start + 1}`, ..."
        )
    if "maxItems" in schema:
        notes.append(f"At most {schema['maxItems']} per call.")
    if param.default is not None:
        notes.append(f"Default `{param.default}`.")
    return " ".join(notes)


def _example_operation(provider: m.Provider) -> m.Operation:
    """What the README shows: the operation behind ``fetch_receipts``, if any."""
    return provider.receipts_operation or provider.operations[0]


MOCK_ORIGIN = "http://127.0.0.1:8080"
"""Where the README says ``dlrgen mock`` listens (its default ``--port``)."""


def mock_token_arguments(provider: m.Provider) -> list[str]:
    """The README's ``token_url=`` argument for ``dlrgen mock`` (as the mock prints it), one
    per auth scheme that fetches a token, the default first; another scheme is named."""
    default = provider.auth.default_scheme
    arguments = []
    for scheme in sorted(provider.auth.schemes, key=lambda s: s.name != default):
        url = mock_token_url(Scheme.from_data(scheme.definition), MOCK_ORIGIN)
        if url is None:
            continue
        if isinstance(url, str):
            literal = python_literal(url)
        else:
            literal = (
                "{" + ", ".join(f"{python_literal(k)}: {python_literal(v)}" for k, v in url.items()) + "}"
            )
        which = (
            ""
            if scheme.name == default
            else f" (with {escape.markdown_code('auth_scheme=' + python_literal(scheme.name))})"
        )
        arguments.append(escape.markdown_code(f"token_url={literal}") + which)
    return arguments


def readme_example(provider: m.Provider) -> str:
    """The README's example: a client from the environment, calling ``fetch_receipts`` with
    the required arguments (the spec's ``example`` values where given). The tests run it
    against the mock and type-check it."""
    op = _example_operation(provider)
    placeholders = {
        "string": '"..."',
        "integer": "1",
        "number": "1.0",
        "boolean": "True",
        "date": "date.today()",
        "datetime": "datetime.now(timezone.utc)",
    }

    def sample(p: m.Param) -> str:
        if p.type == "array":
            item = p.json_schema["items"]["type"]
            values = [python_literal(v) for v in p.example] if p.example else [placeholders[item]]
            return f"[{', '.join(values)}]"
        return python_literal(p.example) if p.example is not None else placeholders[p.type]

    required = [p for p in op.params if p.required and p.default is None and p.const is None]
    arguments = ", ".join(f"{p.name}={sample(p)}" for p in required)
    # The default scheme's credentials only: those of two schemes at once are refused.
    default = next(s for s in provider.auth.schemes if s.name == provider.auth.default_scheme)
    used = set(required_credentials(provider)) | set(default.credentials)
    credentials = [c for c in provider.auth.credentials if c.name in used]
    variables = " and ".join(c.env[0] for c in credentials)
    keywords = ", ".join(f"{c.name}=..." for c in credentials)
    options = ""
    if provider.require_base_url:
        url = next(s.url for s in provider.servers if s.key == provider.default_server)
        options = f"base_url={python_literal(url)}"
    lines = []
    needed = {p.type for p in required}
    if needed & {"date", "datetime"}:
        names = ["date"] if "date" in needed else []
        names += ["datetime", "timezone"] if "datetime" in needed else []
        lines += [f"from datetime import {', '.join(names)}", ""]
    lines += [f"from {provider.package} import Client", ""]
    lines.append(f"# Credentials from {variables} (or Client({keywords})).")
    if provider.require_base_url:
        lines.append("# Every account has its own endpoint: pass yours as base_url.")
    lines.append(f"with Client.from_env({options}) as client:")
    if op.receipts:
        lines += [
            f"    for receipt in client.fetch_receipts({arguments}):",
            "        print(receipt.message_id, receipt.recipient, receipt.status, receipt.status.is_final)",
        ]
    else:
        lines += [f"    result = client.{op.name}({arguments})", "    print(result)"]
    return "\n".join(lines)


def parse_example(provider: m.Provider) -> str:
    """An answer one already has (a log, a webhook), read without a client."""
    op = _example_operation(provider)
    data = provider.envelope.data_field
    payload = f"body[{python_literal(data)}]" if data else "body"
    if op.format == "xml":
        return _parse_xml_example(provider, op, payload)
    lines = ["import json", ""]
    if op.receipts:
        lines += [
            "from dlr_core import Receipt",
            f"from {provider.package} import {op.response_class}, {op.receipts.function_name}",
            "",
            "",
            "def receipts_from(response_text: str) -> list[Receipt]:",
            "    body = json.loads(response_text)",
            f"    result = {op.response_class}.model_validate({payload})",
            f"    return {op.receipts.function_name}(result)",
        ]
    else:
        lines += [
            f"from {provider.package} import {op.response_class}",
            "",
            "",
            f"def answer_from(response_text: str) -> {op.response_class}:",
            "    body = json.loads(response_text)",
            f"    return {op.response_class}.model_validate({payload})",
        ]
    return "\n".join(lines)


def _parse_xml_example(provider: m.Provider, op: m.Operation, payload: str) -> str:
    """``parse_example`` for an operation answering XML: the body read as the client reads
    it (``read_answer``), its repeated names made lists (``as_lists``, with the operation's
    ``xml_lists``), then validated."""
    constant = op.name.upper()
    if op.xml_lists:
        payload = f"as_lists({payload}, {constant}.xml_lists)"
    runtime = "as_lists, read_answer" if op.xml_lists else "read_answer"
    lines = [f"from dlr_core.wire.xml_body import {runtime}"]
    if op.receipts:
        lines[:0] = ["from dlr_core import Receipt"]
        lines += [f"from {provider.package} import {op.response_class}, {op.receipts.function_name}"]
    else:
        lines += [f"from {provider.package} import {op.response_class}"]
    if op.xml_lists:
        lines += [f"from {provider.package}.api import {constant}"]
    lines += ["", ""]
    if op.receipts:
        lines += [
            "def receipts_from(response_text: str) -> list[Receipt]:",
            '    body = read_answer(response_text.encode("utf-8"))  # the XML, read as the client reads it',
            f"    result = {op.response_class}.model_validate({payload})",
            f"    return {op.receipts.function_name}(result)",
        ]
    else:
        lines += [
            f"def answer_from(response_text: str) -> {op.response_class}:",
            '    body = read_answer(response_text.encode("utf-8"))  # the XML, read as the client reads it',
            f"    return {op.response_class}.model_validate({payload})",
        ]
    return "\n".join(lines)
