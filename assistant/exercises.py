"""Exercises are data: YAML files validated at start-up into frozen dataclasses.

The format is documented in docs/authoring.md. Every error names `file:line` and what is wrong, so
a person editing a prompt can fix it without reading code. Commands are named as `{cmd:NAME}` and
resolved here, at load time, to the intents' help phrases (assistant/phrasebook.py). The plan a
session walks is compiled from an exercise in assistant/plan.py.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

from .errors import ContentError
from .phrasebook import Phrasebook, resolve_commands
from .yamlload import LDict, LList, load_yaml, where

if TYPE_CHECKING:
    from .intents import IntentSet
    from .lines import InfoTopic, Lines

PLACEHOLDERS_EVERYWHERE = {"first", "second", "wake", "minutes"}  # {minutes}: the next timed turn's length
EXERCISE_KEYS = {"id", "title", "summary", "confirm_stop", "resumable", "resume_say", "intro", "skip", "offer_support",
                 "pools", "topic_pool", "steps"}
REQUIRED_KEYS = {"id", "title", "summary", "steps"}
OCCASIONS = ("finished", "stopped")  # when an exercise offers where to find support
WORDING_KEYS = ("say", "then", "together", "resumed")
Variant = Literal["say", "then", "together", "resumed"]

# ---------------------------------------------------------------- definitions


@dataclass(frozen=True)
class PoolItem:
    text: str
    section: int  # index into Pool.sections, 0 when the pool has none
    minutes: float | None = None  # a timed item: each partner's answer is a turn this long
    minute_left_cue: bool = False
    together: bool = False  # one joint answer, the partners alternating, instead of one each


@dataclass(frozen=True)
class SectionNote:
    """Said once, gently, when the couple has spent this long in one section."""

    after_minutes: float
    text: str


@dataclass(frozen=True)
class Pool:
    name: str
    order: Literal["rotate", "sequence"]
    items: tuple[PoolItem, ...]
    sections: tuple[str, ...]  # what to say when a section's first item comes up
    section_note: SectionNote | None = None


@dataclass(frozen=True)
class Wording:
    """What a prompt or turn says. `then`: the second partner, once the first has heard the item;
    `together`: a joint item; `resumed`: the partner who still has to answer, another evening."""

    say: str
    then: str = ""
    together: str = ""
    resumed: str = ""
    at: str = ""  # file:line, for errors found when the plan is compiled

    def text(self, variant: Variant) -> str:
        return {"say": self.say, "then": self.then, "together": self.together, "resumed": self.resumed}[variant] or self.say


@dataclass(frozen=True)
class SayStep:
    text: str
    at: str = ""


@dataclass(frozen=True)
class PromptStep:
    wording: Wording


@dataclass(frozen=True)
class TurnStep:
    wording: Wording
    minutes: float
    minute_left_cue: bool
    adjustable: bool  # "start listening turns for five minutes" changes this turn's length


@dataclass(frozen=True)
class PickStep:
    pool: str


@dataclass(frozen=True)
class EachPartner:
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class EachItem:
    pool: str
    count: int | None  # None: all
    alternate_first: bool
    steps: tuple[Step, ...]


Step = Union[SayStep, PromptStep, TurnStep, PickStep, EachPartner, EachItem]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    summary: str
    confirm_stop: bool
    resumable: bool
    resume_say: str
    pools: Mapping[str, Pool]
    topic_pool: str | None
    steps: tuple[Step, ...]
    source: str
    intro_first_time: tuple[str, ...] = ()  # the full introduction, the first time a couple does it
    intro_returning: str = ""  # one sentence every time after
    skip: Literal["item", "turn"] = "item"  # "pass on this one": past the item for both, or only this turn
    offer_support: frozenset[str] = frozenset()  # OCCASIONS after which to mention where support is
    where: str = ""  # file:line of the id, for errors found later

    def pool_key(self, pool: str) -> str:
        """Where a pool's rotation or position is stored."""
        return f"{self.id}/{pool}"

    def pending_key(self, pool: str) -> str:
        """Who still has to answer the saved item: 0 nobody yet, else 1 + the partner's seat."""
        return f"{self.id}/{pool}/pending"

    @property
    def intro_key(self) -> str:
        """Set once the couple has heard the full introduction."""
        return f"{self.id}/introduced"

    @property
    def sequence_pool(self) -> Pool | None:
        """The pool whose position a resumable exercise saves (its first sequence pool)."""
        return next((p for p in self.pools.values() if p.order == "sequence"), None)


@dataclass(frozen=True)
class Catalog:
    """Everything hearth can say, loaded once, with commands resolved against one set of intents."""

    exercises: Mapping[str, Exercise]
    info: Mapping[str, InfoTopic] = field(default_factory=dict)
    lines: Lines | None = None
    phrases: Phrasebook = field(default_factory=Phrasebook)
    order: tuple[str, ...] = ()  # exercise ids in the order lists name them


# ---------------------------------------------------------------- loading


def content_dir() -> Path:
    return Path(__file__).resolve().parent / "content"


def load_catalog(extra: Iterable[Path] = (), intents: IntentSet | None = None) -> Catalog:
    """The packaged exercises, info topics and lines, plus any extra exercise files or folders,
    with every `{cmd:NAME}` resolved against `intents` (the built-in set when None)."""
    from .intents import load_intents
    from .lines import load_info, load_lines

    intents = intents or load_intents()
    phrases = Phrasebook.of(intents)
    files = sorted((content_dir() / "exercises").glob("*.yaml"))
    for path in extra:
        files.extend(sorted(Path(path).glob("*.yaml")) if Path(path).is_dir() else [Path(path)])
    exercises: dict[str, Exercise] = {}
    for path in files:
        exercise = load_exercise(path, phrases)
        exercises[exercise.id] = exercise
    spoken = [str(v.value) for v in intents.lists["exercise"].values] if "exercise" in intents.lists else []
    order = tuple(sorted(exercises, key=lambda e: spoken.index(e) if e in spoken else len(spoken)))
    lines = load_lines(content_dir() / "lines.yaml", phrases)
    return Catalog(exercises, load_info(content_dir() / "info.yaml", phrases), lines, phrases, order)


def check_paths(paths: Sequence[Path], phrases: Phrasebook | None = None) -> list[str]:
    """Validate exercise files (for `hearth check`); returns the ids loaded, raises on the first error."""
    if phrases is None:
        from .intents import load_intents

        phrases = Phrasebook.of(load_intents())
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise ContentError(f"{path}: no such file or folder")
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return [load_exercise(path, phrases).id for path in files]


def load_exercise(path: Path, phrases: Phrasebook | None = None) -> Exercise:
    raw = load_yaml(path)
    if phrases is None:
        from .intents import load_intents

        phrases = Phrasebook.of(load_intents())
    doc = resolve_commands(raw, phrases)
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
    from .plan import check_compiles

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
    from .plan import spoken_minutes

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
            from .plan import spoken_minutes

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
    if pool not in pools:
        raise ContentError(f"{body.where_of('pool')}: no pool named '{pool}' (pools: {', '.join(pools) or 'none'})")
    count = body.get("count", "all")
    if count != "all" and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ContentError(f"{body.where_of('count')}: count must be a whole number of at least 1, or 'all'")
    if isinstance(count, int) and count > len(pools[pool].items):
        raise ContentError(f"{body.where_of('count')}: count {count} is more than the {len(pools[pool].items)} items in pool '{pool}'")
    inner = _Scope(scope.in_partner, True, True)
    steps = _steps(body["steps"], body.where_of("steps"), pools, inner)
    return EachItem(str(pool), None if count == "all" else int(count), _flag(body, "alternate_first"), steps)


def check_placeholders(text: str, allowed: set[str], at: str) -> None:
    """Every `{name}` in a text must be one of `allowed`; else a file:line error naming them."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ContentError(f"{at}: broken braces in '{text}': {exc}") from None
    for name in fields:
        if name not in allowed:
            hint = f"allowed here: {', '.join(sorted(allowed))}" if allowed else "no placeholders are allowed here"
            raise ContentError(f"{at}: unknown placeholder {{{name}}} ({hint})")

