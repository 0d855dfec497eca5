"""Stage 1a: read one spec file safely and remember where every value came from.

PyYAML's composer gives nodes with source marks; we build plain Python data from them
ourselves so each value keeps its ``line:col``. Scalars are constructed by PyYAML's
SafeConstructor, so any tag it does not know (``!!python/object`` and friends) is refused.

A spec may come from anyone, so loading keeps to fixed budgets (the ``MAX_*`` constants,
listed under "Limits" in docs/spec-format.md) and refuses text that would break the
generated code; every refusal is a located problem, never a traceback.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.load.source_map import JsonPath, SourceMap
from generator.load.yaml_errors import runaway_quote_problem, yaml_error_problem
from generator.problems import Problem, display_path

# Budgets: each bounds the time and memory one spec can cost, whoever wrote it.
MAX_SPEC_BYTES = 1024 * 1024  # size of the file, checked before parsing
MAX_NESTING_DEPTH = 64  # mappings and lists inside each other, aliases expanded
MAX_NODES = 200_000  # values built in all; an alias counts its whole value each time it is used
MAX_STRING_LENGTH = 64 * 1024  # characters in one scalar (a value or a key)

# Characters no spec text may hold: C0 controls but tab and line feed (carriage returns end lines and
# are normalised away), DEL, C1 controls, the Unicode line and paragraph separators (line breaks to
# YAML and Python but not to most editors), bidirectional overrides and isolates (they make
# text read differently from what it is, "Trojan Source") and lone surrogates (not encodable).
_FORBIDDEN_CHARACTERS = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_MAX_CHARACTER_PROBLEMS = 10  # a file full of NULs needs a few problems, not a million


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _line_and_column(text: str, index: int) -> tuple[int, int]:
    """1-based line:col of ``text[index]``, lines ending at ``\\n`` as in PyYAML's marks."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _name_character(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char in "\u2028\u2029":
        return f"{code} (a line or paragraph separator)"
    if "\ud800" <= char <= "\udfff":
        return f"{code} (a lone surrogate)"
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        return f"{code} (a bidirectional override)"
    return f"{code} (a control character)"


def _forbidden_character_message(char: str) -> str:
    allowed = "tab and line feed are the only control characters allowed"
    return f"character {_name_character(char)} is not allowed in a spec ({allowed})"


def _too_deep_message() -> str:
    return (
        f"nested deeper than {MAX_NESTING_DEPTH} levels (the limit for mappings and lists, aliases expanded)"
    )


class _LimitExceeded(Exception):
    """A budget was exceeded while composing; carries where, so it becomes a located problem."""

    def __init__(self, position: tuple[int, int], message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


def _event_position(event: yaml.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark else (1, 1)


class _AliasNode(yaml.Node):
    """A use of an alias (``*name``), kept apart from the node it names so problems can point at it."""

    id = "alias"

    def __init__(self, target: yaml.Node, anchor: str, position: tuple[int, int]) -> None:
        super().__init__(target.tag, target, None, None)
        self.target = target
        self.anchor = anchor
        self.position = position


def _position(node: yaml.Node) -> tuple[int, int]:
    """Where a node starts; for an alias, where it is used, not where its value is."""
    return node.position if isinstance(node, _AliasNode) else _mark(node)


class _GuardedComposer(yaml.composer.Composer, yaml.resolver.Resolver):
    """A composer on PyYAML's events that keeps to the nesting and node budgets, whichever
    parser makes the events.

    PyYAML composes recursively, one Python frame per level, so deep nesting must be refused here,
    before the stack runs out. Composing does not copy aliased values, so a billion-laughs document
    is still small here; counting each alias at the full size of its value refuses it at the alias
    that goes over the budget, before anything is expanded.
    """

    peek_event: Callable[[], yaml.Event]  # from the parser it is mixed with

    def __init__(self) -> None:
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self.nesting = 0
        self.nodes = 0  # values the document stands for so far, aliases counted in full
        self.sizes: dict[int, int] = {}  # id(node) -> values it stands for, once composed

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            return self._compose_alias(event, parent, index)
        if self.nesting >= MAX_NESTING_DEPTH:
            raise _LimitExceeded(_event_position(event), _too_deep_message())
        first = self.nodes
        self._spend(1, event, f"the spec has more than {MAX_NODES:,} values (the limit)")
        self.nesting += 1
        try:
            node = yaml.composer.Composer.compose_node(self, parent, index)
        finally:
            self.nesting -= 1
        self.sizes[id(node)] = self.nodes - first
        return node

    def _compose_alias(self, event: yaml.AliasEvent, parent: yaml.Node | None, index: Any) -> _AliasNode:
        target = yaml.composer.Composer.compose_node(self, parent, index)  # refuses an undefined alias
        anchor = str(event.anchor)
        size = self.sizes.get(id(target))
        if target is None or size is None:  # its value is still being composed: the alias is inside it
            raise _LimitExceeded(_event_position(event), f"alias *{anchor} is inside the value it names")
        over_budget = (
            f"alias *{anchor} stands for {size:,} values, which takes the spec over the limit of "
            f"{MAX_NODES:,} values (each use of an alias counts its whole value)"
        )
        self._spend(size, event, over_budget)
        return _AliasNode(target, anchor, _event_position(event))

    def _spend(self, nodes: int, event: yaml.Event, message: str) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise _LimitExceeded(_event_position(event), message)


class _PythonLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, _GuardedComposer):
    """PyYAML's own scanner and parser: slower than libyaml's, but its errors point closer to
    the mistake, so a spec libyaml refuses is read again through it."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _GuardedComposer.__init__(self)


try:  # libyaml's scanner and parser, when PyYAML was built with it: about ten times faster
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - depends on how PyYAML was installed
    _LOADERS: tuple[type[_GuardedComposer], ...] = (_PythonLoader,)
else:

    class _LibyamlLoader(CParser, _GuardedComposer):  # type: ignore[misc]  # CParser is untyped
        """Events from libyaml, composed under the budgets in Python."""

        # libyaml's parser brings a composer of its own that knows no budgets: these win.
        get_single_node = _GuardedComposer.get_single_node
        compose_document = _GuardedComposer.compose_document
        compose_node = _GuardedComposer.compose_node
        compose_scalar_node = _GuardedComposer.compose_scalar_node
        compose_sequence_node = _GuardedComposer.compose_sequence_node
        compose_mapping_node = _GuardedComposer.compose_mapping_node

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _GuardedComposer.__init__(self)

    _LOADERS = (_LibyamlLoader, _PythonLoader)


class _Builder:
    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.bad_paths: set[JsonPath] = set()  # values refused; schema errors there would only repeat it
        self.refusals = 0
        self.refused_nodes: set[int] = set()  # id(node): reported once, however often aliases reuse it
        self.aliases: list[_AliasNode] = []  # aliases being expanded, innermost last
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        if isinstance(node, _AliasNode):
            return self._expand(node, path)
        if len(path) >= MAX_NESTING_DEPTH:
            # The path grows one step per level, so its length is the depth with aliases expanded.
            # Only an alias can get here (the composer refused deeper nesting as written): point at it.
            where = self.aliases[-1] if self.aliases else node
            self._refuse(where, path, _too_deep_message() + self._through_alias())
            return None
        self.source.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path)
        return self._scalar(node, path)

    def _expand(self, alias: _AliasNode, path: JsonPath) -> Any:
        self.aliases.append(alias)
        try:
            return self.build(alias.target, path)
        finally:
            self.aliases.pop()

    def _through_alias(self) -> str:
        return f" through alias *{self.aliases[-1].anchor}" if self.aliases else ""

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any] | None:
        if node.tag != "tag:yaml.org,2002:map":
            self._refuse_tag(node, path)
            return None
        result: dict[str, Any] = {}
        merged: set[str] = set()  # keys from a merge (<<), which explicit keys may override
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._merge(value_node, path, result, merged)
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in result and key not in merged:
                self._report(key_node, f"duplicate key {key!r}")
                continue
            merged.discard(key)
            self.source.keys[path + (key,)] = _position(key_node)
            result[key] = self.build(value_node, path + (key,))
        return result

    def _merge(self, value_node: yaml.Node, path: JsonPath, result: dict[str, Any], merged: set[str]) -> None:
        listed = value_node.target if isinstance(value_node, _AliasNode) else value_node  # <<: *list_of_maps
        sources = listed.value if isinstance(listed, yaml.SequenceNode) else [value_node]
        for source in sources:
            value = self.build(source, path)
            if not isinstance(value, dict):
                self._report(source, "a merge (<<) needs a mapping")
                continue
            for merged_key, merged_value in value.items():
                if merged_key not in result:
                    result[merged_key] = merged_value
                    merged.add(merged_key)

    def _key(self, key_node: yaml.Node, path: JsonPath) -> str | None:
        """A mapping key as text, or None once reported."""
        refusals = self.refusals
        key = self.build(key_node, path + ("<key>",))
        if self.refusals > refusals:
            return None
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            self._report(key_node, f"mapping keys must be text, not {key!r}")
            return None
        return str(key)

    def _sequence(self, node: yaml.SequenceNode, path: JsonPath) -> list[Any] | None:
        if node.tag != "tag:yaml.org,2002:seq":
            self._refuse_tag(node, path)
            return None
        return [self.build(item, path + (index,)) for index, item in enumerate(node.value)]

    def _scalar(self, node: yaml.Node, path: JsonPath) -> Any:
        if len(node.value) > MAX_STRING_LENGTH:
            self._refuse(
                node,
                path,
                f"text of {len(node.value):,} characters is over the limit of {MAX_STRING_LENGTH:,}",
            )
            return None
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            self._refuse_tag(node, path)
            return None
        except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
            # SafeConstructor lets these out for e.g. 2020-13-45, !!float abc or a 5,000-digit integer.
            self._refuse(node, path, f"cannot read {_shorten(node.value)!r} as {_tag_name(node)}: {exc}")
            return None
        problem = _scalar_problem(value)
        if problem:
            self._refuse(node, path, problem)
            return None
        return value

    def _refuse_tag(self, node: yaml.Node, path: JsonPath) -> None:
        self._refuse(node, path, f"YAML tag {node.tag!r} is not allowed (specs are loaded safely)")

    def _refuse(self, node: yaml.Node, path: JsonPath, message: str) -> None:
        """Report a value that is left out of the data, once however often aliases reuse it."""
        self.refusals += 1
        self.bad_paths.add(path)
        if id(node) not in self.refused_nodes:
            self.refused_nodes.add(id(node))
            self._report(node, message)

    def _report(self, node: yaml.Node, message: str) -> None:
        line, col = _position(node)
        self.problems.append(Problem(self.source.file, line, col, message))

    def refused(self, path: JsonPath) -> bool:
        """Whether the value at path, or a value containing it, was refused."""
        return any(path[:length] in self.bad_paths for length in range(len(path) + 1))


def _scalar_problem(value: Any) -> str | None:
    """Why a constructed scalar cannot be used in generated code, if it cannot."""
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite: .inf, -.inf and .nan are not allowed"
    if isinstance(value, str):
        found = _FORBIDDEN_CHARACTERS.search(value)
        if found:
            return _forbidden_character_message(found.group())
    return None


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tag_name(node: yaml.Node) -> str:
    return str(node.tag).removeprefix("tag:yaml.org,2002:")


@dataclass
class Located:
    """One file's data (None when unusable), where its values stand, its problems and the
    paths of the values refused (schema errors there would only repeat the refusal)."""

    data: dict[str, Any] | None
    source: SourceMap
    problems: list[Problem]
    refused: list[JsonPath] = field(default_factory=list)


def load_located(path: Path) -> Located:
    """One spec file's data with every value located (its ``extends`` not yet applied)."""
    shown = display_path(path)
    source = SourceMap(shown)
    text, problems = _read_spec_text(path, shown)
    if text is None or problems:
        return Located(None, source, problems)
    root, problems = _compose(text, shown)
    if root is None:
        return Located(None, source, problems)
    builder = _Builder(source)
    data = builder.build(root, ())
    if not isinstance(data, dict):
        return Located(
            None,
            source,
            builder.problems + [Problem(shown, 1, 1, "a spec must be a mapping of keys to values")],
        )
    return Located(data, source, builder.problems, list(builder.bad_paths))


def _read_spec_text(path: Path, shown: str) -> tuple[str | None, list[Problem]]:
    """The spec's text, line ends normalised, or None with the reason it cannot be used."""
    try:
        with path.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            raw = stream.read(MAX_SPEC_BYTES + 1)  # never more, whatever the file claims to be
    except OSError as exc:
        return None, [Problem(shown, 1, 1, f"cannot read spec: {exc}")]
    if len(raw) > MAX_SPEC_BYTES:
        size_text = f"{size:,} bytes" if size > MAX_SPEC_BYTES else f"more than {MAX_SPEC_BYTES:,} bytes"
        message = f"the spec is {size_text}, over the limit of {MAX_SPEC_BYTES:,} bytes (1 MiB)"
        return None, [Problem(shown, 1, 1, message)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        readable = raw[: exc.start].decode("utf-8")  # columns count characters, not bytes
        line, col = _line_and_column(readable, len(readable))
        return None, [Problem(shown, line, col, f"cannot read spec: not UTF-8 ({exc.reason})")]
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # as reading in text mode would
    return text, _forbidden_character_problems(text, shown)


def _forbidden_character_problems(text: str, shown: str) -> list[Problem]:
    """Characters refused anywhere in the file, comments included, found before YAML reads it.

    PyYAML would stop at the first control character with no line number, and it takes U+0085,
    U+2028 and U+2029 as line breaks that editors do not show, so text an editor shows inside a
    comment could be read as a key."""
    matches = itertools.islice(_FORBIDDEN_CHARACTERS.finditer(text), _MAX_CHARACTER_PROBLEMS)
    problems = []
    for match in matches:
        line, col = _line_and_column(text, match.start())
        problems.append(Problem(shown, line, col, _forbidden_character_message(match.group())))
    return problems


def _compose(text: str, shown: str) -> tuple[yaml.Node | None, list[Problem]]:
    """The YAML node tree of the text, or None with the problems that prevent it."""
    try:
        root = _compose_with(_LOADERS, text)
    except _LimitExceeded as exc:
        return None, [Problem(shown, *exc.position, exc.message)]
    except yaml.MarkedYAMLError as exc:
        return None, [runaway_quote_problem(text, exc, shown) or yaml_error_problem(exc, shown)]
    except yaml.reader.ReaderError as exc:  # a character YAML refuses that the scan above let through
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"invalid YAML: character U+{code:04X} ({exc.reason})"
        return None, [Problem(shown, *_line_and_column(text, exc.position), message)]
    except yaml.YAMLError as exc:
        return None, [Problem(shown, 1, 1, f"invalid YAML: {exc}")]
    except RecursionError:  # the nesting limit should come first; this only keeps a traceback out
        return None, [Problem(shown, 1, 1, f"the spec is nested too deeply to read; {_too_deep_message()}")]
    if root is None:
        return None, [Problem(shown, 1, 1, "the spec is empty")]
    return root, []


def _compose_with(loaders: tuple[type[_GuardedComposer], ...], text: str) -> yaml.Node | None:
    """Compose with the first loader; text it refuses is composed again with the next, whose
    error (or success) is the one reported."""
    first, *others = loaders
    try:
        return yaml.compose(text, Loader=first)  # type: ignore[arg-type]  # stubs want a Loader
    except (yaml.YAMLError, RecursionError):
        if not others:
            raise
    return _compose_with(tuple(others), text)
