"""Intent templates compiled to a word graph: the one description of what can be heard.

A context's language can be huge while its automaton stays small: a coffee-order pack with about
10^8 sentences is a few thousand states. So templates are never expanded into phrase lists;
they are compiled (Thompson construction, then subset construction, then minimization of the
acyclic result) into a deterministic word graph, and every consumer walks that graph:

* the constrained decoders (Whisper's beam search follows its arcs token by token),
* PocketSphinx's JSGF (one rule per state),
* Vosk's phrase list, only where the graph is small enough to enumerate,
* the vocabulary check (which words a recognizer must know),
* the whole-phrase check (`accepts`, `parse`): a transcript counts as a command only if it is a path.

State 0 is the start; `finals` are the states where a whole phrase may end.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Protocol

from .templates import Alt, Node, Opt, Seq, Slot, Word


class SlotValues(Protocol):
    """What the compiler needs of a slot list: the spoken form of each value."""

    @property
    def spoken_forms(self) -> Sequence[Node]: ...


class WordGraph:
    """A minimal deterministic acyclic automaton over words. Immutable once built."""

    def __init__(self, arcs: Sequence[Mapping[str, int]], finals: Iterable[int]) -> None:
        self.arcs: tuple[Mapping[str, int], ...] = tuple(dict(a) for a in arcs)
        self.finals = frozenset(finals)

    # ---- walking

    def step(self, state: int, word: str) -> int | None:
        return self.arcs[state].get(word)

    def accepts(self, words: Sequence[str]) -> bool:
        """Is this exact word sequence a whole phrase of the grammar?"""
        state: int | None = 0
        for word in words:
            state = self.arcs[state].get(word) if state is not None else None
            if state is None:
                return False
        return state in self.finals

    def parse(self, words: Sequence[str], skippable: frozenset[str] = frozenset()) -> tuple[str, ...] | None:
        """The phrase of the grammar that `words` spell once some `skippable` words (fillers like
        "um", "please") are left out, leaving out as few as possible; None if there is none."""
        frontier = self._walk(words, skippable)
        ends = [(skipped, path) for state, (skipped, path) in frontier.items() if state in self.finals]
        return min(ends)[1] if ends else None

    def could_go_on(self, words: Sequence[str], skippable: frozenset[str] = frozenset()) -> bool:
        """Do `words` (fillers left out) begin a phrase that has more to come? True for a part of a
        phrase ("can i get a large") and for a whole phrase that a longer one extends."""
        return any(self.arcs[state] for state in self._walk(words, skippable))

    def _walk(self, words: Sequence[str], skippable: frozenset[str]) -> dict[int, tuple[int, tuple[str, ...]]]:
        """Every state the words can reach, each with its fewest skipped words and its path."""
        frontier: dict[int, tuple[int, tuple[str, ...]]] = {0: (0, ())}  # state -> (skipped, path)
        for word in words:
            following: dict[int, tuple[int, tuple[str, ...]]] = {}
            for state, (skipped, path) in frontier.items():
                target = self.arcs[state].get(word)
                if target is not None:
                    _keep_best(following, target, (skipped, path + (word,)))
                if word in skippable:
                    _keep_best(following, state, (skipped + 1, path))
            frontier = following
            if not frontier:
                break
        return frontier

    # ---- facts about the language

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(word for arcs in self.arcs for word in arcs)

    @cached_property
    def _order(self) -> tuple[int, ...]:
        """States so that every arc goes from an earlier to a later one."""
        seen: set[int] = set()
        order: list[int] = []
        stack: list[tuple[int, bool]] = [(0, False)]
        while stack:
            state, done = stack.pop()
            if done:
                order.append(state)
                continue
            if state in seen:
                continue
            seen.add(state)
            stack.append((state, True))
            stack.extend((target, False) for target in self.arcs[state].values() if target not in seen)
        return tuple(reversed(order))

    @cached_property
    def _paths_from(self) -> tuple[int, ...]:
        """How many whole phrases start at each state."""
        counts = [0] * len(self.arcs)
        for state in reversed(self._order):
            counts[state] = (state in self.finals) + sum(counts[t] for t in self.arcs[state].values())
        return tuple(counts)

    def count(self) -> int:
        """How many distinct phrases the grammar has (exact, however large)."""
        return self._paths_from[0] if self.arcs else 0

    @cached_property
    def longest(self) -> int:
        """The most words any phrase has."""
        depth = [0] * len(self.arcs)
        for state in reversed(self._order):
            depth[state] = max((1 + depth[t] for t in self.arcs[state].values()), default=0)
        return depth[0] if self.arcs else 0

    def phrases(self, limit: int) -> list[str] | None:
        """Every phrase, sorted, if there are at most `limit`; None otherwise (never enumerate a
        huge grammar)."""
        if self.count() > limit:
            return None
        found: list[str] = []
        stack: list[tuple[int, tuple[str, ...]]] = [(0, ())]
        while stack:
            state, words = stack.pop()
            if state in self.finals and words:
                found.append(" ".join(words))
            stack.extend((target, words + (word,)) for word, target in self.arcs[state].items())
        return sorted(found)

    def sample(self, n: int, seed: int = 0) -> list[str]:
        """Up to `n` different phrases drawn uniformly from the language (for `hearth intents`)."""
        rng = random.Random(seed)
        counts = self._paths_from
        result: list[str] = []
        for _ in range(20 * n if self.count() else 0):
            if len(result) >= min(n, self.count()):
                break
            state, words = 0, []
            while True:
                pick = rng.randrange(counts[state])
                if state in self.finals:
                    if pick == 0:
                        break
                    pick -= 1
                for word, target in sorted(self.arcs[state].items()):
                    if pick < counts[target]:
                        words.append(word)
                        state = target
                        break
                    pick -= counts[target]
            if " ".join(words) not in result:
                result.append(" ".join(words))
        return result

    @property
    def size(self) -> tuple[int, int]:
        """(states, arcs)."""
        return len(self.arcs), sum(len(a) for a in self.arcs)

    def to_jsgf(self, name: str = "hearth") -> str:
        """The graph as JSGF, one rule per state, for PocketSphinx."""
        lines = ["#JSGF V1.0;", f"grammar {name};", "public <command> = <s0>;"]
        for state in self._order:
            options = []
            for word, target in sorted(self.arcs[state].items()):
                if not self.arcs[target]:
                    options.append(word)
                elif target in self.finals:
                    options.append(f"{word} [ <s{target}> ]")
                else:
                    options.append(f"{word} <s{target}>")
            if options:
                lines.append(f"<s{state}> = " + " | ".join(options) + ";")
        return "\n".join(lines) + "\n"


def _keep_best(table: dict[int, tuple[int, tuple[str, ...]]], state: int, candidate: tuple[int, tuple[str, ...]]) -> None:
    if state not in table or candidate < table[state]:
        table[state] = candidate


# ---------------------------------------------------------------- compiling


class GraphBuilder:
    """Builds a nondeterministic graph with empty arcs, then `finish()` makes it minimal and
    deterministic. Slot lists are compiled where they are used (each use is its own copy)."""

    def __init__(self, lists: Mapping[str, SlotValues]) -> None:
        self.lists = lists
        self._arcs: list[list[tuple[str | None, int]]] = []
        self.start = self.new_state()
        self.final = self.new_state()

    def new_state(self) -> int:
        self._arcs.append([])
        return len(self._arcs) - 1

    def arc(self, source: int, word: str | None, target: int) -> None:
        self._arcs[source].append((word, target))

    def words(self, source: int, words: Sequence[str]) -> int:
        """A chain of words from `source`; returns where it ends."""
        for word in words:
            target = self.new_state()
            self.arc(source, word, target)
            source = target
        return source

    def template(self, node: Node, source: int) -> int:
        """Compile a template tree starting at `source`; returns its end state."""
        if isinstance(node, Word):
            return self.words(source, [node.text])
        if isinstance(node, Seq):
            for item in node.items:
                source = self.template(item, source)
            return source
        options = node.options if isinstance(node, Alt) else None
        if isinstance(node, Slot):
            options = tuple(self.lists[node.name].spoken_forms)
        end = self.new_state()
        if isinstance(node, Opt):
            self.arc(source, None, end)
            options = (node.inner,)
        for option in options or ():
            self.arc(self.template(option, source), None, end)
        return end

    def finish(self) -> WordGraph:
        return _minimize(*_determinize(self._arcs, self.start, self.final))


def _determinize(arcs: list[list[tuple[str | None, int]]], start: int, final: int) -> tuple[list[dict[str, int]], set[int]]:
    closures: dict[int, frozenset[int]] = {}

    def closure(state: int) -> frozenset[int]:
        found = closures.get(state)
        if found is None:
            seen, stack = {state}, [state]
            while stack:
                for word, target in arcs[stack.pop()]:
                    if word is None and target not in seen:
                        seen.add(target)
                        stack.append(target)
            found = closures[state] = frozenset(seen)
        return found

    first = closure(start)
    ids: dict[frozenset[int], int] = {first: 0}
    table: list[dict[str, int]] = [{}]
    pending = [first]
    while pending:
        subset = pending.pop()
        moves: dict[str, set[int]] = {}
        for state in subset:
            for word, target in arcs[state]:
                if word is not None:
                    moves.setdefault(word, set()).update(closure(target))
        row = table[ids[subset]]
        for word, targets in moves.items():
            key = frozenset(targets)
            if key not in ids:
                ids[key] = len(table)
                table.append({})
                pending.append(key)
            row[word] = ids[key]
    finals = {number for subset, number in ids.items() if final in subset}
    return table, finals


def _minimize(table: list[dict[str, int]], finals: set[int]) -> WordGraph:
    """Merge states with the same future (equal finality and equal arcs to merged states); in an
    acyclic graph one pass from the end suffices."""
    graph = WordGraph(table, finals)
    representative: dict[int, int] = {}
    by_signature: dict[tuple[bool, tuple[tuple[str, int], ...]], int] = {}
    for state in reversed(graph._order):
        signature = (state in finals, tuple(sorted((w, representative[t]) for w, t in table[state].items())))
        representative[state] = by_signature.setdefault(signature, state)
    numbering: dict[int, int] = {}
    queue = deque([representative[0]])
    while queue:
        state = queue.popleft()
        if state in numbering:
            continue
        numbering[state] = len(numbering)
        queue.extend(sorted({representative[t] for t in table[state].values()}))
    arcs: list[dict[str, int]] = [{} for _ in numbering]
    for old, new in numbering.items():
        arcs[new] = {w: numbering[representative[t]] for w, t in table[old].items()}
    return WordGraph(arcs, {numbering[s] for s in numbering if s in finals})


def compile_phrases(phrases: Iterable[str]) -> WordGraph:
    """A graph of exactly these phrases (for tests and small hand-made grammars)."""
    builder = GraphBuilder({})
    for phrase in phrases:
        builder.arc(builder.words(builder.start, phrase.split()), None, builder.final)
    return builder.finish()
