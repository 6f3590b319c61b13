"""Reading one exercise file: YAML with lines in, a validated, frozen `Exercise` out.

Every check names `file:line` and what is wrong (the format is in docs/authoring.md). `{cmd:NAME}`
is resolved first, so the texts checked here are the texts that will be spoken.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ContentError
from .exercises import (
    PLACEHOLDERS_EVERYWHERE,
    EachItem,
    EachPartner,
    Exercise,
    PickStep,
    Pool,
    PoolItem,
    PromptStep,
    SayStep,
    SectionNote,
    Step,
    TurnStep,
    Wording,
    check_placeholders,
)
from .phrasebook import Phrasebook, resolve_commands
from .plan import check_compiles, spoken_minutes
from .yamlload import LDict, LList, load_yaml, where

EXERCISE_KEYS = {"id", "title", "summary", "confirm_stop", "resumable", "resume_say", "intro", "skip", "offer_support",
                 "pools", "topic_pool", "steps"}
REQUIRED_KEYS = {"id", "title", "summary", "steps"}
OCCASIONS = ("finished", "stopped")  # when an exercise offers where to find support
WORDING_KEYS = ("say", "then", "together", "resumed")


def parse_exercise(path: Path, phrases: Phrasebook) -> Exercise:
    """Validate one exercise file into an Exercise; every error names file:line and what is wrong."""
    doc = resolve_commands(load_yaml(path), phrases)
    if not isinstance(doc, LDict):
        raise ContentError(f"{path}:1: an exercise file is a mapping with id, title, summary and steps")
    doc.only(EXERCISE_KEYS, "an exercise")
    for key in sorted(REQUIRED_KEYS - set(doc)):
        raise ContentError(f"{doc.where}: the exercise needs '{key}:'")
    exercise_id = _text(doc, "id")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", exercise_id):
        raise ContentError(f"{doc.where_of('id')}: id '{exercise_id}' must be lower case letters, digits and underscores")
    pools = _pools(doc)
    resumable = _flag(doc, "resumable")
    resume_say = _text(doc, "resume_say") if "resume_say" in doc else ""
    if resume_say:
        check_placeholders(resume_say, {"number", "total"} | PLACEHOLDERS_EVERYWHERE, doc.where_of("resume_say"))
    if resumable and not any(p.order == "sequence" for p in pools.values()):
        raise ContentError(f"{doc.where_of('resumable')}: a resumable exercise needs a pool with 'order: sequence'")
    topic_pool = str(doc["topic_pool"]) if "topic_pool" in doc else None
    if topic_pool is not None and topic_pool not in pools:
        raise ContentError(f"{doc.where_of('topic_pool')}: no pool named '{topic_pool}'")
    steps = _steps(doc.get("steps"), doc.where_of("steps"), pools, _Scope())
    first_time, returning = _intro(doc)
    skip = doc.get("skip", "item")
    if skip not in ("item", "turn"):
        raise ContentError(f"{doc.where_of('skip')}: skip must be 'item' (past the item for both) or 'turn' (only this turn), not {skip!r}")
    summary = _text(doc, "summary")
    check_placeholders(summary, {"minutes"}, doc.where_of("summary"))
    exercise = Exercise(
        id=exercise_id,
        title=_text(doc, "title"),
        summary=summary,
        confirm_stop=_flag(doc, "confirm_stop"),
        resumable=resumable,
        resume_say=resume_say,
        pools=pools,
        topic_pool=topic_pool,
        steps=steps,
        source=str(path),
        intro_first_time=first_time,
        intro_returning=returning,
        skip="turn" if skip == "turn" else "item",
        offer_support=_occasions(doc),
        where=doc.where_of("id"),
    )
    return check_compiles(exercise)


def _intro(doc: LDict) -> tuple[tuple[str, ...], str]:
    if "intro" not in doc:
        return (), ""
    intro = doc["intro"]
    if not isinstance(intro, LDict) or set(intro) != {"first_time", "returning"}:
        raise ContentError(f"{doc.where_of('intro')}: 'intro' has exactly 'first_time:' (the full introduction) and 'returning:' (one sentence)")
    first = intro["first_time"]
    texts = [first] if isinstance(first, str) else first
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise ContentError(f"{intro.where_of('first_time')}: 'first_time' is a text, or a list of texts spoken one after another")
    for text in texts:
        check_placeholders(text, PLACEHOLDERS_EVERYWHERE, where(text, intro.where_of("first_time")))
    returning = _text(intro, "returning")
    check_placeholders(returning, PLACEHOLDERS_EVERYWHERE, intro.where_of("returning"))
    return tuple(" ".join(t.split()) for t in texts), returning


def _occasions(doc: LDict) -> frozenset[str]:
    value = doc.get("offer_support", [])
    if not isinstance(value, list) or not all(v in OCCASIONS for v in value):
        raise ContentError(f"{doc.where_of('offer_support')}: 'offer_support' is a list of: {', '.join(OCCASIONS)}")
    return frozenset(str(v) for v in value)


def _text(spec: LDict, key: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{spec.where_of(key)}: '{key}' must be text")
    return " ".join(value.split())


def _flag(spec: LDict, key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise ContentError(f"{spec.where_of(key)}: '{key}' must be true or false, not {value!r}")
    return value


def _minutes(spec: LDict, key: str = "minutes") -> float:
    minutes = spec[key]
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0.25 <= minutes <= 60:
        raise ContentError(f"{spec.where_of(key)}: {key.replace('_', ' ')} must be a number from 0.25 to 60, not {minutes!r}")
    return float(minutes)


def _pools(doc: LDict) -> dict[str, Pool]:
    raw = doc.get("pools") or LDict()
    if not isinstance(raw, LDict):
        raise ContentError(f"{doc.where_of('pools')}: 'pools' maps pool names to their items")
    pools = {}
    for name, spec in raw.items():
        at = raw.where_of(name)
        if not isinstance(spec, LDict):
            raise ContentError(f"{at}: pool '{name}' needs 'order:' and 'items:' or 'sections:'")
        spec.only(("order", "items", "sections", "section_note"), f"pool '{name}'")
        order = spec.get("order", "rotate")
        if order not in ("rotate", "sequence"):
            raise ContentError(f"{spec.where_of('order')}: order must be 'rotate' or 'sequence', not '{order}'")
        if ("items" in spec) == ("sections" in spec):
            raise ContentError(f"{at}: pool '{name}' needs either 'items:' or 'sections:'")
        sections: list[str] = []
        items: list[PoolItem] = []
        note = _section_note(spec) if "section_note" in spec else None
        if "items" in spec:
            if note is not None:
                raise ContentError(f"{spec.where_of('section_note')}: 'section_note' needs a pool with 'sections:'")
            items = _items(spec, "items", 0)
        else:
            if not isinstance(spec["sections"], LList):
                raise ContentError(f"{spec.where_of('sections')}: 'sections' is a list of {{say, items}}")
            for index, section in enumerate(spec["sections"]):
                if not isinstance(section, LDict) or set(section) != {"say", "items"}:
                    raise ContentError(f"{where(section, at)}: a section has exactly 'say:' and 'items:'")
                sections.append(_text(section, "say"))
                check_placeholders(sections[-1], set(), section.where_of("say"))
                items.extend(_items(section, "items", index))
        pools[name] = Pool(name, order, tuple(items), tuple(sections), note)
    return pools


def _section_note(spec: LDict) -> SectionNote:
    note = spec["section_note"]
    if not isinstance(note, LDict) or set(note) != {"after_minutes", "say"}:
        raise ContentError(f"{spec.where_of('section_note')}: 'section_note' has exactly 'after_minutes:' and 'say:'")
    text = _text(note, "say")
    check_placeholders(text, {"minutes"}, note.where_of("say"))
    minutes = _minutes(note, "after_minutes")
    return SectionNote(minutes, text.format(minutes=spoken_minutes(minutes)))


def _items(spec: LDict, key: str, section: int) -> list[PoolItem]:
    items = spec[key]
    if not isinstance(items, LList) or not items:
        raise ContentError(f"{spec.where_of(key)}: '{key}' must be a non-empty list of text")
    return [_item(item, where(item, spec.where_of(key)), section) for item in items]


def _item(item: Any, at: str, section: int) -> PoolItem:
    """An item is a text, or `{text, minutes, minute_left_cue}` (a timed answer) or `{text, together: true}`."""
    if isinstance(item, LDict):
        item.only(("text", "minutes", "minute_left_cue", "together"), "an item")
        text = _text(item, "text")
        minutes = _minutes(item) if "minutes" in item else None
        together = _flag(item, "together")
        if together and minutes is not None:
            raise ContentError(f"{item.where_of('together')}: an item is either timed ('minutes:') or answered together, not both")
        check_placeholders(text, {"minutes"} if minutes is not None else set(), item.where_of("text"))
        if minutes is not None:
            text = text.format(minutes=spoken_minutes(minutes))
        return PoolItem(text, section, minutes, _flag(item, "minute_left_cue"), together)
    if not isinstance(item, str) or not item.strip():
        raise ContentError(f"{at}: every item must be text, got {item!r}")
    check_placeholders(item, set(), at)
    return PoolItem(" ".join(item.split()), section)


@dataclass(frozen=True)
class _Scope:
    """What placeholders a step may use, given the loops around it."""

    in_partner: bool = False
    has_item: bool = False
    has_number: bool = False

    def allowed(self) -> set[str]:
        names = set(PLACEHOLDERS_EVERYWHERE)
        names |= {"partner", "listener"} if self.in_partner else set()
        names |= {"item"} if self.has_item else set()
        names |= {"number", "total"} if self.has_number else set()
        return names


STEP_KINDS = ("say", "prompt", "turn", "pick", "each_partner", "each_item")


def _steps(raw: Any, at: str, pools: Mapping[str, Pool], scope: _Scope) -> tuple[Step, ...]:
    if not isinstance(raw, LList) or not raw:
        raise ContentError(f"{at}: 'steps' must be a non-empty list")
    steps: list[Step] = []
    for spec in raw:
        step_at = where(spec, at)
        if not isinstance(spec, LDict) or len(spec) != 1 or next(iter(spec)) not in STEP_KINDS:
            raise ContentError(f"{step_at}: a step is exactly one of: {', '.join(STEP_KINDS)}")
        kind, body = next(iter(spec.items()))
        step = _step(kind, body, spec.where_of(kind), pools, scope)
        if isinstance(step, PickStep):
            scope = _Scope(scope.in_partner, True, scope.has_number)
        steps.append(step)
    return tuple(steps)


def _step(kind: str, body: Any, at: str, pools: Mapping[str, Pool], scope: _Scope) -> Step:
    if kind == "say":
        if not isinstance(body, str) or not body.strip():
            raise ContentError(f"{at}: 'say' takes the text to speak")
        check_placeholders(body, scope.allowed(), at)
        return SayStep(" ".join(body.split()), at)
    if kind == "prompt":
        if isinstance(body, LDict):
            body.only(WORDING_KEYS, "prompt")
            return PromptStep(_wording(body, at, scope))
        if not isinstance(body, str) or not body.strip():
            raise ContentError(f"{at}: 'prompt' takes the text to speak, or 'say:' with 'then:', 'together:' or 'resumed:'")
        check_placeholders(body, scope.allowed(), at)
        return PromptStep(Wording(" ".join(body.split()), at=at))
    if kind == "turn":
        return _turn(body, at, scope)
    if kind == "pick":
        if not isinstance(body, str) or body not in pools:
            raise ContentError(f"{at}: 'pick' names a pool; '{body}' is not one (pools: {', '.join(pools) or 'none'})")
        return PickStep(str(body))
    if kind == "each_partner":
        if scope.in_partner:
            raise ContentError(f"{at}: 'each_partner' cannot be inside another 'each_partner'")
        return EachPartner(_steps(body, at, pools, _Scope(True, scope.has_item, scope.has_number)))
    return _each_item(body, at, pools, scope)


def _wording(body: LDict, at: str, scope: _Scope) -> Wording:
    if "say" not in body:
        raise ContentError(f"{at}: needs 'say:', the text to speak")
    texts = {}
    for key in WORDING_KEYS:
        if key in body:
            texts[key] = _text(body, key)
            check_placeholders(texts[key], scope.allowed(), body.where_of(key))
    return Wording(**texts, at=body.where_of("say"))


def _turn(body: Any, at: str, scope: _Scope) -> TurnStep:
    if not isinstance(body, LDict) or "say" not in body or "minutes" not in body:
        raise ContentError(f"{at}: 'turn' needs 'say:' and 'minutes:'")
    body.only(WORDING_KEYS + ("minutes", "minute_left_cue", "adjustable"), "turn")
    minutes = _minutes(body)
    wording = _wording(body, at, scope)
    return TurnStep(wording, minutes, _flag(body, "minute_left_cue"), _flag(body, "adjustable"))


def _each_item(body: Any, at: str, pools: Mapping[str, Pool], scope: _Scope) -> EachItem:
    if not isinstance(body, LDict) or "pool" not in body or "steps" not in body:
        raise ContentError(f"{at}: 'each_item' needs 'pool:' and 'steps:'")
    body.only(("pool", "count", "alternate_first", "steps"), "each_item")
    pool = body["pool"]
    if not isinstance(pool, str) or pool not in pools:
        raise ContentError(f"{body.where_of('pool')}: no pool named '{pool}' (pools: {', '.join(pools) or 'none'})")
    count = body.get("count", "all")
    if count != "all" and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ContentError(f"{body.where_of('count')}: count must be a whole number of at least 1, or 'all'")
    if isinstance(count, int) and count > len(pools[pool].items):
        raise ContentError(f"{body.where_of('count')}: count {count} is more than the {len(pools[pool].items)} items in pool '{pool}'")
    inner = _Scope(scope.in_partner, True, True)
    steps = _steps(body["steps"], body.where_of("steps"), pools, inner)
    return EachItem(str(pool), None if count == "all" else int(count), _flag(body, "alternate_first"), steps)
