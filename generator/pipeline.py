"""The whole generation: specs in, ``{path: content}`` out.

``build`` is the pure, full generation that ``check`` compares with disk. ``plan`` is the
incremental one behind ``generate``: the manifest records a hash of every input (each spec,
the templates, the generator itself), so only providers whose inputs changed, or whose
output was edited by hand, are rendered again; a run with nothing to do renders nothing and
never imports the heavy libraries (jsonschema, Jinja, datamodel-code-generator, black).
A run that renders imports each of them only where its work is not in the cache
(``generator.emit.cache``): jsonschema for a spec not yet found valid, datamodel-code-generator
for models not yet generated, black for chunks of code not yet formatted.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from generator.emit.manifest import MANIFEST, Manifest, hash_bytes, hash_tree, unit_of
from generator.problems import Problem, SpecError, display_path

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from generator import model as m
    from generator.emit.verify import ModuleFindings

Progress = Callable[[str, int, int], None]
_T = TypeVar("_T")
_R = TypeVar("_R")


def spec_files(specs_dir: Path) -> list[Path]:
    """The providers' specs; ``_*.yaml`` files are bases that specs extend, not providers."""
    return sorted(
        p
        for p in specs_dir.iterdir()
        if p.suffix in (".yaml", ".yml") and p.is_file() and not p.name.startswith("_")
    )


_EXTENDS = re.compile(rb"^extends:[ \t]*[\"']?([A-Za-z0-9_][A-Za-z0-9_.-]*)", re.MULTILINE)


def spec_hash(path: Path, depth: int = 0) -> str:
    """A spec's hash, its bases' included (a change to a base regenerates every brand). Found
    without parsing YAML, so a no-op run stays cheap; the loader checks ``extends`` for real."""
    data = path.read_bytes()
    match = _EXTENDS.search(data)
    if match and depth < 8:
        base = path.parent / f"{match.group(1).decode()}.yaml"
        if base.is_file():
            data += b"\0" + spec_hash(base, depth + 1).encode()
    return hash_bytes(data)


def load_providers(paths: list[Path]) -> tuple[list[m.Provider], list[Problem]]:
    providers: list[m.Provider] = []
    problems: list[Problem] = []
    for path in paths:
        provider, found = load_provider(path)
        problems.extend(found)
        if provider is not None:
            providers.append(provider)
    # One message per place: a field reached twice (an anchor, two operations sharing a
    # rule) would otherwise report the same problem again.
    return providers, sorted(set(problems))


def load_provider(path: Path) -> tuple[m.Provider | None, list[Problem]]:
    """One spec read, checked and parsed into the model; None with the problems found."""
    from generator.load import load_spec
    from generator.parse.provider import parse_provider

    spec, found = load_spec(path)
    if spec is None or found:
        return None, found
    provider, found = parse_provider(spec)
    if provider is None:
        return None, found
    # Name the spec the same way whatever the working directory, so output is stable.
    return dataclasses.replace(provider, spec_file=f"{path.parent.name}/{path.name}"), found


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Everything generation depends on, hashed."""

    tools: dict[str, str]  # {"generator": ..., "templates": ...}
    specs: dict[str, tuple[Path, str]]  # provider id -> (spec file, hash)

    @classmethod
    def read(cls, specs_dir: Path) -> Inputs:
        if not specs_dir.is_dir():
            raise SpecError([Problem(display_path(specs_dir), 1, 1, "no such directory of specs")])
        paths = spec_files(specs_dir)
        if not paths:
            raise SpecError([Problem(display_path(specs_dir), 1, 1, "no *.yaml specs found")])
        from generator import __version__
        from generator.paths import templates_root

        package = Path(__file__).resolve().parent
        generator_hash = hash_tree(package, ("*.py", "*.json"), extra=__version__.encode())
        tools = {
            "generator": generator_hash,
            "templates": hash_tree(templates_root(), ("*.jinja",)),
            # Generated packages pin the runtime's major.minor: a new runtime minor regenerates.
            # Read from the module, as the requirement is: an editable install's metadata lags.
            "runtime": runtime_version(),
            # Output is byte-identical only under one black: `check` names a mismatch plainly.
            "black": _distribution_version("black"),
        }
        return cls(tools, {path.stem: (path, spec_hash(path)) for path in paths})


def runtime_version() -> str:
    """``dlr_core.__version__``, read from its source without importing the runtime (and
    httpx and pydantic with it), so a run with nothing to do stays quick."""
    import importlib.util

    spec = importlib.util.find_spec("dlr_core")
    origin = spec.origin if spec else None
    if origin is None:
        raise RuntimeError("dlr_core is not installed")
    match = re.search(r'^__version__ = "([^"]+)"$', Path(origin).read_text(encoding="utf-8"), re.MULTILINE)
    if match is None:  # not the source layout this reads: ask the module itself
        import dlr_core

        return dlr_core.__version__
    return match.group(1)


def _distribution_version(name: str) -> str:
    from generator.versions import distribution_version

    return distribution_version(name)


def _render(
    inputs: Inputs, units: list[str], progress: Progress | None, version_suffix: str = ""
) -> Iterator[tuple[m.Provider, dict[str, str]]]:
    """Render, format and verify the given units (provider ids): each provider with its files,
    in the order of ``units``; raises SpecError once every spec has been read.

    Rendering is spread over worker processes one provider at a time, formatting one chunk
    of code at a time (so a provider with many operations is formatted on every core); the
    result does not depend on how (each file is a function of its provider's inputs).
    Providers go through a window at a time, and each window's files are handed on before
    the next is rendered, so memory holds one window's files however many providers there
    are. Once a spec has problems nothing more is formatted, but every spec is still read,
    so that every problem is reported; problems are reported before any failure of
    formatting (a dlrgen bug, which only a valid spec can show)."""
    paths = [(inputs.specs[unit][0], version_suffix) for unit in units]
    problems: list[Problem] = []
    failure: Exception | None = None
    with _Workers() as workers:
        window = max(_WINDOW_PROVIDERS, _WINDOW_PROVIDERS_PER_WORKER * workers.size)
        for start in range(0, len(paths), window):
            jobs: list[m.Provider] = []
            raw: dict[str, dict[str, str]] = {}
            batch = paths[start : start + window]
            rendered_window = workers.map_first_here(_load_and_render, batch, len(paths))
            for index, (job, found, rendered) in enumerate(rendered_window, start + 1):
                problems.extend(found)
                if job is not None:
                    if progress:
                        progress(job.id, index, len(paths))
                    jobs.append(job)
                    raw[job.id] = rendered
            if problems or failure is not None:
                continue
            try:
                files = _format({path: text for own in raw.values() for path, text in own.items()}, workers)
                _verify(jobs, raw, files, workers)
            except Exception as exc:  # held until every spec is read: spec problems come first
                failure = exc
                continue
            for job in jobs:  # handed on one by one, each dropped here as it goes
                yield job, {path: files.pop(path) for path in raw.pop(job.id)}
    if problems:
        raise SpecError(sorted(set(problems)))
    if failure is not None:
        raise failure


# How many providers are rendered before their files are handed on: enough to keep every
# worker busy and share the chunks providers repeat, few enough that memory stays flat.
_WINDOW_PROVIDERS = 16
_WINDOW_PROVIDERS_PER_WORKER = 8


def _format(files: dict[str, str], workers: _Workers) -> dict[str, str]:
    from generator.emit.formatting import Formatter, format_chunks

    formatter = Formatter(files)
    batches = formatter.batches(4 * workers.size)  # smaller than one per worker: they even out
    size = sum(len(chunk.text) for batch in batches for chunk in batch)
    results = workers.map(format_chunks, batches, size // _PARALLEL_FORMAT_BYTES)
    return formatter.finish(zip(batches, results))


# Below this much work (in providers to render, or in chunks of code to format), starting
# worker processes costs more than it saves.
_PARALLEL_THRESHOLD = 2
_PARALLEL_FORMAT_BYTES = 64 * 1024


class _Workers:
    """A process pool started on first use, when the work is worth it; else this process."""

    def __init__(self) -> None:
        self.size = os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def map(self, function: Callable[[_T], _R], items: list[_T], weight: int) -> Iterable[_R]:
        """``function`` over ``items``, in order; in workers when ``weight`` (how many workers'
        worth of work there is) reaches the threshold, or once workers are running (they have
        what the work needs imported; this process may not)."""
        if self._pool is None and (self.size < 2 or weight < _PARALLEL_THRESHOLD or len(items) < 2):
            return map(function, items)
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            _import_before_forking()
            # Forked workers all start at once: no more of them than the first job can use.
            self._pool = ProcessPoolExecutor(max_workers=min(self.size, max(len(items), weight)))
        return self._pool.map(function, items)

    def map_first_here(self, function: Callable[[_T], _R], items: list[_T], weight: int) -> Iterable[_R]:
        """``map``, but while no worker runs yet, the first item is done in this process
        first: what it needed imported (datamodel-code-generator when its models were not
        in the cache) is then imported before the workers are forked, and shared by them,
        instead of imported by each; and what it did not need, none of them imports."""
        if self._pool is not None or len(items) < 2:
            return self.map(function, items, weight)
        first = function(items[0])
        return itertools.chain([first], self.map(function, items[1:], weight))

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()


def _load_and_render(job: tuple[Path, str]) -> tuple[m.Provider | None, list[Problem], dict[str, str]]:
    """A worker's first job: read a spec and render its provider (unformatted)."""
    path, version_suffix = job
    provider, problems = load_provider(path)
    if provider is None or problems:
        return None, problems, {}
    provider = dataclasses.replace(provider, version=provider.version + version_suffix)
    return provider, [], _render_unit(provider)


def _import_before_forking() -> None:
    """What every worker needs, imported once here: forked workers share it, instead of each
    importing it again (on a busy machine, each import costs a core). Of the heavy libraries
    only some work needs, those this process already needed (``map_first_here``): when the
    first provider's models were not in the cache, datamodel-code-generator, and black, since
    code not generated before is not formatted either. Otherwise a worker imports one only
    when its job is not in the cache, and a run whose work is all cached (``dlrgen check``
    of current specs) never imports them."""
    import importlib

    modules = list(_WORKER_MODULES)
    if "datamodel_code_generator" in sys.modules:
        modules += _NEW_MODELS_MODULES
    for module in modules:
        importlib.import_module(module)


_WORKER_MODULES = (
    "generator.parse.provider",
    "generator.render",
    "generator.emit.formatting",
    "generator.emit.verify",
)
_NEW_MODELS_MODULES = (
    "black",
    "datamodel_code_generator",
    "datamodel_code_generator.config",
    "datamodel_code_generator.model.pydantic_v2",
    "datamodel_code_generator.parser.jsonschema",
)


def _render_unit(provider: m.Provider) -> dict[str, str]:
    from generator.render import render_provider

    return render_provider(provider)


def provider_files(provider: m.Provider) -> dict[str, str]:
    """One provider's files, rendered, formatted and verified in this process."""
    from generator.emit.formatting import format_files
    from generator.emit.verify import verify_provider

    files = format_files(_render_unit(provider))
    verify_provider(provider, files)
    return files


def _verify(
    jobs: list[m.Provider], raw: dict[str, dict[str, str]], files: dict[str, str], workers: _Workers
) -> None:
    """Check every provider's files (``generator.emit.verify``), the modules read in workers."""
    from generator.emit.verify import verify_provider

    modules = [
        (job.package, path, files[path]) for job in jobs for path in raw[job.id] if path.endswith(".py")
    ]
    size = sum(len(text) for _, _, text in modules)
    found = iter(workers.map(_read_module, modules, size // _PARALLEL_FORMAT_BYTES))
    findings = {path: next(found) for _, path, _ in modules}
    for job in jobs:
        own = {path: files[path] for path in raw[job.id]}
        verify_provider(job, own, [findings[path] for path in own if path in findings])


def _read_module(module: tuple[str, str, str]) -> ModuleFindings:
    from generator.emit.verify import read_module

    return read_module(*module)


def _manifest(
    inputs: Inputs, digests: dict[str, str], reused: Manifest | None, reused_units: set[str]
) -> Manifest:
    manifest = Manifest(tools=dict(inputs.tools), specs={k: v[1] for k, v in sorted(inputs.specs.items())})
    for path, digest in digests.items():
        manifest.add(path, digest)
    if reused is not None:
        for path, digest in reused.files.items():
            if unit_of(path) in reused_units:
                manifest.add(path, digest)
    return manifest


def _digests(files: dict[str, str]) -> dict[str, str]:
    return {path: hash_bytes(content.encode("utf-8")) for path, content in files.items()}


def build(specs_dir: Path, progress: Progress | None = None, version_suffix: str = "") -> dict[str, str]:
    """Every generated file, keyed by its path below the output directory (manifest included).

    ``version_suffix`` (e.g. ``.dev42``) is appended to every package's version, for CI builds
    of releases that are never committed. Raises SpecError with every problem found when any
    spec is broken."""
    inputs = Inputs.read(specs_dir)
    files: dict[str, str] = {}
    for _, own in _render(inputs, list(inputs.specs), progress, version_suffix):
        files.update(own)
    return {**files, MANIFEST: _manifest(inputs, _digests(files), None, set()).to_text()}


# Where ``plan`` hands each rendered provider's files as they come (``generate`` stages them).
Take = Callable[["m.Provider", dict[str, str]], None]


@dataclasses.dataclass(frozen=True)
class Plan:
    write: dict[str, str]  # files to (re)write, manifest included when it changes
    remove: set[str]  # files the generator owned that no spec produces any more
    rendered: list[str]  # units rendered; empty for a no-op


def plan(specs_dir: Path, out_dir: Path, progress: Progress | None = None, take: Take | None = None) -> Plan:
    """What ``generate`` must do to bring ``out_dir`` up to date, rendering only what changed.

    With ``take``, each rendered provider's files are handed to it as they come and kept
    nowhere else, so memory stays flat however many providers render; the plan's ``write``
    then holds only the manifest (when it changes). Without it, ``write`` holds every file."""
    inputs = Inputs.read(specs_dir)
    old = Manifest.read(out_dir)
    units = list(inputs.specs)

    def current(unit: str) -> bool:
        if old is None or old.tools != inputs.tools:
            return False
        if old.specs.get(unit) != inputs.specs[unit][1]:
            return False
        return old.intact(out_dir, unit)

    clean = {unit for unit in units if current(unit)}
    dirty = [unit for unit in units if unit not in clean]
    write: dict[str, str] = {}
    digests: dict[str, str] = {}
    for provider, files in _render(inputs, dirty, progress):
        digests.update(_digests(files))
        if take is not None:
            take(provider, files)
        else:
            write.update(files)
    manifest = _manifest(inputs, digests, old, clean)
    text = manifest.to_text()
    if old is None or old.to_text() != text or not (out_dir / MANIFEST).is_file():
        write[MANIFEST] = text
    remove = (set(old.files) - set(manifest.files)) if old is not None else set()
    return Plan(write, remove, dirty)


def build_docs(specs_dir: Path) -> str:
    """The text of ``docs/providers.md`` for the specs. Each provider's part of it
    (``docs_entry``) is kept in the cache under its spec's hash and the tools': only the
    specs that changed since are read."""
    from generator.emit import cache

    inputs = Inputs.read(specs_dir)
    entries: dict[str, str] = {}
    missing: list[tuple[Path, str]] = []
    for unit, (path, digest) in inputs.specs.items():
        key = hash_bytes(json.dumps([inputs.tools, digest, f"{path.parent.name}/{path.name}"]).encode())
        entry = cache.get("docs", key)
        if entry is not None:
            entries[unit] = entry
        else:
            missing.append((path, key))
    problems: list[Problem] = []
    if missing:
        from generator.python.docs_view import docs_entry

        for path, key in missing:
            provider, found = load_provider(path)
            problems.extend(found)
            if provider is not None and not found:
                entries[path.stem] = docs_entry(provider)
                cache.put("docs", key, entries[path.stem])
    if problems:
        raise SpecError(sorted(set(problems)))
    from generator.render import render_docs_entries

    return render_docs_entries([entries[unit] for unit in inputs.specs])
