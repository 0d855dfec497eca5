"""XML bodies of pushes (``format: xml``): read into the mapping a payload model validates,
and written for one (``dlrgen mock --push``).

A provider posting its reports as XML (``<MessageDelivered>``) sends one document
whose root element holds the report's fields as child elements. Reading maps that onto the
shape JSON gives: the root's children are the payload's fields; an element with children
is an object of its own children; a child name given more than once is a list; an element
without children is its text ("" when empty). Namespaces are dropped from names
(``{urn:x}Id`` reads as ``Id``) and attributes are not read.

Pushes come from anyone until verified, so reading refuses what XML can do beyond a
report: a document type declaration (entities, external references) is never parsed, and
the depth and the number of elements are bounded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from typing import Any

__all__ = ["XmlBodyError", "encode_document", "read_document"]


class XmlBodyError(ValueError):
    """The body is not an XML document of the shape reports have."""


def read_document(body: bytes, *, max_depth: int, max_elements: int) -> dict[str, Any]:
    """The root element's children of the XML document in ``body``, as a mapping."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise XmlBodyError("the push declares a document type: not read (entities are refused)")
    parser = ElementTree.XMLParser()
    try:
        parser.feed(body)
        root = parser.close()
    except ElementTree.ParseError as exc:
        raise XmlBodyError(f"the push is not XML ({exc})") from None
    count = sum(1 for _ in root.iter())
    if count > max_elements:
        raise XmlBodyError(f"the push has more than {max_elements} elements")
    value = _value(root, 1, max_depth)
    return value if isinstance(value, dict) else {}


def _name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _value(element: ElementTree.Element, depth: int, max_depth: int) -> Any:
    if depth > max_depth:
        raise XmlBodyError(f"the push nests deeper than {max_depth} levels")
    children = list(element)
    if not children:
        return element.text or ""
    out: dict[str, Any] = {}
    for child in children:
        name, value = _name(child.tag), _value(child, depth + 1, max_depth)
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
