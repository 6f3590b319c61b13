"""The exercise engine: a pure state machine, `step(state, event, now) -> (state, effects)`.

No threads, no clock, no I/O: time arrives as `now` (monotonic seconds) with every event, deadlines
live in the state, and everything the outside world must do comes back as effects (say this, play
that chime, save this position). The runtime in app.py executes effects and feeds events; tests
drive the engine with a fake clock. This is what lets a whole evening be tested in milliseconds.

- events.py  what comes in (Heard, NotLive, Tick, ...) and goes out (Say, Chime, ...)
- state.py   the frozen state and the modes that are the table's columns
- table.py   the transition table and `step`
- actions.py what each command and event does
- move.py    the working copy of one step, and walking the plan
"""

from .events import (
    Chime,
    ChimeKind,
    Effect,
    Event,
    ExtendTimer,
    Heard,
    NotLive,
    PauseTimer,
    Say,
    SaveProgress,
    SessionEnded,
    SessionStarted,
    SpeechFinished,
    StartTimer,
    StopSpeaking,
    StopTimer,
    Tick,
    Unhandled,
    VoiceActivity,
)
from .state import MODES, NEXT_FIRST, Listing, Mode, Session, Settings, State, Timer, context, mode
from .table import COMMANDS, EVENTS, offered, step

__all__ = [
    "COMMANDS", "EVENTS", "MODES", "NEXT_FIRST", "Chime", "ChimeKind", "Effect", "Event", "ExtendTimer", "Heard", "Listing",
    "Mode", "NotLive", "PauseTimer", "Say", "SaveProgress", "SessionEnded", "SessionStarted", "Session", "Settings",
    "SpeechFinished", "StartTimer", "State", "StopSpeaking", "StopTimer", "Tick", "Timer", "Unhandled", "VoiceActivity",
    "context", "mode", "offered", "step",
]
