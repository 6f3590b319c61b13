"""The one runtime: feeds events into the pure engine and carries out the effects it returns.

Every session runs here, whatever its input: typed lines (typed.py), a microphone or a recording
(hearing.py). An input turns what it receives into engine events; the runtime owns the one copy of
the engine's state, executes effects (speak, chime, save, record the session), feeds the speaker's
"finished" events back, and ticks timers. bootstrap.py wires it from real or fake parts.

The end-of-input rule, the same for every input: when the input ends (piped text runs out, a
recording is over), what it still holds is handed over (a recording's last segment is heard), what
is being said is finished, and `close()` then records a running session as stopped; its place was
saved with every step, so "continue" resumes there another evening.

Faults are survived here rather than ended on: an error while handling one event is logged (never
with what was said) and the evening goes on; a speaker that fails reports "failed" and the prompts,
printed anyway, carry the session; a speaker that hangs (an utterance never reported finished within
a generous budget scaled to its length: utterances.py) is given up on with one notice, and prompts
are printed from then on.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from . import engine
from .clock import Clock
from .engine import Effect, Event, Heard, NotLive, SpeechFinished, State, Tick
from .errors import HearthError
from .exercises import Catalog
from .foresight import likely_lines
from .intents import IntentSet
from .speech.base import Speaker, SpeakerEvent
from .speech.printer import PrintSpeaker
from .store import Store
from .utterances import Utterances

log = logging.getLogger("hearth")

SAVE_RETRY_S = 5.0  # while a save fails (disk full), try again this often even if nothing changes
HUNG_VOICE = "the voice stopped answering (an utterance never finished)"
HUNG_VOICE_FIX = "restart hearth; if it happens again, choose the portable voice with --voice pyttsx3"


class Chimes(Protocol):
    def play(self, kind: engine.ChimeKind) -> None: ...


class SilentChimes:
    def __init__(self) -> None:
        self.played: list[str] = []

    def play(self, kind: engine.ChimeKind) -> None:
        self.played.append(kind)


class Input(Protocol):
    """Where a session's commands come from: typed lines, a microphone, a recording."""

    def begin(self, runtime: Runtime) -> None:
        """Open the input; return once it flows (a start prompt said before would go unheard)."""

    def step(self, runtime: Runtime) -> bool:
        """Wait briefly for input and turn what came into events; False once the input has ended."""

    def end(self, runtime: Runtime) -> None:
        """The input has ended: hand over what it still holds (a recording's last segment)."""

    def close(self) -> None:
        """Release the device or file."""


@dataclass
class Runtime:
    intents: IntentSet
    catalog: Catalog
    store: Store
    speaker: Speaker
    chimes: Chimes
    clock: Clock
    out: TextIO
    state: State
    session_row: int | None = None
    speech_takes_no_time: bool = False  # on a fake clock each step waits until what was said has been spoken
    look_ahead: bool = True  # ask the speaker to render the likely next lines while this one plays
    pending: deque[Event] = field(default_factory=deque)
    speaking: Utterances = field(default_factory=Utterances)  # said, not yet reported finished (utterances.py)
    next_save_retry: float = 0.0
    own_utterance: int = 0  # the runtime's own lines (a lost microphone) count down from -1
    on_effect: list[Callable[[Effect], None]] = field(default_factory=list)
    on_finished: list[Callable[[int], None]] = field(default_factory=list)
    before_print: list[Callable[[], None]] = field(default_factory=list)

    @property
    def context(self) -> str:
        return engine.context(self.state)

    # ---- events in

    def dispatch(self, event: Event, quiet: bool = False) -> None:
        """Run an event (and any it causes) through the engine, executing effects in order.

        `quiet` drops what the engine would say or chime in answer: the runtime's own pause for a
        lost microphone says why itself, instead of "say keep going please" to a deaf room.
        """
        self.pending.append(event)
        said = False
        while self.pending:
            current = self.pending.popleft()
            try:
                self.state, effects = engine.step(self.state, current, self.clock.now())
                for effect in effects:
                    if quiet and isinstance(effect, (engine.Say, engine.Chime)):
                        continue
                    said = said or isinstance(effect, (engine.Say, engine.StartTimer))
                    self.execute(effect)
            except (HearthError, BrokenPipeError):
                raise  # a lost device or closed output ends the session with its message
            except Exception:
                log.exception("error while handling a %s event; carrying on", type(current).__name__)
        if said and self.look_ahead:
            self.prepare_likely_lines()

    def heard(self, intent: str, slots: dict[str, str | int] | None = None) -> None:
        self.dispatch(Heard(intent, slots or {}))
        self.poll_speaker()

    def not_live(self, intent: str) -> None:
        """A command that does not fit now ("next question" with nothing running): the engine says why."""
        self.dispatch(NotLive(intent))
        self.poll_speaker()

    def start(self, exercise: str, minutes: float | None = None) -> None:
        slots: dict[str, str | int] = {"exercise": exercise}
        if minutes:
            slots["minutes"] = int(minutes)
        self.heard("start", slots)

    def tick(self) -> None:
        self.poll_speaker()
        self.dispatch(Tick())
        self.poll_speaker()  # what the tick said may have finished already: start the next step now, not a tick late
        self.check_speech()
        if self.store.unsaved is not None and self.clock.now() >= self.next_save_retry:
            self.next_save_retry = self.clock.now() + SAVE_RETRY_S
            self.store.flush()
        self.settle()

    def run(self, source: Input, on_ready: Callable[[], None] = lambda: None) -> None:
        """Drive the engine from `source` until it ends (the end-of-input rule: module docstring).

        `on_ready` runs once the input flows (e.g. `hearth start X` starts the exercise then).
        """
        source.begin(self)
        try:
            if self.look_ahead:
                self.prepare_likely_lines()  # the evening's first words (every welcome starts alike)
            on_ready()
            self.settle()
            while source.step(self):
                self.tick()
            source.end(self)
            self.finish_speech()
        finally:
            source.close()

    # ---- speech: finished, failed or hung

    def poll_speaker(self) -> None:
        """Feed finished (or failed: the engine must move on either way) speech back into the engine."""
        while True:
            try:
                event = self.speaker.events().get_nowait()
            except queue.Empty:
                return
            self._speech_ended(event)

    def _speech_ended(self, event: SpeakerEvent) -> None:
        if not self.speaking.ended(event.utterance_id):
            return  # not ours (anymore): an utterance given up on, answered late
        for listener in self.on_finished:
            listener(event.utterance_id)
        if event.utterance_id > 0:
            self.dispatch(SpeechFinished(event.utterance_id))

    def settle(self) -> None:
        if self.speech_takes_no_time:
            self.finish_speech()

    def finish_speech(self) -> None:
        """Wait until everything said so far (and what it leads to) has been spoken, or given up on.

        On a fake clock speech takes no time, so text mode settles here before the next line; at
        the end of input it lets the last words finish (and, with --tts-to, be written).
        """
        while self.speaking:
            wait = self.speaking.left_s()
            if wait <= 0:
                self._give_up_on_speech()  # printed from now on: what it leads to settles at once
                continue
            try:
                event = self.speaker.events().get(timeout=min(wait, 1.0))
            except queue.Empty:
                continue
            self._speech_ended(event)

    def check_speech(self) -> None:
        if self.speaking and self.speaking.left_s() <= 0:
            self._give_up_on_speech()

    def _give_up_on_speech(self) -> None:
        """A hung voice: say so once, print the prompts from now on, and let the engine move on."""
        self.notice(HUNG_VOICE, "the prompts are printed instead", HUNG_VOICE_FIX)
        hung, self.speaker = self.speaker, PrintSpeaker()
        threading.Thread(target=_let_go, args=(hung,), name="hearth-hung-voice", daemon=True).start()
        for utterance in self.speaking.ids():
            self._speech_ended(SpeakerEvent("failed", utterance, True, HUNG_VOICE))

    def prepare_likely_lines(self) -> None:
        """While this line plays, the speaker renders what the engine will probably say next."""
        try:
            for text in likely_lines(self.state, self.clock.now()):
                self.speaker.prepare(text)
        except Exception:  # noqa: BLE001 - a guess that fails costs only its head start
            log.exception("error while looking ahead; carrying on")

    # ---- effects out

    def execute(self, effect: Effect) -> None:
        for listener in self.on_effect:
            listener(effect)
        if isinstance(effect, engine.Say):
            self.print(f"hearth: {effect.text}")
            self.speaking.said(effect.utterance, effect.text)
            self.speaker.say(effect.text, effect.utterance, soft=effect.soft)
        elif isinstance(effect, engine.StopSpeaking):
            self.speaker.stop()
        elif isinstance(effect, engine.Chime):
            self.print(f"[chime: {effect.kind.replace('_', ' ')}]")
            self.chimes.play(effect.kind)
        elif isinstance(effect, engine.SaveProgress):
            self.store.save_progress(effect.key, effect.value)
        elif isinstance(effect, engine.SessionStarted):
            self.session_row = self.store.start_session(effect.exercise, self.clock.wall())
        elif isinstance(effect, engine.SessionEnded):
            if self.session_row is not None:
                self.store.end_session(self.session_row, self.clock.wall(), effect.completed)
            self.session_row = None
        elif isinstance(effect, (engine.StartTimer, engine.PauseTimer, engine.ExtendTimer, engine.StopTimer)):
            self.print(_timer_line(effect))
        elif isinstance(effect, engine.Unhandled):
            log.info("no exercise handles the intent %s", effect.intent)

    def announce(self, text: str) -> None:
        """A line of the runtime's own (not the engine's), printed and spoken: a lost microphone."""
        self.own_utterance -= 1
        self.execute(engine.Say(text, self.own_utterance))

    def pause_quietly(self) -> bool:
        """The engine's own pause (its timers stop), without its words; False when nothing runs or
        it is paused (or asking whether to stop) already, so there is nothing to resume later."""
        session = self.state.session
        if session is None or session.paused or session.confirming:
            return False
        self.dispatch(Heard("pause"), quiet=True)
        return True

    def notice(self, message: str, fallback: str, fix: str) -> None:
        """One line: what is wrong, what hearth does instead, and the fix (as the speakers word it)."""
        self.print(f"hearth: {message}; {fallback}" + (f" (fix: {fix})" if fix else ""))

    def print(self, text: str) -> None:
        for hook in self.before_print:
            hook()
        print(text, file=self.out, flush=True)

    def close(self) -> None:
        """Leaving mid-exercise: the session is recorded as not completed; progress is already saved."""
        if self.state.session is not None and self.session_row is not None:
            self.store.end_session(self.session_row, self.clock.wall(), completed=False)
            self.session_row = None
        self.speaker.close()
        self.store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _let_go(speaker: Speaker) -> None:
    """Stop and close a hung speaker off the session's thread: either may block on the hung engine."""
    try:
        speaker.stop()
        speaker.close()
    except Exception:  # noqa: BLE001 - nothing more can be done for it
        log.debug("the hung speaker did not close cleanly", exc_info=True)


def _clock_face(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def _timer_line(effect: engine.StartTimer | engine.PauseTimer | engine.ExtendTimer | engine.StopTimer) -> str:
    """What a timer effect shows on the terminal (the timers themselves live in the engine's state)."""
    if isinstance(effect, engine.StartTimer):
        return f"[timer: {_clock_face(effect.left_s)} of {_clock_face(effect.total_s)}]"
    if isinstance(effect, engine.PauseTimer):
        return f"[timer paused at {_clock_face(effect.left_s)}]"
    if isinstance(effect, engine.ExtendTimer):
        return f"[timer: +{_clock_face(effect.by_s)}]"
    return "[timer stopped]"
