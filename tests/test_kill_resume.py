"""SIGKILL at random moments of a 36 Questions evening: nothing is lost and nothing is corrupted.

A real `hearth --text` process is started again and again on one data folder, fed "continue" and a
few "next question" lines, and killed with SIGKILL after a random delay: while Python starts, while
the store opens, in the middle of a save, or while it waits. After every kill the file must pass
`PRAGMA integrity_check`, the saved place must be the question hearth was on (or the one it had
just saved, when it died between saving and printing), and the next start must resume exactly
there. History must account for every run.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from assistant.store import DB_NAME
from test_text_mode import saved_session_args

pytestmark = pytest.mark.slow

KILLS = 60
KEY = "thirty_six_questions/questions"
QUESTION = re.compile(r"^hearth: Question (\d+)\. ")  # each question is read once, then handed over


def saved_question(data: Path) -> tuple[int, str]:
    """(the question a restart resumes at, integrity_check) read with plain sqlite3."""
    if not (data / DB_NAME).exists():
        return 1, "ok"
    conn = sqlite3.connect(data / DB_NAME)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        row = conn.execute("SELECT value FROM progress WHERE key = ?", (KEY,)).fetchone()
    finally:
        conn.close()
    return (int(row[0]) + 1 if row else 1), check


def run_and_kill(data: Path, cwd: Path, env: dict[str, str], nexts: int, delay_s: float, after_first_line: bool) -> list[str]:
    """One evening, cut short by SIGKILL `delay_s` after the process starts (or after it printed its
    first line: then the kill lands while it works through the commands); returns what it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", *map(str, saved_session_args(data))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env,
    )
    assert proc.stdin is not None
    proc.stdin.write("continue the thirty six questions\n" + "next question\n" * nexts)
    proc.stdin.flush()  # stdin stays open: only the kill ends this evening
    first = ""
    if after_first_line:
        assert proc.stdout is not None
        # byte by byte from the pipe itself: a buffered readline would swallow the lines after the
        # first, which communicate() (reading the pipe directly) then never sees
        raw = b""
        while not raw.endswith(b"\n") and (byte := os.read(proc.stdout.fileno(), 1)):
            raw += byte
        first = raw.decode()
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    out = first + out
    assert proc.returncode == -signal.SIGKILL, f"hearth ended by itself ({proc.returncode}):\n{out}\n{err}"
    assert "Traceback" not in err, err
    return out.splitlines()


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, hearth_env: dict[str, str]) -> None:
    seed = int(os.environ.get("HEARTH_KILL_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    data = tmp_path / "data"
    resume_at, started_runs, changed = 1, 0, 0
    for kill in range(KILLS):
        nexts = rng.choice([0, 1, 1, 2, 3]) if resume_at < 33 else 0  # stay inside the 36 questions
        after_first_line = rng.random() < 0.7  # else: while Python starts or the store opens
        delay = rng.uniform(0.0, rng.choice([0.02, 0.25])) if after_first_line else rng.uniform(0.0, 0.8)
        lines = run_and_kill(data, tmp_path, hearth_env, nexts, delay, after_first_line)
        moment = f"{delay:.3f} s after " + ("its first line" if after_first_line else "it started")
        where = f"(seed {seed}, kill {kill + 1}: {nexts} next, killed {moment})\n" + "\n".join(lines)
        asked = [int(m[1]) for line in lines if (m := QUESTION.match(line))]
        if asked:  # it resumed exactly where the last kill left the saved place
            assert asked[0] == resume_at, where
            started_runs += 1
        saved, check = saved_question(data)
        assert check == "ok", where
        last_seen = asked[-1] if asked else resume_at
        # the place is the question on screen, or the next one when hearth died between saving it and printing it
        assert saved in (last_seen, last_seen + 1), f"saved {saved}, last asked {last_seen} " + where
        assert saved >= resume_at, where
        changed += saved != resume_at
        resume_at = saved

    finish = subprocess.run(
        [sys.executable, "-m", "assistant", *map(str, saved_session_args(data))],
        input="continue the thirty six questions\n" + "next question\n" * 80, capture_output=True, text=True,
        cwd=tmp_path, env=hearth_env, timeout=120,
    )
    assert finish.returncode == 0, finish.stderr
    asked = [int(m[1]) for line in finish.stdout.splitlines() if (m := QUESTION.match(line))]
    assert asked, finish.stdout + finish.stderr
    assert asked[0] == resume_at and asked[-1] == 36, finish.stdout
    assert "That was the last question." in finish.stdout
    assert saved_question(data) == (1, "ok")  # all done: the next evening starts afresh

    conn = sqlite3.connect(data / DB_NAME)
    rows = conn.execute("SELECT id, exercise, started_at, ended_at, completed FROM sessions ORDER BY id").fetchall()
    conn.close()
    assert {row[1] for row in rows} == {"thirty_six_questions"}
    assert started_runs + 1 <= len(rows) <= KILLS + 1  # every run that asked a question has its row
    starts = [datetime.fromisoformat(row[2]) for row in rows]
    assert starts == sorted(starts)
    *killed, last = rows
    assert all(row[3] is None and row[4] == 0 for row in killed), killed  # killed evenings never ended
    assert last[3] is not None and last[4] == 1 and datetime.fromisoformat(last[3]) >= starts[-1]
    assert changed >= 5, f"only {changed} of {KILLS} kills came after a saved step (seed {seed})"
    print(f"\nSIGKILL: seed {seed}, {KILLS} kills, {started_runs} had resumed and asked, {changed} moved the saved place, "
          f"{len(rows)} history rows")
