"""Progress, rotation, history and settings in one SQLite file in the user's data directory.

Only facts about the exercises are stored (which question is next, who went first, when a session
ran); never anything the couple said. WAL and one transaction per change mean a process killed
mid-evening loses at most the change in flight. A damaged file is never silently replaced: the
error says how to salvage it (`hearth repair`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from .errors import StoreError

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


class Store:
    """The one place hearth remembers things between evenings."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DB_NAME
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data folder {data_dir}: {exc.strerror}", "pass a writable folder with --data-dir") from None
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=5)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            problem = self.conn.execute("PRAGMA quick_check").fetchone()[0]  # a damaged page anywhere, not only the header
            if problem != "ok":
                raise sqlite3.DatabaseError(problem)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the progress file {self.path} is damaged ({exc})",
                f"run `hearth repair --data-dir {data_dir}`: it saves what can be read and keeps the damaged file beside it",
            ) from None

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

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """`with store._transaction():` runs its statements as one atomic change."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    # ---- progress

    def progress(self) -> dict[str, int]:
        return {key: int(value) for key, value in self.conn.execute("SELECT key, value FROM progress")}

    def save_progress(self, key: str, value: int) -> None:
        with self._transaction():
            self.conn.execute("INSERT INTO progress VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # ---- settings

    def settings(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM settings").fetchall())

    def set_setting(self, key: str, value: str) -> None:
        with self._transaction():
            self.conn.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # ---- history

    def start_session(self, exercise: str, when: datetime) -> int:
        with self._transaction():
            cursor = self.conn.execute("INSERT INTO sessions (exercise, started_at) VALUES (?, ?)", (exercise, when.isoformat(timespec="seconds")))
        return int(cursor.lastrowid or 0)

    def end_session(self, session_id: int, when: datetime, completed: bool) -> None:
        with self._transaction():
            self.conn.execute(
                "UPDATE sessions SET ended_at = ?, completed = ? WHERE id = ?",
                (when.isoformat(timespec="seconds"), int(completed), session_id),
            )

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


def repair(data_dir: Path, now: datetime) -> tuple[Path, dict[str, int]]:
    """Copy every readable row of a damaged database into a fresh one; keep the damaged file.

    Returns where the damaged file was moved and how many rows of each table were saved.
    """
    path = data_dir / DB_NAME
    if not path.exists():
        raise StoreError(f"there is no progress file at {path}", "nothing to repair; hearth creates it on first use")
    damaged = path.with_name(f"{DB_NAME}.damaged-{now.strftime('%Y%m%d-%H%M%S')}")
    path.rename(damaged)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(DB_NAME + suffix)
        if side.exists():
            side.rename(damaged.with_name(damaged.name + suffix))
    saved = {table: 0 for table in TABLES}
    rows_by_table: dict[str, list[tuple[object, ...]]] = {table: [] for table in TABLES}
    try:
        old = sqlite3.connect(damaged)
        for table in TABLES:
            rows_by_table[table] = _readable_rows(old, table)
        old.close()
    except sqlite3.DatabaseError:
        pass  # nothing readable at all: start fresh, the damaged file stays for inspection
    fresh = Store(data_dir)
    with fresh._transaction():
        for table in ("progress", "settings", "sessions"):
            for row in rows_by_table[table]:
                placeholders = ", ".join("?" for _ in row)
                fresh.conn.execute(f"INSERT OR REPLACE INTO {table} VALUES ({placeholders})", row)
                saved[table] += 1
    fresh.close()
    return damaged, saved


def _readable_rows(conn: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    """Rows of one table, skipping past pages that cannot be read."""
    rows: list[tuple[object, ...]] = []
    try:
        for row in conn.execute(f"SELECT * FROM {table}"):
            rows.append(tuple(row))
    except sqlite3.DatabaseError:
        pass
    return rows
