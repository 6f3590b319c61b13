"""The data folder's failures, each told apart with its own fix: locked, unwritable, full, damaged.

Read-only and full disks are real: a small tmpfs mounted for the test (CI runs as root), remounted
read-only or filled up, because as root a chmod alone would not stop anything.
"""

from __future__ import annotations

import errno
import io
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from assistant.bootstrap import bootstrap
from assistant.clock import FakeClock
from assistant.typed import run_text, typed
from assistant.errors import StoreDamaged, StoreError, StoreLocked, StoreUnwritable
from assistant.repair import repair
from assistant.datafolder import LOCK_NAME, classify
from assistant.store import DB_NAME, Store
from test_store import NOW
from test_text_mode import Running, saved_session_args


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 512 KiB tmpfs: fill it to get a full disk, remount it to get a read-only one."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", str(disk)], check=True, capture_output=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True)


def remount(disk: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(disk)], check=True, capture_output=True)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---------------------------------------------------------------- private by construction


def test_the_folder_and_its_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store(data)
    store.save_progress("next_first", 1)
    assert mode_of(data) == 0o700
    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", LOCK_NAME):
        assert mode_of(data / name) == 0o600, name
    store.close()


def test_files_an_older_hearth_left_readable_are_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Store(data).close()
    data.chmod(0o755)
    (data / DB_NAME).chmod(0o644)
    Store(data).close()
    assert mode_of(data) == 0o700 and mode_of(data / DB_NAME) == 0o600


# ---------------------------------------------------------------- one hearth per folder


def test_a_second_store_on_the_same_folder_is_refused_as_locked(tmp_path: Path) -> None:
    first = Store(tmp_path)
    with pytest.raises(StoreLocked) as error:
        Store(tmp_path)
    assert "another hearth is already running" in error.value.message and f"process {os.getpid()}" in error.value.message
    assert "repair" not in str(error.value)
    first.close()
    Store(tmp_path).close()  # closing lets go of the folder


def test_a_second_hearth_says_another_is_running_and_repair_refuses(tmp_path: Path, hearth_cli, hearth_env) -> None:
    data = tmp_path / "data"
    running = Running(saved_session_args(data), tmp_path, hearth_env)
    try:
        running.send("start the thirty six questions")
        running.wait_for("hearth: Question 1. Anyone in the world")
        running.send("next question")
        running.wait_for("hearth: Now Sam.")
        before = sorted(p.name for p in data.iterdir())
        second = hearth_cli(saved_session_args(data), stdin="start our check in\n")
        assert second.returncode == 5
        assert f"another hearth is already running with the data folder {data} (process {running.proc.pid})" in second.stderr
        assert "repair" not in second.stderr and "damaged" not in second.stderr and "Traceback" not in second.stderr
        refused = hearth_cli(["repair", "--data-dir", data])
        assert refused.returncode == 5 and "another hearth is already running" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        assert sorted(p.name for p in data.iterdir()) == before  # nothing renamed, nothing split
        history = hearth_cli(["history", "--data-dir", data])  # reading is fine while a session runs
        assert history.returncode == 0 and "Thirty-six questions" in history.stdout, history.stderr
        running.send("next question")
        running.wait_for("hearth: Question 2.")  # the first hearth never noticed
    finally:
        running.kill()


# ---------------------------------------------------------------- cannot write


def test_a_read_only_folder_gets_the_permissions_fix_not_repair(small_disk: Path, hearth_cli) -> None:
    data = small_disk / "data"
    store = Store(data)
    store.save_progress("next_first", 1)
    store.close()
    (data / LOCK_NAME).unlink()
    remount(small_disk, "ro")
    with pytest.raises(StoreUnwritable) as error:
        Store(data)
    assert "cannot write to its data folder" in error.value.message and "chmod u+rwx" in error.value.fix
    assert "repair" not in str(error.value)
    session = hearth_cli(saved_session_args(data), stdin="start our check in\n")
    assert session.returncode == 5 and "cannot write to its data folder" in session.stderr, session.stderr
    assert "repair" not in session.stderr and "Traceback" not in session.stderr
    repaired = hearth_cli(["repair", "--data-dir", data])
    assert repaired.returncode == 5 and "cannot write to its data folder" in repaired.stderr, repaired.stderr
    assert "Traceback" not in repaired.stderr
    history = hearth_cli(["history", "--data-dir", data])  # reading still works
    assert history.returncode == 0, history.stderr


def test_repair_in_a_read_only_folder_never_raises_a_traceback(small_disk: Path, hearth_cli) -> None:
    data = small_disk / "data"
    data.mkdir()
    (data / DB_NAME).write_bytes(b"garbage " * 1000)
    remount(small_disk, "ro")
    result = hearth_cli(["repair", "--data-dir", data])
    assert result.returncode == 5, result.stderr
    assert "cannot write to its data folder" in result.stderr and "Traceback" not in result.stderr
    assert (data / DB_NAME).read_bytes() == b"garbage " * 1000


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), StoreUnwritable),
        (sqlite3.OperationalError("unable to open database file"), StoreUnwritable),
        (sqlite3.OperationalError("attempt to write a readonly database"), StoreUnwritable),
        (sqlite3.OperationalError("database is locked"), StoreLocked),
        (sqlite3.OperationalError("database or disk is full"), StoreUnwritable),
        (sqlite3.DatabaseError("file is not a database"), StoreDamaged),
        (sqlite3.DatabaseError("database disk image is malformed"), StoreDamaged),
        (sqlite3.OperationalError("disk I/O error"), StoreError),
    ],
)
def test_each_failure_gets_its_own_fix(tmp_path: Path, failure: Exception, kind: type) -> None:
    error = classify(failure, tmp_path / DB_NAME)  # type: ignore[arg-type]
    assert type(error) is kind
    assert ("hearth repair" in error.fix) == (kind is StoreDamaged)
    assert error.fix


# ---------------------------------------------------------------- repair refuses what is not damaged


def test_repair_leaves_a_healthy_file_alone(tmp_path: Path, hearth_cli) -> None:
    data = tmp_path / "data"
    store = Store(data)
    store.save_progress("next_first", 1)
    store.close()
    before = (data / DB_NAME).read_bytes()
    assert repair(data, NOW) is None
    result = hearth_cli(["repair", "--data-dir", data])
    assert result.returncode == 0 and "healthy: nothing to repair" in result.stdout, result.stderr
    assert (data / DB_NAME).read_bytes() == before
    assert not list(data.glob(DB_NAME + ".damaged-*"))


def test_repair_on_a_full_disk_changes_nothing(small_disk: Path, hearth_cli) -> None:
    data = small_disk / "data"
    data.mkdir()
    garbage = b"\x00\xffgarbage" * 2000
    (data / DB_NAME).write_bytes(garbage)
    (data / LOCK_NAME).touch()
    fill(small_disk)
    result = hearth_cli(["repair", "--data-dir", data])
    assert result.returncode == 5 and "Traceback" not in result.stderr, result.stderr
    assert "full" in result.stderr
    assert (data / DB_NAME).read_bytes() == garbage and not list(data.glob(DB_NAME + ".*"))


# ---------------------------------------------------------------- failures in the middle of a session


def _thirty_six(data: Path) -> tuple:
    out = io.StringIO()
    app = bootstrap(data, clock=FakeClock(), out=out, names=("Alex", "Sam"))
    run_text(app, ["start the thirty six questions", "next question", "next question"])  # question 2
    return app, out


def test_a_full_disk_mid_session_is_said_once_and_nothing_is_lost(small_disk: Path) -> None:
    data = small_disk / "data"
    app, out = _thirty_six(data)
    try:
        filler = fill(small_disk)
        for _ in range(6):
            typed(app, "next question")  # questions 3, 4 and 5: each save fails
        assert app.state.session is not None and app.state.session.current.text.startswith("Question 5.")
        assert app.state.session.current.partner == "Alex"
        notices = [line for line in out.getvalue().splitlines() if "cannot save progress" in line]
        assert notices == ["hearth: cannot save progress: the disk is full. The session goes on; hearth keeps your place"
                           " in memory and saves it as soon as it can."]
        filler.unlink()
        typed(app, "next question")  # Sam's turn on question 5 (saves who still has to answer it)
        typed(app, "next question")  # question 6: this change saves everything that waited
        assert "hearth: progress saved again." in out.getvalue()
    finally:
        app.close()
    store = Store(data)
    assert store.progress()["thirty_six_questions/questions"] == 5  # question 6 is where to resume
    assert store.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert [(row.exercise, row.ended_at is not None) for row in store.history()] == [("thirty_six_questions", True)]
    store.close()


def test_a_full_disk_is_retried_while_nothing_else_changes(small_disk: Path) -> None:
    data = small_disk / "data"
    app, out = _thirty_six(data)
    try:
        filler = fill(small_disk)
        typed(app, "next question")
        typed(app, "next question")  # question 3: its place cannot be saved
        filler.unlink()
        assert app.store.unsaved is not None
        app.clock.sleep(10)
        app.tick()  # no command, but the waiting change is saved on a later tick
        assert app.store.unsaved is None and "hearth: progress saved again." in out.getvalue()
    finally:
        app.close()


def test_a_folder_that_turns_read_only_mid_session_is_survived(tmp_path: Path) -> None:
    """SQLite's own read-only refusal (`query_only`): what a write meets when the file can no
    longer be written. Said once; saved when writing works again."""
    data = tmp_path / "data"
    app, out = _thirty_six(data)
    try:
        app.store.conn.execute("PRAGMA query_only = ON")
        typed(app, "next question")
        typed(app, "next question")
        assert "hearth: cannot save progress: the data folder cannot be written." in out.getvalue()
        assert out.getvalue().count("cannot save progress") == 1
        app.store.conn.execute("PRAGMA query_only = OFF")
        typed(app, "next question")
        typed(app, "next question")  # question 4: a change to save
        assert "progress saved again" in out.getvalue()
    finally:
        app.close()
    store = Store(data)
    assert store.progress()["thirty_six_questions/questions"] == 3
    store.close()


def test_what_cannot_be_saved_by_the_end_is_said(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app, out = _thirty_six(data)
    app.store.conn.execute("PRAGMA query_only = ON")
    typed(app, "next question")
    typed(app, "next question")
    app.close()
    assert "hearth could not save tonight's last changes: the data folder cannot be written." in out.getvalue()
