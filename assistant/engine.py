"""The exercise engine: a pure state machine, `step(state, event, now) -> (state, effects)`.

No threads, no clock, no I/O: time arrives as `now` (monotonic seconds) with every event, deadlines
live in the state, and everything the outside world must do comes back as effects (say this, play
that chime, save this position). The runtime in app.py executes effects and feeds events; tests
drive the engine with a fake clock. This is what lets a whole evening be tested in milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, Union

from .exercises import Catalog, Exercise, PlanRequest, PlanStep, compile_plan
from .intents import number_words

# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Heard:
    """A command the matcher recognized."""

    intent: str
    slots: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class Tick:
    """Time passed; timers and silence deadlines are checked against `now`."""


@dataclass(frozen=True)
class SpeechFinished:
    """The speaker finished (or was cut off from) an utterance."""

    utterance: int


@dataclass(frozen=True)
class VoiceActivity:
    """Someone is talking: a silence re-prompt would interrupt them, so it waits."""


Event = Union[Heard, Tick, SpeechFinished, VoiceActivity]

# ---------------------------------------------------------------- effects


@dataclass(frozen=True)
class Say:
    text: str
    utterance: int
    soft: bool = False  # quieter cues spoken during a partner's turn


@dataclass(frozen=True)
class StopSpeaking:
    pass


ChimeKind = Literal["turn_start", "minute_left", "turn_end", "acknowledged", "not_understood"]


@dataclass(frozen=True)
class Chime:
    kind: ChimeKind


@dataclass(frozen=True)
class StartTimer:
    total_s: float
    left_s: float


@dataclass(frozen=True)
class PauseTimer:
    left_s: float


@dataclass(frozen=True)
class ExtendTimer:
    by_s: float


@dataclass(frozen=True)
class StopTimer:
    pass


@dataclass(frozen=True)
class SaveProgress:
    key: str
    value: int


@dataclass(frozen=True)
class SessionStarted:
    exercise: str


@dataclass(frozen=True)
class SessionEnded:
    exercise: str
    completed: bool


@dataclass(frozen=True)
class Unhandled:
    """An intent from a user's own intent pack that no exercise logic knows."""

    intent: str


Effect = Union[Say, StopSpeaking, Chime, StartTimer, PauseTimer, ExtendTimer, StopTimer, SaveProgress, SessionStarted, SessionEnded, Unhandled]

# ---------------------------------------------------------------- state

NEXT_FIRST = "next_first"  # progress key: which partner goes first next session (0 or 1)
MINUTE_CUE_MIN_TOTAL_S = 120.0  # a "one minute left" cue only makes sense in longer turns


@dataclass(frozen=True)
class Settings:
    partners: tuple[str, str] = ("Partner one", "Partner two")
    help_by_context: Mapping[str, str] = field(default_factory=dict)
    first_reprompt_s: float = 120.0
    second_reprompt_s: float = 180.0
    more_time_minutes: int = 1
    wake_name: str = "hearth"


@dataclass(frozen=True)
class Timer:
    total_s: float
    deadline: float | None  # None while paused
    left_when_paused: float
    cued: bool = False

    def left(self, now: float) -> float:
        return self.left_when_paused if self.deadline is None else max(0.0, self.deadline - now)


Phase = Literal["speaking", "waiting", "timing"]


@dataclass(frozen=True)
class Session:
    exercise: str
    plan: tuple[PlanStep, ...]
    index: int = 0
    phase: Phase = "speaking"
    timer: Timer | None = None
    paused: bool = False
    confirming: bool = False
    reprompts: int = 0
    reprompt_at: float | None = None
    advance_on: int | None = None  # the utterance whose end moves the plan on

    @property
    def current(self) -> PlanStep:
        return self.plan[self.index]


@dataclass(frozen=True)
class State:
    catalog: Catalog
    settings: Settings
    progress: Mapping[str, int] = field(default_factory=dict)
    session: Session | None = None
    next_utterance: int = 1


def context(state: State) -> str:
    """Which intents are live: idle (nothing running), turn (partners talk while a timer runs), or
    prompt (hearth asked something, is speaking, is paused, or waits for an answer)."""
    session = state.session
    if session is None:
        return "idle"
    if session.phase == "timing" and not session.paused and not session.confirming:
        return "turn"
    return "prompt"


# ---------------------------------------------------------------- the step function


def step(state: State, event: Event, now: float) -> tuple[State, list[Effect]]:
    """Apply one event. Pure: the same state, event and time always give the same result."""
    run = _Run(state, now)
    if isinstance(event, Heard):
        run.heard(event)
    elif isinstance(event, SpeechFinished):
        run.speech_finished(event.utterance)
    elif isinstance(event, Tick):
        run.tick()
    else:
        run.voice_activity()
    return run.state, run.effects


class _Run:
    """One call of `step`: accumulates the new state and the effects. Never outlives the call."""

    def __init__(self, state: State, now: float) -> None:
        self.state = state
        self.now = now
        self.effects: list[Effect] = []

    # ---- helpers

    @property
    def session(self) -> Session:
        assert self.state.session is not None
        return self.state.session

    @property
    def exercise(self) -> Exercise:
        return self.state.catalog.exercises[self.session.exercise]

    def set_session(self, **changes: object) -> None:
        self.state = replace(self.state, session=replace(self.session, **changes))  # type: ignore[arg-type]

    def say(self, text: str, advance: bool = False, soft: bool = False) -> None:
        utterance = self.state.next_utterance
        self.state = replace(self.state, next_utterance=utterance + 1)
        self.effects.append(Say(text, utterance, soft))
        if advance:
            self.set_session(advance_on=utterance)

    def save(self, key: str, value: int) -> None:
        if self.state.progress.get(key) != value:
            self.state = replace(self.state, progress={**self.state.progress, key: value})
            self.effects.append(SaveProgress(key, value))

    def silence(self) -> None:
        """Stop whatever is sounding or counting before moving somewhere else in the plan."""
        session = self.session
        if session.advance_on is not None or session.phase == "speaking":
            self.effects.append(StopSpeaking())
        if session.timer is not None:
            self.effects.append(StopTimer())
        self.set_session(timer=None, paused=False, confirming=False, advance_on=None)

    # ---- entering plan steps

    def enter(self, index: int) -> None:
        session = self.session
        if index >= len(session.plan):
            self.finish()
            return
        self.set_session(index=index, phase="speaking", timer=None, reprompts=0, reprompt_at=None, paused=False)
        current = self.session.current
        sequence = self.exercise.sequence_pool
        if current.position is not None and sequence is not None and self.exercise.resumable:
            self.save(self.exercise.pool_key(sequence.name), current.position)
        self.say(current.text, advance=True)

    def speech_finished(self, utterance: int) -> None:
        if self.state.session is None or self.session.advance_on != utterance:
            return
        self.set_session(advance_on=None)
        current = self.session.current
        if current.kind == "say":
            self.enter(self.session.index + 1)
        elif current.kind == "prompt":
            self.set_session(phase="waiting", reprompt_at=self.now + self.state.settings.first_reprompt_s)
        else:
            self.effects += [Chime("turn_start"), StartTimer(current.seconds, current.seconds)]
            self.set_session(phase="timing", timer=Timer(current.seconds, self.now + current.seconds, current.seconds))

    def finish(self) -> None:
        exercise = self.exercise
        sequence = exercise.sequence_pool
        if exercise.resumable and sequence is not None:
            self.save(exercise.pool_key(sequence.name), 0)  # all done: next time starts afresh
        self.effects.append(SessionEnded(exercise.id, completed=True))
        self.state = replace(self.state, session=None)

    # ---- time

    def tick(self) -> None:
        session = self.state.session
        if session is None or session.paused or session.confirming:
            return
        if session.phase == "timing" and session.timer is not None:
            self.tick_timer(session.timer)
        elif session.phase == "waiting" and session.reprompt_at is not None and self.now >= session.reprompt_at:
            self.reprompt()

    def tick_timer(self, timer: Timer) -> None:
        left = timer.left(self.now)
        if left <= 0:
            self.effects += [Chime("turn_end"), StopTimer()]
            self.enter(self.session.index + 1)
            return
        cue_due = self.session.current.minute_left_cue and timer.total_s >= MINUTE_CUE_MIN_TOTAL_S
        if cue_due and not timer.cued and left <= 60:
            self.set_session(timer=replace(timer, cued=True))
            self.effects.append(Chime("minute_left"))
            self.say(LINES["minute_left"], soft=True)

    def reprompt(self) -> None:
        count = self.session.reprompts + 1
        line = LINES["reprompt_first"] if count == 1 else LINES["reprompt_second"]
        follow_up = self.now + self.state.settings.second_reprompt_s if count == 1 else None
        self.set_session(reprompts=count, reprompt_at=follow_up)
        self.say(line, soft=True)

    def voice_activity(self) -> None:
        session = self.state.session
        if session is not None and session.phase == "waiting" and session.reprompt_at is not None:
            settings = self.state.settings
            delay = settings.first_reprompt_s if session.reprompts == 0 else settings.second_reprompt_s
            self.set_session(reprompt_at=max(session.reprompt_at, self.now + delay))

    # ---- commands

    def heard(self, event: Heard) -> None:
        handler = getattr(self, f"on_{event.intent}", None)
        if event.intent in ("help", "info", "list_exercises"):
            handler(event.slots)  # type: ignore[misc]
        elif self.state.session is None:
            self.idle_command(event)
        elif self.session.confirming:
            self.confirming_command(event)
        elif handler is not None and event.intent not in ("start", "continue"):
            handler(event.slots)
        else:
            self.effects.append(Unhandled(event.intent))

    def idle_command(self, event: Heard) -> None:
        if event.intent in ("start", "continue"):
            minutes = event.slots.get("minutes")
            self.start(str(event.slots.get("exercise", "")), event.intent == "continue", float(minutes) if minutes else None)
        elif event.intent in ("next", "repeat", "back", "skip", "pause", "resume", "more_time", "time_left", "done_turn", "stop", "yes", "no", "topic"):
            self.say(LINES["nothing_running"])
        else:
            self.effects.append(Unhandled(event.intent))

    def on_help(self, slots: Mapping[str, str | int]) -> None:
        self.say(self.state.settings.help_by_context.get(context(self.state), LINES["help_fallback"]))

    def on_info(self, slots: Mapping[str, str | int]) -> None:
        topic = self.state.catalog.info.get(str(slots.get("topic", "")))
        self.say(topic.text if topic else LINES["no_info"])

    def on_list_exercises(self, slots: Mapping[str, str | int]) -> None:
        exercises = list(self.state.catalog.exercises.values())
        parts = [f"{e.title}: {e.summary}" for e in exercises]
        self.say(f"There are {number_words(len(exercises))} exercises. " + " ".join(parts) + " " + LINES["how_to_start"])

    def start(self, exercise_id: str, continuing: bool, minutes: float | None) -> None:
        catalog = self.state.catalog
        if not exercise_id:
            exercise_id = next((e.id for e in catalog.exercises.values() if self.saved_position(e) > 0), "")
            if not exercise_id:
                self.say(LINES["nothing_to_continue"])
                return
        exercise = catalog.exercises.get(exercise_id)
        if exercise is None:
            self.say(LINES["unknown_exercise"])
            return
        position = self.saved_position(exercise)
        first = self.state.progress.get(NEXT_FIRST, 0) % 2
        partners = self.state.settings.partners
        order = partners if first == 0 else (partners[1], partners[0])
        pool_keys = {exercise.pool_key(name) for name in exercise.pools}
        cursors = {k: v for k, v in self.state.progress.items() if k in pool_keys}
        plan, new_cursors = compile_plan(PlanRequest(exercise, order, cursors, position, minutes, self.state.settings.wake_name))
        if position > 0 and exercise.resume_say:
            plan = _resume_plan(plan, exercise, position, order)
        self.effects.append(SessionStarted(exercise.id))
        self.state = replace(self.state, session=Session(exercise.id, plan))
        for key, value in new_cursors.items():
            self.save(key, value)
        self.save(NEXT_FIRST, 1 - first)
        if continuing and position == 0 and exercise.resumable:
            self.say(LINES["continue_from_start"])
        self.enter(0)

    def saved_position(self, exercise: Exercise) -> int:
        sequence = exercise.sequence_pool
        if not exercise.resumable or sequence is None:
            return 0
        return self.state.progress.get(exercise.pool_key(sequence.name), 0)

    def on_next(self, slots: Mapping[str, str | int]) -> None:
        self.move_to(self.session.index + 1)

    on_done_turn = on_next

    def on_skip(self, slots: Mapping[str, str | int]) -> None:
        plan, index = self.session.plan, self.session.index
        target = next((i for i in range(index + 1, len(plan)) if plan[i].group != plan[index].group), len(plan))
        self.move_to(target)

    def on_back(self, slots: Mapping[str, str | int]) -> None:
        plan, index = self.session.plan, self.session.index
        earlier = [i for i in range(index) if plan[i].kind != "say"]
        self.move_to(earlier[-1] if earlier else index)

    def move_to(self, index: int) -> None:
        was_timing = self.session.phase == "timing"
        self.silence()
        if was_timing:
            self.effects.append(Chime("turn_end"))
        self.enter(index)

    def on_repeat(self, slots: Mapping[str, str | int]) -> None:
        session = self.session
        if session.phase == "timing":
            self.say(session.current.text)  # the timer keeps running
        else:
            self.effects.append(StopSpeaking())
            self.set_session(advance_on=None)
            self.enter(session.index)

    def on_pause(self, slots: Mapping[str, str | int]) -> None:
        session = self.session
        if session.paused:
            self.say(LINES["already_paused"])
            return
        if session.advance_on is not None:
            self.effects.append(StopSpeaking())
        if session.timer is not None:
            left = session.timer.left(self.now)
            self.set_session(timer=replace(session.timer, deadline=None, left_when_paused=left))
            self.effects.append(PauseTimer(left))
        self.set_session(paused=True, advance_on=None, reprompt_at=None)
        self.effects.append(Chime("acknowledged"))
        self.say(LINES["paused"])

    def on_resume(self, slots: Mapping[str, str | int]) -> None:
        session = self.session
        if not session.paused:
            self.say(LINES["not_paused"])
            return
        self.set_session(paused=False)
        self.effects.append(Chime("acknowledged"))
        if session.phase == "timing" and session.timer is not None:
            self.resume_timer(session.timer)
            self.say(LINES["resumed"])
        elif session.phase == "waiting":
            self.set_session(reprompt_at=self.now + self.state.settings.first_reprompt_s)
            self.say(LINES["resumed"])
        else:
            self.enter(session.index)  # it was cut off mid-sentence: say it again

    def resume_timer(self, timer: Timer) -> None:
        left = timer.left_when_paused
        self.set_session(timer=replace(timer, deadline=self.now + left))
        self.effects.append(StartTimer(timer.total_s, left))

    def on_more_time(self, slots: Mapping[str, str | int]) -> None:
        timer = self.session.timer
        if timer is None:
            self.say(LINES["no_timer_more"])
            return
        added = int(slots.get("minutes", self.state.settings.more_time_minutes)) * 60.0
        if timer.deadline is None:
            longer = replace(timer, left_when_paused=timer.left_when_paused + added)
        else:
            longer = replace(timer, deadline=timer.deadline + added)
        cued = timer.cued and longer.left(self.now) <= 60
        self.set_session(timer=replace(longer, total_s=timer.total_s + added, cued=cued))
        self.effects.append(ExtendTimer(added))
        self.say(f"Okay, {spoken_duration(added)} more.", soft=True)

    def on_time_left(self, slots: Mapping[str, str | int]) -> None:
        timer = self.session.timer
        if timer is None:
            self.say(LINES["no_timer_left"])
            return
        self.say(time_left_words(timer.left(self.now)), soft=True)

    def on_stop(self, slots: Mapping[str, str | int]) -> None:
        if not self.exercise.confirm_stop:
            self.end_early()
            return
        session = self.session
        if session.advance_on is not None:
            self.effects.append(StopSpeaking())
        if session.timer is not None and not session.paused:
            left = session.timer.left(self.now)
            self.set_session(timer=replace(session.timer, deadline=None, left_when_paused=left))
            self.effects.append(PauseTimer(left))
        self.set_session(confirming=True, reprompt_at=None, advance_on=None)  # the cut-off words must not move the plan on
        self.say(LINES["confirm_stop"])

    def confirming_command(self, event: Heard) -> None:
        if event.intent in ("yes", "stop"):
            self.end_early()
        elif event.intent in ("no", "resume", "next"):
            self.cancel_stop()
        else:
            self.say(LINES["confirm_stop"])

    def cancel_stop(self) -> None:
        session = self.session
        self.set_session(confirming=False)
        if session.phase == "timing" and session.timer is not None and not session.paused:
            self.resume_timer(session.timer)
            self.say(LINES["keep_going"], soft=True)
        elif session.phase == "speaking":
            self.say(LINES["keep_going"])
            self.set_session(advance_on=None)
            self.enter(session.index)
        else:
            self.set_session(reprompt_at=self.now + self.state.settings.first_reprompt_s)
            self.say(LINES["keep_going"])

    def end_early(self) -> None:
        exercise = self.exercise
        position = self.saved_position(exercise)
        self.silence()
        if exercise.resumable and position > 0:
            total = len(exercise.sequence_pool.items) if exercise.sequence_pool else 0
            self.say(LINES["stopped_saved"].format(number=number_words(position + 1), total=number_words(total)))
        else:
            self.say(LINES["stopped"])
        self.effects.append(SessionEnded(exercise.id, completed=False))
        self.state = replace(self.state, session=None)

    def on_topic(self, slots: Mapping[str, str | int]) -> None:
        exercise = self.exercise
        if exercise.topic_pool is None:
            self.say(LINES["no_topics"])
            return
        pool = exercise.pools[exercise.topic_pool]
        key = exercise.pool_key(pool.name)
        cursor = self.state.progress.get(key, 0) % len(pool.items)
        self.save(key, (cursor + 1) % len(pool.items))
        self.say(pool.items[cursor].text, soft=self.session.phase == "timing")

    def on_yes(self, slots: Mapping[str, str | int]) -> None:
        self.say(LINES["not_asking"])

    on_no = on_yes


def _resume_plan(plan: tuple[PlanStep, ...], exercise: Exercise, position: int, order: tuple[str, str]) -> tuple[PlanStep, ...]:
    """Continuing another evening: replace the opening words with a welcome back, keep the rest
    (including the announcement of the set we are in)."""
    first_item = next(i for i, s in enumerate(plan) if s.position is not None)
    group = plan[first_item].group
    keep_from = next(i for i, s in enumerate(plan) if s.group == group)
    total = len(exercise.sequence_pool.items) if exercise.sequence_pool else 0
    welcome = exercise.resume_say.format(number=number_words(position + 1), total=number_words(total), first=order[0], second=order[1], wake="")
    return (replace(plan[keep_from], kind="say", text=welcome, position=None),) + plan[keep_from:]


def spoken_duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{number_words(int(seconds))} seconds"
    return "one minute" if minutes == 1 else f"{number_words(minutes)} minutes"


def time_left_words(left: float) -> str:
    """How a person would say it: 'About three minutes left.', 'Less than a minute left.'"""
    if left >= 90:
        return f"About {number_words(min(99, int(left / 60 + 0.5)))} minutes left."
    if left >= 55:
        return "About a minute left."
    if left >= 20:
        return "Less than a minute left."
    return "Just a few seconds left."


LINES = {
    "minute_left": "One minute left.",
    "reprompt_first": "Whenever you're ready, say ready for the next question. Or say repeat the question, to hear it again.",
    "reprompt_second": "Say ready for the next question, when you're ready.",
    "nothing_running": "No exercise is running right now. Say start, and an exercise, for example, start our daily check in.",
    "help_fallback": "Say start our daily check in to begin, or what exercises are there to hear them all.",
    "no_info": "I don't have anything on that yet.",
    "how_to_start": "To begin one, say start and its name, for example, start our daily check in.",
    "nothing_to_continue": "There's nothing to pick up yet. Say start, and an exercise, to begin one.",
    "unknown_exercise": "I don't know that exercise. Say what exercises are there, to hear the list.",
    "continue_from_start": "You haven't started this one yet, so let's begin at the start.",
    "already_paused": "We're already paused. Say keep going please, whenever you're ready.",
    "paused": "Paused. Say keep going please, whenever you're ready.",
    "not_paused": "We're not paused. Carry on.",
    "resumed": "Carrying on.",
    "no_timer_more": "There's no timer on this one. Take all the time you need.",
    "no_timer_left": "There's no timer running right now. Take your time.",
    "confirm_stop": "Do you want to stop here? Say yes, stop, or no, keep going.",
    "keep_going": "Okay, let's keep going.",
    "stopped": "Okay, we'll stop here. Thank you both.",
    "stopped_saved": "Okay, we'll stop here. Your place is saved. Next time, say pick up where we left off, and we'll start at question {number} of {total}.",
    "no_topics": "This exercise brings its own questions. Say repeat that, to hear the current one again.",
    "not_asking": "I wasn't asking anything just now.",
}
