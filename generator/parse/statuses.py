"""Stage 2, statuses: a spec's status enums, their raw values and canonical meaning."""

from __future__ import annotations

from typing import Any, Literal

from generator import model as m
from generator.load import JsonPath
from generator.parse.context import ParseContext


def parse_status_enum(ctx: ParseContext, key: str, raw: dict[str, Any]) -> m.StatusEnum:
    base: JsonPath = ("statuses", key)
    raw_type: Literal["int", "str"] = "int" if raw["type"] == "integer" else "str"
    seen_members: set[str] = set()
    seen_values: dict[m.RawValue, str] = {}
    values = []
    for index, item in enumerate(raw["values"]):
        path = base + ("values", index)
        member = item["member"]
        if member in seen_members:
            ctx.problem(path + ("member",), f"member {member!r} is defined twice in {key!r}")
        seen_members.add(member)
        aliases = tuple(item.get("aliases", ()))
        for position, value in enumerate((item["value"], *aliases)):
            where = path + (("value",) if position == 0 else ("aliases", position - 1))
            if raw_type == "int" and not isinstance(value, int):
                ctx.problem(where, f"{value!r} is not an integer, but {key!r} has type integer")
            elif raw_type == "str" and not isinstance(value, str):
                ctx.problem(where, f"{value!r} is not text, but {key!r} has type string; quote it")
            if value in seen_values:
                ctx.problem(where, f"raw value {value!r} is already mapped by member {seen_values[value]}")
            seen_values[value] = member
        values.append(
            m.StatusValue(
                item["value"], aliases, member, item["canonical"], " ".join(item["description"].split())
            )
        )
    return m.StatusEnum(key, raw["class"], raw_type, " ".join(raw["description"].split()), tuple(values))
