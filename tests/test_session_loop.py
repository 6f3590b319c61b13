"""The listening loop with fakes: the echo guard, barge-in, acting on commands once hearth is quiet,
keeping up, and the end of a recording.

No audio: a scripted microphone, a recognizer that "hears" a given phrase at a given block, and a
speaker that keeps talking until the test lets it finish (tests/session_fakes.py), around the real
runtime from the composition root. On the fake clock, time is the audio's: 20 ms a block.
"""

from __future__ import annotations

import io
from pathlib import Path

from assistant.bootstrap import bootstrap, listening
from assistant.clock import FakeClock
from assistant.runtime import SilentChimes
from assistant.speech.printer import PrintSpeaker
from session_fakes import ScriptedMicrophone, ScriptedRecognizer, SlowSpeaker


class AtTheEnd:
    """What hearth had said, and where it was, as the recording ended; then hearth may finish talking."""

    def __init__(self, speaker: SlowSpeaker) -> None:
        self.speaker = speaker
        self.said: list[str] = []
        self.stops = 0
        self.index: int | None = None
        self.app = None

    def __call__(self) -> None:
        self.said, self.stops = list(self.speaker.said), self.speaker.stops
        session = self.app.state.session  # type: ignore[attr-defined]
        self.index = None if session is None else session.index
        self.speaker.finish_all()


def run_loop(tmp_path: Path, heard_at: dict[int, str], blocks: int, speaker: SlowSpeaker, start: str | None = None):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    app = bootstrap(tmp_path, speaker=speaker, chimes=SilentChimes(), clock=FakeClock(), out=out, names=("Alex", "Sam"))
    end = AtTheEnd(speaker)
    end.app = app  # type: ignore[assignment]
    app.run(listening(app, ScriptedMicrophone(blocks, on_end=end), ScriptedRecognizer(heard_at), show_transcripts=True),
            lambda: app.start(start) if start else None)
    return end, out.getvalue()


def test_while_hearth_speaks_an_unaddressed_command_is_not_acted_on(tmp_path: Path) -> None:
    end, out = run_loop(tmp_path, {20: "ready for the next question"}, 60, SlowSpeaker(), start="thirty_six_questions")
    assert end.stops == 0 and len(end.said) == 1  # still reading the welcome, undisturbed
    assert "(heard:" not in out


def test_an_addressed_command_interrupts_hearth_mid_sentence(tmp_path: Path) -> None:
    end, out = run_loop(tmp_path, {20: "juniper we're done for tonight"}, 60, SlowSpeaker(), start="thirty_six_questions")
    assert end.stops >= 1  # the welcome was cut off
    assert "Do you want to stop here?" in end.said[-1]


def test_its_own_words_are_not_taken_as_a_barge_in(tmp_path: Path) -> None:
    """The check-in welcome says "juniper, that's all from me" aloud; hearing that is an echo."""
    end, out = run_loop(tmp_path, {20: "juniper that's all from me"}, 60, SlowSpeaker(), start="check_in")
    assert end.stops == 0
    assert end.index == 0


def test_a_session_that_makes_no_sound_has_no_echo_to_guard_against(tmp_path: Path) -> None:
    """Muted or written to files, hearth's words never reach the microphone: nothing is dropped."""
    speaker = SlowSpeaker()
    app = bootstrap(tmp_path, speaker=speaker, chimes=SilentChimes(), clock=FakeClock(), out=io.StringIO(), names=("Alex", "Sam"))
    source = listening(app, ScriptedMicrophone(60, on_end=speaker.finish_all), ScriptedRecognizer({20: "ready for the next question"}),
                       speech_audible=False, chimes_audible=False)
    app.run(source, lambda: app.start("thirty_six_questions"))
    assert speaker.stops >= 1 and len(speaker.said) >= 2  # the plain command cut the welcome short


def test_once_hearth_is_quiet_a_plain_command_is_acted_on(tmp_path: Path) -> None:
    speaker = PrintSpeaker()  # every prompt ends at once: after the echo tail, hearth listens fully
    app = bootstrap(tmp_path, speaker=speaker, chimes=SilentChimes(), clock=FakeClock(), out=io.StringIO(), names=("Alex", "Sam"))
    app.start("thirty_six_questions")
    first_question = app.state.session.index  # type: ignore[union-attr]
    app.run(listening(app, ScriptedMicrophone(80), ScriptedRecognizer({50: "ready for the next question"})))
    assert app.state.session is not None and app.state.session.index == first_question + 1
    assert speaker.spoken[-1] == "Now Sam."  # question 1, handed over to the second partner


def test_the_last_segment_of_a_recording_is_heard(tmp_path: Path) -> None:
    """A command that ends with the recording is still acted on (`hearth listen` hears it too)."""
    speaker = PrintSpeaker()
    app = bootstrap(tmp_path, speaker=speaker, chimes=SilentChimes(), clock=FakeClock(), out=io.StringIO(), names=("Alex", "Sam"))
    app.start("thirty_six_questions")
    first_question = app.state.session.index  # type: ignore[union-attr]
    app.run(listening(app, ScriptedMicrophone(80), ScriptedRecognizer({}, at_flush="ready for the next question")))
    assert app.state.session is not None and app.state.session.index == first_question + 1


def test_time_is_the_recordings_on_a_fake_clock(tmp_path: Path) -> None:
    app = bootstrap(tmp_path, speaker=PrintSpeaker(), chimes=SilentChimes(), clock=FakeClock(), out=io.StringIO())
    app.run(listening(app, ScriptedMicrophone(250), ScriptedRecognizer({})))
    assert abs(app.clock.now() - 250 * 0.02) < 1e-6


class BackloggedMicrophone(ScriptedMicrophone):
    """Reports a backlog of audio from block `from_block` on, as a microphone does when
    recognition cannot keep up; draining reads return the queued blocks quickly."""

    def __init__(self, blocks: int, from_block: int) -> None:
        super().__init__(blocks)
        self.from_block, self.queued_s = from_block, 0.0

    @property
    def backlog_s(self) -> float:
        return self.queued_s

    def read(self, timeout: float) -> bytes | None:
        if self.read_count + 1 == self.from_block:
            self.queued_s = 6.0
        elif self.queued_s > 0:
            self.queued_s = max(0.0, self.queued_s - 0.02)
        return super().read(timeout)


def test_a_recognizer_that_cannot_keep_up_is_replaced_by_a_lighter_one(tmp_path: Path) -> None:
    out = io.StringIO()
    app = bootstrap(tmp_path, speaker=PrintSpeaker(), chimes=SilentChimes(), clock=FakeClock(), out=out, names=("Alex", "Sam"))
    slow, light = ScriptedRecognizer({}), ScriptedRecognizer({})
    light.name = "lighter"
    offered = []

    def lighter_engine() -> tuple[ScriptedRecognizer, str]:
        offered.append(True)
        return light, "a lighter engine"

    source = listening(app, BackloggedMicrophone(600, from_block=40), slow, lighter_engine=lighter_engine)  # type: ignore[arg-type]
    app.run(source)
    assert offered == [True]  # asked once, not again and again
    assert source.listener.recognizer is light and light.contexts == ["idle"]
    text = out.getvalue()
    assert "cannot keep up" in text and "switching to a lighter engine" in text and "fix:" in text
    assert slow.block < 60  # the stale backlog was skipped, not decoded by the slow engine


def test_a_spoken_command_that_does_not_fit_now_gets_the_hint_and_changes_nothing(tmp_path: Path) -> None:
    """Heard, but not live: "juniper, ready for the next question" with nothing running. The couple
    hears the not-understood earcon and what fits now; nothing starts."""
    out = io.StringIO()
    speaker = SlowSpeaker()
    speaker.finish_all()
    app = bootstrap(tmp_path, speaker=speaker, chimes=SilentChimes(), clock=FakeClock(), out=out, names=("Alex", "Sam"))
    recognizer = ScriptedRecognizer({20: "juniper ready for the next question", 40: "ready for the next question"}, not_live=frozenset({20, 40}))
    app.run(listening(app, ScriptedMicrophone(80), recognizer, show_transcripts=True))
    assert app.state.session is None
    assert out.getvalue().count("[chime: not understood]") == 1  # the bare words are conversation: nothing
    assert len(speaker.said) == 1 and "start our daily check in" in speaker.said[0], speaker.said
    app.close()
