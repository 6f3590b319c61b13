"""Exercises are data: YAML files validated at start-up into frozen dataclasses.

The format is documented in docs/authoring.md. Every error names `file:line` and what is wrong, so
a person editing a prompt can fix it without reading code. Commands are named as `{cmd:NAME}` and
resolved here, at load time, to the intents' help phrases (assistant/phrasebook.py). The plan a
session walks is compiled from an exercise in assistant/plan.py.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union

from .errors import ContentError
from .phrasebook import Phrasebook

if TYPE_CHECKING:
    from .intents import IntentSet
    from .lines import InfoTopic, Lines

PLACEHOLDERS_EVERYWHERE = {"first", "second", "wake", "minutes"}  # {minutes}: the next timed turn's length
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
    notices: tuple[str, ...] = ()  # one line each, said at start-up: an extra file replaced an exercise


# ---------------------------------------------------------------- loading


def content_dir() -> Path:
    return Path(__file__).resolve().parent / "content"


def load_catalog(extra: Iterable[Path] = (), intents: IntentSet | None = None) -> Catalog:
    """The packaged exercises, info topics and lines, plus any extra exercise files or folders,
    with every `{cmd:NAME}` resolved against `intents` (the built-in set when None)."""
    from .intent_yaml import load_intents
    from .lines import load_info, load_lines

    intents = intents or load_intents()
    phrases = Phrasebook.of(intents)
    files = sorted((content_dir() / "exercises").glob("*.yaml"))
    for path in extra:
        files.extend(sorted(Path(path).glob("*.yaml")) if Path(path).is_dir() else [Path(path)])
    exercises: dict[str, Exercise] = {}
    notices: list[str] = []
    for path in files:
        exercise = load_exercise(path, phrases)
        if exercise.id in exercises:
            replaced = exercises[exercise.id].source
            whose = "the built-in" if Path(replaced).parent == content_dir() / "exercises" else f"{replaced}'s"
            notices.append(f"{path} replaces {whose} exercise '{exercise.id}'")
        exercises[exercise.id] = exercise
    spoken = [str(v.value) for v in intents.lists["exercise"].values] if "exercise" in intents.lists else []
    order = tuple(sorted(exercises, key=lambda e: spoken.index(e) if e in spoken else len(spoken)))
    lines = load_lines(content_dir() / "lines.yaml", phrases)
    return Catalog(exercises, load_info(content_dir() / "info.yaml", phrases), lines, phrases, order, tuple(notices))


def check_paths(paths: Sequence[Path], phrases: Phrasebook | None = None) -> list[str]:
    """Validate exercise files (for `hearth check`); returns the ids loaded, raises on the first error."""
    if phrases is None:
        from .intent_yaml import load_intents

        phrases = Phrasebook.of(load_intents())
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise ContentError(f"{path}: no such file or folder")
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return [load_exercise(path, phrases).id for path in files]


def load_exercise(path: Path, phrases: Phrasebook | None = None) -> Exercise:
    """One exercise file, validated (the parsing is in exercise_yaml.py)."""
    from .exercise_yaml import parse_exercise

    if phrases is None:
        from .intent_yaml import load_intents

        phrases = Phrasebook.of(load_intents())
    return parse_exercise(path, phrases)


def check_placeholders(text: str, allowed: set[str], at: str) -> None:
    """Every `{name}` in a text must be one of `allowed`; else a file:line error naming them."""
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

