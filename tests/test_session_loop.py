"""The live loop with fakes: the echo guard, barge-in, and acting on commands once hearth is quiet.

No audio: a scripted microphone, a recognizer that "hears" a given phrase at a given block, and a
speaker that keeps talking until the test lets it finish. Time is a fake clock moved 20 ms a block.
"""

from __future__ import annotations

import io
import queue
from pathlib import Path

from assistant.app import FakeClock, SilentChimes, build_app
from assistant.asr.base import Grammar, Hypothesis
from assistant.listen import CommandListener
from assistant.session import VoiceLoop
from assistant.speech.base import SpeakerEvent
from assistant.speech.printer import PrintSpeaker

BLOCK = b"\x00\x00" * 320  # 20 ms of silence at 16 kHz


class ScriptedMicrophone:
    def __init__(self, clock: FakeClock, blocks: int) -> None:
        self.clock, self.left = clock, blocks
        self.level = -90.0

    @property
    def ended(self) -> bool:
        return self.left <= 0

    def start(self) -> None:
        pass

    def read(self, timeout: float) -> bytes | None:
        self.left -= 1
        self.clock.t += 0.02
        return BLOCK

    def stop(self) -> None:
        pass


class ScriptedRecognizer:
    """Returns `phrase` as a hypothesis on the given block numbers."""

    name = "scripted"

    def __init__(self, heard_at: dict[int, str]) -> None:
        self.heard_at, self.block, self.contexts = heard_at, 0, []  # type: ignore[var-annotated]

    def set_grammar(self, grammar: Grammar) -> None:
        self.contexts.append(grammar.context)

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        self.block += 1
        text = self.heard_at.get(self.block)
        return [Hypothesis(text, 0.9, 0.0, 1.0)] if text else []

    def flush(self) -> list[Hypothesis]:
        return []

    def reset(self) -> None:
        pass


class SlowSpeaker:
    """Speaks until `finish_all()` (or `stop()`, which reports the utterances as interrupted)."""

    def __init__(self) -> None:
        self._events: queue.Queue[SpeakerEvent] = queue.Queue()
        self.open: list[int] = []
        self.said: list[str] = []
        self.stops = 0

    def say(self, text: str, utterance_id: int, soft: bool = False) -> None:
        self.said.append(text)
        self.open.append(utterance_id)

    def stop(self) -> None:
        self.stops += 1
        for utterance in self.open:
            self._events.put(SpeakerEvent("finished", utterance, True))
        self.open = []

    def finish_all(self) -> None:
        for utterance in self.open:
            self._events.put(SpeakerEvent("finished", utterance, False))
        self.open = []

    def events(self) -> queue.Queue[SpeakerEvent]:
        return self._events

    def close(self) -> None:
        pass


def run_loop(tmp_path: Path, heard_at: dict[int, str], blocks: int, speaker: SlowSpeaker, start: str | None = None):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    out = io.StringIO()
    app = build_app(tmp_path, speaker=speaker, chimes=SilentChimes(), clock=clock, out=out, names=("Alex", "Sam"))
    recognizer = ScriptedRecognizer(heard_at)
    loop = VoiceLoop(app, ScriptedMicrophone(clock, blocks), CommandListener(recognizer, app.intents, app.context), show_transcripts=True)
    loop.run(lambda: app.start(start) if start else None)
    return app, out.getvalue()


def test_while_hearth_speaks_an_unaddressed_command_is_not_acted_on(tmp_path: Path) -> None:
    speaker = SlowSpeaker()
    app, out = run_loop(tmp_path, {20: "ready for the next question"}, 60, speaker, start="thirty_six_questions")
    assert speaker.stops == 0 and len(speaker.said) == 1  # still reading the welcome, undisturbed
    assert "(heard:" not in out


def test_an_addressed_command_interrupts_hearth_mid_sentence(tmp_path: Path) -> None:
    speaker = SlowSpeaker()
    app, out = run_loop(tmp_path, {20: "juniper we're done for tonight"}, 60, speaker, start="thirty_six_questions")
    assert speaker.stops >= 1  # the welcome was cut off
    assert "Do you want to stop here?" in speaker.said[-1]


def test_its_own_words_are_not_taken_as_a_barge_in(tmp_path: Path) -> None:
    """The check-in welcome says "juniper, that's all from me" aloud; hearing that is an echo."""
    speaker = SlowSpeaker()
    app, out = run_loop(tmp_path, {20: "juniper that's all from me"}, 60, speaker, start="check_in")
    assert speaker.stops == 0
    assert app.state.session is not None and app.state.session.index == 0


def test_once_hearth_is_quiet_a_plain_command_is_acted_on(tmp_path: Path) -> None:
    speaker = PrintSpeaker()  # every prompt ends at once: after the echo tail, hearth listens fully
    clock = FakeClock()
    app = build_app(tmp_path, speaker=speaker, chimes=SilentChimes(), clock=clock, out=io.StringIO(), names=("Alex", "Sam"))
    app.start("thirty_six_questions")
    first_question = app.state.session.index  # type: ignore[union-attr]
    recognizer = ScriptedRecognizer({50: "ready for the next question"})
    loop = VoiceLoop(app, ScriptedMicrophone(clock, 80), CommandListener(recognizer, app.intents, app.context))
    loop.run()
    assert app.state.session is not None and app.state.session.index == first_question + 1
    assert speaker.spoken[-1].startswith("Sam, question 1")


class BackloggedMicrophone(ScriptedMicrophone):
    """Reports a backlog of audio from block `from_block` on, as a microphone does when
    recognition cannot keep up; draining reads return the queued blocks quickly."""

    def __init__(self, clock: FakeClock, blocks: int, from_block: int) -> None:
        super().__init__(clock, blocks)
        self.read_count, self.from_block, self.queued_s = 0, from_block, 0.0

    @property
    def backlog_s(self) -> float:
        return self.queued_s

    def read(self, timeout: float) -> bytes | None:
        self.read_count += 1
        if self.read_count == self.from_block:
            self.queued_s = 6.0
        elif self.queued_s > 0:
            self.queued_s = max(0.0, self.queued_s - 0.02)
        return super().read(timeout)


def test_a_recognizer_that_cannot_keep_up_is_replaced_by_a_lighter_one(tmp_path: Path) -> None:
    clock = FakeClock()
    out = io.StringIO()
    app = build_app(tmp_path, speaker=PrintSpeaker(), chimes=SilentChimes(), clock=clock, out=out, names=("Alex", "Sam"))
    slow, light = ScriptedRecognizer({}), ScriptedRecognizer({})
    light.name = "lighter"
    offered = []

    def lighter_engine() -> tuple[ScriptedRecognizer, str]:
        offered.append(True)
        return light, "a lighter engine"

    listener = CommandListener(slow, app.intents, app.context)
    loop = VoiceLoop(app, BackloggedMicrophone(clock, 600, from_block=40), listener, lighter_engine=lighter_engine)  # type: ignore[arg-type]
    loop.run()
    assert offered == [True]  # asked once, not again and again
    assert listener.recognizer is light and light.contexts == ["idle"]
    text = out.getvalue()
    assert "cannot keep up" in text and "switching to a lighter engine" in text and "fix:" in text
    assert slow.block < 60  # the stale backlog was skipped, not decoded by the slow engine
