"""Exercises are data: YAML files validated at start-up into frozen dataclasses.

The format is documented in docs/authoring.md. Every error names `file:line` and what is wrong, so
a person editing a prompt can fix it without reading code. `compile_plan` turns an exercise plus
this evening's facts (names, who goes first, which pool items are next) into a flat list of steps
the engine walks; loops are unrolled here so the engine only needs an index.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from .errors import ContentError
from .yamlload import LDict, LList, load_yaml, where

PLACEHOLDERS_EVERYWHERE = {"first", "second", "wake"}
EXERCISE_KEYS = {"id", "title", "summary", "confirm_stop", "resumable", "resume_say", "pools", "topic_pool", "steps"}
REQUIRED_KEYS = {"id", "title", "summary", "steps"}

# ---------------------------------------------------------------- definitions


@dataclass(frozen=True)
class PoolItem:
    text: str
    section: int  # index into Pool.sections, 0 when the pool has none


@dataclass(frozen=True)
class Pool:
    name: str
    order: Literal["rotate", "sequence"]
    items: tuple[PoolItem, ...]
    sections: tuple[str, ...]  # what to say when a section's first item comes up


@dataclass(frozen=True)
class SayStep:
    text: str


@dataclass(frozen=True)
class PromptStep:
    text: str


@dataclass(frozen=True)
class TurnStep:
    text: str
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

    def pool_key(self, pool: str) -> str:
        """Where a pool's rotation or position is stored."""
        return f"{self.id}/{pool}"

    @property
    def sequence_pool(self) -> Pool | None:
        """The pool whose position a resumable exercise saves (its first sequence pool)."""
        return next((p for p in self.pools.values() if p.order == "sequence"), None)


@dataclass(frozen=True)
class InfoTopic:
    title: str
    text: str


@dataclass(frozen=True)
class Catalog:
    """Everything hearth can say, loaded once."""

    exercises: Mapping[str, Exercise]
    info: Mapping[str, InfoTopic] = field(default_factory=dict)
    notices: tuple[str, ...] = ()  # one line each, said at start-up: an extra file replaced an exercise


# ---------------------------------------------------------------- loading


def content_dir() -> Path:
    return Path(__file__).resolve().parent / "content"


def load_catalog(extra: Iterable[Path] = ()) -> Catalog:
    """The packaged exercises and info topics, plus any extra exercise files or folders."""
    files = sorted((content_dir() / "exercises").glob("*.yaml"))
    for path in extra:
        files.extend(sorted(Path(path).glob("*.yaml")) if Path(path).is_dir() else [Path(path)])
    exercises: dict[str, Exercise] = {}
    notices: list[str] = []
    for path in files:
        exercise = load_exercise(path)
        if exercise.id in exercises:
            replaced = exercises[exercise.id].source
            whose = "the built-in" if Path(replaced).parent == content_dir() / "exercises" else f"{replaced}'s"
            notices.append(f"{path} replaces {whose} exercise '{exercise.id}'")
        exercises[exercise.id] = exercise
    return Catalog(exercises, load_info(content_dir() / "info.yaml"), tuple(notices))


def load_info(path: Path) -> dict[str, InfoTopic]:
    doc = load_yaml(path)
    topics = doc.get("topics") if isinstance(doc, LDict) else None
    if not isinstance(topics, LDict):
        raise ContentError(f"{path}:1: needs a 'topics:' mapping")
    result = {}
    for name, spec in topics.items():
        if not isinstance(spec, LDict) or not isinstance(spec.get("say"), str) or not isinstance(spec.get("title"), str):
            raise ContentError(f"{topics.where_of(name)}: topic '{name}' needs 'title:' and 'say:' text")
        result[name] = InfoTopic(str(spec["title"]), " ".join(str(spec["say"]).split()))
    return result


def check_paths(paths: Sequence[Path]) -> list[str]:
    """Validate exercise files (for `hearth check`); returns the ids loaded, raises on the first error."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise ContentError(f"{path}: no such file or folder")
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return [load_exercise(path).id for path in files]


def load_exercise(path: Path) -> Exercise:
    doc = load_yaml(path)
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
        _check_placeholders(resume_say, {"number", "total"} | PLACEHOLDERS_EVERYWHERE, doc.where_of("resume_say"))
    if resumable and not any(p.order == "sequence" for p in pools.values()):
        raise ContentError(f"{doc.where_of('resumable')}: a resumable exercise needs a pool with 'order: sequence'")
    topic_pool = str(doc["topic_pool"]) if "topic_pool" in doc else None
    if topic_pool is not None and topic_pool not in pools:
        raise ContentError(f"{doc.where_of('topic_pool')}: no pool named '{topic_pool}'")
    steps = _steps(doc.get("steps"), doc.where_of("steps"), pools, _Scope())
    return Exercise(
        id=exercise_id,
        title=_text(doc, "title"),
        summary=_text(doc, "summary"),
        confirm_stop=_flag(doc, "confirm_stop"),
        resumable=resumable,
        resume_say=resume_say,
        pools=pools,
        topic_pool=topic_pool,
        steps=steps,
        source=str(path),
    )


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


def _pools(doc: LDict) -> dict[str, Pool]:
    raw = doc.get("pools") or LDict()
    if not isinstance(raw, LDict):
        raise ContentError(f"{doc.where_of('pools')}: 'pools' maps pool names to their items")
    pools = {}
    for name, spec in raw.items():
        at = raw.where_of(name)
        if not isinstance(spec, LDict):
            raise ContentError(f"{at}: pool '{name}' needs 'order:' and 'items:' or 'sections:'")
        order = spec.get("order", "rotate")
        if order not in ("rotate", "sequence"):
            raise ContentError(f"{spec.where_of('order')}: order must be 'rotate' or 'sequence', not '{order}'")
        if ("items" in spec) == ("sections" in spec):
            raise ContentError(f"{at}: pool '{name}' needs either 'items:' or 'sections:'")
        sections: list[str] = []
        items: list[PoolItem] = []
        if "items" in spec:
            items = [PoolItem(text, 0) for text in _items(spec, "items")]
        else:
            if not isinstance(spec["sections"], LList):
                raise ContentError(f"{spec.where_of('sections')}: 'sections' is a list of {{say, items}}")
            for index, section in enumerate(spec["sections"]):
                if not isinstance(section, LDict) or set(section) != {"say", "items"}:
                    raise ContentError(f"{where(section, at)}: a section has exactly 'say:' and 'items:'")
                sections.append(_text(section, "say"))
                items.extend(PoolItem(text, index) for text in _items(section, "items"))
        pools[name] = Pool(name, order, tuple(items), tuple(sections))
    return pools


def _items(spec: LDict, key: str) -> list[str]:
    items = spec[key]
    if not isinstance(items, LList) or not items:
        raise ContentError(f"{spec.where_of(key)}: '{key}' must be a non-empty list of text")
    result = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ContentError(f"{where(item, spec.where_of(key))}: every item must be text, got {item!r}")
        _check_placeholders(item, set(), where(item, spec.where_of(key)))
        result.append(" ".join(item.split()))
    return result


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
    if kind in ("say", "prompt"):
        if not isinstance(body, str) or not body.strip():
            raise ContentError(f"{at}: '{kind}' takes the text to speak")
        _check_placeholders(body, scope.allowed(), at)
        text = " ".join(body.split())
        return SayStep(text) if kind == "say" else PromptStep(text)
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


def _turn(body: Any, at: str, scope: _Scope) -> TurnStep:
    if not isinstance(body, LDict) or "say" not in body or "minutes" not in body:
        raise ContentError(f"{at}: 'turn' needs 'say:' and 'minutes:'")
    body.only(("say", "minutes", "minute_left_cue", "adjustable"), "turn")
    minutes = body["minutes"]
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0.25 <= minutes <= 60:
        raise ContentError(f"{body.where_of('minutes')}: minutes must be a number from 0.25 to 60, not {minutes!r}")
    text = _text(body, "say")
    _check_placeholders(text, scope.allowed() | {"minutes"}, body.where_of("say"))
    return TurnStep(text, float(minutes), _flag(body, "minute_left_cue"), _flag(body, "adjustable"))


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


def _check_placeholders(text: str, allowed: set[str], at: str) -> None:
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ContentError(f"{at}: broken braces in '{text}': {exc}") from None
    for name, spec, conversion in fields:
        if spec or conversion:  # "{first!r}" would speak quotes; "{first:d}" fails only when spoken
            raise ContentError(f"{at}: a placeholder is a plain name in braces, like {{first}}: not {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}")
        if name not in allowed:
            hint = f"allowed here: {', '.join(sorted(allowed))}" if allowed else "no placeholders are allowed here"
            raise ContentError(f"{at}: unknown placeholder {{{name}}} ({hint})")


# ---------------------------------------------------------------- plans


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


@dataclass(frozen=True)
class PlanRequest:
    exercise: Exercise
    partners: tuple[str, str]  # in this session's order: partners[0] goes first
    cursors: Mapping[str, int]  # saved pool positions
    start_at: int = 0  # resume position for the sequence pool
    minutes: float | None = None  # override for adjustable turns
    wake: str = "hearth"  # the wake name, for prompts that say how to address hearth


def spoken_minutes(minutes: float) -> str:
    """2 -> 'two minutes', 1 -> 'one minute', 0.5 -> 'thirty seconds'."""
    from .intents import number_words

    if minutes < 1:
        return f"{number_words(round(minutes * 60))} seconds"
    whole = round(minutes)
    return f"{number_words(whole)} minute" + ("" if whole == 1 else "s")


def compile_plan(request: PlanRequest) -> tuple[tuple[PlanStep, ...], dict[str, int]]:
    """Unroll an exercise into steps; returns the steps and the pool cursors after this session's draws."""
    builder = _PlanBuilder(request)
    builder.run(request.exercise.steps, {"first": request.partners[0], "second": request.partners[1], "wake": request.wake})
    return tuple(builder.plan), builder.cursors


class _PlanBuilder:
    def __init__(self, request: PlanRequest) -> None:
        self.request = request
        self.exercise = request.exercise
        self.cursors = dict(request.cursors)
        self.plan: list[PlanStep] = []
        self.group = 0
        self.labels: dict[str, Any] = {}

    def run(self, steps: Sequence[Step], values: dict[str, str]) -> None:
        for step in steps:
            if isinstance(step, PickStep):
                values = {**values, "item": self._draw(step.pool, 1)[0][1].text}
            elif isinstance(step, EachPartner):
                self._each_partner(step, values, self.request.partners)
            elif isinstance(step, EachItem):
                self._each_item(step, values)
            else:
                self._emit(step, values)
                if not self.labels:
                    self.group += 1

    def _each_partner(self, step: EachPartner, values: dict[str, str], order: tuple[str, str]) -> None:
        for partner, listener in (order, order[::-1]):
            self.labels = {**self.labels, "partner": partner}
            self.run(step.steps, {**values, "partner": partner, "listener": listener})
            if "item_number" not in self.labels:
                self.group += 1
        self.labels = {k: v for k, v in self.labels.items() if k != "partner"}

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
            number = {"item": item.text, "number": str(index + 1), "total": str(len(pool.items))}
            inner = {**values, **number}
            for sub in step.steps:
                if isinstance(sub, EachPartner):
                    self._each_partner(sub, inner, partners)
                else:
                    self.run([sub], inner)
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

    def _emit(self, step: Step, values: dict[str, str]) -> None:
        if isinstance(step, TurnStep):
            minutes = self.request.minutes if step.adjustable and self.request.minutes else step.minutes
            text = step.text.format(**values, minutes=spoken_minutes(minutes))
            self._append("turn", text, seconds=minutes * 60, minute_left_cue=step.minute_left_cue)
        elif isinstance(step, (SayStep, PromptStep)):
            self._append("say" if isinstance(step, SayStep) else "prompt", step.text.format(**values))

    def _append(self, kind: Literal["say", "prompt", "turn"], text: str, **extra: Any) -> None:
        self.plan.append(PlanStep(kind, text, self.group, **extra, **self.labels))
