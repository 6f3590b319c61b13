"""Progress, rotation, history and settings in one SQLite file in the user's data directory.

Only facts about the exercises are stored (which question is next, who went first, when a session
ran); never anything the couple said. WAL and one transaction per change mean a process killed
mid-evening loses at most the change in flight.

Every way the file can fail is told apart (datafolder.py), because each has a different fix, and
one hearth runs per data folder. A write that fails mid-evening (disk full, folder gone read-only)
is said once, kept in memory and tried again on the next change, so the session goes on and
nothing is lost while the process lives.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from .datafolder import PRIVATE_FILE, FolderLock, classify, damaged, make_private_dir, tighten, write_problem
from .errors import StoreError

log = logging.getLogger("hearth")

SCHEMA_VERSION = 1
DB_NAME = "hearth.sqlite3"

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
                tighten(side, PRIVATE_FILE)

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
