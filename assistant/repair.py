"""`hearth repair`: salvage a really damaged progress file, and refuse everything else.

Repair only acts on a file that SQLite itself finds damaged (`PRAGMA quick_check`, "not a
database", "malformed"). A healthy file is left alone; a file another hearth is using is refused
(renaming it under a running session would split the couple's progress in two). The salvaged rows
go into a new file first and the damaged one is moved aside only once that worked, so a failure
half-way (read-only folder, full disk) leaves everything as it was, with a message instead of a
traceback.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path

from .errors import StoreError
from .datafolder import PRIVATE_FILE, FolderLock, classify, is_damage, unwritable
from .store import DB_NAME, SCHEMA, SCHEMA_VERSION, TABLES

SALVAGED = ("progress", "settings", "sessions")


def health(path: Path) -> str | None:
    """None when the file is healthy; what is wrong when it is damaged. Any other failure raises."""
    try:
        conn = sqlite3.connect(path)
        try:
            problem = str(conn.execute("PRAGMA quick_check").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error as exc:
        if is_damage(str(exc)):
            return str(exc)
        raise classify(exc, path) from None
    return None if problem == "ok" else problem


def repair(data_dir: Path, now: datetime) -> tuple[Path, dict[str, int]] | None:
    """Copy every readable row of a damaged database into a fresh one; keep the damaged file.

    Returns where the damaged file was moved and how many rows of each table were saved, or None
    when the file is healthy (then nothing is touched).
    """
    path = data_dir / DB_NAME
    if not path.exists():
        raise StoreError(f"there is no progress file at {path}", "nothing to repair; hearth creates it on first use")
    lock = FolderLock(data_dir)  # refuses while another hearth runs; fails cleanly on a read-only folder
    try:
        if health(path) is None:
            return None
        rows = {table: _readable_rows(path, table) for table in SALVAGED}
        fresh = path.with_name(DB_NAME + ".repairing")
        damaged = path.with_name(f"{DB_NAME}.damaged-{now.strftime('%Y%m%d-%H%M%S')}")
        try:
            saved = _write_fresh(fresh, rows)
            _move_aside(path, damaged)
            os.replace(fresh, path)
        except (OSError, sqlite3.Error) as exc:
            fresh.unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.errno in (13, 30):  # EACCES, EROFS
                raise unwritable(data_dir, exc.strerror or str(exc)) from None
            raise classify(exc, path) from None
        return damaged, saved
    finally:
        lock.release()


def _readable_rows(path: Path, table: str) -> list[tuple[object, ...]]:
    """Rows of one table, up to the first page that cannot be read."""
    rows: list[tuple[object, ...]] = []
    try:
        conn = sqlite3.connect(path)
    except sqlite3.Error:
        return rows
    try:
        for row in conn.execute(f"SELECT * FROM {table}"):
            rows.append(tuple(row))
    except sqlite3.Error:
        pass  # nothing (more) readable: the damaged file stays for inspection
    finally:
        conn.close()
    return rows


def _write_fresh(fresh: Path, rows: dict[str, list[tuple[object, ...]]]) -> dict[str, int]:
    fresh.unlink(missing_ok=True)
    os.close(os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    saved = {table: 0 for table in TABLES}
    conn = sqlite3.connect(fresh, isolation_level=None)
    try:
        conn.executescript(SCHEMA)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        for table in SALVAGED:
            for row in rows[table]:
                placeholders = ", ".join("?" for _ in row)
                try:
                    conn.execute(f"INSERT OR REPLACE INTO {table} VALUES ({placeholders})", row)
                except sqlite3.Error:
                    continue  # a row the damage garbled (wrong shape, missing value): not worth keeping
                saved[table] += 1
        conn.execute("COMMIT")
    finally:
        conn.close()
    return saved


def _move_aside(path: Path, damaged: Path) -> None:
    """The damaged file and its -wal/-shm keep their bytes, under the damaged name."""
    path.rename(damaged)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(DB_NAME + suffix)
        if side.exists():
            side.rename(damaged.with_name(damaged.name + suffix))
