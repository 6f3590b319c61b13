"""The data folder: one hearth at a time, private to its user, and failures told apart.

Each way the progress file can fail has a different fix, so each gets its own error: another hearth
holds the folder (one running hearth per data folder, held by a lock for the life of the process),
the folder cannot be written (permissions, a read-only or full disk), or the file is really damaged;
only that last one suggests `hearth repair`. The folder is private (0700), its files 0600.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from pathlib import Path

from .errors import StoreDamaged, StoreError, StoreLocked, StoreUnwritable

log = logging.getLogger("hearth")

LOCK_NAME = "hearth.lock"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
DAMAGE_WORDS = ("not a database", "malformed", "corrupt", "encrypted")


# ---------------------------------------------------------------- telling failures apart


def unwritable(data_dir: Path, reason: str) -> StoreUnwritable:
    """The folder exists (or should) but hearth may not write there."""
    return StoreUnwritable(
        f"hearth cannot write to its data folder {data_dir} ({reason})",
        f"make it yours and writable (chmod u+rwx {data_dir}; if another user owns it: sudo chown $USER {data_dir}),"
        " or pass --data-dir with a folder of your own",
    )


def damaged(path: Path, problem: str) -> StoreDamaged:
    return StoreDamaged(
        f"the progress file {path} is damaged ({problem})",
        f"run `hearth repair --data-dir {path.parent}`: it saves what can be read and keeps the damaged file beside it",
    )


def is_damage(problem: str) -> bool:
    return any(word in problem.lower() for word in DAMAGE_WORDS)


def classify(exc: sqlite3.Error | OSError, path: Path) -> StoreError:
    """One SQLite or OS failure on the progress file, as the error whose fix applies."""
    text = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
    lowered = text.lower()
    if isinstance(exc, PermissionError) or "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return unwritable(path.parent, text)
    if "locked" in lowered or "busy" in lowered:
        return StoreLocked(f"the progress file {path} is in use by another program", "close the other program, then start hearth again")
    if "full" in lowered or (isinstance(exc, OSError) and exc.errno == 28):
        return StoreUnwritable(f"the disk that holds {path.parent} is full", "free some space, then start hearth again")
    if is_damage(lowered):
        return damaged(path, text)
    return StoreError(f"cannot use the progress file {path} ({text})", "run `hearth doctor`; it checks the data folder")


def write_problem(exc: sqlite3.Error | OSError) -> str:
    """Short words for a failed save, for the one notice a session prints."""
    lowered = str(exc).lower()
    if "full" in lowered:
        return "the disk is full"
    if "readonly" in lowered or "read-only" in lowered or isinstance(exc, PermissionError):
        return "the data folder cannot be written"
    if is_damage(lowered):
        return "the progress file is damaged (run `hearth repair` after this session)"
    return f"the progress file cannot be written ({exc})"


# ---------------------------------------------------------------- one hearth per folder


class FolderLock:
    """An exclusive lock on DIR/hearth.lock held for the life of the process (or until release).

    flock locks vanish with the process, so a hearth that was killed never leaves a stale lock; the
    file holds the owner's process id for the message a second hearth prints.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        try:
            self.fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        except OSError as exc:
            raise unwritable(data_dir, exc.strerror or str(exc)) from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(self.fd, 32, 0).decode("ascii", "replace").strip()
            self.release()
            raise StoreLocked(
                f"another hearth is already running with the data folder {data_dir}" + (f" (process {owner})" if owner else ""),
                "finish or stop that session first; one hearth at a time keeps your progress in one piece",
            ) from None
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:  # a full disk: the lock holds all the same, only the message loses the number
            pass

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None


def make_private_dir(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    except FileExistsError:
        raise StoreError(f"the data folder {data_dir} is a file", "pass a folder with --data-dir") from None
    except OSError as exc:
        raise unwritable(data_dir, exc.strerror or str(exc)) from None
    tighten(data_dir, PRIVATE_DIR)


def tighten(path: Path, mode: int) -> None:
    """Remove group and other access (files of an older hearth were 0644)."""
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except OSError as exc:  # not ours to change: hearth still works, and says so in the log
        log.debug("cannot make %s private: %s", path, exc)
