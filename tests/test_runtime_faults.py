"""Faults a session survives, through the real runtime with fakes: the microphone goes away and comes
back, the speaker disappears, the voice fails or hangs. Each time the couple hears (or reads) one
line about it, and the exercise goes on, or waits paused, and nothing is lost.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

from speech_fakes import RecordingOutput, ToneSynthesizer

from assistant.bootstrap import bootstrap, listening
from assistant.clock import FakeClock
from assistant.hearing import BACK_LINE, RETRY_S
from assistant.runtime import HUNG_VOICE, SilentChimes
from assistant.speech.printer import PrintSpeaker
from assistant.speech.streaming import StreamingSpeaker
from assistant.typed import run_text
from session_fakes import ScriptedMicrophone, ScriptedRecognizer

APPRECIATION = ["start the appreciation practice", "I'm done", "that's all from me"]
APPRECIATION_SAYS = [
    "hearth: Welcome, Alex and Sam.",
    "hearth: Alex, what is one thing Sam did today that you appreciated?",
    "hearth: Now Sam. What did Alex do today that you appreciated?",
    "hearth: Thank you both.",
]


def _in_order(text: str, fragments: list[str]) -> None:
    at = 0
    for fragment in fragments:
        found = text.find(fragment, at)
        assert found >= 0, f"{fragment!r} missing after position {at}:\n{text}"
        at = found + len(fragment)


# ---------------------------------------------------------------- the microphone goes away


def test_a_lost_microphone_pauses_the_turn_says_so_once_and_resumes_when_it_is_back(tmp_path: Path) -> None:
    out = io.StringIO()
    speaker = PrintSpeaker()
    app = bootstrap(tmp_path, speaker=speaker, chimes=SilentChimes(), clock=FakeClock(), out=out, names=("Alex", "Sam"))
    # 2 s into Alex's two-minute turn the microphone is unplugged; three tries fail, the fourth works
    microphone = ScriptedMicrophone(400, lost_from=100, refusals=3)
    app.run(listening(app, microphone, ScriptedRecognizer({})), lambda: app.start("check_in"))
    text = out.getvalue()
    lost = [line for line in speaker.spoken if "microphone stopped working" in line]
    assert lost == ["I can't hear you: the microphone stopped working. I've paused the exercise. I'll listen again as soon as it's back."]
    assert speaker.spoken.count(BACK_LINE) == 1
    assert "fix: plug it back in" in text
    assert "Paused. Say" not in text  # the engine's own words for a spoken pause would send the couple to a deaf room
    _in_order(text, ["[timer: 2:00 of 2:00]", "[timer paused at 1:58]", BACK_LINE, "[timer: 1:58 of 2:00]"])
    assert microphone.starts == 1 + 4  # opened, then tried again every few seconds until it worked
    session = app.state.session
    assert session is not None and session.timer is not None and not session.paused
    heard_s = 0.02 * 400  # the turn only ran while the microphone was there
    assert app.clock.now() > heard_s + 3 * RETRY_S  # time passed while it was gone ...
    assert abs(session.timer.left(app.clock.now()) - (120 - heard_s)) < 0.1  # ... but not on the turn's timer
    app.close()


def test_a_microphone_lost_with_nothing_running_is_said_and_listened_for_again(tmp_path: Path) -> None:
    speaker = PrintSpeaker()
    app = bootstrap(tmp_path, speaker=speaker, chimes=SilentChimes(), clock=FakeClock(), out=io.StringIO())
    microphone = ScriptedMicrophone(300, lost_from=50, refusals=1)
    recognizer = ScriptedRecognizer({200: "start our daily check in"})  # said after it came back
    app.run(listening(app, microphone, recognizer))
    assert speaker.spoken[:2] == ["I can't hear you: the microphone stopped working. I'll listen again as soon as it's back.", BACK_LINE]
    assert app.state.session is not None and app.state.session.exercise == "check_in"
    app.close()


# ---------------------------------------------------------------- the speaker and the voice


def _appreciation_with(tmp_path: Path, speaker: object, **kwargs: object) -> tuple[str, object]:
    out = io.StringIO()
    app = bootstrap(tmp_path / "data", speaker=speaker, clock=FakeClock(), out=out, names=("Alex", "Sam"), **kwargs)  # type: ignore[arg-type]
    try:
        run_text(app, APPRECIATION)
        assert app.state.session is None  # the exercise ran to its end
    finally:
        app.close()
    return out.getvalue(), app


def test_a_speaker_that_disappears_leaves_printed_prompts_and_the_session_goes_on(tmp_path: Path) -> None:
    notices = io.StringIO()
    output = RecordingOutput(fail_from_write=1)  # unplugged before the first word
    text, _ = _appreciation_with(tmp_path, StreamingSpeaker(ToneSynthesizer(), output, notices=notices))
    _in_order(text, APPRECIATION_SAYS)
    (line,) = notices.getvalue().splitlines()  # said once, not once per prompt
    assert "stopped working" in line and "prompts are printed instead" in line and "fix:" in line


def test_a_voice_that_fails_leaves_printed_prompts_and_the_session_goes_on(tmp_path: Path) -> None:
    notices = io.StringIO()
    synthesizer = ToneSynthesizer(fail_on="")  # every piece fails
    text, _ = _appreciation_with(tmp_path, StreamingSpeaker(synthesizer, RecordingOutput(), notices=notices))
    _in_order(text, APPRECIATION_SAYS)
    (line,) = notices.getvalue().splitlines()
    assert "speech failed" in line and "prompts are printed instead" in line


def test_a_voice_that_hangs_is_given_up_on_with_one_notice_and_the_session_goes_on(tmp_path: Path) -> None:
    release = threading.Event()

    class Hanging(ToneSynthesizer):
        def synthesize(self, text: str):  # type: ignore[no-untyped-def]
            release.wait(60)  # an engine that never returns (until the test lets it go)
            return super().synthesize(text)

    speaker = StreamingSpeaker(Hanging(), RecordingOutput(), notices=io.StringIO())
    try:
        text, app = _appreciation_with(tmp_path, speaker, speech_budget=lambda line: 0.2)
    finally:
        release.set()
    _in_order(text, APPRECIATION_SAYS)
    assert text.count(HUNG_VOICE) == 1 and "the prompts are printed instead" in text and "--voice pyttsx3" in text
    assert isinstance(app.speaker, PrintSpeaker)  # type: ignore[attr-defined]


def test_a_long_line_gets_a_longer_budget_before_the_voice_counts_as_hung() -> None:
    from assistant.utterances import speaking_budget_s

    short, long = speaking_budget_s("One minute left."), speaking_budget_s("word " * 60 + ". And more.")
    assert 20 < short < long and long > 60 * 60 / 90  # at least the slowest pace allows
