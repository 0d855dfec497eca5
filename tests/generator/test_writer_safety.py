"""Stage 5 against hostile input: a manifest or a tree that points outside the output
directory, planted symlinks, concurrent runs and runs killed mid-write."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, SPECS
from generator import pipeline
from generator.commands.cli import main
from generator.emit.manifest import (
    LOCK_FILE,
    MANIFEST,
    Manifest,
    ManifestError,
    OutputPathError,
    path_problem,
)
from generator.pipeline import Plan
from generator.emit.writer import apply, changes, locked, remove_stray_temp_files

SECRET = "TOP SECRET: never print or delete me\n"
OWNED = "dlr_demo/README.md"


def manifest_text(files: dict[str, str]) -> str:
    return json.dumps({"generator": "dlrgen", "inputs": {"tools": {}, "specs": {}}, "files": files}, indent=2)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file next to the output directory that nothing may read, write or delete."""
    secret = tmp_path / "outside.txt"
    secret.write_text(SECRET, encoding="utf-8")
    return secret


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An output directory holding one generated file and a manifest that owns it."""
    directory = tmp_path / "generated"
    (directory / "dlr_demo").mkdir(parents=True)
    (directory / OWNED).write_text("hello\n", encoding="utf-8")
    (directory / MANIFEST).write_text(manifest_text({OWNED: "0" * 64}), encoding="utf-8")
    return directory


@pytest.fixture
def fake_build(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """`check` compares with this instead of rendering the specs: these tests are about disk."""
    files = {OWNED: "hello\n", MANIFEST: manifest_text({OWNED: "0" * 64})}
    monkeypatch.setattr(pipeline, "build", lambda specs, progress=None: dict(files))
    return files


def own(out: Path, path: str) -> None:
    """Add ``path`` to the manifest in ``out``, as a hostile checkout could."""
    data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    data["files"][path] = "0" * 64
    (out / MANIFEST).write_text(json.dumps(data), encoding="utf-8")


def hostile_entries(out: Path, outside: Path) -> dict[str, str]:
    """Manifest entries that all name ``outside``, each in a different way."""
    escape = out / "escape"
    escape.symlink_to(outside.parent, target_is_directory=True)
    return {
        "dot-dot": "../outside.txt",
        "absolute": str(outside),
        "dot-dot inside": "dlr_demo/../../outside.txt",
        "symlinked directory": "escape/outside.txt",
    }


ENTRY_KINDS = ["dot-dot", "absolute", "dot-dot inside", "symlinked directory"]


def assert_refused(result: int, captured: pytest.CaptureFixture[str], out: Path, outside: Path) -> None:
    stdout, stderr = captured.readouterr()
    assert result == 2
    assert stderr.count("\n") == 1 and stderr.startswith(f"{out / MANIFEST}: refusing to use it"), stderr
    assert "delete the manifest" in stderr
    assert "TOP SECRET" not in stdout + stderr
    assert outside.read_text(encoding="utf-8") == SECRET


# -- the manifest is refused when it names anything outside the output directory ------------


@pytest.mark.parametrize("kind", ENTRY_KINDS)
def test_check_refuses_a_manifest_naming_a_file_outside(
    kind: str, out: Path, outside: Path, fake_build: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    own(out, hostile_entries(out, outside)[kind])
    result = main(["check", "--specs", str(SPECS), "--out", str(out)])
    assert_refused(result, capsys, out, outside)


@pytest.mark.parametrize("kind", ENTRY_KINDS)
def test_generate_refuses_a_manifest_naming_a_file_outside(
    kind: str, out: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The real plan: it reads the manifest first, so it stops before rendering anything.
    own(out, hostile_entries(out, outside)[kind])
    result = main(["generate", "--specs", str(SPECS), "--out", str(out)])
    assert_refused(result, capsys, out, outside)
    assert (out / OWNED).read_text(encoding="utf-8") == "hello\n"  # nothing was written either
    assert not (out / LOCK_FILE).exists()


def test_the_command_line_prints_one_line_and_no_traceback(out: Path, outside: Path) -> None:
    own(out, "../outside.txt")
    result = subprocess.run(
        [sys.executable, "-m", "generator", "generate", "--specs", str(SPECS), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{out / MANIFEST}: refusing to use it: it lists '../outside.txt', which is not a file inside the "
        "output directory (it has a '..' component); delete the manifest and run `dlrgen generate` again"
    ]
    assert outside.read_text(encoding="utf-8") == SECRET


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("C:/Windows/win.ini", "absolute"),
        ("..", "'..'"),
        ("a/../../b", "'..'"),
        ("a//b", "empty or '.'"),
        ("./a", "empty or '.'"),
        ("a/", "empty or '.'"),
        ("a\\..\\b", "backslash"),
        ("a\0b", "control character"),
        ("a\nb", "control character"),
        (LOCK_FILE, "keeps for itself"),
        ("dlr_demo/.README.md.x1y2.dlrgen-tmp", "keeps for itself"),
    ],
)
def test_unsafe_paths_are_named_and_refused(path: str, reason: str, out: Path) -> None:
    problem = path_problem(path)
    assert problem is not None and reason in problem
    own(out, path)
    with pytest.raises(ManifestError, match="refusing to use it"):
        Manifest.read(out)


def test_plain_relative_paths_are_accepted(out: Path) -> None:
    for path in ("a", "dlr_x/README.md", "dlr_x/dlr_x/__init__.py", ".hidden/x", "a..b/c"):
        assert path_problem(path) is None, path
    inside = out / "dlr_demo" / "alias.md"
    inside.symlink_to(out / OWNED)  # a symlink that stays inside is fine
    own(out, "dlr_demo/alias.md")
    manifest = Manifest.read(out)
    assert manifest is not None and "dlr_demo/alias.md" in manifest.files


def test_a_symlinked_manifest_is_refused(
    out: Path, outside: Path, fake_build: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    (out / MANIFEST).unlink()
    (out / MANIFEST).symlink_to(outside)
    assert main(["check", "--specs", str(SPECS), "--out", str(out)]) == 2
    stdout, stderr = capsys.readouterr()
    assert "is a symbolic link" in stderr and "TOP SECRET" not in stdout + stderr
    assert outside.read_text(encoding="utf-8") == SECRET


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"files": ["a", "b"]}', '{"files": {"a": 1}}'])
def test_a_missing_or_malformed_manifest_owns_nothing(text: str, out: Path) -> None:
    (out / MANIFEST).write_text(text, encoding="utf-8")
    assert Manifest.read(out) is None
    (out / MANIFEST).unlink()
    assert Manifest.read(out) is None


# -- the generator's own paths, planted symlinks ---------------------------------------------


def test_the_generator_never_writes_a_path_outside(out: Path, outside: Path) -> None:
    with pytest.raises(OutputPathError, match="refusing to write"):
        apply(out, {"../outside.txt": "overwritten\n"})
    (out / "escape").symlink_to(outside.parent, target_is_directory=True)
    with pytest.raises(OutputPathError, match="through a symbolic link"):
        apply(out, {"escape/outside.txt": "overwritten\n"})
    with pytest.raises(OutputPathError, match="through a symbolic link"):
        changes(out, {"escape/outside.txt": "overwritten\n"})
    assert outside.read_text(encoding="utf-8") == SECRET
    assert not list(outside.parent.glob("*.dlrgen-tmp")) and not list(out.rglob("*.dlrgen-tmp"))


def test_a_symlink_at_the_target_is_replaced_not_written_through(out: Path, outside: Path) -> None:
    target = out / "dlr_new" / "README.md"
    target.parent.mkdir()
    target.symlink_to(outside)
    change = {c.path: c for c in changes(out, {"dlr_new/README.md": "generated\n"})}["dlr_new/README.md"]
    assert change.kind == "changed" and "TOP SECRET" not in change.diff  # not read either
    apply(out, {"dlr_new/README.md": "generated\n"})
    assert not target.is_symlink() and target.read_text(encoding="utf-8") == "generated\n"
    assert outside.read_text(encoding="utf-8") == SECRET


def test_a_symlink_planted_at_a_temp_name_is_never_followed(out: Path, outside: Path) -> None:
    # The name earlier versions always used, and a name of the new random form.
    planted = [out / "dlr_demo" / "README.md.dlrgen-tmp", out / "dlr_demo" / ".README.md.abcd1234.dlrgen-tmp"]
    for link in planted:
        link.symlink_to(outside)
    apply(out, {OWNED: "regenerated\n"})
    assert (out / OWNED).read_text(encoding="utf-8") == "regenerated\n"
    assert outside.read_text(encoding="utf-8") == SECRET
    # The next locked run sweeps them: the links go, the file they point to stays.
    with locked(out):
        swept = remove_stray_temp_files(out)
    assert swept == ["dlr_demo/.README.md.abcd1234.dlrgen-tmp", "dlr_demo/README.md.dlrgen-tmp"]
    assert not any(link.is_symlink() for link in planted)
    assert outside.read_text(encoding="utf-8") == SECRET


def test_removing_an_owned_symlink_removes_the_link_not_its_target(out: Path) -> None:
    notes = out / "dlr_demo" / "NOTES.md"  # the user's, not listed anywhere
    notes.write_text("mine\n", encoding="utf-8")
    link = out / "dlr_gone" / "README.md"
    link.parent.mkdir()
    link.symlink_to(notes)
    own(out, "dlr_gone/README.md")
    apply(out, {}, {"dlr_gone/README.md"})
    assert not link.parent.exists()  # the link went, and its emptied directory
    assert notes.read_text(encoding="utf-8") == "mine\n"


def test_emptied_directories_are_pruned_up_to_the_output_directory_only(out: Path) -> None:
    apply(out, {}, {OWNED})
    assert not (out / "dlr_demo").exists()
    assert out.is_dir()  # emptied of generated files, but it is the user's directory


# -- temp files of killed runs, the lock -----------------------------------------------------


def test_generate_sweeps_and_reports_temp_files_a_killed_run_left(
    out: Path, outside: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Exactly what SIGKILL between write and rename leaves: temp files next to their targets.
    stray = [out / "dlr_demo" / ".README.md.k1ll3d00.dlrgen-tmp", out / "dlr_demo" / "README.md.dlrgen-tmp"]
    for path in stray:
        path.write_text("half of a fi", encoding="utf-8")
    link = out / ".escape.dlrgen-tmp"
    link.symlink_to(outside.parent, target_is_directory=True)
    (out / "user.txt").write_text("not a temp file\n", encoding="utf-8")
    monkeypatch.setattr(pipeline, "plan", lambda specs, out, progress=None, take=None: Plan({}, set(), []))

    assert main(["generate", "--specs", str(SPECS), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:3] == [
        f"removed stray temp file {out / '.escape.dlrgen-tmp'}",
        f"removed stray temp file {out / 'dlr_demo/.README.md.k1ll3d00.dlrgen-tmp'}",
        f"removed stray temp file {out / 'dlr_demo/README.md.dlrgen-tmp'}",
    ]
    assert not any(path.exists() for path in stray) and not link.is_symlink()
    assert outside.read_text(encoding="utf-8") == SECRET and (out / "user.txt").exists()


def test_runs_on_one_directory_take_turns(out: Path) -> None:
    order: list[str] = []

    def other_run() -> None:
        with locked(out):
            order.append("other")

    with locked(out):
        assert (out / LOCK_FILE).exists()
        waiter = threading.Thread(target=other_run)
        waiter.start()
        time.sleep(0.3)  # ample time to get in, were the lock not held
        order.append("first")
    waiter.join(timeout=10)
    assert order == ["first", "other"]
    assert not (out / LOCK_FILE).exists()  # each run leaves the directory as it found it


def test_a_lock_taken_on_a_deleted_lock_file_is_not_trusted(tmp_path: Path) -> None:
    # A waiter may open the lock file just before its holder deletes it on the way out; the
    # lock it then gets is on a file nobody else will ever open again, so it must retry.
    from generator.emit.writer import _LockFileReplaced, _still_linked_at

    lock_path = tmp_path / LOCK_FILE
    lock_path.touch()
    check = _still_linked_at(lock_path)
    fd = os.open(lock_path, os.O_RDWR)
    try:
        check(fd)  # the file at the path: fine
        lock_path.unlink()
        with pytest.raises(_LockFileReplaced):
            check(fd)
        lock_path.touch()  # a fresh lock file, as the next run creates
        with pytest.raises(_LockFileReplaced):
            check(fd)
    finally:
        os.close(fd)


def test_check_of_a_missing_directory_creates_nothing(tmp_path: Path, fake_build: dict[str, str]) -> None:
    missing = tmp_path / "generated"
    assert main(["check", "--specs", str(SPECS), "--out", str(missing)]) == 1
    assert not missing.exists()


# -- real runs in parallel and killed (slow: each renders every spec) ------------------------


def dlrgen(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    copy = tmp_path / "specs"
    shutil.copytree(SPECS, copy)
    return copy


@pytest.fixture
def own_processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Runs started by a test, each in its own process group; whatever of them (render
    workers orphaned by a SIGKILL included) is still alive at the end is killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def start_generate(specs: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "generate", "--specs", str(specs), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )


def leftovers(out: Path) -> list[Path]:
    return sorted(out.rglob("*.dlrgen-tmp")) + sorted(out.rglob(LOCK_FILE))


@pytest.mark.slow
@pytest.mark.serial  # timed kills: run alone
def test_concurrent_generates_all_succeed_and_leave_a_current_tree(
    specs: Path, tmp_path: Path, own_processes: list[subprocess.Popen[str]]
) -> None:
    out = tmp_path / "generated"
    own_processes.extend(start_generate(specs, out) for _ in range(3))
    rendered: list[bool] = []
    for process in own_processes:
        stdout, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stdout + stderr
        rendered.append("(nothing to render)" not in stdout)
    # They took turns: the first rendered everything, the others found the tree current.
    assert sorted(rendered) == [False, False, True]
    result = dlrgen("check", "--specs", str(specs), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert leftovers(out) == []


@pytest.mark.slow
@pytest.mark.serial  # timed kills: run alone
@pytest.mark.parametrize("delay", [0.3, 1.0, 2.0])
def test_a_run_killed_at_any_moment_is_repaired_by_the_next(
    delay: float, specs: Path, tmp_path: Path, own_processes: list[subprocess.Popen[str]]
) -> None:
    out = tmp_path / "generated"
    run = start_generate(specs, out)
    own_processes.append(run)
    time.sleep(delay)
    run.send_signal(signal.SIGKILL)  # the run itself only: its render workers live on, orphaned
    run.wait()
    stray = (
        sorted(path.relative_to(out).as_posix() for path in out.rglob("*.dlrgen-tmp")) if out.exists() else []
    )

    if dlrgen("check", "--specs", str(specs), "--out", str(out)).returncode != 0:
        # Also proves the killed run's lock died with it: an orphaned worker does not hold it.
        repair = dlrgen("generate", "--specs", str(specs), "--out", str(out), timeout=60)
        assert repair.returncode == 0, repair.stdout + repair.stderr
        for path in stray:
            assert f"removed stray temp file {out / path}" in repair.stdout
        result = dlrgen("check", "--specs", str(specs), "--out", str(out))
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert stray == []  # a tree check calls current has nothing half-written in it
    assert leftovers(out) == []


@pytest.mark.slow
@pytest.mark.serial  # timed kills: run alone
def test_a_run_killed_between_renames_is_repaired_and_its_temp_files_reported(
    specs: Path, tmp_path: Path, own_processes: list[subprocess.Popen[str]]
) -> None:
    # A kill at an exact moment: after 10 files are renamed into place, the rest still staged.
    out = tmp_path / "generated"
    script = (
        "import os, signal\n"
        "from generator.commands.cli import main\n"
        "real_replace, renamed = os.replace, []\n"
        "def replace_or_die(source, target):\n"
        "    if len(renamed) == 10:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    renamed.append(target)\n"
        "    real_replace(source, target)\n"
        "os.replace = replace_or_die\n"
        f"main(['generate', '--specs', {str(specs)!r}, '--out', {str(out)!r}])\n"
    )
    run = subprocess.Popen([sys.executable, "-c", script], text=True, cwd=ROOT, start_new_session=True)
    own_processes.append(run)
    assert run.wait(timeout=120) == -signal.SIGKILL
    stray = sorted(path.relative_to(out).as_posix() for path in out.rglob("*.dlrgen-tmp"))
    assert any(path.startswith(f".{MANIFEST}.") for path in stray)  # the manifest goes last
    assert (out / LOCK_FILE).exists()  # it died holding the lock

    assert dlrgen("check", "--specs", str(specs), "--out", str(out)).returncode == 1
    repair = dlrgen("generate", "--specs", str(specs), "--out", str(out), timeout=60)
    assert repair.returncode == 0, repair.stdout + repair.stderr
    reported = [line for line in repair.stdout.splitlines() if line.startswith("removed stray temp file ")]
    assert reported == [f"removed stray temp file {out / path}" for path in stray]
    result = dlrgen("check", "--specs", str(specs), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert leftovers(out) == []
