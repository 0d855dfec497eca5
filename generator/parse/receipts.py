"""Stage 2, receipts: where each canonical receipt attribute is read in an answer, and the
status rules that decide a status from several fields."""

from __future__ import annotations

import dataclasses
from typing import Any

from generator import model as m
from generator.canonical import CANONICAL_BY_VALUE
from generator.load import JsonPath
from generator.parse.context import SNAKE, ParseContext
from generator.parse.text_patterns import pattern_problem

# Where receipt fields are read: (wire path down to a list, the list's record model), the
# answer itself first.
Scopes = list[tuple[tuple[str, ...], m.ObjectModel]]


def parse_receipts(
    ctx: ParseContext,
    base: JsonPath,
    op_name: str,
    raw: dict[str, Any],
    root: m.ObjectModel,
    params: tuple[m.Param, ...],
) -> m.ReceiptPlan | None:
    scopes, loops = record_scopes(ctx, base + ("records",), raw["records"], root)
    if scopes is None:
        return None

    def resolve(text: str, at: JsonPath) -> tuple[m.Source, m.ModelField | None] | None:
        if text.startswith("$param."):
            name = text[len("$param.") :]
            match = [p for p in params if p.name == name and p.const is None]
            if not match:
                ctx.problem(at, f"{text!r}: no parameter {name!r} in this operation")
                return None
            return m.ParamRef(name), None
        reference = field_reference(ctx, at, text, scopes)
        return (reference, reference.field) if reference else None

    def resolve_value(value: str | dict[str, str], at: JsonPath, *, text_only: bool) -> m.ReceiptValue | None:
        """A source, or part of its text: ``{field: <source>, pattern: <one group>}``. A
        receipt attribute and a pattern read text; a detail may carry an object or a list."""
        text = value if isinstance(value, str) else value["field"]
        resolved = resolve(text, at if isinstance(value, str) else at + ("field",))
        if resolved is None:
            return None
        source, field = resolved
        if field is not None and field.kind != "scalar" and (text_only or not isinstance(value, str)):
            ctx.problem(at, f"{text!r} is not a scalar field")
        if isinstance(value, str):
            return source
        problem = pattern_problem(value["pattern"])
        if problem is not None:
            ctx.problem(at + ("pattern",), problem)
            return None
        return m.TextMatch(source, value["pattern"])

    fields: list[m.ReceiptField] = []
    text_attributes: tuple[m.ReceiptAttribute, ...] = (
        "message_id",
        "recipient",
        "client_ref",
        "error_code",
        "error_description",
    )
    for attribute in text_attributes:
        if attribute in raw:
            value = resolve_value(raw[attribute], base + (attribute,), text_only=True)
            if value is not None:
                fields.append(m.ReceiptField(attribute, value, "text"))
    details: list[tuple[str, m.ReceiptValue]] = []
    for name, text in raw.get("details", {}).items():
        if not SNAKE.match(name):
            ctx.problem(base + ("details", name), f"detail name {name!r} must be snake_case", at_key=True)
            continue
        value = resolve_value(text, base + ("details", name), text_only=False)
        if value is not None:
            details.append((name, value))
    time_attributes: tuple[m.ReceiptAttribute, ...] = ("submitted_at", "completed_at")
    for attribute in time_attributes:
        if attribute in raw:
            reference = field_reference(ctx, base + (attribute,), raw[attribute], scopes)
            if reference is None:
                continue
            if reference.field.time_format is None:
                ctx.problem(
                    base + (attribute,),
                    f"{raw[attribute]!r} has no time 'format' (unix_seconds, "
                    "unix_milliseconds, iso8601 or a pattern)",
                )
            else:
                fields.append(m.ReceiptField(attribute, reference, "time"))
    status = _receipt_status(ctx, base + ("status",), raw["status"], scopes)
    ids = raw.get("ids")
    ids_param = None
    if ids is not None:
        ids_param = next((p for p in params if p.name == ids["param"] and p.const is None), None)
        if ids_param is None or ids_param.from_credential is not None:
            ctx.problem(
                base + ("ids", "param"),
                f"ids param {ids['param']!r} is not a parameter of this operation",
            )
        if ids["field"] not in raw:
            ctx.problem(
                base + ("ids", "field"),
                f"ids are matched against {ids['field']!r}, which these receipts do not set",
            )
    return m.ReceiptPlan(
        function_name=f"{op_name}_receipts",
        loops=tuple(loops),
        status=status,
        fields=tuple(fields),
        details=tuple(details),
        ids_param=ids_param.name if ids_param else None,
        ids_field=ids["field"] if ids else None,
        ids_many=ids_param is not None and ids_param.type == "array",
    )


def _receipt_status(
    ctx: ParseContext, path: JsonPath, status: str | dict[str, str], scopes: Scopes
) -> m.ReceiptStatus:
    if isinstance(status, str):
        reference = field_reference(ctx, path, status, scopes)
        if reference is None:
            return m.ReceiptStatus()
        if reference.field.status is None:
            ctx.problem(path, f"{status!r} is not a status field (give it 'status: <enum>')")
            return m.ReceiptStatus()
        return m.ReceiptStatus(field=reference, raw=((reference.field.wire, reference),))
    rule, inputs = _status_rule(ctx, path + ("rule",), status["rule"], scopes)
    if rule is None:
        return m.ReceiptStatus()
    raw = tuple((rule_input.wire, reference) for rule_input, reference in zip(rule.inputs, inputs))
    return m.ReceiptStatus(rule=rule, rule_inputs=inputs, raw=raw)


def record_scopes(
    ctx: ParseContext, path: JsonPath, records: str, root: m.ObjectModel, *, what: str = "records path"
) -> tuple[Scopes | None, list[m.Loop]]:
    """Scopes are (wire path down to a list, the list's record model), outermost first;
    the first is always the response itctx. ``what`` names the key in problems."""
    scopes: Scopes = [((), root)]
    if records == ".":
        return scopes, []
    if not records.endswith("[]"):
        ctx.problem(path, f"{what} {records!r} must be '.' or end with [] (the list of records)")
        return None, []
    loops: list[m.Loop] = []
    segments = records.split(".")
    current_obj = root
    chain: list[m.ModelField] = []
    wire_path: list[str] = []
    for segment in segments:
        is_array = segment.endswith("[]")
        wire = segment[:-2] if is_array else segment
        field = current_obj.fields.get(wire)
        if field is None:
            ctx.problem(
                path,
                f"{what} {records!r}: {current_obj.class_name} has no field {wire!r}; "
                f"fields: {', '.join(current_obj.fields)}",
            )
            return None, []
        wire_path.append(segment)
        chain.append(field)
        if is_array:
            if field.kind != "array" or field.item_kind != "object" or field.obj is None:
                ctx.problem(path, f"{what} {records!r}: {wire!r} is not a list of objects")
                return None, []
            loops.append(m.Loop(m.FieldRef(len(scopes) - 1, tuple(chain)), field.obj.class_name))
            current_obj, chain = field.obj, []
            scopes.append((tuple(wire_path), field.obj))
        else:
            if field.kind != "object" or field.obj is None:
                ctx.problem(path, f"{what} {records!r}: {wire!r} is not an object")
                return None, []
            current_obj = field.obj
    return scopes, loops


def field_reference(ctx: ParseContext, path: JsonPath, text: str, scopes: Scopes) -> m.FieldRef | None:
    """A field path, read from one of the scopes.

    Relative paths start at the record; /rooted paths start at the response and may
    cross the lists the records path iterates (they then read the current element)."""
    if text.startswith("/"):
        segments = text[1:].split(".")
        scope = max(
            (index for index, s in enumerate(scopes) if tuple(segments[: len(s[0])]) == s[0]),
            key=lambda index: len(scopes[index][0]),
        )
        segments = segments[len(scopes[scope][0]) :]
    else:
        scope = len(scopes) - 1
        segments = text.split(".")
    chain: list[m.ModelField] = []
    current: m.ObjectModel | None = scopes[scope][1]
    for segment in segments:
        if segment.endswith("[]"):
            ctx.problem(path, f"{text!r}: {segment!r} is a list that the records path does not iterate")
            return None
        field = current.fields.get(segment) if current else None
        if field is None:
            known = ", ".join(current.fields) if current else "none (not an object)"
            ctx.problem(path, f"{text!r}: no field {segment!r} here; fields: {known}")
            return None
        chain.append(field)
        current = field.obj if field.kind == "object" else None
    return m.FieldRef(scope, tuple(chain))


def _status_rule(
    ctx: ParseContext, path: JsonPath, key: str, scopes: Scopes
) -> tuple[m.StatusRule | None, tuple[m.FieldRef, ...]]:
    """The rule, and where each of its inputs is read in these scopes."""
    rules = ctx.data.get("status_rules", {})
    if key not in rules:
        ctx.problem(path, f"unknown status rule {key!r}; defined: {', '.join(rules) or 'none'}")
        return None, ()
    raw = rules[key]
    base: JsonPath = ("status_rules", key)
    inputs: dict[str, tuple[m.RuleInput, m.FieldRef]] = {}

    def rule_input(at: JsonPath, wire: str) -> m.RuleInput | None:
        if wire in inputs:
            return inputs[wire][0]
        reference = field_reference(ctx, at, wire, scopes)
        if reference is None:
            return None
        field = reference.field
        if field.status is None:
            ctx.problem(at, f"{wire!r} is not a status field (give it 'status: <enum>')")
            return None
        inputs[wire] = (m.RuleInput(field.name, wire, field.status), reference)
        return inputs[wire][0]

    branches: list[m.RuleBranch] = []
    items = raw["first_match"]
    for index, item in enumerate(items):
        at = base + ("first_match", index)
        if ("use" in item) == ("canonical" in item):
            ctx.problem(at, "a rule needs exactly one of 'use' (a status field) or 'canonical' (a status)")
            continue
        condition = None
        explained = ""
        when = item.get("when")
        if when is not None:
            tests = [k for k in ("final", "in") if k in when]
            if len(tests) != 1:
                ctx.problem(at + ("when",), "'when' needs 'field' and exactly one of 'final' or 'in'")
                continue
            source = rule_input(at + ("when", "field"), when["field"])
            if source is None:
                continue
            if "final" in when:
                condition = m.RuleCondition(source, "final" if when["final"] else "not_final")
                explained = f"If `{source.wire}` maps to a {'final' if when['final'] else 'non-final'} status"
            else:
                members: list[str] = []
                for position, value in enumerate(when["in"]):
                    member = next((v.member for v in source.status.values if value in v.raw_values), None)
                    if member is None:
                        ctx.problem(
                            at + ("when", "in", position),
                            f"{value!r} is not a raw value of status {source.status.key!r}",
                        )
                    elif member not in members:
                        members.append(member)
                condition = m.RuleCondition(source, "in", tuple(members))
                explained = f"If `{source.wire}` is " + " or ".join(f"`{value}`" for value in when["in"])
        elif index != len(items) - 1:
            ctx.problem(
                at, "a rule without 'when' always matches, so the rules after it never run; move it last"
            )
        if "use" in item:
            target = rule_input(at + ("use",), item["use"])
            if target is None:
                continue
            branch = m.RuleBranch(condition, target, None, "")
            outcome = f"the status `{target.wire}` maps to"
        else:
            member_name = CANONICAL_BY_VALUE[item["canonical"]].member
            branch = m.RuleBranch(condition, None, member_name, "")
            outcome = f"`{item['canonical']}`"
        explanation = f"{explained}: {outcome}." if condition else f"Otherwise: {outcome}."
        branches.append(dataclasses.replace(branch, explanation=explanation))
    if branches and branches[-1].when is not None:
        branches.append(m.RuleBranch(None, None, "UNKNOWN", "Otherwise: `unknown`."))
    rule = m.StatusRule(
        key,
        " ".join(raw["description"].split()),
        tuple(entry[0] for entry in inputs.values()),
        tuple(branches),
    )
    previous = ctx.rules_used.get(key)
    if previous is not None and previous != rule:
        ctx.problem(path, f"status rule {key!r} resolves to different fields in two operations")
    ctx.rules_used[key] = rule
    return rule, tuple(entry[1] for entry in inputs.values())
