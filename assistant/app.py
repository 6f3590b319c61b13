"""The imperative shell: feeds events into the pure engine and carries out its effects.

`build_app()` wires real or fake parts (speaker, chimes, store, clock); `App` owns the one copy of
the engine state. Input arrives as typed lines (text mode) or as recognized speech (voice mode, in
session.py); both go through the same matcher and the same `App.dispatch`. An error while
handling one input is logged (without what was said) and the evening goes on.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, TextIO

from . import engine
from .engine import Effect, Event, Heard, SpeechFinished, State, Tick
from .errors import HearthError
from .exercises import Catalog, load_catalog
from .intents import IntentSet, load_intents
from .store import Store
from .speech.base import Speaker, SpeakerEvent
from .speech.printer import PrintSpeaker

log = logging.getLogger("hearth")

MAX_WAIT_S = 24 * 3600.0  # `:wait` in a text script: a day at most (inf would never end)
SAVE_RETRY_S = 5.0  # while a save fails (disk full), try again this often even if nothing changes

# ---------------------------------------------------------------- boundaries


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds: what deadlines are measured in."""

    def wall(self) -> datetime:
        """Local date and time, for history and rotation."""

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class FakeClock:
    """Time that only moves when told to: whole evenings in milliseconds, in tests and `--fake-clock`."""

    t: float = 0.0
    start: datetime = field(default_factory=lambda: datetime(2026, 1, 1, 19, 0))

    def now(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class Chimes(Protocol):
    def play(self, kind: engine.ChimeKind) -> None: ...


class SilentChimes:
    def __init__(self) -> None:
        self.played: list[str] = []

    def play(self, kind: engine.ChimeKind) -> None:
        self.played.append(kind)


# ---------------------------------------------------------------- settings


DEFAULT_NAMES = ("Partner one", "Partner two")


def partner_names(store: Store, override: tuple[str, str] | None = None) -> tuple[str, str]:
    if override:
        return override
    saved = store.settings()
    return (saved.get("partner_a", DEFAULT_NAMES[0]), saved.get("partner_b", DEFAULT_NAMES[1]))


def help_texts(intents: IntentSet) -> dict[str, str]:
    """What "what can I say" answers in each context, from the intents' own help phrases."""
    texts: dict[str, str] = {}
    for context in ("idle", "prompt", "turn"):
        phrases = [intent.help for intent in intents.live(context) if intent.name not in ("yes", "no", "help")]
        listing = ", ".join(phrases[:-1]) + (", or " + phrases[-1] if len(phrases) > 1 else "".join(phrases))
        if context == "turn":
            texts[context] = f"While a timer runs, start with {intents.wake_name}, then say: {listing}."
        elif context == "idle":
            texts[context] = f"You can say: {listing}. Begin with {intents.wake_name} for anything but starting."
        else:
            texts[context] = f"You can say: {listing}."
    return texts


# ---------------------------------------------------------------- the app


@dataclass
class App:
    intents: IntentSet
    catalog: Catalog
    store: Store
    speaker: Speaker
    chimes: Chimes
    clock: Clock
    out: TextIO
    state: State
    session_row: int | None = None
    pending: deque[Event] = field(default_factory=deque)
    unfinished: set[int] = field(default_factory=set)  # utterances said and not yet reported finished
    next_save_retry: float = 0.0
    on_effect: list[Callable[[Effect], None]] = field(default_factory=list)
    on_finished: list[Callable[[int], None]] = field(default_factory=list)
    before_print: list[Callable[[], None]] = field(default_factory=list)

    @property
    def context(self) -> str:
        return engine.context(self.state)

    def dispatch(self, event: Event) -> None:
        """Run an event (and any it causes) through the engine, executing effects in order."""
        self.pending.append(event)
        while self.pending:
            current = self.pending.popleft()
            try:
                self.state, effects = engine.step(self.state, current, self.clock.now())
                for effect in effects:
                    self.execute(effect)
            except (HearthError, BrokenPipeError):
                raise  # a lost device or closed output ends the session with its message
            except Exception:
                log.exception("error while handling a %s event; carrying on", type(current).__name__)

    def poll_speaker(self) -> None:
        """Feed finished (or failed: the engine must move on either way) speech back into the engine."""
        events = self.speaker.events()
        while True:
            try:
                event = events.get_nowait()
            except queue.Empty:
                return
            self._speech_ended(event)

    def _speech_ended(self, event: SpeakerEvent) -> None:
        self.unfinished.discard(event.utterance_id)
        for listener in self.on_finished:
            listener(event.utterance_id)
        self.dispatch(SpeechFinished(event.utterance_id))

    def finish_speech(self, timeout_s: float = 60.0) -> None:
        """Wait until everything said so far (and what it leads to) has been spoken.

        On a fake clock speech takes no time, so text mode settles here before the next line; at
        the end of input it lets the last words finish (and, with --tts-to, be written). A speaker
        silent for `timeout_s` is given up on: closing must not hang.
        """
        events = self.speaker.events()
        while self.unfinished:
            try:
                event = events.get(timeout=timeout_s)
            except queue.Empty:
                log.warning("the speaker did not finish %d utterance(s); going on", len(self.unfinished))
                self.unfinished.clear()
                return
            self._speech_ended(event)

    def tick(self) -> None:
        self.poll_speaker()
        self.dispatch(Tick())
        self.poll_speaker()  # what the tick said may have finished already: start the next step now, not a tick late
        if self.store.unsaved is not None and self.clock.now() >= self.next_save_retry:
            self.next_save_retry = self.clock.now() + SAVE_RETRY_S
            self.store.flush()

    def typed(self, line: str) -> None:
        """Text mode: one typed command. Typing is always addressed, so no wake name is needed."""
        match = self.intents.match(line, self.context)
        if match is None and self.context == "idle":
            match = self.intents.match(line, "any")  # e.g. "next question" typed with nothing running
        if match is None:
            self.print("(not understood here: say 'what can I say' for the commands)")
            return
        self.dispatch(Heard(match.intent, match.slots))
        self.poll_speaker()

    def start(self, exercise: str, minutes: float | None = None) -> None:
        slots: dict[str, str | int] = {"exercise": exercise}
        if minutes:
            slots["minutes"] = int(minutes)
        self.dispatch(Heard("start", slots))
        self.poll_speaker()

    # ---- effects

    def execute(self, effect: Effect) -> None:
        for listener in self.on_effect:
            listener(effect)
        if isinstance(effect, engine.Say):
            self.print(f"hearth: {effect.text}")
            self.unfinished.add(effect.utterance)
            self.speaker.say(effect.text, effect.utterance, soft=effect.soft)
        elif isinstance(effect, engine.StopSpeaking):
            self.speaker.stop()
        elif isinstance(effect, engine.Chime):
            self.print(f"[chime: {effect.kind.replace('_', ' ')}]")
            self.chimes.play(effect.kind)
        elif isinstance(effect, engine.StartTimer):
            self.print(f"[timer: {_clock_face(effect.left_s)} of {_clock_face(effect.total_s)}]")
        elif isinstance(effect, engine.PauseTimer):
            self.print(f"[timer paused at {_clock_face(effect.left_s)}]")
        elif isinstance(effect, engine.ExtendTimer):
            self.print(f"[timer: +{_clock_face(effect.by_s)}]")
        elif isinstance(effect, engine.StopTimer):
            self.print("[timer stopped]")
        elif isinstance(effect, engine.SaveProgress):
            self.store.save_progress(effect.key, effect.value)
        elif isinstance(effect, engine.SessionStarted):
            self.session_row = self.store.start_session(effect.exercise, self.clock.wall())
        elif isinstance(effect, engine.SessionEnded):
            if self.session_row is not None:
                self.store.end_session(self.session_row, self.clock.wall(), effect.completed)
            self.session_row = None
        elif isinstance(effect, engine.Unhandled):
            log.info("no exercise handles the intent %s", effect.intent)

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


def _clock_face(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def build_app(
    data_dir: Path,
    *,
    store: Store | None = None,
    intent_paths: Iterable[Path] = (),
    exercise_paths: Iterable[Path] = (),
    speaker: Speaker | None = None,
    chimes: Chimes | None = None,
    clock: Clock | None = None,
    out: TextIO | None = None,
    names: tuple[str, str] | None = None,
    wake_name: str | None = None,
    reprompt_s: tuple[float, float] | None = None,
) -> App:
    """Wire an App from real or fake parts; content errors surface here, at start-up.

    `store` is the caller's (an in-memory `Store.scratch` for a rehearsal); by default the real,
    locked store in `data_dir`.
    """
    intents = load_intents(list(intent_paths) or None, wake_name)
    catalog = load_catalog(exercise_paths)
    store = store or Store(data_dir)
    settings = engine.Settings(partners=partner_names(store, names), help_by_context=help_texts(intents), wake_name=intents.wake_name)
    if reprompt_s:
        settings = replace(settings, first_reprompt_s=reprompt_s[0], second_reprompt_s=reprompt_s[1])
    state = engine.State(catalog=catalog, settings=settings, progress=store.progress())
    app = App(
        intents=intents,
        catalog=catalog,
        store=store,
        speaker=speaker or PrintSpeaker(),
        chimes=chimes or SilentChimes(),
        clock=clock or RealClock(),
        out=out or sys.stdout,
        state=state,
    )
    store.notify = lambda message: app.print(f"hearth: {message}")
    return app


# ---------------------------------------------------------------- text mode


def run_text(app: App, lines: Iterable[str], tick_s: float = 0.2) -> None:
    """Text mode: typed commands drive the engine; timers tick in between.

    A line `:wait SECONDS` lets time pass (instantly on a fake clock) so a script can run a timed
    exercise end to end. On a fake clock speech takes no time: each line waits until what was said
    before it has been spoken. End of input ends the evening: what is being said is finished, and
    the caller's `app.close()` then records a running session as stopped (its place is saved).
    """
    source: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(lines, source), daemon=True)
    reader.start()
    settle = app.finish_speech if isinstance(app.clock, FakeClock) else _nothing
    settle()
    while True:
        try:
            line = source.get(timeout=tick_s)  # returns at once when a line is ready; never a busy loop
        except queue.Empty:
            app.tick()
            continue
        if line is None:
            break
        _text_line(app, line.strip(), tick_s, settle)
        app.tick()
        settle()
    app.finish_speech()


def _nothing() -> None:
    pass


def _read_lines(lines: Iterable[str], sink: queue.Queue[str | None]) -> None:
    for line in lines:
        sink.put(line)
    sink.put(None)


def _text_line(app: App, line: str, tick_s: float, settle: Callable[[], None]) -> None:
    if not line or line.startswith("#"):
        return
    if line.startswith(":wait"):
        try:
            seconds = float(line.split()[1]) if len(line.split()) > 1 else 1.0
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= MAX_WAIT_S:
            app.print(f"(':wait' takes a number of seconds from 0 to {MAX_WAIT_S:.0f}, like ':wait 120')")
            return
        end = app.clock.now() + seconds
        while app.clock.now() < end:
            app.clock.sleep(min(1.0, end - app.clock.now()) if isinstance(app.clock, FakeClock) else tick_s)
            app.tick()
            settle()
        return
    app.print(f"> {line}")
    app.typed(line)
