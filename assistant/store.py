"""Progress, rotation, history and settings in one SQLite file in the user's data directory.

Only facts about the exercises are stored (which question is next, who went first, when a session
ran); never anything the couple said. WAL and one transaction per change mean a process killed
mid-evening loses at most the change in flight.

Every way the file can fail is told apart, because each has a different fix: another hearth holds
the folder (one running hearth per data folder, held by a lock for the life of the process), the
folder cannot be written (permissions, a read-only disk), or the file is really damaged — and only
that last one suggests `hearth repair`. A write that fails mid-evening (disk full, folder gone
read-only) is said once, kept in memory and tried again on the next change, so the session goes on
and nothing is lost while the process lives. The folder is private (0700), its files 0600.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from .errors import StoreDamaged, StoreError, StoreLocked, StoreUnwritable

log = logging.getLogger("hearth")

SCHEMA_VERSION = 1
DB_NAME = "hearth.sqlite3"
LOCK_NAME = "hearth.lock"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS progress (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    exercise TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    completed INTEGER NOT NULL DEFAULT 0
);
"""
TABLES = ("meta", "progress", "settings", "sessions")
DAMAGE_WORDS = ("not a database", "malformed", "corrupt", "encrypted")


def default_data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """$XDG_DATA_HOME/hearth, else ~/.local/share/hearth."""
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", str(Path.home()))) / ".local" / "share")
    return Path(base) / "hearth"


@dataclass(frozen=True)
class SessionRow:
    exercise: str
    started_at: datetime
    ended_at: datetime | None
    completed: bool


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
    _tighten(data_dir, PRIVATE_DIR)


def _tighten(path: Path, mode: int) -> None:
    """Remove group and other access (files of an older hearth were 0644)."""
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except OSError as exc:  # not ours to change: hearth still works, and says so in the log
        log.debug("cannot make %s private: %s", path, exc)


# ---------------------------------------------------------------- the store


class Store:
    """The one place hearth remembers things between evenings.

    `Store(dir)` is the real, locked file; `Store.scratch(dir)` a copy in memory that is never
    written back (for sessions on a fake clock). Writes go through `flush()`: a change that cannot
    be saved stays queued, in order, until a later flush succeeds.
    """

    def __init__(self, data_dir: Path | None, *, lock: FolderLock | None = None) -> None:
        self.notify: Callable[[str], None] = lambda message: log.warning("%s", message)
        self.unsaved: str | None = None  # why the last flush failed, while changes wait in memory
        self._queue: list[tuple[str, tuple[object, ...]]] = []
        self._own_lock: FolderLock | None = None
        if data_dir is None:
            self.path = Path(":memory:")
            self.conn = sqlite3.connect(":memory:", isolation_level=None)
            self._migrate()
            return
        self.path = data_dir / DB_NAME
        make_private_dir(data_dir)
        if lock is None:
            lock = self._own_lock = FolderLock(data_dir)
        try:
            self._open()
        except StoreError:
            self.release()
            raise
        except (sqlite3.Error, OSError) as exc:
            self.release()
            raise classify(exc, self.path) from None

    def _open(self) -> None:
        if not self.path.exists():
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=5)
        self.conn.execute("PRAGMA journal_mode=WAL")  # SQLite gives -wal and -shm the file's own mode
        self.conn.execute("PRAGMA synchronous=NORMAL")
        problem = self.conn.execute("PRAGMA quick_check").fetchone()[0]  # a damaged page anywhere, not only the header
        if problem != "ok":
            self.conn.close()
            raise damaged(self.path, problem)
        self._migrate()
        for suffix in ("", "-wal", "-shm"):
            side = self.path.with_name(DB_NAME + suffix)
            if side.exists():
                _tighten(side, PRIVATE_FILE)

    @classmethod
    def scratch(cls, data_dir: Path) -> Store:
        """An in-memory copy of the folder's store (names, settings, places): used, never saved.

        Nothing is created or written in the folder. A damaged file is still refused, as a real
        session would; a folder without a store gives an empty one.
        """
        store = cls(None)
        path = data_dir / DB_NAME
        if not path.exists():
            return store
        # without a -wal file there is nothing uncommitted to read, and `immutable` creates no side files
        uri = f"file:{path}?mode=ro" + ("" if path.with_name(DB_NAME + "-wal").exists() else "&immutable=1")
        try:
            source = sqlite3.connect(uri, uri=True)
            try:
                problem = source.execute("PRAGMA quick_check").fetchone()[0]
                if problem != "ok":
                    raise damaged(path, problem)
                source.backup(store.conn)
            finally:
                source.close()
        except sqlite3.Error as exc:
            raise classify(exc, path) from None
        store._migrate()
        return store

    def _migrate(self) -> None:
        self.conn.executescript(SCHEMA)  # idempotent; executescript commits on its own
        with self._transaction():
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                self.conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer hearth (schema {row[0]})", "upgrade hearth, or use another --data-dir"
                )
        self._next_id = int(self.conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM sessions").fetchone()[0])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """`with store._transaction():` runs its statements as one atomic change."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def release(self) -> None:
        if self._own_lock is not None:
            self._own_lock.release()
            self._own_lock = None

    def close(self) -> None:
        """Last try at what is still unsaved, then let go of the file and the folder."""
        if self._queue and not self.flush():
            self.notify(f"hearth could not save tonight's last changes: {self.unsaved}.")
        self.conn.close()
        self.release()

    # ---- writing, with a queue that survives failures

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        self._queue.append((sql, params))
        self.flush()

    def flush(self) -> bool:
        """Write every queued change in one transaction; on failure keep them, say so once."""
        if not self._queue:
            return True
        try:
            with self._transaction():
                for sql, params in self._queue:
                    self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            if self.unsaved is None:
                self.unsaved = write_problem(exc)
                self.notify(
                    f"cannot save progress: {self.unsaved}. The session goes on; hearth keeps your place in memory"
                    " and saves it as soon as it can."
                )
            return False
        self._queue.clear()
        if self.unsaved is not None:
            self.unsaved = None
            self.notify("progress saved again.")
        return True

    # ---- progress

    def progress(self) -> dict[str, int]:
        return {key: int(value) for key, value in self.conn.execute("SELECT key, value FROM progress")}

    def save_progress(self, key: str, value: int) -> None:
        self._write("INSERT INTO progress VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # ---- settings

    def settings(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM settings").fetchall())

    def set_setting(self, key: str, value: str) -> None:
        self._write("INSERT INTO settings VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # ---- history

    def start_session(self, exercise: str, when: datetime) -> int:
        """The row id is chosen here (one hearth per folder), so a session can start unsaved."""
        session_id, self._next_id = self._next_id, self._next_id + 1
        self._write("INSERT INTO sessions (id, exercise, started_at) VALUES (?, ?, ?)", (session_id, exercise, when.isoformat(timespec="seconds")))
        return session_id

    def end_session(self, session_id: int, when: datetime, completed: bool) -> None:
        self._write("UPDATE sessions SET ended_at = ?, completed = ? WHERE id = ?", (when.isoformat(timespec="seconds"), int(completed), session_id))

    def history(self, limit: int = 20) -> list[SessionRow]:
        rows = self.conn.execute(
            "SELECT exercise, started_at, ended_at, completed FROM sessions ORDER BY started_at DESC, id DESC LIMIT ?", (limit,)
        )
        return [
            SessionRow(exercise, datetime.fromisoformat(start), datetime.fromisoformat(end) if end else None, bool(done))
            for exercise, start, end, done in rows
        ]

    def streak(self, exercise: str, today: date) -> int:
        """Days in a row, ending today (or yesterday, since today may still come), with that exercise."""
        days = {
            date.fromisoformat(start[:10])
            for (start,) in self.conn.execute("SELECT started_at FROM sessions WHERE exercise = ?", (exercise,))
        }
        day = today if today in days else today - timedelta(days=1)
        count = 0
        while day in days:
            count += 1
            day -= timedelta(days=1)
        return count
