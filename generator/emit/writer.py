"""Stage 5: write the generated files to disk atomically, or compare them with disk.

A manifest in the output directory lists the files the generator owns. Only those are
ever replaced or deleted; anything else a user puts in ``generated/`` is left alone.
Every new file is first written next to its target (``Staging``, as generation hands each
file over, so memory never holds the whole output); only when all writes succeeded are
they renamed into place, so a failure leaves the tree as it was.

The output directory may come from an untrusted checkout, so nothing here follows a path
out of it: every path is checked (``path_problem``, ``escapes``), temp files get fresh
unpredictable names, renames replace a symlink rather than write through it, and deletes
remove links, never what they point to. Runs on one directory take turns (``locked``).
"""

from __future__ import annotations

import difflib
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Set
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from filelock import BaseFileLock, FileLock

from generator.emit.manifest import (
    LOCK_FILE,
    MANIFEST,
    TEMP_SUFFIX,
    Manifest,
    OutputPathError,
    escapes,
    path_problem,
)


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # added | changed | removed
    diff: str


def changes(out_dir: Path, files: dict[str, str]) -> list[Change]:
    """What writing ``files`` would change on disk, as unified diffs."""
    for path in files:
        _check_output_path(out_dir, path)
    out: list[Change] = []
    for path in sorted(files):
        target = out_dir / path
        new = files[path]
        if target.is_symlink():
            # Ours to replace, but never to read: it may point at any file on the machine.
            out.append(Change(path, "changed", _diff(path, "", new)))
            continue
        try:
            old = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            out.append(Change(path, "added", _diff(path, "", new)))
            continue
        except (OSError, UnicodeDecodeError):
            old = ""
        if old != new:
            out.append(Change(path, "changed", _diff(path, old, new)))
    owned = Manifest.read(out_dir)
    for path in sorted(set(owned.files if owned else ()) - set(files)):
        target = out_dir / path
        if target.is_file():
            out.append(
                Change(path, "removed", _diff(path, target.read_text(encoding="utf-8", errors="replace"), ""))
            )
    return out


def _diff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def apply(out_dir: Path, write: dict[str, str], remove: Set[str] = frozenset()) -> list[Change]:
    """Write ``write`` (skipping files already as wanted) and delete ``remove``; returns what
    changed. Nothing is replaced until every new file has been written in full.

    Call it inside ``locked(out_dir)``: two runs interleaving renames would mix their trees."""
    for path in remove:
        _check_owned_path(out_dir, path)
    for path in write:
        _check_output_path(out_dir, path)
    with Staging(out_dir) as staging:
        for path in sorted(write):
            staging.add(path, write[path])
        return staging.commit(remove)


class Staging:
    """Files staged next to their targets as they are handed over, then renamed into place
    all at once (``commit``), or all removed again, with any folder made for them, when
    anything fails first (leaving the ``with`` block by an exception). A file already on disk
    as wanted is not staged at all.

    Call it inside ``locked(out_dir)``, like ``apply``."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._mode = _new_file_mode()
        self._staged: list[tuple[Path, Path]] = []  # (temp file, target)
        self._changes: list[Change] = []
        self._made: list[Path] = []  # folders made for staged files, to remove if discarded

    def add(self, path: str, content: str) -> None:
        """Stage one generated file (``path`` below the output directory)."""
        _check_output_path(self.out_dir, path)
        target = self.out_dir / path
        kind = _change_kind(target, content)
        if kind is None:
            return
        self._make_folder(target.parent)
        self._staged.append((stage(target, content, self._mode), target))
        self._changes.append(Change(path, kind, ""))

    def commit(self, remove: Set[str] = frozenset()) -> list[Change]:
        """Rename every staged file into place and delete ``remove``; returns what changed,
        in the order of the paths, removals last."""
        for path in remove:
            _check_owned_path(self.out_dir, path)
        removed = [
            Change(path, "removed", "") for path in sorted(remove) if _is_removable(self.out_dir / path)
        ]
        # The manifest goes last: until it is in place, the old one still describes the tree.
        staged = sorted(self._staged, key=lambda pair: (pair[1].name == MANIFEST, str(pair[1])))
        self._staged = []
        for temp, target in staged:
            os.replace(temp, target)  # a symlink at target is itself replaced, never written through
        for change in removed:
            _remove_owned(self.out_dir, change.path)
        return sorted(self._changes, key=lambda change: change.path) + removed

    def discard(self) -> None:
        """Remove every staged file and the folders made for them: the tree is as it was."""
        for temp, _ in self._staged:
            temp.unlink(missing_ok=True)
        self._staged = []
        for folder in reversed(self._made):
            with suppress(OSError):  # not empty: someone else's file is in it now
                folder.rmdir()
        self._made = []

    def _make_folder(self, folder: Path) -> None:
        missing = []  # the output directory too, and above it, when apply() is called unlocked
        while not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for made in reversed(missing):
            made.mkdir(exist_ok=True)
            self._made.append(made)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is not None:
            self.discard()


def _change_kind(target: Path, new: str) -> str | None:
    """``added`` or ``changed`` when writing ``new`` at ``target`` changes the tree, else None."""
    if target.is_symlink():
        return "changed"  # ours to replace, but never to read: it may point at any file
    try:
        old = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "added"
    except (OSError, UnicodeDecodeError):
        old = ""
    return "changed" if old != new else None


def write_files(out_dir: Path, files: dict[str, str]) -> list[Change]:
    """Bring ``out_dir`` in line with a full generation ``files`` (manifest included)."""
    owned = Manifest.read(out_dir)
    return apply(out_dir, files, set(owned.files if owned else ()) - set(files))


def _check_output_path(out_dir: Path, path: str) -> None:
    """Refuse a path the generator itself produced that would land outside ``out_dir``.

    The renderer only makes safe names; this is the last line should a spec ever smuggle
    one through. The final component may be a symlink: it gets replaced, not followed."""
    problem = path_problem(path)
    directory = path.rpartition("/")[0]
    if problem is None and directory and escapes(out_dir, directory):
        problem = "its directory leads outside the output directory through a symbolic link"
    if problem is not None:
        raise OutputPathError(out_dir / path, f"refusing to write this generated file: {problem}")


def _check_owned_path(out_dir: Path, path: str) -> None:
    # Manifest.read already refused a manifest naming such a path; a caller may not have.
    problem = path_problem(path)
    if problem is None and escapes(out_dir, path):
        problem = "it leads outside the output directory through a symbolic link"
    if problem is not None:
        raise OutputPathError(out_dir / path, f"refusing to delete this file: {problem}")


def stage(target: Path, content: str, mode: int) -> Path:
    """Write ``content`` to a new temp file next to ``target``; returns its path.

    mkstemp creates the file with O_EXCL under a random name, so a symlink planted at a
    predictable temp name is never followed, and concurrent or killed runs never collide."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    temp = Path(name)
    try:
        try:
            if hasattr(os, "fchmod"):  # mkstemp's 0600 would hide generated code from other users
                os.fchmod(fd, mode)
        finally:
            os.close(fd)
        # Reopened by name: the file exists, so nothing is created or followed unless someone
        # who can write this directory swaps it in the meantime. Path.write_text stays the one
        # way content reaches disk (test_generate simulates a full disk through it).
        temp.write_text(content, encoding="utf-8", newline="\n")
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _new_file_mode() -> int:
    """The mode ``open()`` gives a new file under the current umask."""
    umask = os.umask(0o022)  # reading the umask means setting it; restored at once
    os.umask(umask)
    return 0o666 & ~umask


def _is_removable(target: Path) -> bool:
    """A file or a symlink (removed itself); a directory in its place is not ours to remove."""
    try:
        return not stat.S_ISDIR(os.lstat(target).st_mode)
    except FileNotFoundError:
        return False


def _remove_owned(out_dir: Path, path: str) -> None:
    target = out_dir / path
    target.unlink(missing_ok=True)  # unlink removes a symlink, never the file it points to
    _prune_empty_dirs(target.parent, out_dir)


def _prune_empty_dirs(directory: Path, stop: Path) -> None:
    """Remove ``directory`` and its parents while empty, up to but never including ``stop``.

    Paths are checked to have no '..', so walking up parents stays below ``stop``."""
    while directory != stop and directory.is_relative_to(stop) and not directory.is_symlink():
        try:
            directory.rmdir()  # fails, and stops the walk, unless it is an empty directory
        except OSError:
            return
        directory = directory.parent


def remove_stray_temp_files(out_dir: Path) -> list[str]:
    """Delete the temp files runs killed mid-write left in ``out_dir``; returns their paths.

    Only call it inside ``locked(out_dir)``: a live run's temp files look just the same. The
    walk does not enter symlinked directories, so nothing outside ``out_dir`` is touched."""
    stray: list[str] = []
    for directory, subdirectories, names in os.walk(out_dir):
        for name in names + [d for d in subdirectories if os.path.islink(os.path.join(directory, d))]:
            if name.endswith(TEMP_SUFFIX):  # ".<name>.<random>.dlrgen-tmp", or an old "<name>.dlrgen-tmp"
                found = Path(directory, name)
                found.unlink(missing_ok=True)
                stray.append(found.relative_to(out_dir).as_posix())
    return sorted(stray)


class _LockFileReplaced(Exception):
    """The lock was taken on a lock file another run has since deleted: take it again."""


@contextmanager
def locked(out_dir: Path, *, reading: bool = False) -> Iterator[None]:
    """Hold the inter-process lock of ``out_dir``: one run at a time plans, writes or reads it.

    The lock file is deleted on the way out, while still held, so a run leaves the directory
    as it found it (a failed run writes nothing); a waiting run that then gets the lock on
    the deleted file notices and takes it again on a fresh one. Generating creates
    ``out_dir`` if needed, and removes it again if nothing was written to it. Reading a
    missing or read-only directory takes no lock: nobody can be writing it."""
    created = not out_dir.exists()
    lock = None if reading and created else _acquire_unless_read_only(out_dir / LOCK_FILE, reading)
    try:
        yield
    finally:
        if lock is not None:
            with suppress(OSError):  # Windows cannot delete an open file; its lock does on release
                (out_dir / LOCK_FILE).unlink()
            lock.release()
        if created and not reading:
            with suppress(OSError):  # not empty: this run (or another) wrote to it
                out_dir.rmdir()


def _acquire_unless_read_only(lock_path: Path, reading: bool) -> BaseFileLock | None:
    try:
        return _acquire(lock_path, create_directory=not reading)
    except OSError as exc:
        # A tree nobody may write to cannot be half-written by anyone: read it unlocked.
        if reading and (isinstance(exc, PermissionError) or exc.errno == errno.EROFS):
            return None
        raise


def _acquire(lock_path: Path, create_directory: bool) -> BaseFileLock | None:
    """The lock, once no other run holds it; None if reading and the directory has gone."""
    while True:
        if create_directory:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
        elif not lock_path.parent.is_dir():
            return None  # a failed first generate removed it again: nothing to read
        lock = FileLock(lock_path, on_acquired=_still_linked_at(lock_path))
        try:
            lock.acquire()
            return lock
        except (_LockFileReplaced, FileNotFoundError):
            continue  # the holder deleted the lock file (or the empty directory) on its way out


def _still_linked_at(lock_path: Path) -> Callable[[int], None]:
    """A check that the file just locked is still the one at ``lock_path``, not a deleted one."""

    def check(fd: int) -> None:
        try:
            if os.path.samestat(os.fstat(fd), os.lstat(lock_path)):
                return
        except FileNotFoundError:
            pass
        raise _LockFileReplaced  # filelock releases the lock when this callback raises

    return check
