"""``dlrgen build``: wheels and sdists of the runtime and of every generated package, ready
to upload to a private index.

Releases are built from a fresh, in-memory generation (the same ``pipeline.build`` that
``check`` uses) in a staging folder, never from a hand-edited tree: a stale ``generated/``
is refused with the command to run. Each distribution is built through its own PEP 517
backend with the ``build`` library, in the current environment when it has the backend,
in an isolated one otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator.emit.manifest import MANIFEST

# What a runtime checkout holds that is not part of its distribution.
_RUNTIME_IGNORED = shutil.ignore_patterns("tests", "__pycache__", "*.egg-info", "build", "dist", ".*")
_VERSION_SUFFIX = re.compile(r"^(\.?(a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?(\+[a-z0-9.]+)?$")


class ReleaseError(Exception):
    """Nothing can be built as asked; the message says what to do."""


@dataclass(frozen=True)
class Built:
    distribution: str
    files: tuple[Path, ...]


def runtime_source() -> Path | None:
    """The runtime's source folder (``runtime/``) when dlr_core is installed from one."""
    import dlr_core

    folder = Path(dlr_core.__file__).resolve().parent.parent
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file() and 'name = "dlr-core"' in pyproject.read_text(encoding="utf-8"):
        return folder
    return None


def build_releases(
    specs: Path, out: Path, dist: Path, *, version_suffix: str = "", runtime: Path | None = None
) -> list[Built]:
    """Build the runtime (when its source is at hand) and every provider package into ``dist``."""
    from generator.emit.writer import changes
    from generator.pipeline import build

    if version_suffix and not _VERSION_SUFFIX.match(version_suffix):
        raise ReleaseError(
            f"--version-suffix {version_suffix!r} is not a PEP 440 suffix such as .dev42 or rc1"
        )
    files = build(specs)
    stale = sorted({change.path.split("/")[0] for change in changes(out, files) if change.path != MANIFEST})
    if stale:
        raise ReleaseError(
            f"{out} is stale for: {', '.join(stale)}; "
            "run `dlrgen generate` (and commit it) before building releases"
        )
    changed_in_place = unbumped(read_record(out), package_digests(files))
    if changed_in_place:
        raise ReleaseError("; ".join(changed_in_place))
    if version_suffix:
        files = build(specs, version_suffix=version_suffix)
    dist.mkdir(parents=True, exist_ok=True)
    built: list[Built] = []
    with tempfile.TemporaryDirectory(prefix="dlrgen-build-") as staging_name:
        staging = Path(staging_name)
        runtime = runtime if runtime is not None else runtime_source()
        if runtime is not None:
            shutil.copytree(runtime, staging / "runtime", ignore=_RUNTIME_IGNORED)
            built.append(_build_one(staging / "runtime", dist))
        for path, content in sorted(files.items()):
            if path == MANIFEST:
                continue
            target = staging / "packages" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8", newline="\n")
        # Each build runs its backend in subprocesses (an isolated environment when the
        # backend is not installed): one thread per core keeps a large catalog's release short.
        packages = sorted((staging / "packages").iterdir())
        from concurrent.futures import ThreadPoolExecutor  # only to build: generate needs none

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            built.extend(pool.map(lambda package: _build_one(package, dist), packages))
    record_releases(out, files)
    return built


def _build_one(source: Path, dist: Path) -> Built:
    import build
    import build.env
    from pyproject_hooks import quiet_subprocess_runner

    builder = build.ProjectBuilder(source, python_executable=sys.executable, runner=quiet_subprocess_runner)
    made: list[Path] = []
    try:
        for kind in ("sdist", "wheel"):
            if builder.check_dependencies(kind):
                with build.env.DefaultIsolatedEnv() as env:
                    isolated = build.ProjectBuilder.from_isolated_env(
                        env, source, runner=quiet_subprocess_runner
                    )
                    env.install(isolated.build_system_requires)
                    env.install(isolated.get_requires_for_build(kind))
                    made.append(Path(isolated.build(kind, dist)))
            else:
                made.append(Path(builder.build(kind, dist)))
    except build.BuildException as exc:
        raise ReleaseError(f"building {source.name} failed: {exc}") from None
    return Built(source.name, tuple(made))


# -- the release record: one content digest per package version ------------------------

RECORD = ".dlrgen-releases.json"


def package_digests(files: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``{distribution folder: (version, digest of its files)}`` for a file map."""
    import hashlib
    import tomllib

    grouped: dict[str, list[tuple[str, str]]] = {}
    for path, content in files.items():
        if path != MANIFEST and "/" in path:
            grouped.setdefault(path.split("/", 1)[0], []).append((path, content))
    found = {}
    for top, items in sorted(grouped.items()):
        pyproject = files.get(f"{top}/pyproject.toml")
        if pyproject is None:
            continue
        version = str(tomllib.loads(pyproject)["project"]["version"])
        digest = hashlib.sha256()
        for path, content in sorted(items):
            digest.update(path.encode("utf-8") + b"\0" + content.encode("utf-8") + b"\0")
        found[top] = (version, digest.hexdigest())
    return found


def read_record(out: Path) -> dict[str, tuple[str, str]]:
    """The versions released so far and what each contained (empty when none recorded)."""
    import json

    try:
        data = json.loads((out / RECORD).read_text(encoding="utf-8"))
        return {str(k): (str(v["version"]), str(v["digest"])) for k, v in data["packages"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def unbumped(record: dict[str, tuple[str, str]], current: dict[str, tuple[str, str]]) -> list[str]:
    """Packages whose files changed while their version stayed that of a recorded release: a
    release under that version would not be the one already built (and perhaps published).
    A package never released changes freely under its version."""
    return [
        f"{top}: its files changed since release {version} was built; give specs/"
        f"{top.removeprefix('dlr_')}.yaml a new package.version before releasing it"
        for top, (version, digest) in sorted(current.items())
        if top in record and record[top][0] == version and record[top][1] != digest
    ]


def record_text(record: dict[str, tuple[str, str]], released: dict[str, tuple[str, str]]) -> str:
    """The record after a release: each released version keeps the content it was first
    built with (``unbumped`` refused a rebuild with other content); packages not released
    this time keep their entry."""
    import json

    merged = dict(record)
    for top, (version, digest) in released.items():
        if top not in record or record[top][0] != version:
            merged[top] = (version, digest)
    data = {"packages": {top: {"version": v, "digest": d} for top, (v, d) in sorted(merged.items())}}
    return json.dumps(data, indent=2) + "\n"


def record_releases(out: Path, files: dict[str, str]) -> None:
    """Bind each package's version to the content just built from ``files``: from now on,
    ``check``, ``generate`` and ``build`` report a change under that version. Only a release
    binds a version (generating does not), so a package changes freely until it is built."""
    from generator.emit.writer import apply, locked

    with locked(out):
        record = read_record(out)
        text = record_text(record, package_digests(files))
        target = out / RECORD
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            apply(out, {RECORD: text})
