"""XML bodies of pushes and of answers (``format: xml``): read into the mapping a model
validates, and written for one (``dlrgen mock --push``, and the mock's answers).

A provider posting its reports as XML (``<MessageDelivered>``), or answering a query with
XML (``<messageheader>``), sends one document whose root element holds the fields as child
elements. Reading maps that onto the shape JSON gives: the root's children are the fields;
an element with children is an object of its own children; a child name given more than
once is a list; an element without children is its text ("" when empty). Namespaces are
dropped from names (``{urn:x}Id`` reads as ``Id``) and attributes are not read. A name
given once is one value: ``as_lists`` makes the names a schema types as arrays lists even
then (``lists=`` of ``read_document``).

Pushes come from anyone until verified, and answers from wherever the network took the
request, so reading refuses what XML can do beyond data: a document type declaration
(entities, external references) is never parsed (refused before parsing, and again by
the parser should an encoding hide it), and the depth and the number of elements are
bounded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from typing import Any

from dlr_core.wire.read import MAX_JSON_DEPTH, MAX_XML_ELEMENTS

__all__ = ["XmlBodyError", "as_lists", "encode_document", "read_answer", "read_document"]


class XmlBodyError(ValueError):
    """The body is not an XML document of the shape reports have."""


class _BoundedBuilder(ElementTree.TreeBuilder):
    """A tree builder that stops at a document type declaration (whatever encoding hid it
    from the byte check) and at the element past the bound, before building it."""

    def __init__(self, what: str, max_elements: int) -> None:
        super().__init__()
        self._what = what
        self._left = max_elements

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise XmlBodyError(f"{self._what} declares a document type: not read (entities are refused)")

    def start(self, tag: Any, attrs: dict[Any, Any]) -> ElementTree.Element:
        self._left -= 1
        if self._left < 0:
            raise _TooManyElements()
        return super().start(tag, attrs)


class _TooManyElements(Exception):
    pass


def read_document(
    body: bytes,
    *,
    max_depth: int,
    max_elements: int,
    what: str = "the push",
    lists: tuple[tuple[str, ...], ...] = (),
) -> dict[str, Any]:
    """The root element's children of the XML document in ``body``, as a mapping; ``what``
    names the body in errors; ``lists`` are paths (``as_lists``) always read as lists."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise XmlBodyError(f"{what} declares a document type: not read (entities are refused)")
    parser = ElementTree.XMLParser(target=_BoundedBuilder(what, max_elements))
    try:
        parser.feed(body)
        root = parser.close()
    except ElementTree.ParseError as exc:
        raise XmlBodyError(f"{what} is not XML ({exc})") from None
    except _TooManyElements:
        raise XmlBodyError(f"{what} has more than {max_elements} elements") from None
    value = _value(root, 1, max_depth, what)
    return as_lists(value, lists) if isinstance(value, dict) else {}


def read_answer(body: bytes) -> dict[str, Any]:
    """An operation's XML answer (``format: xml``) as its client reads it: the root
    element's children, within the bounds answers are read with (``MAX_JSON_DEPTH``,
    ``MAX_XML_ELEMENTS``); ``XmlBodyError`` for anything else. Give the payload to
    ``as_lists`` with the operation's ``xml_lists`` before validating it."""
    return read_document(body, max_depth=MAX_JSON_DEPTH, max_elements=MAX_XML_ELEMENTS, what="the answer")


def as_lists(data: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    """``data`` with the value at each path a list: a name given once in XML is one value,
    though the schema says it repeats (one record of many). A path is the names from
    ``data`` down, ``[]`` after a name stepping into each item of its list
    (``("messages[]", "to")``: each message's ``to``); a missing name stays missing.
    Changes ``data`` in place and returns it."""
    for path in paths:
        if path:
            _listify([data], path)
    return data


def _listify(nodes: list[Any], parts: tuple[str, ...]) -> None:
    name, rest = parts[0], parts[1:]
    into_items = name.endswith("[]")
    name = name[:-2] if into_items else name
    for node in nodes:
        if not isinstance(node, dict) or name not in node:
            continue
        if not rest:
            if not isinstance(node[name], list):
                node[name] = [node[name]]
            continue
        value = node[name]
        _listify(value if into_items and isinstance(value, list) else [value], rest)


def _name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _value(element: ElementTree.Element, depth: int, max_depth: int, what: str) -> Any:
    if depth > max_depth:
        raise XmlBodyError(f"{what} nests deeper than {max_depth} levels")
    children = list(element)
    if not children:
        return element.text or ""
    out: dict[str, Any] = {}
    for child in children:
        name, value = _name(child.tag), _value(child, depth + 1, max_depth, what)
        if name not in out:
            out[name] = value
        elif isinstance(out[name], list):  # a value is text or an object, never a list
            out[name].append(value)
        else:
            out[name] = [out[name], value]
    return out


_ELEMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def encode_document(root: str, fields: Mapping[str, Any]) -> bytes:
    """An XML document with ``root`` holding ``fields`` as child elements (a mapping nests,
    a list repeats its element), as a provider posts it; UTF-8 with a declaration."""
    element = ElementTree.Element(_checked(root))
    _fill(element, fields)
    written: bytes = ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
    return written


def _fill(element: ElementTree.Element, fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            child = ElementTree.SubElement(element, _checked(str(name)))
            if isinstance(item, Mapping):
                _fill(child, item)
            elif isinstance(item, bool):
                child.text = "true" if item else "false"
            elif item is not None:
                child.text = str(item)


def _checked(name: str) -> str:
    if not _ELEMENT_NAME.fullmatch(name):
        raise ValueError(f"{name[:64]!r} is not an XML element name")
    return name
