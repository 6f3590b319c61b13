"""The status line: what it shows at each moment, and silence when output is not a terminal."""

from __future__ import annotations

import io
from pathlib import Path

from assistant.bootstrap import bootstrap
from assistant.clock import FakeClock
from assistant.typed import run_text
from assistant.display import StatusDisplay, level_meter, status_line


def app_after(tmp_path: Path, script: list[str]):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    app = bootstrap(tmp_path, clock=clock, out=io.StringIO(), names=("Alex", "Sam"))
    run_text(app, script)
    return app, clock


def test_idle_says_how_to_begin(tmp_path: Path) -> None:
    app, clock = app_after(tmp_path, [])
    assert status_line(app.state, clock.now()).startswith("waiting")


def test_a_turn_shows_exercise_whose_turn_and_a_countdown(tmp_path: Path) -> None:
    app, clock = app_after(tmp_path, ["start listening turns", ":wait 60"])
    line = status_line(app.state, clock.now(), level_dbfs=-30.0)
    assert line.startswith("Listening turns | Alex's turn | [")
    assert "] 2:00" in line and line.count("#") == 7  # a third of three minutes has passed
    assert line.endswith("mic " + level_meter(-30.0))


def test_pause_shows_on_the_countdown(tmp_path: Path) -> None:
    app, clock = app_after(tmp_path, ["start listening turns", ":wait 30", "juniper hold on a moment", ":wait 300"])
    assert "2:30 paused" in status_line(app.state, clock.now())


def test_the_36_questions_show_question_and_set(tmp_path: Path) -> None:
    app, clock = app_after(tmp_path, ["start the thirty six questions"] + ["ready for the next question"] * 27)
    assert "question 14 of 36, set 2" in status_line(app.state, clock.now())


def test_not_a_terminal_means_no_status_line() -> None:
    stream = io.StringIO()
    display = StatusDisplay(stream)
    display.show("Daily check-in | Alex's turn")
    display.before_print()
    assert stream.getvalue() == ""


def test_level_meter_grows_with_loudness() -> None:
    assert level_meter(-90.0).strip() == ""
    assert len(level_meter(-35.0).strip()) < len(level_meter(-10.0).strip())
