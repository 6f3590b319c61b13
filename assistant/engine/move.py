"""The working copy of one `step` call: the state so far, the effects so far, and walking the plan.

Actions (actions.py) are plain functions of a `Move`; the transition table (table.py) decides which
one runs. A `Move` never outlives its call, so the engine stays pure.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..exercises import Exercise
from ..intents import number_words
from ..lines import Lines
from ..phrasebook import Phrasebook
from .events import Chime, Effect, Say, SaveProgress, SessionEnded, StartTimer, StopSpeaking, StopTimer
from .state import Mode, Session, State, Timer, context_of, mode


class Move:
    def __init__(self, state: State, now: float) -> None:
        self.state = state
        self.now = now
        self.effects: list[Effect] = []

    # ---- reading

    @property
    def session(self) -> Session:
        assert self.state.session is not None
        return self.state.session

    @property
    def exercise(self) -> Exercise:
        return self.state.catalog.exercises[self.session.exercise]

    @property
    def lines(self) -> Lines:
        assert self.state.catalog.lines is not None, "a catalog from load_catalog() carries its lines"
        return self.state.catalog.lines

    @property
    def phrases(self) -> Phrasebook:
        return self.state.catalog.phrases

    @property
    def mode(self) -> Mode:
        return mode(self.state)

    @property
    def context(self) -> str:
        return context_of(self.mode)

    # ---- changing

    def set(self, **changes: Any) -> None:
        """Change fields of the running session."""
        self.state = replace(self.state, session=replace(self.session, **changes))

    def update(self, **changes: Any) -> None:
        """Change fields of the whole state."""
        self.state = replace(self.state, **changes)

    def say(self, text: str, advance: bool = False, soft: bool = False) -> None:
        utterance = self.state.next_utterance
        self.update(next_utterance=utterance + 1)
        self.effects.append(Say(text, utterance, soft))
        if advance:
            self.set(advance_on=utterance)

    def fill(self, template: str, **values: str) -> str:
        """A line's or topic's words with the wake name, the crisis line and `values` put in."""
        crisis = self.state.settings.crisis_line or self.lines["default_crisis_line"]
        return template.format(wake=self.phrases.wake, crisis_line=crisis, **values)

    def line(self, name: str, soft: bool = False, **values: str) -> None:
        self.say(self.fill(self.lines[name], **values), soft=soft)

    def save(self, key: str, value: int) -> None:
        if self.state.progress.get(key) != value:
            self.update(progress={**self.state.progress, key: value})
            self.effects.append(SaveProgress(key, value))

    def silence(self) -> None:
        """Stop whatever is sounding or counting before moving somewhere else in the plan."""
        session = self.session
        if session.advance_on is not None or session.phase == "speaking":
            self.effects.append(StopSpeaking())
        if session.timer is not None:
            self.effects.append(StopTimer())
        self.set(timer=None, paused=False, confirming=False, advance_on=None)

    # ---- walking the plan

    def enter(self, index: int) -> None:
        """Go to a step of the plan and start saying it (or finish, past the last one)."""
        session = self.session
        if index >= len(session.plan):
            self.finish()
            return
        step = session.plan[index]
        self.set(index=index, phase="speaking", timer=None, reprompts=0, reprompt_at=None, paused=False)
        if step.section != session.section:
            self.set(section=step.section, section_since=self.now, section_noted=False)
        exercise = self.exercise
        sequence = exercise.sequence_pool
        if step.position is not None and sequence is not None and exercise.resumable:
            self.save(exercise.pool_key(sequence.name), step.position)
            seat = self.state.settings.partners.index(step.partner) if step.partner in self.state.settings.partners else 0
            self.save(exercise.pending_key(sequence.name), 0 if step.turn_in_item == 0 else seat + 1)
        if step.note and step.kind != "say" and not self.session.section_noted and self.now - self.session.section_since >= step.note_after_s:
            self.set(section_noted=True)
            self.say(step.note)
        self.say(step.text, advance=True)

    def speech_finished(self, utterance: int) -> None:
        """The step's words are out: go on, wait for an answer, or start the turn's timer."""
        if self.session.advance_on != utterance:
            return  # a stale or unrelated utterance: nothing changes
        self.set(advance_on=None)
        current = self.session.current
        if current.kind == "say":
            self.enter(self.session.index + 1)
        elif current.kind == "prompt":
            self.set(phase="waiting", reprompt_at=self.now + self.state.settings.first_reprompt_s)
        else:
            self.effects += [Chime("turn_start"), StartTimer(current.seconds, current.seconds)]
            self.set(phase="timing", timer=Timer(current.seconds, self.now + current.seconds, current.seconds))

    def move_to(self, index: int) -> None:
        was_timing = self.session.phase == "timing"
        self.silence()
        if was_timing:
            self.effects.append(Chime("turn_end"))
        self.enter(index)

    def saved_place(self, exercise: Exercise) -> tuple[int, int]:
        """(item position, 1 + seat of the partner still to answer it, or 0) of a resumable exercise."""
        sequence = exercise.sequence_pool
        if not exercise.resumable or sequence is None:
            return 0, 0
        progress = self.state.progress
        return progress.get(exercise.pool_key(sequence.name), 0), progress.get(exercise.pending_key(sequence.name), 0)

    def finish(self) -> None:
        exercise = self.exercise
        sequence = exercise.sequence_pool
        if exercise.resumable and sequence is not None:
            self.save(exercise.pool_key(sequence.name), 0)  # all done: next time starts afresh
            self.save(exercise.pending_key(sequence.name), 0)
        self.effects.append(SessionEnded(exercise.id, completed=True))
        self.update(session=None)
        self.offer_support(exercise, "finished")

    def end_early(self) -> None:
        exercise = self.exercise
        position, pending = self.saved_place(exercise)
        self.silence()
        if exercise.resumable and (position > 0 or pending > 0):
            total = len(exercise.sequence_pool.items) if exercise.sequence_pool else 0
            self.line("stopped_saved", number=number_words(position + 1), total=number_words(total))
        else:
            self.line("stopped")
        self.effects.append(SessionEnded(exercise.id, completed=False))
        self.update(session=None)
        self.offer_support(exercise, "stopped")

    def offer_support(self, exercise: Exercise, occasion: str) -> None:
        """After a tender exercise, once an evening: where to turn if something heavy came up."""
        if occasion in exercise.offer_support and not self.state.support_offered:
            self.update(support_offered=True)
            self.line("support_offer")
