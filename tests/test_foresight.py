"""Looking ahead: the engine, being pure, is asked what it will probably say next, and the runtime
has the speaker render it while the current line plays (issue 8: first audio within 300 ms)."""

from __future__ import annotations

import io
from pathlib import Path

from assistant.bootstrap import bootstrap
from assistant.clock import FakeClock
from assistant.foresight import MAX_LINES, likely_lines
from assistant.runtime import SilentChimes
from assistant.speech.printer import PrintSpeaker
from session_fakes import SlowSpeaker


def test_while_the_welcome_plays_the_next_step_is_the_likeliest_line(tmp_path: Path) -> None:
    speaker = SlowSpeaker()
    app = bootstrap(tmp_path, speaker=speaker, chimes=SilentChimes(), clock=FakeClock(), out=io.StringIO(), names=("Alex", "Sam"))
    app.start("thirty_six_questions")
    session = app.state.session
    assert session is not None and len(speaker.said) == 1
    assert speaker.prepared[0] == session.plan[session.index + 1].text  # what follows the welcome
    assert len(speaker.prepared) <= MAX_LINES and len(set(speaker.prepared)) == len(speaker.prepared)
    assert all(text not in speaker.said for text in speaker.prepared)
    app.close()


def test_during_a_turn_the_words_after_it_are_guessed(tmp_path: Path) -> None:
    app = bootstrap(tmp_path, speaker=PrintSpeaker(), chimes=SilentChimes(), clock=FakeClock(), out=io.StringIO(), names=("Alex", "Sam"))
    app.start("check_in")
    app.poll_speaker()
    session = app.state.session
    assert session is not None and session.phase == "timing"
    guesses = likely_lines(app.state, app.clock.now())
    sams_turn = session.plan[session.index + 1]  # what is said when Alex's turn runs out
    assert sams_turn.partner == "Sam" and any(sams_turn.text in text for text in guesses), guesses
    assert app.state.session == session  # asking changed nothing
    app.close()


def test_nothing_running_the_welcome_and_help_are_guessed(tmp_path: Path) -> None:
    app = bootstrap(tmp_path, speaker=PrintSpeaker(), chimes=SilentChimes(), clock=FakeClock(), out=io.StringIO(), names=("Alex", "Sam"))
    guesses = likely_lines(app.state, 0.0)
    assert guesses[0].startswith("Welcome, Alex and Sam.")  # every exercise's welcome starts so
    assert any(text.startswith("You can say") for text in guesses)
    assert app.state.session is None
    app.close()


def test_the_first_words_of_the_evening_are_prepared_before_anything_is_said(tmp_path: Path) -> None:
    speaker = SlowSpeaker()
    app = bootstrap(tmp_path, speaker=speaker, chimes=SilentChimes(), clock=FakeClock(), out=io.StringIO(), names=("Alex", "Sam"))
    from assistant.typed import run_text

    run_text(app, [])
    assert speaker.prepared and speaker.prepared[0].startswith("Welcome, Alex and Sam.") and not speaker.said
    app.close()
