"""``multipart/form-data`` bodies (RFC 7578) of text fields: read from a push, and written
for one (``dlrgen mock --push``).

Some providers post their delivery reports as multipart form fields rather than as an
urlencoded form. Only text fields are read: a part with a file name, or a field whose
value is not UTF-8 text, makes the body malformed (a delivery report carries no files).
The boundary comes from the ``Content-Type`` header, as RFC 2046 says; the body is split
on it by hand, so a hostile body costs one linear pass and at most ``max_fields`` parts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # email.message brings email.utils and socket: imported where a push is read
    from email.message import Message

__all__ = ["MultipartError", "boundary_of", "content_type", "encode_fields", "read_fields"]

_MAX_BOUNDARY = 70  # RFC 2046: a boundary is 1 to 70 characters
_MAX_PART_HEADERS = 8 * 1024  # a part's headers are a few short lines


class MultipartError(ValueError):
    """The body (or its Content-Type) is not multipart/form-data of text fields."""


def _params(header_value: str) -> Message:
    """A header value read with the standard library's MIME parameter rules (quoting,
    RFC 2231 encodings), without parsing anything else."""
    from email.message import Message

    message = Message()
    message["Content-Type"] = header_value
    return message


def boundary_of(content_type_header: str) -> str:
    """The boundary a ``multipart/form-data`` Content-Type names; ``MultipartError`` for
    another type or a missing or invalid boundary."""
    if "\r" in content_type_header or "\n" in content_type_header:
        raise MultipartError("the Content-Type header holds a line break")
    parsed = _params(content_type_header[:1024])
    if parsed.get_content_type() != "multipart/form-data":
        raise MultipartError(
            f"the push is not multipart/form-data (Content-Type {parsed.get_content_type()})"
        )
    boundary = parsed.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= _MAX_BOUNDARY:
        raise MultipartError("the multipart Content-Type names no valid boundary")
    return boundary


def read_fields(body: bytes, content_type_header: str, *, max_fields: int) -> list[tuple[str, str]]:
    """The ``(name, value)`` text fields of a multipart/form-data body, in order."""
    delimiter = b"--" + boundary_of(content_type_header).encode("ascii", "strict")
    # The parts lie between "--boundary" lines; what comes before the first is a preamble,
    # what comes after "--boundary--" an epilogue (both ignored, as RFC 2046 says).
    chunks = (b"\r\n" + body).split(b"\r\n" + delimiter)
    if len(chunks) < 2:
        raise MultipartError("the body holds no part delimited by the Content-Type's boundary")
    fields: list[tuple[str, str]] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):  # the close delimiter: the rest is an epilogue
            return fields
        if len(fields) >= max_fields:
            raise MultipartError(f"the push has more than {max_fields} fields")
        fields.append(_field(chunk))
    raise MultipartError("the body does not end with the close delimiter (--boundary--)")


def _field(chunk: bytes) -> tuple[str, str]:
    head, separator, value = chunk.partition(b"\r\n\r\n")
    if not separator or len(head) > _MAX_PART_HEADERS:
        raise MultipartError("a part has no headers ending in a blank line")
    disposition = None
    for line in head.split(b"\r\n")[1:]:  # the first line ends the delimiter line
        name, colon, text = line.partition(b":")
        if colon and name.strip().lower() == b"content-disposition":
            disposition = text.strip().decode("latin-1")
    if disposition is None:
        raise MultipartError("a part has no Content-Disposition header")
    parsed = _params(f"form-data; {disposition.partition(';')[2]}")
    field_name = parsed.get_param("name")
    if disposition.partition(";")[0].strip().lower() != "form-data" or not isinstance(field_name, str):
        raise MultipartError("a part is not a named form-data field")
    if parsed.get_param("filename") is not None:
        raise MultipartError(f"the part {field_name[:64]!r} is a file, not a text field")
    try:
        return field_name, value.decode("utf-8")
    except UnicodeDecodeError:
        raise MultipartError(f"the field {field_name[:64]!r} is not UTF-8 text") from None


def encode_fields(fields: Sequence[tuple[str, str]]) -> bytes:
    """A multipart/form-data body of text fields, as a provider posts it. The boundary is
    derived from the fields (the same fields give the same bytes) and appears in none of
    them; ``content_type`` reads it back from the body."""
    payload = b"".join(name.encode() + b"\0" + value.encode() + b"\0" for name, value in fields)
    boundary = "dlrgen-" + hashlib.sha256(payload).hexdigest()[:32]
    lines: list[bytes] = []
    for name, value in fields:
        if '"' in name or "\r" in name or "\n" in name or "\\" in name:
            raise ValueError(f"a multipart field name may not hold quotes or line breaks: {name[:64]!r}")
        lines += [
            f"--{boundary}".encode(),
            f'Content-Disposition: form-data; name="{name}"'.encode(),
            b"",
            value.encode("utf-8"),
        ]
    if any(boundary in name or boundary in value for name, value in fields):
        raise ValueError("a field holds the body's boundary")  # a collision of SHA-256 prefixes
    lines.append(f"--{boundary}--".encode())
    return b"\r\n".join(lines) + b"\r\n"


def content_type(body: bytes) -> str:
    """The Content-Type of a body ``encode_fields`` wrote (its first line names the boundary)."""
    first = body.split(b"\r\n", 1)[0]
    if not first.startswith(b"--") or len(first) > _MAX_BOUNDARY + 2:
        raise MultipartError("the body does not start with a boundary line")
    return f"multipart/form-data; boundary={first[2:].decode('ascii')}"
