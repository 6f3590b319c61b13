"""Intents: what each command means, in which context it is live, and the matcher.

Intent files (YAML, read by assistant/intent_yaml.py) hold templates in the language of assistant.templates. The same parsed
templates give (1) each context's compiled word graph, which is all a recognizer may ever produce
(assistant.grammar), and (2) a pure matcher from a transcript to `(intent, slots, score)`.
Because both come from one tree, the recognizer can never produce a phrase the matcher rejects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .asr.base import Grammar
from .grammar import GraphBuilder, WordGraph
from .templates import Alt, Node, Opt, Seq, Slot, Word, normalize, number_words, parse_template
from .yamlload import where

__all__ = ["Alt", "Opt", "Seq", "Slot", "Word", "normalize", "number_words", "parse_template"]

CONTEXTS = ("idle", "prompt", "confirm", "turn")
"""idle: nothing runs; prompt: hearth asked, speaks, waits or is paused; confirm: hearth asked a
yes-or-no question (everything live in prompt, and the answers); turn: a timer runs while the
couple talk freely. "yes" is live only in confirm: it is the commonest word at a table."""
CONFIRM, PROMPT = "confirm", "prompt"
ANY = "any"
GREETINGS = ("hey", "hi", "hello")  # may come before the wake name: "hey juniper, pause"

# ---------------------------------------------------------------- intents


@dataclass(frozen=True)
class SlotValue:
    spoken: Node
    value: str | int


@dataclass(frozen=True)
class SlotList:
    name: str
    values: tuple[SlotValue, ...]

    @property
    def spoken_forms(self) -> tuple[Node, ...]:
        return tuple(value.spoken for value in self.values)


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
        if context == CONFIRM and PROMPT in self.contexts:
            return True  # a yes-or-no question is a prompt too: its commands stay live
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
    _grammars: dict[str, Grammar] = field(default_factory=dict, compare=False, repr=False)

    def needs_wake(self, intent: Intent, context: str) -> bool:
        """Spoken commands in a context where people talk freely must start with the wake name."""
        return context in intent.wake_in or (context == CONFIRM and PROMPT in intent.wake_in)

    # ---- what is live

    def live(self, context: str) -> list[Intent]:
        """The intents that can be heard in a context; `any` means every intent (for measuring)."""
        return [intent for intent in self.intents if context == ANY or intent.live_in(context)]

    def names(self) -> set[str]:
        return {intent.name for intent in self.intents}

    # ---- for recognizers

    def grammar(self, context: str) -> Grammar:
        """The context's compiled word graph: each live intent, addressed by the wake name, and also
        bare where the wake name is not required. Compiled once per context and kept. (A greeting
        before the wake name, "hey juniper", is left to the fillers: adding it to the graph only
        gives a forced fit more ways to succeed.)"""
        cached = self._grammars.get(context)
        if cached is None:
            builder = GraphBuilder(self.lists)
            addressed, bare = builder.new_state(), builder.new_state()
            builder.arc(builder.words(builder.start, self.wake_name.split()), None, addressed)
            builder.arc(builder.start, None, bare)
            for intent in self.live(context):
                entry = builder.new_state()
                builder.arc(addressed, None, entry)
                if not self.needs_wake(intent, context):
                    builder.arc(bare, None, entry)
                for template in intent.templates:
                    builder.arc(builder.template(template, entry), None, builder.final)
            cached = self._grammars[context] = Grammar(context, builder.finish(), self.fillers, self._outside(context), tuple(self.wake_name.split()))
        return cached

    def _outside(self, context: str) -> WordGraph | None:
        """The commands not live in `context`, each only with the wake name in front: said to
        hearth, so worth an answer ("that doesn't fit now; you can say ..."), while the same
        words in conversation, unaddressed, are never taken for anything."""
        if context == ANY:
            return None
        others = [intent for intent in self.intents if not intent.live_in(context)]
        if not others:
            return None
        builder = GraphBuilder(self.lists)
        entry = builder.words(builder.start, self.wake_name.split())
        for intent in others:
            for template in intent.templates:
                builder.arc(builder.template(template, entry), None, builder.final)
        return builder.finish()

    def not_live_match(self, text: str, context: str) -> Match | None:
        """The command of another context an addressed transcript is exactly, or None: what a
        recognizer reports as not live becomes `engine.NotLive` only through this check."""
        outside = self.grammar(context).outside
        if outside is None or not outside.accepts(normalize(text)):
            return None
        match = self.match(text, ANY)
        if match is None or not match.addressed or any(i.name == match.intent for i in self.live(context)):
            return None
        return match

    def intent_graph(self, intent: Intent) -> WordGraph:
        """One intent's phrases alone (no wake name), e.g. to show a sample of them."""
        builder = GraphBuilder(self.lists)
        for template in intent.templates:
            builder.arc(builder.template(template, builder.start), None, builder.final)
        return builder.finish()

    def intent_vocabulary(self, intent: Intent) -> list[str]:
        """Every word one intent's templates (and the slot lists they use) can produce, sorted."""
        words: set[str] = set()
        stack: list[Node] = list(intent.templates)
        seen_lists: set[str] = set()
        while stack:
            node = stack.pop()
            if isinstance(node, Word):
                words.add(node.text)
            elif isinstance(node, Seq):
                stack.extend(node.items)
            elif isinstance(node, Alt):
                stack.extend(node.options)
            elif isinstance(node, Opt):
                stack.append(node.inner)
            elif node.name not in seen_lists:
                seen_lists.add(node.name)
                stack.extend(self.lists[node.name].spoken_forms)
        return sorted(words)

    def is_phrase(self, text: str, context: str) -> bool:
        """Is this transcript exactly a whole phrase of the context's grammar?"""
        return self.grammar(context).graph.accepts(normalize(text))

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
        while start < len(tokens) and tokens[start] in self.fillers | set(GREETINGS):
            start += 1
        if tokens[start : start + len(wake)] == wake:
            return True, tokens[start + len(wake) :]
        return False, tokens


def template_text(node: Node) -> str:
    """A template tree written back in the template language."""
    if isinstance(node, Word):
        return node.text
    if isinstance(node, Slot):
        return "{" + node.name + "}"
    if isinstance(node, Opt):
        inner = node.inner
        return "[" + (" | ".join(template_text(o) for o in inner.options) if isinstance(inner, Alt) else template_text(inner)) + "]"
    if isinstance(node, Alt):
        return "(" + " | ".join(template_text(option) for option in node.options) + ")"
    return " ".join(template_text(item) for item in node.items)


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
