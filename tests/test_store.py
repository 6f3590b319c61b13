"""The SQLite store: schema, WAL, round trips, streaks, damage and repair, and no transcripts."""

from __future__ import annotations

import io
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from assistant.app import FakeClock, build_app, run_text
from assistant.errors import StoreError
from assistant.repair import repair
from assistant.store import (
    DB_NAME,
    SCHEMA_VERSION,
    TABLES,
    Store,
    default_data_dir,
)

NOW = datetime(2026, 3, 14, 20, 30)


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "data")
    yield opened
    opened.close()


def _tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {name: [column[1] for column in conn.execute(f"PRAGMA table_info({name})")] for name in names}


# ---------------------------------------------------------------- schema


def test_schema_version_and_wal(store):
    assert store.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    assert set(_tables(store.conn)) == set(TABLES)
    assert store.path.name == DB_NAME


def test_reopening_keeps_the_schema_version(tmp_path):
    Store(tmp_path).close()
    again = Store(tmp_path)
    rows = again.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    assert rows == [(str(SCHEMA_VERSION),)]
    again.close()


def test_a_newer_schema_is_refused(tmp_path):
    first = Store(tmp_path)
    first.conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    first.close()
    with pytest.raises(StoreError, match="newer hearth"):
        Store(tmp_path)


def test_no_column_can_hold_what_was_said(store):
    for table, columns in _tables(store.conn).items():
        for column in columns:
            for word in ("text", "transcript", "utterance", "said", "phrase", "speech", "words", "content"):
                assert word not in column.lower(), f"{table}.{column} could hold what the couple said"


def test_default_data_dir():
    assert default_data_dir({"XDG_DATA_HOME": "/x/share", "HOME": "/home/a"}) == Path("/x/share/hearth")
    assert default_data_dir({"HOME": "/home/a"}) == Path("/home/a/.local/share/hearth")


def test_unwritable_data_dir_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError) as error:
        Store(blocker / "data")
    assert "--data-dir" in error.value.fix


# ---------------------------------------------------------------- round trips


def test_progress_round_trip(tmp_path):
    first = Store(tmp_path)
    first.save_progress("check_in/questions", 3)
    first.save_progress("next_first", 1)
    first.save_progress("check_in/questions", 4)
    first.close()
    again = Store(tmp_path)
    assert again.progress() == {"check_in/questions": 4, "next_first": 1}
    again.close()


def test_settings_round_trip(tmp_path):
    first = Store(tmp_path)
    first.set_setting("partner_a", "Alex")
    first.set_setting("partner_b", "Sam")
    first.set_setting("partner_b", "Samira")
    first.close()
    again = Store(tmp_path)
    assert again.settings() == {"partner_a": "Alex", "partner_b": "Samira"}
    again.close()


def test_sessions_round_trip(tmp_path):
    first = Store(tmp_path)
    a = first.start_session("check_in", NOW)
    first.end_session(a, NOW + timedelta(minutes=5), completed=True)
    b = first.start_session("thirty_six_questions", NOW + timedelta(days=1))
    first.end_session(b, NOW + timedelta(days=1, minutes=20), completed=False)
    first.start_session("appreciation", NOW + timedelta(days=2))
    first.close()
    again = Store(tmp_path)
    rows = again.history()
    assert [(r.exercise, r.completed) for r in rows] == [("appreciation", False), ("thirty_six_questions", False), ("check_in", True)]
    assert rows[2].started_at == NOW and rows[2].ended_at == NOW + timedelta(minutes=5)
    assert rows[0].ended_at is None
    assert [r.exercise for r in again.history(limit=1)] == ["appreciation"]
    again.close()


# ---------------------------------------------------------------- streaks


def _sessions_on(store, exercise, days_ago, today):
    for back in days_ago:
        when = datetime.combine(today - timedelta(days=back), datetime.min.time()) + timedelta(hours=19)
        store.start_session(exercise, when)


def test_streak_ending_today(store):
    today = date(2026, 3, 14)
    _sessions_on(store, "check_in", [0, 0, 1, 2, 4, 5], today)
    assert store.streak("check_in", today) == 3


def test_streak_ending_yesterday_still_counts(store):
    today = date(2026, 3, 14)
    _sessions_on(store, "check_in", [1, 2, 3, 4], today)
    assert store.streak("check_in", today) == 4


def test_streak_broken(store):
    today = date(2026, 3, 14)
    _sessions_on(store, "check_in", [2, 3, 4], today)
    assert store.streak("check_in", today) == 0
    _sessions_on(store, "appreciation", [0, 1], today)
    assert store.streak("check_in", today) == 0  # other exercises do not count
    assert store.streak("appreciation", today) == 2
    assert store.streak("vulnerability", today) == 0


def test_streak_across_a_month_boundary(store):
    today = date(2026, 3, 1)
    _sessions_on(store, "check_in", [0, 1, 2], today)  # Feb 27, Feb 28, Mar 1
    assert store.streak("check_in", today) == 3


# ---------------------------------------------------------------- damage and repair


def test_a_corrupt_file_raises_store_error_with_the_repair_fix(tmp_path):
    data = tmp_path / "data"
    first = Store(data)
    first.save_progress("next_first", 1)
    first.close()
    (data / DB_NAME).write_bytes(b"this is not a database, it is garbage " * 200)
    for side in ("-wal", "-shm"):
        (data / (DB_NAME + side)).unlink(missing_ok=True)
    with pytest.raises(StoreError) as error:
        Store(data)
    assert "damaged" in error.value.message and str(data / DB_NAME) in error.value.message
    assert "hearth repair" in error.value.fix
    assert str(data) in error.value.fix


def test_repair_of_garbage_keeps_the_damaged_file_and_starts_fresh(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    garbage = b"\x00\xffgarbage bytes" * 500
    (data / DB_NAME).write_bytes(garbage)
    damaged, saved = repair(data, NOW)
    assert damaged.exists() and damaged.read_bytes() == garbage
    assert damaged.parent == data and damaged.name.startswith(DB_NAME + ".damaged-20260314-203000")
    assert saved == {table: 0 for table in TABLES}
    fresh = Store(data)
    assert fresh.progress() == {} and fresh.history() == []
    fresh.save_progress("next_first", 1)
    assert fresh.progress() == {"next_first": 1}
    fresh.close()


def test_repair_salvages_rows_from_a_partly_damaged_file(tmp_path):
    data = tmp_path / "data"
    first = Store(data)
    for i in range(30):
        first.save_progress(f"pool_{i}", i)
    first.set_setting("partner_a", "Alex")
    first.set_setting("partner_b", "Sam")
    for i in range(1500):
        first.start_session("check_in", NOW + timedelta(hours=i))
    first.close()
    path = data / DB_NAME
    assert not (data / (DB_NAME + "-wal")).exists() or (data / (DB_NAME + "-wal")).stat().st_size == 0
    raw = bytearray(path.read_bytes())
    page = 4096
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA page_size").fetchone()[0] == page
    progress_root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'progress'").fetchone()[0]
    sessions_root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sessions'").fetchone()[0]
    conn.close()
    last_page = len(raw) // page
    assert last_page not in (progress_root, sessions_root)  # the last page is a leaf of the big sessions table
    raw[(last_page - 1) * page : last_page * page] = b"\xde\xad\xbe\xef" * (page // 4)
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreError) as error:  # the header is fine: only a check of every page finds it
        Store(data)
    assert "hearth repair" in error.value.fix

    damaged, saved = repair(data, NOW)
    assert damaged.exists() and damaged.read_bytes() == bytes(raw)  # the damaged file is kept as it was
    assert saved["progress"] == 30 and saved["settings"] == 2
    assert 0 < saved["sessions"] < 1500
    fresh = Store(data)
    assert fresh.progress() == {f"pool_{i}": i for i in range(30)}
    assert fresh.settings() == {"partner_a": "Alex", "partner_b": "Sam"}
    assert len(fresh.history(limit=5000)) == saved["sessions"]
    fresh.close()


def test_repair_without_a_file(tmp_path):
    with pytest.raises(StoreError, match="no progress file"):
        repair(tmp_path, NOW)


def test_cli_refuses_a_damaged_file_then_repairs_it(tmp_path, hearth_cli):
    data = tmp_path / "data"
    data.mkdir()
    (data / DB_NAME).write_bytes(b"garbage " * 1000)
    session = ["--text", "--mute", "--fake-clock", "--data-dir", data, "--names", "Alex", "Sam"]
    refused = hearth_cli(session, stdin="start our check in\n")
    assert refused.returncode == 5
    assert "damaged" in refused.stderr and "hearth repair" in refused.stderr
    assert "Traceback" not in refused.stderr
    repaired = hearth_cli(["repair", "--data-dir", data])
    assert repaired.returncode == 0, repaired.stderr
    assert "damaged one is kept at" in repaired.stdout
    assert len(list(data.glob(DB_NAME + ".damaged-*"))) == 1
    works = hearth_cli(session, stdin="start our check in\n")
    assert works.returncode == 0, works.stderr
    assert "Over to you, Alex." in works.stdout


# ---------------------------------------------------------------- nothing said is kept


def test_text_mode_never_writes_what_was_typed(tmp_path):
    data = tmp_path / "data"
    secret = "zanzibar marmalade quokka"
    script = "\n".join(
        [
            f"{secret}",
            "start our check in",
            f"okay {secret}",
            ":wait 30",
            "I'm done",
            f"we talked about {secret} all evening",
            ":wait 130",
            "juniper, start the appreciation practice",
            "start the appreciation practice",
            f"I appreciated the {secret}",
            "I'm done",
            "that's all from me",
        ]
    ) + "\n"
    # in-process, so the fake clock's session is saved (the CLI's --fake-clock never saves)
    out = io.StringIO()
    app = build_app(data, clock=FakeClock(), out=out, names=("Alex", "Sam"))
    try:
        run_text(app, script.splitlines())
    finally:
        app.close()
    assert "Thank you both, for sharing and for listening." in out.getvalue()
    assert "Thank you both. When you hear an appreciation" in out.getvalue()
    files = [path for path in data.rglob("*") if path.is_file()]
    assert any(path.name == DB_NAME for path in files)
    for path in files:
        content = path.read_bytes().lower()
        for word in secret.split():
            assert word.encode() not in content, f"{path.name} contains '{word}'"
    store = Store(data)
    assert [row.exercise for row in store.history()] == ["appreciation", "check_in"]
    assert all(row.completed for row in store.history())
    store.close()
