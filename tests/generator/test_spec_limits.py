"""Hostile specs give located problems within fixed budgets, never a traceback or a broken package.

Each case starts from a real seed spec read as text and changes one thing, so the problem it
introduces is the only one; the line each problem must point at is where the change was made.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, catalog_providers
from generator.commands.cli import main
from generator.load.yaml_safe import MAX_NESTING_DEPTH, MAX_NODES, MAX_SPEC_BYTES, MAX_STRING_LENGTH
from generator.pipeline import load_providers
from generator.problems import Problem

SPECS = ROOT / "specs"


def seed(name: str) -> str:
    return (SPECS / f"{name}.yaml").read_text(encoding="utf-8")


def edit(text: str, old: str, new: str) -> tuple[str, int]:
    """Replace the one occurrence of old; also return the line it starts on."""
    assert text.count(old) == 1, old
    index = text.index(old)
    return text[:index] + new + text[index + len(old) :], text.count("\n", 0, index) + 1


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1, needle
    return text.count("\n", 0, text.index(needle)) + 1


def problems_of(tmp_path: Path, name: str, text: str) -> list[Problem]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    _, problems = load_providers([path])
    return problems


def the_problem(tmp_path: Path, name: str, text: str) -> Problem:
    problems = problems_of(tmp_path, name, text)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def with_example(block: str) -> str:
    """UCloud's spec with its operation's example answer replaced by block (YAML lines)."""
    text = seed("ucloud_usms")
    start = text.index("    example:  # the docs' example answer")
    end = text.index("    receipts:\n", start)
    return text[:start] + block + text[end:]


def nested_in_example(value: str) -> str:
    """UCloud's spec whose example answer is value, a one-line YAML flow value."""
    return with_example(f"    example: {value}\n")


def example_block(body: str) -> str:
    """UCloud's spec whose example answer is body, the lines of a block mapping indented by 6."""
    return with_example("    example:\n" + body)


def test_every_seed_spec_is_still_valid() -> None:
    assert len(catalog_providers()) == len(sorted(SPECS.glob("*.yaml")))  # each loads, none refused


def test_the_example_helper_changes_nothing_else(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "ucloud_usms", nested_in_example('{"RetCode": 0}')) == []


# Budgets -------------------------------------------------------------------------------------------


def billion_laughs(levels: int) -> str:
    """levels of anchors, each a list of 9 aliases to the one before: 9**levels strings in all."""
    lines = ["      a1: &a1 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(2, levels + 1):
        lines.append(f"      a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_fails_at_the_alias_that_exceeds_the_budget(tmp_path: Path) -> None:
    text = example_block(billion_laughs(9))
    problem = the_problem(tmp_path, "ucloud_usms", text)
    # a1..a5 stand for about 74,000 values; the second alias on the a6 line takes the total past 200,000.
    assert problem.line == line_of(text, "a6: &a6")
    line = text.splitlines()[problem.line - 1]
    assert problem.column == line.index("*a5", line.index("*a5") + 1) + 1
    assert "alias *a5" in problem.message and f"{MAX_NODES:,} values" in problem.message


def test_aliases_within_the_budget_still_work(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "ucloud_usms", example_block(billion_laughs(4))) == []


@pytest.mark.slow  # 200,000 values; tests/cases/error_too_many_values checks the report under a lower limit
def test_too_many_values_without_aliases(tmp_path: Path) -> None:
    text = nested_in_example("[" + ",".join(["0"] * (MAX_NODES + 10)) + "]")
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert problem.line == line_of(text, "example: [")
    assert f"more than {MAX_NODES:,} values" in problem.message


def test_an_alias_inside_its_own_value(tmp_path: Path) -> None:
    text = nested_in_example("&loop [1, *loop]")
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert problem.line == line_of(text, "&loop")
    assert problem.message == "alias *loop is inside the value it names"


def test_100000_open_brackets_alone(tmp_path: Path) -> None:
    problem = the_problem(tmp_path, "ucloud_usms", "[" * 100_000)
    assert problem.line == 1
    assert f"nested deeper than {MAX_NESTING_DEPTH} levels" in problem.message


def test_100000_open_brackets_in_a_spec(tmp_path: Path) -> None:
    text = nested_in_example("[" * 100_000)
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert problem.line == line_of(text, "example: [")
    assert f"nested deeper than {MAX_NESTING_DEPTH} levels" in problem.message


def test_a_10000_deep_mapping(tmp_path: Path) -> None:
    text = nested_in_example("{a: " * 10_000 + "1" + "}" * 10_000)
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert problem.line == line_of(text, "example: {a:")
    assert f"nested deeper than {MAX_NESTING_DEPTH} levels" in problem.message


def test_nesting_fails_at_the_first_value_too_deep(tmp_path: Path) -> None:
    # Block style, one key per line, each named after its depth: the root mapping is depth 1,
    # operations 2, the operation 3, the example 4, and the example's keys depth 5.
    lines = [" " * (6 + depth - 5) + f"d{depth}:" for depth in range(5, 80)]
    text = example_block("\n".join(lines) + " leaf\n")
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert problem.line == line_of(text, f" d{MAX_NESTING_DEPTH + 1}:")
    assert f"nested deeper than {MAX_NESTING_DEPTH} levels" in problem.message


def test_nesting_made_deep_by_an_alias(tmp_path: Path) -> None:
    # Each part is shallow as written; the alias puts the anchored value 40 levels down.
    deep = "{a: " * 40 + "1" + "}" * 40
    text = example_block(f"      part: &deep {deep}\n      use: " + "[" * 40 + "*deep" + "]" * 40 + "\n")
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert problem.line == line_of(text, "use: [")
    assert problem.column == text.splitlines()[problem.line - 1].index("*deep") + 1
    assert "nested deeper than" in problem.message and "through alias *deep" in problem.message


def test_a_2_mib_file(tmp_path: Path) -> None:
    text = seed("ucloud_usms")
    text += "# padding\n" * ((2 * 1024 * 1024 - len(text.encode())) // 10 + 1)
    size = len(text.encode())
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert (problem.line, problem.column) == (1, 1)
    assert f"{size:,} bytes" in problem.message and f"{MAX_SPEC_BYTES:,} bytes" in problem.message


def test_a_100_kib_string(tmp_path: Path) -> None:
    text, line = edit(seed("ucloud_usms"), "title: UCloud USMS\n", f"title: {'x' * 100 * 1024}\n")
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert (problem.line, problem.column) == (line, len("title: ") + 1)
    assert f"{100 * 1024:,} characters" in problem.message and f"{MAX_STRING_LENGTH:,}" in problem.message


def test_a_string_at_the_limit_is_fine(tmp_path: Path) -> None:
    text, _ = edit(seed("ucloud_usms"), "title: UCloud USMS\n", f"title: {'x' * MAX_STRING_LENGTH}\n")
    assert problems_of(tmp_path, "ucloud_usms", text) == []


# Text that would break generated code ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("escape", "code"),
    [
        ("\\0", "U+0000"),
        ("\\x1b", "U+001B"),
        ("\\r", "U+000D"),
        ("\\x7f", "U+007F"),
        ("\\x85", "U+0085"),
        ("\\N", "U+0085"),
        ("\\u2028", "U+2028"),
        ("\\u2029", "U+2029"),
        ("\\ud800", "U+D800"),
    ],
)
def test_a_control_character_escaped_in_a_title(tmp_path: Path, escape: str, code: str) -> None:
    text, line = edit(seed("ucloud_usms"), "title: UCloud USMS\n", f'title: "UCloud{escape}USMS"\n')
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert (problem.line, problem.column) == (line, len("title: ") + 1)
    assert f"character {code} " in problem.message and "is not allowed" in problem.message


@pytest.mark.parametrize(
    "char", ["\x00", "\x08", "\x1f", "\x7f", "\x85", "\x9f", "\u2028", "\u2029", "\u202e", "\u2066"]
)
def test_a_control_character_written_as_is_in_a_title(tmp_path: Path, char: str) -> None:
    text, line = edit(seed("ucloud_usms"), "title: UCloud USMS\n", f"title: UCloud{char}USMS\n")
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert (problem.line, problem.column) == (line, len("title: UCloud") + 1)
    assert f"character U+{ord(char):04X} " in problem.message


def test_a_character_yaml_refuses_is_located(tmp_path: Path) -> None:
    text, line = edit(seed("ucloud_usms"), "title: UCloud USMS\n", "title: UCloud\ufffeUSMS\n")
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert (problem.line, problem.column) == (line, len("title: UCloud") + 1) and "U+FFFE" in problem.message


def test_a_line_separator_in_a_comment_cannot_hide_a_key(tmp_path: Path) -> None:
    # YAML takes U+2028 as a line break, so this "comment" would set the title for YAML.
    text, line = edit(seed("ucloud_usms"), "channel: sms\n", "channel: sms  # note\u2028title: Evil\n")
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert problem.line == line and "U+2028" in problem.message


def test_a_control_character_in_a_key(tmp_path: Path) -> None:
    text = nested_in_example('{"Ret\\x01Code": 0}')
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert problem.line == line_of(text, "example: {") and "U+0001" in problem.message


def test_tabs_and_line_breaks_are_fine(tmp_path: Path) -> None:
    text, _ = edit(seed("ucloud_usms"), "title: UCloud USMS\n", 'title: "UCloud\\tUSMS"\n')
    summary = "    summary: Get the delivery receipts of messages by the SessionNo returned when sending.\n"
    text, _ = edit(text, summary, '    summary: "Get the delivery receipts\\nof messages by SessionNo."\n')
    assert problems_of(tmp_path, "ucloud_usms", text) == []


def test_text_that_is_not_utf8(tmp_path: Path) -> None:
    text = seed("ucloud_usms")
    path = tmp_path / "ucloud_usms.yaml"
    path.write_bytes(text.encode().replace(b"title: UCloud USMS", b"title: UCloud \xff", 1))
    _, problems = load_providers([path])
    assert [(p.line, p.column) for p in problems] == [
        (line_of(text, "title: UCloud USMS"), len("title: UCloud ") + 1)
    ]
    assert "not UTF-8" in problems[0].message


TENCENT_REGION_PARAM = (
    "wire: X-TC-Region\n        in: header\n        type: string\n        required: true\n"
    "        default: ap-guangzhou\n        description: Region of the request (required"
)


@pytest.mark.parametrize("name", ["X TC Region", "X-TC-Régión", "X-TC-Region\\n", "X-TC:Region"])
def test_a_header_parameter_needs_a_header_name(tmp_path: Path, name: str) -> None:
    text, line = edit(
        seed("tencent_sms"),
        TENCENT_REGION_PARAM,
        TENCENT_REGION_PARAM.replace("wire: X-TC-Region", f'wire: "{name}"'),
    )
    problem = the_problem(tmp_path, "tencent_sms", text)
    assert problem.line == line
    assert "must be an HTTP header name" in problem.message


@pytest.mark.parametrize("name", ["X TC Action", "X-TC-Actión", '"X-TC-Action\\n"'])
def test_a_header_placement_needs_header_names(tmp_path: Path, name: str) -> None:
    text, line = edit(
        seed("tencent_sms"), '          X-TC-Action: "{action}"\n', f'          {name}: "{{action}}"\n'
    )
    problem = the_problem(tmp_path, "tencent_sms", text)
    assert (problem.line, problem.column) == (line, 11)
    assert "must be an HTTP header name" in problem.message


def test_a_carriage_return_in_a_header_name(tmp_path: Path) -> None:
    text, line = edit(
        seed("tencent_sms"), '          X-TC-Action: "{action}"\n', '          "X-TC-Action\\r": "{action}"\n'
    )
    problem = the_problem(tmp_path, "tencent_sms", text)
    assert (problem.line, problem.column) == (line, 11) and "U+000D" in problem.message


@pytest.mark.parametrize("key", ["minimum", "maximum", "default"])
@pytest.mark.parametrize("number", [".inf", "-.inf", ".nan", ".NaN", "1.0e+999"])
def test_numbers_must_be_finite(tmp_path: Path, key: str, number: str) -> None:
    old = "        minimum: 1\n        maximum: 50\n        default: 10\n"
    new = re.sub(rf"{key}: \d+", f"{key}: {number}", old)
    text, line = edit(seed("aliyun_dysms"), old, new)
    problem = the_problem(tmp_path, "aliyun_dysms", text)
    assert problem.line == line + ["minimum", "maximum", "default"].index(key)
    assert "numbers must be finite" in problem.message


def test_an_invalid_regular_expression(tmp_path: Path) -> None:
    text, line = edit(seed("tencent_sms"), 'pattern: "^\\\\+[0-9]{6,15}$"', 'pattern: "(["')
    problem = the_problem(tmp_path, "tencent_sms", text)
    with pytest.raises(re.error) as invalid:
        re.compile("([")
    assert (problem.line, problem.message) == (line, f"invalid regular expression: {invalid.value}")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2020-13-45", "month must be in 1..12"),
        ("1" * 5000, "Exceeds the limit"),
        ("!!float abc", "could not convert"),
    ],
)
def test_scalars_pyyaml_cannot_construct(tmp_path: Path, value: str, reason: str) -> None:
    text = nested_in_example(f"{{RetCode: {value}}}")
    problem = the_problem(tmp_path, "ucloud_usms", text)
    assert problem.line == line_of(text, "example: {") and "cannot read" in problem.message
    assert reason in problem.message


# The command line ------------------------------------------------------------------------------------


def hostile_specs() -> dict[str, tuple[str, str, int, str]]:
    """case -> (spec name, its text, the line of its one problem, part of the message)."""
    ucloud, aliyun, tencent = seed("ucloud_usms"), seed("aliyun_dysms"), seed("tencent_sms")
    title = "title: UCloud USMS\n"
    laughs = example_block(billion_laughs(9))
    cases = {
        "billion laughs": ("ucloud_usms", laughs, line_of(laughs, "a6: &a6"), "alias *a5"),
        "brackets": ("ucloud_usms", "[" * 100_000, 1, "nested deeper than"),
        "size": ("ucloud_usms", ucloud + "#\n" * MAX_SPEC_BYTES, 1, "over the limit of"),
        "string": ("ucloud_usms", *edit(ucloud, title, f"title: {'x' * 100_000}\n"), "characters"),
        "nul": ("ucloud_usms", *edit(ucloud, title, 'title: "\\0"\n'), "U+0000"),
        "raw nul": ("ucloud_usms", *edit(ucloud, title, "title: \0\n"), "U+0000"),
        "infinite": ("aliyun_dysms", *edit(aliyun, "default: 10\n", "default: .inf\n"), "finite"),
        "regex": ("tencent_sms", *edit(tencent, 'pattern: "^\\\\+[0-9]{6,15}$"', 'pattern: "(["'), "regular"),
    }
    return cases


@pytest.mark.parametrize("case", sorted(hostile_specs()))
def test_dlrgen_validate_prints_the_problem_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    name, text, line, message = hostile_specs()[case]
    (tmp_path / "specs").mkdir()
    path = tmp_path / "specs" / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert re.search(rf"^specs/{name}\.yaml:{line}:\d+: .*{re.escape(message)}", err, re.MULTILINE), err
