"""Stage 4: every generated Python file is formatted by black, so output looks hand-kept
and diffs stay minimal.

black is most of the cost of generation, so it is asked to do as little as it can:

- A file is cut into chunks at definitions (module-level ``class``/``def`` and methods, after
  a blank line) and at module-level statements after two blank lines. black formats them
  apart, and the pipeline spreads them over worker processes: one provider with hundreds of
  operations no longer formats on one core, chunks repeated between providers are formatted
  once, and black never sees a large file (its time grows faster than a file's size).
- Each formatted chunk is kept in the cache (``generator.emit.cache``) under the hash of its text
  and black's version, so a spec edit re-formats only the chunks it changed.

Cutting is checked, not assumed: a chunk black cannot read alone (a cut inside a docstring
leaves a string open) sends the whole file through black in one piece, and black's own
spacing rules between definitions (two blank lines at module level, one between methods)
are what the pieces are joined with. Tests hold chunked output equal to whole-file output.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from generator.emit import cache
from generator.problems import FormattingError

if TYPE_CHECKING:
    import black

LINE_LENGTH = 88
TARGET = "py310"
_CHUNK_BYTES = 1024  # pieces are grouped up to this size: fewer black calls, still spread
_WRAPPER = "class _:\n"  # methods are formatted inside a stand-in class
# Where a piece starts: a definition at module level or one level into a class, after a blank
# line (black puts two blank lines before the one, one before the other); or any module-level
# statement after two blank lines (black keeps two there).
_DEFINITION = re.compile(r"\n\n(?=(?:    )?(?:class |def |async def |@))|\n\n\n(?=[A-Za-z_])")


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Consecutive pieces of one file, formatted as one."""

    text: str
    method: bool  # methods of a class (indented), or module-level code
    start: int = dataclasses.field(default=0, compare=False)  # where it starts in its file

    @functools.cached_property
    def key(self) -> str:
        digest = hashlib.sha256(f"{_black_version()}\0{self.method}\0{self.text}".encode())
        return digest.hexdigest()


@functools.cache
def _mode() -> black.Mode:
    import black

    return black.Mode(target_versions={black.mode.TargetVersion.PY310}, line_length=LINE_LENGTH)


@functools.cache
def _black_version() -> str:
    from generator.versions import distribution_version

    return f"black {distribution_version('black')} {TARGET} {LINE_LENGTH}"


def chunks(text: str) -> list[Chunk]:
    """The file's text cut at definitions, grouped into chunks of one kind."""
    grouped: list[Chunk] = []
    start = 0
    for cut in [*_cuts(text), (len(text), len(text))]:
        piece = text[start : cut[0]]
        method = piece.startswith("    ")
        previous = grouped[-1] if grouped else None
        if previous and previous.method == method and len(previous.text) + len(piece) < _CHUNK_BYTES:
            # Grouped with the text between them as it was, so black sees the same blank lines.
            grouped[-1] = Chunk(text[previous.start : cut[0]], method, previous.start)
        else:
            grouped.append(Chunk(piece, method, start))
        start = cut[1]
    return grouped


def _cuts(text: str) -> Iterator[tuple[int, int]]:
    """Where the text may be cut: (end of one piece, start of the next)."""
    for match in _DEFINITION.finditer(text):
        if match.group().count("\n") == 3 and _after_imports(text, match.start()):
            continue  # black keeps one blank line after imports, not two: no cut there
        yield match.start(), match.end()


def _after_imports(text: str, end: int) -> bool:
    """Whether the module-level statement that ends at ``end`` is an import."""
    for _ in range(200):  # lines looked back at, at most
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end]
        if line and not line[0].isspace() and not line.startswith((")", "]", "}")):
            return line.startswith(("import ", "from "))
        if start == 0:
            break
        end = start - 1
    return True  # not found nearby: assume the worst, do not cut


def format_chunk(chunk: Chunk) -> str | None:
    """black's text for the chunk (ending in a newline), or None when black cannot read it
    alone."""
    import black

    source = _WRAPPER + chunk.text if chunk.method else chunk.text
    # Ending in exactly one newline, as black ends a file: black formats a text it changes a
    # second time (its stability pass), so a blank line left at the end, which it would only
    # remove, doubled the cost of a file's last chunk.
    try:
        formatted = black.format_str(source.rstrip("\n") + "\n", mode=_mode())
    except black.parsing.InvalidInput:
        return None
    if chunk.method:
        if not formatted.startswith(_WRAPPER):
            return None
        formatted = formatted[len(_WRAPPER) :]
    return formatted


def format_chunks(batch: list[Chunk]) -> list[str | None]:
    """Format a batch of chunks (a worker's job), keeping each result in the cache."""
    results = []
    for chunk in batch:
        formatted = format_chunk(chunk)
        if formatted is not None:
            cache.put("black", chunk.key, formatted)
        results.append(formatted)
    return results


def join(chunk_list: list[Chunk], formatted: list[str]) -> str:
    """The formatted chunks put together with black's spacing between definitions."""
    out = formatted[0]
    for chunk, text in zip(chunk_list[1:], formatted[1:]):
        out += ("\n" if chunk.method else "\n\n") + text
    return out


def format_python(path: str, text: str) -> str:
    """black's formatting of a whole file, in one piece: the fallback, and the reference the
    chunked formatting is held to."""
    import black

    try:
        return black.format_str(text, mode=_mode())
    except black.parsing.InvalidInput as exc:
        raise FormattingError(f"{path}: generated code does not parse: {exc}") from exc


def finish_text(content: str) -> str:
    """A non-Python file's text as written: ending in a newline."""
    return content + "\n" if content and not content.endswith("\n") else content


@dataclasses.dataclass
class _Pending:
    path: str
    text: str
    chunks: list[Chunk]
    formatted: list[str | None]


class Formatter:
    """Formats many files' chunks at once: what the cache holds is taken from it, the rest
    is handed out in ``batches`` (to worker processes, or this one) and put together by
    ``finish``."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.pending: list[_Pending] = []
        for path, content in files.items():
            if path.endswith(".py"):
                cut = chunks(content)
                self.pending.append(_Pending(path, content, cut, [cache.get("black", c.key) for c in cut]))

    def batches(self, count: int) -> list[list[Chunk]]:
        """The chunks still to format, spread over ``count`` batches of about equal size
        (largest first), so workers finish together."""
        missing = sorted(
            {c.key: c for p in self.pending for c, f in zip(p.chunks, p.formatted) if f is None}.values(),
            key=lambda c: (-len(c.text), c.key),
        )
        batches: list[list[Chunk]] = [[] for _ in range(max(1, min(count, len(missing))))]
        sizes = [0] * len(batches)
        for chunk in missing:
            smallest = sizes.index(min(sizes))
            batches[smallest].append(chunk)
            sizes[smallest] += len(chunk.text)
        return [b for b in batches if b]

    def finish(self, results: Iterable[tuple[list[Chunk], list[str | None]]]) -> dict[str, str]:
        """The files, formatted, given the batches' results."""
        done: dict[str, str | None] = {}
        for batch, formatted in results:
            done.update((c.key, f) for c, f in zip(batch, formatted))
        out = {}
        for path, content in self.files.items():
            out[path] = finish_text(content) if not path.endswith(".py") else ""
        for pending in self.pending:
            texts = [
                f if f is not None else done.get(c.key) for c, f in zip(pending.chunks, pending.formatted)
            ]
            if all(t is not None for t in texts):
                out[pending.path] = join(pending.chunks, [t for t in texts if t is not None])
            else:  # a chunk black could not read alone: the file goes through in one piece
                out[pending.path] = format_python(pending.path, pending.text)
        return out


def format_files(files: dict[str, str]) -> dict[str, str]:
    """Format every file in this process (what the pipeline does with one worker)."""
    formatter = Formatter(files)
    return formatter.finish((batch, format_chunks(batch)) for batch in formatter.batches(1))
