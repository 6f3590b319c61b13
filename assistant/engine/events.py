"""What goes into the engine (events) and what comes out (effects). Plain frozen data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Union

# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Heard:
    """A command the matcher recognized, live in the current context."""

    intent: str
    slots: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class NotLive:
    """A command was recognized, but it is not one of the commands live in this context
    (e.g. "go back" during a timed turn). The couple hears that, and what they can say now."""

    intent: str


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


Event = Union[Heard, NotLive, Tick, SpeechFinished, VoiceActivity]

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
