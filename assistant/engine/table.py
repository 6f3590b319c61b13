"""The transition table: what each command and event does in each mode, in one place.

In the spirit of h11's state tables: a row per command (or event), a column per mode. An entry is
`Do(action)` (optionally only `when` a guard holds, `otherwise` a hint), a `Hint(line)` that says
why the command does nothing right now, or `_` (nothing special). An accepted command is
acknowledged with a chime before anything is said; a refused one gets the `not_understood` chime
and a one-line hint naming what can be said now. An event nobody handles leaves the state unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..intents import number_words
from ..phrasebook import join_options
from . import actions as a
from .events import Chime, ChimeKind, Effect, Event, Heard, NotLive, SpeechFinished, Tick, Unhandled, VoiceActivity
from .move import Move
from .state import MODES, Listing, Mode, State, mode

Action = Callable[[Move, Event], None]
Guard = Callable[[Move], bool]


@dataclass(frozen=True)
class Do:
    action: Action
    when: Guard | None = None
    otherwise: str = ""  # the hint line when the guard says no

    def refusal(self, m: Move) -> str | None:
        return self.otherwise if self.when is not None and not self.when(m) else None


@dataclass(frozen=True)
class Hint:
    line: str
    chime: ChimeKind = "not_understood"
    names_commands: bool = False  # the line itself says what to say instead; else the options follow it


Entry = Do | Hint | None
_: Entry = None  # nothing special here: a command gets the generic hint, an event is ignored


def row(*entries: Entry) -> dict[Mode, Entry]:
    assert len(entries) == len(MODES)
    return dict(zip(MODES, entries))


# ---------------------------------------------------------------- help, lists and hints (they read the table)


def offered(m: Move) -> list[str]:
    """The commands that do something right now, most useful first, as they must be said here."""
    current, phrases = m.mode, m.phrases
    found = []
    for intent in m.lines.help_order[current]:
        entry = COMMANDS.get(intent, {}).get(current)
        if isinstance(entry, Do) and entry.refusal(m) is None and phrases.teaches(intent, m.context):
            found.append(phrases.spoken(intent, m.context))
    return found


def _page(m: Move, text: str, rest: list[str], line: str, conjunction: str = "or") -> str:
    """A page of a list; with more left over, how to hear it (and remember where we are)."""
    if rest and m.phrases.teaches("more", m.context):
        m.update(listing=Listing(tuple(rest), line, conjunction))
        return text + " " + m.fill(m.lines["more_hint"], more=m.phrases.spoken("more", m.context))
    m.update(listing=None)
    return text


def help_(m: Move, event: Event) -> None:
    items = offered(m)
    text = m.fill(m.lines["help"], options=join_options(items[:3]))
    m.say(_page(m, text, items[3:], "more_page"), soft=m.mode == "timing")


def list_exercises(m: Move, event: Event) -> None:
    catalog = m.state.catalog
    titles = [catalog.exercises[e].title for e in catalog.order]
    text = m.fill(m.lines["exercises"], count=number_words(len(titles)), options=join_options(titles[:3], "and"))
    text = _page(m, text, titles[3:], "exercises_page", "and")
    if m.phrases.teaches("info", "idle"):
        text += " " + m.fill(m.lines["exercises_support"])
    m.say(text, soft=m.mode == "timing")


def explain(m: Move, event: Event) -> None:
    """An explanation's first page; "tell us more" reads the next."""
    assert isinstance(event, Heard)
    found = m.state.catalog.info.get(str(event.slots.get("topic", "")))
    if found is None:
        m.line("no_info")
        return
    m.say(_page(m, m.fill(found.pages[0]), list(found.pages[1:]), ""))


def more(m: Move, event: Event) -> None:
    listing = m.state.listing
    if listing is None:
        m.line("no_more")
        return
    per_page = 1 if listing.line == "" else 3
    page, rest = list(listing.items[:per_page]), list(listing.items[per_page:])
    if listing.line == "":
        text = m.fill(page[0])
    else:
        text = m.fill(m.lines[listing.line], options=join_options(page, listing.conjunction))
    m.say(_page(m, text, rest, listing.line, listing.conjunction), soft=m.mode == "timing")


def refuse(m: Move, hint: Hint) -> None:
    """A command that does nothing now: a different chime, why, and what can be said instead."""
    m.effects.append(Chime(hint.chime))
    title = m.exercise.title if m.state.session is not None else ""
    text = m.fill(m.lines[hint.line], title=title)
    options = offered(m)
    if not hint.names_commands and options:
        text += " " + m.fill(m.lines["help"], options=join_options(options[:3]))
    m.say(text, soft=m.mode == "timing")


# what a command that fits nowhere in this mode hears
GENERIC_HINT: dict[Mode, Hint] = {"idle": Hint("nothing_running", names_commands=True), "confirming": Hint("confirm_stop", names_commands=True)}
NOT_LIVE = Hint("not_live")

# ---------------------------------------------------------------- the table

begin, nxt, skip, back, again = Do(a.begin), Do(a.go_next), Do(a.skip), Do(a.back), Do(a.repeat)
pause, resume, stop, end, keep = Do(a.pause), Do(a.resume), Do(a.ask_stop), Do(a.end_early), Do(a.cancel_stop)
extend = Do(a.more_time, a.has_timer, "no_timer_more")
left = Do(a.time_left, a.has_timer, "no_timer_left")
topic = Do(a.topic, a.has_topics, "no_topics")
busy, nothing = Hint("busy", names_commands=True), GENERIC_HINT["idle"]
asking, unpaused, no_more, no_left = Hint("not_asking"), Hint("not_paused"), Hint("no_timer_more"), Hint("no_timer_left")
good_night = Hint("good_night", "acknowledged", True)  # "we're done for tonight" with nothing running: understood
everywhere = {name: row(*[Do(action)] * len(MODES)) for name, action in
              (("help", help_), ("info", explain), ("list_exercises", list_exercises), ("more", more))}

COMMANDS: dict[str, dict[Mode, Entry]] = {
    #                   idle                    speaking    waiting     timing      paused                  confirming
    "start":        row(begin,                  busy,       busy,       busy,       busy,                   _),
    "continue":     row(begin,                  busy,       busy,       busy,       busy,                   _),
    "next":         row(nothing,                nxt,        nxt,        nxt,        nxt,                    keep),
    "done_turn":    row(nothing,                nxt,        nxt,        nxt,        nxt,                    _),
    "skip":         row(nothing,                skip,       skip,       skip,       skip,                   _),
    "back":         row(nothing,                back,       back,       back,       back,                   _),
    "repeat":       row(nothing,                again,      again,      again,      again,                  _),
    "pause":        row(nothing,                pause,      pause,      pause,      Hint("already_paused", names_commands=True), _),
    "resume":       row(nothing,                unpaused,   unpaused,   unpaused,   resume,                 keep),
    "more_time":    row(nothing,                no_more,    no_more,    extend,     extend,                 _),
    "time_left":    row(nothing,                no_left,    no_left,    left,       left,                   _),
    "topic":        row(nothing,                topic,      topic,      topic,      topic,                  _),
    "stop":         row(good_night,             stop,       stop,       stop,       stop,                   end),
    "yes":          row(nothing,                asking,     asking,     asking,     asking,                 end),
    "no":           row(nothing,                asking,     asking,     asking,     asking,                 keep),
    **everywhere,
}

EVENTS: dict[type, dict[Mode, Entry]] = {
    #                   idle    speaking                waiting                     timing              paused  confirming
    Tick:           row(_,      _,                      Do(a.reprompt_if_due),      Do(a.tick_timer),   _,      _),
    SpeechFinished: row(_,      Do(a.speech_finished),  _,                          _,                  _,      _),
    VoiceActivity:  row(_,      _,                      Do(a.postpone_reprompt),    _,                  _,      _),
}

# ---------------------------------------------------------------- the step function


def step(state: State, event: Event, now: float) -> tuple[State, list[Effect]]:
    """Apply one event. Pure: the same state, event and time always give the same result."""
    m = Move(state, now)
    current = mode(state)
    if isinstance(event, Heard):
        _command(m, event, current)
    elif isinstance(event, NotLive):
        _not_live(m, event.intent, current)
    else:
        entry = EVENTS[type(event)][current]
        if isinstance(entry, Do) and entry.refusal(m) is None:
            entry.action(m, event)
    return m.state, m.effects


def _command(m: Move, event: Heard, current: Mode) -> None:
    commands = COMMANDS.get(event.intent)
    if commands is None:
        m.effects.append(Unhandled(event.intent))  # a user's own intent that no exercise logic knows
        return
    entry = commands[current]
    if not isinstance(entry, Do) or entry.refusal(m) is not None:
        _not_live(m, event.intent, current)
        return
    m.effects.append(Chime("acknowledged"))
    if event.intent != "more":
        m.update(listing=None)
    entry.action(m, event)


def _not_live(m: Move, intent: str, current: Mode) -> None:
    entry = COMMANDS.get(intent, {}).get(current)
    if isinstance(entry, Hint):
        refuse(m, entry)
        return
    refusal = entry.refusal(m) if isinstance(entry, Do) else None
    refuse(m, Hint(refusal) if refusal else GENERIC_HINT.get(current, NOT_LIVE))

