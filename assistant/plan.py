"""Unrolling an exercise into the flat plan a session walks.

`compile_plan` turns an exercise plus this evening's facts (names, who goes first, which pool items
are next, whether the couple has done it before, where they stopped last time) into a list of
steps; loops are unrolled here so the engine only needs an index. Durations are spoken from the
turns' own `minutes:`: `{minutes}` in a text outside a turn is the length of the next timed turn.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from .errors import ContentError
from .exercises import EachItem, EachPartner, Exercise, PickStep, PoolItem, PromptStep, SayStep, Step, TurnStep, Variant
from .intents import number_words


@dataclass(frozen=True)
class PlanStep:
    """One thing the engine does: say and go on, ask and wait, or time a turn."""

    kind: Literal["say", "prompt", "turn"]
    text: str
    group: int  # "skip" jumps to the first step of the next group
    seconds: float = 0.0
    minute_left_cue: bool = False
    partner: str = ""  # whose turn it is, for the status line
    item_number: int = 0  # 1-based position in the pool, 0 outside each_item
    item_total: int = 0
    section: int = 0
    position: int | None = None  # for resumable pools: entering this step saves "resume here"
    turn_in_item: int = 0  # 0: the first partner to answer this item, 1: the second
    item: str = ""  # the pool item this step reads out, if any
    note: str = ""  # a gentle note, said once before a step when the section has run `note_after_s`
    note_after_s: float = 0.0


@dataclass(frozen=True)
class PlanRequest:
    exercise: Exercise
    partners: tuple[str, str]  # in this session's order: partners[0] goes first
    cursors: Mapping[str, int]  # saved pool positions
    start_at: int = 0  # resume position for the sequence pool
    minutes: float | None = None  # override for adjustable turns
    wake: str = "hearth"  # the wake name, for prompts that say how to address hearth
    first_time: bool = True  # the full introduction, or the one-sentence one
    resuming: bool = False  # another evening: `resume_say` instead of the introduction
    pending: bool = False  # partners[0] still has to answer the item at start_at; partners[1] has


def spoken_minutes(minutes: float) -> str:
    """2 -> 'two minutes', 1 -> 'one minute', 0.5 -> 'thirty seconds'."""
    if minutes < 1:
        return f"{number_words(round(minutes * 60))} seconds"
    whole = round(minutes)
    return f"{number_words(whole)} minute" + ("" if whole == 1 else "s")


def compile_plan(request: PlanRequest) -> tuple[tuple[PlanStep, ...], dict[str, int]]:
    """Unroll an exercise into steps; returns the steps and the pool cursors after this session's draws."""
    builder = _PlanBuilder(request)
    values = {"first": request.partners[0], "second": request.partners[1], "wake": request.wake}
    exercise = request.exercise
    if request.resuming and exercise.resume_say:
        total = len(exercise.sequence_pool.items) if exercise.sequence_pool else 0
        builder.run([SayStep(exercise.resume_say, exercise.where)], {**values, "number": number_words(request.start_at + 1), "total": number_words(total)})
    elif request.first_time:
        builder.run([SayStep(text, exercise.where) for text in exercise.intro_first_time], values)
    elif exercise.intro_returning:
        builder.run([SayStep(exercise.intro_returning, exercise.where)], values)
    builder.run(exercise.steps, values)
    return builder.finish(), builder.cursors


def check_compiles(exercise: Exercise) -> Exercise:
    """Load-time check: every way of running the exercise formats (e.g. `{minutes}` has a turn after it)."""
    for first_time in (True, False):
        compile_plan(PlanRequest(exercise, ("A", "B"), {}, first_time=first_time))
    if exercise.resumable:
        compile_plan(PlanRequest(exercise, ("A", "B"), {}, start_at=1, resuming=True, pending=True))
    turns = [step for step in _walk(exercise.steps) if isinstance(step, TurnStep)]
    if "{minutes}" in exercise.summary:
        if not turns:
            raise ContentError(f"{exercise.where}: the summary says {{minutes}} but the exercise has no timed turn")
        exercise = replace(exercise, summary=exercise.summary.format(minutes=spoken_minutes(turns[0].minutes)))
    return exercise


def _walk(steps: Sequence[Step]) -> list[Step]:
    found: list[Step] = []
    for step in steps:
        found.append(step)
        if isinstance(step, (EachPartner, EachItem)):
            found.extend(_walk(step.steps))
    return found


class _PlanBuilder:
    def __init__(self, request: PlanRequest) -> None:
        self.request = request
        self.exercise = request.exercise
        self.cursors = dict(request.cursors)
        self.plan: list[PlanStep] = []
        self.group = 0
        self.labels: dict[str, Any] = {}
        self.deferred: list[tuple[int, str, dict[str, str], str]] = []  # texts waiting for the next turn's {minutes}

    def run(self, steps: Sequence[Step], values: dict[str, str], variant: Variant = "say", item: PoolItem | None = None) -> None:
        for step in steps:
            if isinstance(step, PickStep):
                picked = self._draw(step.pool, 1)[0][1]
                values = {**values, "item": picked.text}
                item = picked
            elif isinstance(step, EachPartner):
                self._each_partner(step, values, self.request.partners, item)
            elif isinstance(step, EachItem):
                self._each_item(step, values)
            else:
                self._emit(step, values, variant, item)
                if not self.labels:
                    self.group += 1

    def _each_partner(self, step: EachPartner, values: dict[str, str], order: tuple[str, str], item: PoolItem | None,
                      only: Variant | None = None) -> None:
        """Once per partner; a joint item or a resumed answer is one step for the partner named first."""
        pairs = [(order[0], order[1]), (order[1], order[0])]
        if only is not None:
            pairs = pairs[:1]
        for turn_in_item, (partner, listener) in enumerate(pairs):
            if only == "resumed":
                turn_in_item = 1  # the other partner answered this item on an earlier evening
            self.labels = {**self.labels, "partner": partner, "turn_in_item": turn_in_item}
            variant: Variant = only or ("say" if turn_in_item == 0 else "then")
            self.run(step.steps, {**values, "partner": partner, "listener": listener}, variant, item)
            if "item_number" not in self.labels:
                self.group += 1
        self.labels = {k: v for k, v in self.labels.items() if k not in ("partner", "turn_in_item")}

    def _each_item(self, step: EachItem, values: dict[str, str]) -> None:
        pool = self.exercise.pools[step.pool]
        drawn = self._draw(step.pool, step.count)
        last_section = -1
        for turn, (index, item) in enumerate(drawn):
            if pool.sections and item.section != last_section:
                self._emit(SayStep(pool.sections[item.section]), values)
                last_section = item.section
            partners = self.request.partners
            # alternate by place in tonight's draw, not in the pool: a rotate pool that wraps
            # (16, 0) would otherwise give the same partner the first word twice in a row
            if step.alternate_first and turn % 2 == 1:
                partners = (partners[1], partners[0])
            self.labels = {"item_number": index + 1, "item_total": len(pool.items), "section": item.section + 1}
            if pool.order == "sequence":
                self.labels["position"] = index
            if pool.section_note is not None:
                self.labels |= {"note": pool.section_note.text, "note_after_s": pool.section_note.after_minutes * 60}
            only: Variant | None = "together" if item.together else None
            if turn == 0 and self.request.pending and pool.order == "sequence":
                only = "resumed"
            inner = {**values, "item": item.text, "number": str(index + 1), "total": str(len(pool.items))}
            for sub in step.steps:
                if isinstance(sub, EachPartner):
                    self._each_partner(sub, inner, partners, item, only)
                else:
                    self.run([sub], inner, only or "say", item)
            self.labels = {}
            self.group += 1

    def _draw(self, pool_name: str, count: int | None) -> list[tuple[int, PoolItem]]:
        """Take the next items of a pool: rotate pools wrap around; sequence pools start at the
        resume position and run to the end."""
        pool = self.exercise.pools[pool_name]
        key = self.exercise.pool_key(pool_name)
        if pool.order == "sequence":
            start = self.request.start_at
            end = len(pool.items) if count is None else min(len(pool.items), start + count)
            return [(i, pool.items[i]) for i in range(start, end)]
        cursor = self.cursors.get(key, 0)
        taken = len(pool.items) if count is None else count
        drawn = [((cursor + k) % len(pool.items), pool.items[(cursor + k) % len(pool.items)]) for k in range(taken)]
        self.cursors[key] = (cursor + taken) % len(pool.items)
        return drawn

    def _emit(self, step: Step, values: dict[str, str], variant: Variant = "say", item: PoolItem | None = None) -> None:
        if isinstance(step, TurnStep):
            minutes = self.request.minutes if step.adjustable and self.request.minutes else step.minutes
            text = step.wording.text(variant).format(**values, minutes=spoken_minutes(minutes))
            self._append("turn", text, item, seconds=minutes * 60, minute_left_cue=step.minute_left_cue)
        elif isinstance(step, PromptStep) and item is not None and item.minutes:
            text = step.wording.text(variant).format(**values, minutes=spoken_minutes(item.minutes))
            self._append("turn", text, item, seconds=item.minutes * 60, minute_left_cue=item.minute_left_cue)
        elif isinstance(step, (SayStep, PromptStep)):
            template = step.text if isinstance(step, SayStep) else step.wording.text(variant)
            at = step.at if isinstance(step, SayStep) else step.wording.at
            kind: Literal["say", "prompt"] = "say" if isinstance(step, SayStep) else "prompt"
            if "minutes" in {name for _, name, _, _ in string.Formatter().parse(template)}:
                self.deferred.append((len(self.plan), template, values, at))
                template = ""
            self._append(kind, template.format(**values), item if kind == "prompt" else None)

    def _append(self, kind: Literal["say", "prompt", "turn"], text: str, item: PoolItem | None, **extra: Any) -> None:
        self.plan.append(PlanStep(kind, text, self.group, item=item.text if item else "", **extra, **self.labels))

    def finish(self) -> tuple[PlanStep, ...]:
        """Fill in `{minutes}` from the next timed turn of the unrolled plan."""
        for index, template, values, at in self.deferred:
            turn = next((s for s in self.plan[index + 1 :] if s.kind == "turn"), None)
            if turn is None:
                raise ContentError(f"{at or self.exercise.source}: '{template}' says {{minutes}}, but no timed turn comes after it")
            self.plan[index] = replace(self.plan[index], text=template.format(**values, minutes=spoken_minutes(turn.seconds / 60)))
        return tuple(self.plan)
