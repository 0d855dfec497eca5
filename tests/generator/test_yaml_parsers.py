"""Specs are read with libyaml's parser when PyYAML has it (the fast path) and with PyYAML's
own when libyaml refuses the text (its errors point closer to the mistake). Both must read
every valid spec into the same nodes, with the same places, or problems would move."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from generator.load import yaml_errors, yaml_safe

ROOT = Path(__file__).resolve().parent.parent.parent
PROVIDERS = sorted(ROOT.glob("specs/*.yaml"))


def _python_nodes(path: Path) -> yaml.Node | None:
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml_safe._PythonLoader)  # type: ignore[arg-type]
    except (ValueError, yaml.YAMLError, yaml_safe._LimitExceeded):
        return None  # an error case: its problems are compared by the golden cases


# The golden cases' specs (one per feature and per problem, read in the test, not at
# collection); the providers' larger specs are compared in the slow tier, below.
SPECS = sorted(ROOT.glob("tests/cases/*/specs/*.yaml"))


def _shape(node: yaml.Node) -> object:
    place = (node.tag, yaml_safe._position(node))
    if isinstance(node, yaml_safe._AliasNode):
        return place, node.anchor, _shape(node.target)
    if isinstance(node, yaml.MappingNode):
        return place, [(_shape(key), _shape(value)) for key, value in node.value]
    if isinstance(node, yaml.SequenceNode):
        return place, [_shape(item) for item in node.value]
    return place, node.value


def test_libyaml_is_used_when_present() -> None:
    assert yaml_safe._LOADERS[0].__name__ == "_LibyamlLoader"  # PyYAML's wheels bundle libyaml


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_both_parsers_read_a_spec_into_the_same_nodes(spec: Path) -> None:
    expected = _python_nodes(spec)
    if expected is None:  # not YAML within the budgets: only an error case may be that
        assert spec.parts[-3].startswith("error_"), spec
        return
    read = yaml_safe._compose_with(yaml_safe._LOADERS, spec.read_text(encoding="utf-8"))
    assert read is not None
    assert _shape(read) == _shape(expected)


@pytest.mark.slow  # the pure-Python parser over 30+ large specs
@pytest.mark.parametrize("spec", PROVIDERS, ids=lambda p: p.name)
def test_libyaml_alone_reads_the_providers_specs(spec: Path) -> None:
    fast = yaml.compose(spec.read_text(encoding="utf-8"), Loader=yaml_safe._LOADERS[0])  # type: ignore[arg-type]
    assert fast is not None and _shape(fast) == _shape(_python_nodes(spec))  # type: ignore[arg-type]


def test_text_libyaml_refuses_is_reported_as_pythons_parser_reports_it() -> None:
    text = "dlrgen: 1\nprovider: [a, b\n"
    problems = yaml_safe._compose(text, "spec.yaml")[1]
    with pytest.raises(yaml.MarkedYAMLError) as python_error:
        yaml.compose(text, Loader=yaml_safe._PythonLoader)  # type: ignore[arg-type]
    assert problems == [yaml_errors.yaml_error_problem(python_error.value, "spec.yaml")]
