"""Intent templates: one source for what recognizers may hear and what the matcher understands.

A template is a small language in the spirit of Home Assistant's hassil:
`(start | begin) [our] {exercise}` has alternatives, optional words and a slot list. The same parsed
templates give (1) a compact JSGF grammar and the exact phrase list a grammar-constrained recognizer
needs for a context, and (2) a pure matcher from a transcript to `(intent, slots, score)`.
Because both come from one tree, the recognizer can never produce a phrase the matcher rejects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from .asr.base import Grammar
from .errors import ContentError
from .yamlload import LDict, load_yaml, where

CONTEXTS = ("idle", "prompt", "turn")
ANY = "any"
MAX_PHRASES = 20_000

# ---------------------------------------------------------------- template tree


@dataclass(frozen=True)
class Word:
    text: str


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Opt:
    inner: Node


@dataclass(frozen=True)
class Slot:
    name: str


Node = Union[Word, Seq, Alt, Opt, Slot]

_TOKEN = re.compile(r"\(|\)|\[|\]|\||\{[a-z_]+\}|[^\s()\[\]|{}]+")
_WORD = re.compile(r"^[a-z][a-z']*$")


def parse_template(text: str, at: str = "<template>") -> Node:
    """Parse `(a | b) [c] {slot} d` into a tree; errors name the file:line given in `at`."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ContentError(f"{at}: template '{text}' has a character the template language does not know")
    node, pos = _parse_alternatives(tokens, 0, text, at)
    if pos != len(tokens):
        raise ContentError(f"{at}: template '{text}' has an unmatched '{tokens[pos]}'")
    return node


def _parse_alternatives(tokens: list[str], pos: int, text: str, at: str) -> tuple[Node, int]:
    options: list[Node] = []
    while True:
        seq, pos = _parse_sequence(tokens, pos, text, at)
        options.append(seq)
        if pos < len(tokens) and tokens[pos] == "|":
            pos += 1
            continue
        break
    return (options[0] if len(options) == 1 else Alt(tuple(options))), pos


def _parse_sequence(tokens: list[str], pos: int, text: str, at: str) -> tuple[Node, int]:
    items: list[Node] = []
    while pos < len(tokens) and tokens[pos] not in ("|", ")", "]"):
        token = tokens[pos]
        if token in ("(", "["):
            closing = ")" if token == "(" else "]"
            inner, pos = _parse_alternatives(tokens, pos + 1, text, at)
            if pos >= len(tokens) or tokens[pos] != closing:
                raise ContentError(f"{at}: template '{text}' opens '{token}' but never closes it")
            items.append(inner if token == "(" else Opt(inner))
        elif token.startswith("{"):
            items.append(Slot(token[1:-1]))
        elif _WORD.match(token):
            items.append(Word(token))
        else:
            raise ContentError(
                f"{at}: template '{text}' has the word '{token}': write words in lower case letters"
                " (and apostrophes), numbers as words"
            )
        pos += 1
    if not items:
        raise ContentError(f"{at}: template '{text}' has an empty alternative")
    return (items[0] if len(items) == 1 else Seq(tuple(items))), pos


def expand(node: Node, lists: Mapping[str, SlotList]) -> list[tuple[str, ...]]:
    """Every word sequence a template can produce (slots filled with their spoken forms)."""
    if isinstance(node, Word):
        return [(node.text,)]
    if isinstance(node, Opt):
        return [()] + expand(node.inner, lists)
    if isinstance(node, Alt):
        return [words for option in node.options for words in expand(option, lists)]
    if isinstance(node, Slot):
        return [words for value in lists[node.name].values for words in expand(value.spoken, lists)]
    result: list[tuple[str, ...]] = [()]
    for item in node.items:
        result = [head + tail for head in result for tail in expand(item, lists)]
        if len(result) > MAX_PHRASES:
            raise ContentError(f"a template expands to more than {MAX_PHRASES} phrases; simplify it")
    return result


# ---------------------------------------------------------------- numbers and normalizing

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """0..99 as spoken words: 36 -> 'thirty six'."""
    if not 0 <= n < 100:
        raise ValueError(f"{n} is outside 0..99")
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])


# Typed British spellings of template words; a recognizer hears the same sound as the word on the right.
_SPELLINGS = {"counselling": "counseling", "counsellor": "counselor", "counsellors": "counselors"}


def normalize(text: str) -> list[str]:
    """Lower-case words the matcher compares: digits spelled out, hyphens split, punctuation gone."""
    text = text.lower().replace("\u2019", "'").replace("-", " ")
    text = re.sub(r"\d+", lambda m: f" {number_words(int(m.group()))} " if int(m.group()) < 100 else " ", text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    words = [word.strip("'") for word in text.split() if word.strip("'")]
    return [_SPELLINGS.get(word, word) for word in words]


# ---------------------------------------------------------------- intents


@dataclass(frozen=True)
class SlotValue:
    spoken: Node
    value: str | int


@dataclass(frozen=True)
class SlotList:
    name: str
    values: tuple[SlotValue, ...]


@dataclass(frozen=True)
class Intent:
    name: str
    contexts: frozenset[str]
    templates: tuple[Node, ...]
    help: str
    where: str
    wake_in: frozenset[str]  # contexts where, spoken, it must be addressed by the wake name
    # slot values a template sets by itself (hassil's `slots:`), one mapping per template, in order:
    # "when should we get help" names no topic in its words, yet means topic=when_to_get_help
    fixed_slots: tuple[Mapping[str, str | int], ...] = ()

    def slots_of(self, index: int) -> Mapping[str, str | int]:
        return self.fixed_slots[index] if index < len(self.fixed_slots) else {}

    def live_in(self, context: str) -> bool:
        return ANY in self.contexts or context in self.contexts


@dataclass(frozen=True)
class Match:
    intent: str
    slots: Mapping[str, str | int]
    score: float  # 1.0: every word belongs to the template; lower for each filler word skipped
    addressed: bool  # began with the wake name


@dataclass(frozen=True)
class IntentSet:
    intents: tuple[Intent, ...]
    lists: Mapping[str, SlotList]
    fillers: frozenset[str]
    wake_name: str
    sources: tuple[str, ...] = field(default=())

    def needs_wake(self, intent: Intent, context: str) -> bool:
        """Spoken commands in a context where people talk freely must start with the wake name."""
        return context in intent.wake_in

    # ---- what is live

    def live(self, context: str) -> list[Intent]:
        """The intents that can be heard in a context; `any` means every intent (for measuring)."""
        return [intent for intent in self.intents if context == ANY or intent.live_in(context)]

    def names(self) -> set[str]:
        return {intent.name for intent in self.intents}

    # ---- for recognizers

    def phrases(self, context: str) -> list[str]:
        """Every phrase a grammar-constrained recognizer should accept in this context: each live
        intent's phrases, prefixed by the wake name, and also bare where the wake is not required."""
        result: set[str] = set()
        for intent in self.live(context):
            for template in intent.templates:
                for words in expand(template, self.lists):
                    body = " ".join(words)
                    result.add(f"{self.wake_name} {body}")
                    if not self.needs_wake(intent, context):
                        result.add(body)
        return sorted(result)

    def intent_phrases(self, intent: Intent) -> list[str]:
        """Every phrase one intent's templates expand to (without the wake name)."""
        return sorted({" ".join(words) for template in intent.templates for words in expand(template, self.lists)})

    def vocabulary(self, context: str) -> frozenset[str]:
        return frozenset(word for phrase in self.phrases(context) for word in phrase.split())

    def grammar(self, context: str) -> Grammar:
        """A compact JSGF grammar (one rule per intent and slot list) plus the expanded phrases."""
        live = self.live(context)
        free = [intent for intent in live if not self.needs_wake(intent, context)]
        used_lists = {name for intent in live for t in intent.templates for name in _slots_in(t)}
        used_lists |= _nested_lists(self.lists, used_lists)
        addressed = "<wake> ( " + " | ".join(f"<{intent.name}>" for intent in live) + " )"
        alternatives = [" | ".join(f"<{intent.name}>" for intent in free)] if free else []
        lines = ["#JSGF V1.0;", "grammar hearth;"]
        lines.append("public <command> = " + " | ".join(alternatives + [addressed]) + ";")
        lines.append(f"<wake> = {self.wake_name};")
        for intent in live:
            lines.append(f"<{intent.name}> = " + " | ".join(_jsgf(t) for t in intent.templates) + ";")
        for name in sorted(used_lists):
            lines.append(f"<slot_{name}> = " + " | ".join(_jsgf(v.spoken) for v in self.lists[name].values) + ";")
        phrases = tuple(self.phrases(context))
        vocabulary = frozenset(word for phrase in phrases for word in phrase.split())
        return Grammar(context=context, jsgf="\n".join(lines) + "\n", phrases=phrases, vocabulary=vocabulary)

    # ---- matcher

    def match(self, text: str, context: str, enforce_wake: bool = False) -> Match | None:
        """The best live intent for a transcript, or None. Pure: no state, no I/O.

        With `enforce_wake` (spoken input), intents that need the wake name in this context only
        match when the transcript starts with it; typed input is always addressed.
        """
        tokens = normalize(text)
        if not tokens:
            return None
        addressed, body = self._strip_wake(tokens)
        best: tuple[int, int, Match] | None = None
        for order, intent in enumerate(self.live(context)):
            if enforce_wake and not addressed and self.needs_wake(intent, context):
                continue
            for index, template in enumerate(intent.templates):
                for end, slots, skipped in _match(template, body, 0, self.lists, self.fillers):
                    trailing = _trailing_fillers(body, end, self.fillers)
                    if trailing < 0:  # words after the template that are not fillers: no match
                        continue
                    skipped += trailing
                    score = round(1.0 / (1.0 + 0.1 * skipped), 3)
                    candidate = Match(intent.name, {**intent.slots_of(index), **dict(slots)}, score, addressed)
                    key = (skipped, order)
                    if best is None or key < best[:2]:
                        best = (skipped, order, candidate)
        return best[2] if best else None

    def _strip_wake(self, tokens: list[str]) -> tuple[bool, list[str]]:
        wake = self.wake_name.split()
        start = 0
        while start < len(tokens) and tokens[start] in self.fillers | {"hey", "hi", "hello"}:
            start += 1
        if tokens[start : start + len(wake)] == wake:
            return True, tokens[start + len(wake) :]
        return False, tokens


def _slots_in(node: Node) -> set[str]:
    if isinstance(node, Slot):
        return {node.name}
    if isinstance(node, Opt):
        return _slots_in(node.inner)
    if isinstance(node, (Alt, Seq)):
        children = node.options if isinstance(node, Alt) else node.items
        return set().union(*(_slots_in(child) for child in children))
    return set()


def _nested_lists(lists: Mapping[str, SlotList], names: set[str]) -> set[str]:
    """Slot lists used inside other slot lists' spoken forms (JSGF needs their rules too)."""
    found: set[str] = set()
    frontier = set(names)
    while frontier:
        for value in lists[frontier.pop()].values:
            for inner in _slots_in(value.spoken) - found:
                found.add(inner)
                frontier.add(inner)
    return found


def _jsgf(node: Node) -> str:
    if isinstance(node, Word):
        return node.text
    if isinstance(node, Slot):
        return f"<slot_{node.name}>"
    if isinstance(node, Opt):
        return f"[ {_jsgf(node.inner)} ]"
    if isinstance(node, Alt):
        return "( " + " | ".join(_jsgf(option) for option in node.options) + " )"
    return " ".join(_jsgf(item) for item in node.items)


_Result = tuple[int, tuple[tuple[str, str | int], ...], int]


def _match(node: Node, tokens: list[str], pos: int, lists: Mapping[str, SlotList], fillers: frozenset[str]) -> Iterator[_Result]:
    """Yield (end, slots, fillers skipped) for every way `node` matches tokens from `pos`."""
    if isinstance(node, Word):
        skipped = 0
        while True:
            if pos < len(tokens) and tokens[pos] == node.text:
                yield pos + 1, (), skipped
            if pos < len(tokens) and tokens[pos] in fillers:
                pos, skipped = pos + 1, skipped + 1
                continue
            return
    elif isinstance(node, Opt):
        yield pos, (), 0
        yield from _match(node.inner, tokens, pos, lists, fillers)
    elif isinstance(node, Alt):
        for option in node.options:
            yield from _match(option, tokens, pos, lists, fillers)
    elif isinstance(node, Slot):
        for value in lists[node.name].values:
            for end, slots, skipped in _match(value.spoken, tokens, pos, lists, fillers):
                yield end, ((node.name, value.value),) + slots, skipped
    else:
        yield from _match_sequence(node.items, tokens, pos, lists, fillers)


def _match_sequence(items: tuple[Node, ...], tokens: list[str], pos: int, lists: Mapping[str, SlotList], fillers: frozenset[str]) -> Iterator[_Result]:
    if not items:
        yield pos, (), 0
        return
    for end, slots, skipped in _match(items[0], tokens, pos, lists, fillers):
        for final, more_slots, more_skipped in _match_sequence(items[1:], tokens, end, lists, fillers):
            yield final, slots + more_slots, skipped + more_skipped


def _trailing_fillers(tokens: list[str], end: int, fillers: frozenset[str]) -> int:
    """How many tokens after `end` are fillers; -1 if any is not (then the match is incomplete)."""
    rest = tokens[end:]
    return len(rest) if all(token in fillers for token in rest) else -1


# ---------------------------------------------------------------- loading

BUILTIN = "builtin"


def builtin_intent_dir() -> Path:
    """intents/ in a checkout, or the copy packaged as assistant/builtin_intents in a wheel."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "intents", package / "builtin_intents"):
        if any(candidate.glob("*.yaml")):
            return candidate
    raise ContentError("the built-in intents are missing", "reinstall hearth: pip install --force-reinstall .")


def load_intents(paths: Iterable[Path] | None = None, wake_name: str | None = None) -> IntentSet:
    """Load intent files. With no paths, the built-in set. A file that says `extends: builtin` adds
    to (and may override intents of) the built-in set; otherwise the given files replace it."""
    user_files: list[Path] = []
    for path in paths or []:
        path = Path(path)
        user_files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    user_docs = [_load_doc(path) for path in user_files]
    docs = user_docs
    if not user_docs or any(doc.get("extends") == BUILTIN for doc in user_docs):
        docs = [_load_doc(path) for path in sorted(builtin_intent_dir().glob("*.yaml"))] + user_docs
    return _build(docs, wake_name)


def _load_doc(path: Path) -> LDict:
    if not path.exists():
        raise ContentError(f"{path}: no such intent file", "check the path given to --intents")
    doc = load_yaml(path)
    if not isinstance(doc, LDict):
        raise ContentError(f"{path}:1: an intent file is a mapping with 'intents:' (see docs/authoring.md)")
    doc.only({"version", "extends", "wake_name", "wake_required_in", "fillers", "lists", "intents"}, "an intent file")
    return doc


def _build(docs: list[LDict], wake_override: str | None) -> IntentSet:
    lists: dict[str, SlotList] = {}
    raw_intents: dict[str, tuple[LDict, Any]] = {}
    fillers: set[str] = set()
    wake = "hearth"
    wake_contexts: set[str] = set()
    for doc in docs:
        wake = str(doc.get("wake_name", wake))
        wake_contexts.update(_contexts(doc.get("wake_required_in", []), doc.where_of("wake_required_in"), "wake_required_in"))
        for item in doc.get("fillers", []) or []:
            fillers.update(normalize(str(item)))
        for name, spec in (doc.get("lists") or {}).items():
            parsed = _parse_list(name, spec, doc.where_of(name))
            if doc.get("extends") == BUILTIN and name in lists:  # a new exercise's spoken name joins the built-in ones
                parsed = SlotList(name, lists[name].values + parsed.values)
            lists[name] = parsed
        intents = doc.get("intents")
        if not isinstance(intents, LDict):
            raise ContentError(f"{doc.source}:1: the file needs an 'intents:' mapping")
        for name, spec in intents.items():
            raw_intents[name] = (intents, spec)
    wake = wake_override or wake
    if not normalize(wake) or " ".join(normalize(wake)) != wake.lower().strip():
        raise ContentError(f"wake name '{wake}' must be plain words", "choose a name of letters only, like 'juniper'")
    built = tuple(_parse_intent(name, parent, spec, lists, frozenset(wake_contexts)) for name, (parent, spec) in raw_intents.items())
    return IntentSet(built, lists, frozenset(fillers), wake.lower().strip(), tuple(sorted({d.source for d in docs})))


def _parse_list(name: str, spec: Any, at: str) -> SlotList:
    if not isinstance(spec, LDict):
        raise ContentError(f"{at}: list '{name}' needs 'values:' or 'range:'")
    if "range" in spec:
        bounds = spec["range"]
        if not (isinstance(bounds, LDict) and isinstance(bounds.get("from"), int) and isinstance(bounds.get("to"), int)):
            raise ContentError(f"{spec.where_of('range')}: range needs whole numbers 'from:' and 'to:'")
        low, high = bounds["from"], bounds["to"]
        if not 0 <= low <= high < 100:
            raise ContentError(f"{spec.where_of('range')}: range must lie within 0..99, low to high")
        return SlotList(name, tuple(SlotValue(parse_template(number_words(n)), n) for n in range(low, high + 1)))
    values = spec.get("values")
    if not isinstance(values, list) or not values:
        raise ContentError(f"{at}: list '{name}' needs a non-empty 'values:' list")
    parsed = []
    for value in values:
        at_value = where(value, at)
        if isinstance(value, LDict):
            if "in" not in value or "out" not in value:
                raise ContentError(f"{at_value}: a list value needs 'in:' (what is said) and 'out:' (the value)")
            parsed.append(SlotValue(parse_template(str(value["in"]), value.where_of("in")), str(value["out"])))
        elif isinstance(value, str):
            parsed.append(SlotValue(parse_template(value, at_value), value))
        else:
            raise ContentError(f"{at_value}: a list value is a phrase or a mapping with in/out")
    return SlotList(name, tuple(parsed))


def _contexts(value: Any, at: str, key: str) -> list[str]:
    if not isinstance(value, list):
        raise ContentError(f"{at}: '{key}' is a list of {', '.join(CONTEXTS + (ANY,))}")
    for context in value:
        if context not in CONTEXTS + (ANY,):
            raise ContentError(f"{where(context, at)}: unknown context '{context}' (use {', '.join(CONTEXTS + (ANY,))})")
    return [str(c) for c in value]


def _parse_intent(name: str, parent: LDict, spec: Any, lists: Mapping[str, SlotList], wake_contexts: frozenset[str]) -> Intent:
    at = parent.where_of(name)
    if not re.fullmatch(r"[a-z][a-z_]*", name):
        raise ContentError(f"{at}: intent name '{name}' must be lower case letters and underscores")
    if not isinstance(spec, LDict):
        raise ContentError(f"{at}: intent '{name}' needs 'contexts:' and 'templates:'")
    spec.only(("contexts", "templates", "help", "wake_required_in"), f"intent '{name}'")
    if "contexts" not in spec:
        raise ContentError(f"{at}: intent '{name}' needs 'contexts:', a list of {', '.join(CONTEXTS + (ANY,))}")
    contexts = _contexts(spec["contexts"], spec.where_of("contexts"), "contexts")
    if not contexts:
        raise ContentError(f"{spec.where_of('contexts')}: intent '{name}' needs at least one context")
    wake_in = wake_contexts | set(_contexts(spec.get("wake_required_in", []), spec.where_of("wake_required_in"), "wake_required_in"))
    templates = spec.get("templates")
    if not isinstance(templates, list) or not templates:
        raise ContentError(f"{at}: intent '{name}' needs a non-empty 'templates:' list")
    parsed: list[Node] = []
    fixed: list[Mapping[str, str | int]] = []
    for template, slots in _template_entries(templates, at):
        node = parse_template(template, where(template, at))
        for slot in _slots_in(node):
            if slot not in lists:
                raise ContentError(f"{where(template, at)}: template uses {{{slot}}} but no list '{slot}' is defined")
        parsed.append(node)
        fixed.append(slots)
    help_text = str(spec.get("help") or " ".join(expand(parsed[0], lists)[0]))
    return Intent(name, frozenset(contexts), tuple(parsed), help_text, at, frozenset(wake_in), tuple(fixed))


def _template_entries(templates: list[Any], at: str) -> Iterator[tuple[str, Mapping[str, str | int]]]:
    """A template is a phrase, or a group `{templates: [...], slots: {name: value}}` whose phrases
    all set those slot values (hassil's intent-level `slots:`)."""
    for entry in templates:
        if isinstance(entry, str):
            yield entry, {}
            continue
        if not isinstance(entry, LDict):
            raise ContentError(f"{where(entry, at)}: a template is a phrase in quotes, got {entry!r}")
        if set(entry) != {"templates", "slots"}:
            raise ContentError(f"{entry.where}: a template group has exactly 'templates:' (phrases) and 'slots:' (fixed values)")
        slots = entry["slots"]
        if not isinstance(slots, LDict) or not slots or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in slots.values()):
            raise ContentError(f"{entry.where_of('slots')}: 'slots' maps slot names to fixed values, like topic: when_to_get_help")
        group = entry["templates"]
        if not isinstance(group, list) or not group or not all(isinstance(t, str) for t in group):
            raise ContentError(f"{entry.where_of('templates')}: 'templates' in a group is a non-empty list of phrases in quotes")
        for template in group:
            yield template, {str(k): v for k, v in slots.items()}
