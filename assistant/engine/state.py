"""The engine's state: frozen, so every step returns a new one and an old one can be compared."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..exercises import Catalog
from ..plan import PlanStep

NEXT_FIRST = "next_first"  # progress key: which partner goes first next session (0 or 1)
MINUTE_CUE_MIN_TOTAL_S = 120.0  # a "one minute left" cue only makes sense in longer turns


@dataclass(frozen=True)
class Settings:
    partners: tuple[str, str] = ("Partner one", "Partner two")
    first_reprompt_s: float = 120.0
    second_reprompt_s: float = 180.0
    more_time_minutes: int = 1
    crisis_line: str = ""  # `hearth setup --crisis-line`; empty: the default line's words


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
    section: int = 0  # the pool section (set) the current step belongs to
    section_since: float = 0.0  # when that section began, for its gentle note
    section_noted: bool = False

    @property
    def current(self) -> PlanStep:
        return self.plan[self.index]


@dataclass(frozen=True)
class Listing:
    """What "tell us more" continues: the rest of a list, and the line that reads a page of it."""

    items: tuple[str, ...]
    line: str  # "more_page" or "exercises_page"; "" for the pages of an explanation, said as they are
    conjunction: str = "or"


@dataclass(frozen=True)
class State:
    catalog: Catalog
    settings: Settings
    progress: Mapping[str, int] = field(default_factory=dict)
    session: Session | None = None
    next_utterance: int = 1
    listing: Listing | None = None
    support_offered: bool = False  # once an evening is enough


Mode = Literal["idle", "speaking", "waiting", "timing", "paused", "confirming"]
MODES: tuple[Mode, ...] = ("idle", "speaking", "waiting", "timing", "paused", "confirming")


def mode(state: State) -> Mode:
    """The columns of the transition table: nothing running, hearth reading a step, waiting for an
    answer, a turn timer running, paused, or asking whether to stop."""
    session = state.session
    if session is None:
        return "idle"
    if session.confirming:
        return "confirming"
    if session.paused:
        return "paused"
    return session.phase


def context(state: State) -> str:
    """Which intents are live: idle (nothing running), turn (partners talk while a timer runs),
    confirm (hearth asked whether to stop: yes and no are live) or prompt (hearth asked
    something, is speaking, is paused, or waits for an answer)."""
    return context_of(mode(state))


def context_of(current: Mode) -> str:
    return {"idle": "idle", "timing": "turn", "confirming": "confirm"}.get(current, "prompt")
