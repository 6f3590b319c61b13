"""What hearth will probably say next, asked of the engine itself.

The engine is pure, so the runtime can ask it "what would you say if ..." without changing
anything: if the line being spoken now ends, if the turn's timer runs out, if the couple says one of
the commands most often said at this point. The answers are hearth's own fixed lines (never anything
the couple said); the speaker renders the start of each ahead, into its in-memory cache, while the
current line plays, so the next one starts at once (issue 8: first audio within 300 ms).

Replies that depend on the moment ("about three minutes left") are not guessed: the text would
differ by the time it is said.
"""

from __future__ import annotations

from collections.abc import Iterator

from . import engine
from .engine import Event, Heard, SpeechFinished, State, Tick

MAX_LINES = 6
"""Lines guessed per look-ahead: each costs a render (about 0.15 CPU s on Piper) unless cached."""

MINUTE_CUE_S = 60.0
"""The engine's "one minute left" comes this long before a turn ends (in turns that have it)."""

LIKELY_COMMANDS: dict[str, tuple[tuple[str, dict[str, str | int]], ...]] = {
    "idle": (("start", {"exercise": "check_in"}), ("continue", {}), ("help", {})),  # every welcome starts alike
    "prompt": (("next", {}), ("pause", {}), ("stop", {}), ("help", {})),
    "confirm": (("yes", {}), ("no", {})),
    "turn": (("done_turn", {}), ("topic", {}), ("pause", {}), ("more_time", {})),
}
"""The commands most often said in each context, most likely first."""


def likely_lines(state: State, now: float) -> list[str]:
    """What the engine would say next, most likely first, without duplicates; at most MAX_LINES."""
    found: list[str] = []
    for text in _answers(state, now):
        if text not in found:
            found.append(text)
            if len(found) == MAX_LINES:
                break
    return found


def _answers(state: State, now: float) -> Iterator[str]:
    for event, at in _probes(state, now):
        after, effects = engine.step(state, event, at)
        said = [effect.text for effect in effects if isinstance(effect, engine.Say)]
        yield from said
        if not said:  # e.g. the turn prompt ends and a timer starts: the next words come when it runs out
            for follow, later in _timer_end(after, at):
                yield from (e.text for e in engine.step(after, follow, later)[1] if isinstance(e, engine.Say))


def _probes(state: State, now: float) -> Iterator[tuple[Event, float]]:
    session = state.session
    if session is not None and session.advance_on is not None:
        yield SpeechFinished(session.advance_on), now
    yield from _timer_end(state, now)
    if session is not None and session.paused:
        yield Heard("resume"), now
    for intent, slots in LIKELY_COMMANDS.get(engine.context(state), ()):
        yield Heard(intent, slots), now


def _timer_end(state: State, now: float) -> Iterator[tuple[Event, float]]:
    """Ticks at the moments a running turn timer speaks: its one-minute cue, and its end."""
    session = state.session
    if session is not None and session.timer is not None and session.timer.deadline is not None:
        deadline = session.timer.deadline
        if deadline - MINUTE_CUE_S > now:
            yield Tick(), deadline - MINUTE_CUE_S + 0.001
        yield Tick(), deadline
