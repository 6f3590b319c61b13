"""Everything hearth says outside an exercise's own prompts: engine lines, help order, explanations.

The engine has a fixed set of things to say (a pause, a stop question, help, a hint when a command
does not fit the moment); their words live in assistant/content/lines.yaml, and explanations in
info.yaml. `LINES` below is the contract: which lines must exist and which placeholders each may
use. A missing line, an unknown one or a stray placeholder fails at start-up with file:line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ContentError
from .exercises import check_placeholders
from .phrasebook import Phrasebook, resolve_commands
from .yamlload import LDict, LList, load_yaml, where

EVERYWHERE = frozenset({"wake", "crisis_line"})  # filled in when a line is spoken

# line name -> the placeholders it may use besides EVERYWHERE
LINES: dict[str, frozenset[str]] = {
    name: frozenset(extra)
    for name, extra in {
        "minute_left": (),
        "reprompt_first": (),
        "reprompt_second": (),
        "help": ("options",),
        "more_hint": ("more",),
        "more_page": ("options",),
        "no_more": (),
        "exercises": ("count", "options"),
        "exercises_page": ("options",),
        "exercises_support": (),
        "no_info": (),
        "nothing_running": (),
        "good_night": (),
        "not_live": ("options",),
        "busy": ("title",),
        "nothing_to_continue": (),
        "unknown_exercise": (),
        "continue_from_start": (),
        "paused": (),
        "already_paused": (),
        "not_paused": (),
        "resumed": (),
        "no_timer_more": (),
        "no_timer_left": (),
        "more_time_added": ("duration",),
        "time_left_minutes": ("minutes",),
        "time_left_minute": (),
        "time_left_under_a_minute": (),
        "time_left_seconds": (),
        "confirm_stop": (),
        "keep_going": (),
        "stopped": (),
        "stopped_saved": ("number", "total"),
        "no_topics": (),
        "not_asking": (),
        "support_offer": (),
        "default_crisis_line": (),
    }.items()
}
MODES = ("idle", "speaking", "waiting", "timing", "paused", "confirming")


@dataclass(frozen=True)
class InfoTopic:
    """An explanation, in pages: the first is said when asked, "tell us more" gives the next."""

    title: str
    pages: tuple[str, ...]  # may hold {wake} and {crisis_line}, filled in when spoken

    @property
    def text(self) -> str:
        return " ".join(self.pages)


@dataclass(frozen=True)
class Lines:
    """The engine's words, and for each moment the commands help names first."""

    text: Mapping[str, str] = field(default_factory=dict)
    help_order: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # mode -> intents, most useful first

    def __getitem__(self, name: str) -> str:
        return self.text[name]


def load_lines(path: Path, phrases: Phrasebook) -> Lines:
    doc = resolve_commands(load_yaml(path), phrases)
    if not isinstance(doc, LDict):
        raise ContentError(f"{path}:1: needs 'lines:' and 'help_order:' mappings")
    doc.only(("lines", "help_order"), "the lines file")
    lines, order = doc.get("lines"), doc.get("help_order")
    if not isinstance(lines, LDict) or not isinstance(order, LDict):
        raise ContentError(f"{doc.where}: needs 'lines:' and 'help_order:' mappings")
    lines.only(set(LINES), "lines")
    texts: dict[str, str] = {}
    for name, allowed in LINES.items():
        value = lines.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ContentError(f"{lines.where_of(name)}: the line '{name}' is missing or not text", "every line the engine speaks needs its words")
        check_placeholders(value, set(allowed | EVERYWHERE), lines.where_of(name))
        texts[name] = " ".join(value.split())
    order.only(MODES, "help_order")
    help_order: dict[str, tuple[str, ...]] = {}
    for mode in MODES:
        names = order.get(mode)
        if not isinstance(names, LList) or not names:
            raise ContentError(f"{order.where_of(mode)}: help_order needs '{mode}:', a list of intent names")
        for name in names:
            if name not in phrases.help:
                raise ContentError(f"{where(name, order.where_of(mode))}: '{name}' is not an intent (intents: {', '.join(sorted(phrases.help))})")
        help_order[mode] = tuple(str(n) for n in names)
    return Lines(texts, help_order)


def load_info(path: Path, phrases: Phrasebook) -> dict[str, InfoTopic]:
    doc = resolve_commands(load_yaml(path), phrases)
    topics = doc.get("topics") if isinstance(doc, LDict) else None
    if not isinstance(topics, LDict):
        raise ContentError(f"{path}:1: needs a 'topics:' mapping")
    result = {}
    for name, spec in topics.items():
        if not isinstance(spec, LDict) or "say" not in spec or not isinstance(spec.get("title"), str):
            raise ContentError(f"{topics.where_of(name)}: topic '{name}' needs 'title:' and 'say:' text")
        spec.only(("title", "say"), f"topic '{name}'")
        raw = spec["say"]
        pages = [raw] if isinstance(raw, str) else raw
        if not isinstance(pages, list) or not pages or not all(isinstance(p, str) and p.strip() for p in pages):
            raise ContentError(f"{spec.where_of('say')}: 'say' is a text, or a list of pages (the first is said, 'more' gives the next)")
        for page in pages:
            check_placeholders(page, set(EVERYWHERE), where(page, spec.where_of("say")))
        result[name] = InfoTopic(str(spec["title"]), tuple(" ".join(page.split()) for page in pages))
    return result
