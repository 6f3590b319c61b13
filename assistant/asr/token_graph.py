"""The live grammar's word graph spelled in Whisper's tokens, built as the beam search walks it.

Whisper writes text the way people read it ("Juniper, pause.", "the 36 questions",
"our check-in"), so each grammar word may be spelled several ways: with a leading space,
capitalized, joined by a hyphen to the word before; a number word also as digits, and a tens word
with the ones word after it as one number ("thirty six" as "36"). Punctuation may follow any word.
Every spelling maps back to the same words through `templates.normalize`, so a decoded token
sequence is always a path of the word graph: recognition can only ever yield a command phrase.

A search state is the set of places the tokens so far may have reached (a word-graph state, and
how far into the spellings of its next words). States are built on first use and kept, so a huge
grammar costs only what the audio makes the search visit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..grammar import WordGraph
from ..templates import NUMBER_WORDS

END = frozenset({(-1, -1, -1)})  # the state after the end-of-text token
PUNCTUATION = (",", ".", "?", "!")
_ONES = {word: n for word, n in NUMBER_WORDS.items() if 1 <= n <= 9}
_TENS = {word: n for word, n in NUMBER_WORDS.items() if n >= 20}

Position = tuple[int, int, int]  # (0: in a word / 1: after punctuation, word-graph state, trie node)
State = frozenset[Position]


@dataclass
class _Trie:
    """Every spelling of every word leaving one word-graph state, as a tree of tokens."""

    children: list[dict[int, int]] = field(default_factory=lambda: [{}])
    ends: list[set[int]] = field(default_factory=lambda: [set()])

    def add(self, tokens: tuple[int, ...], target: int) -> None:
        node = 0
        for token in tokens:
            child = self.children[node].get(token)
            if child is None:
                child = len(self.children)
                self.children[node][token] = child
                self.children.append({})
                self.ends.append(set())
            node = child
        self.ends[node].add(target)


def spellings(word: str, first: bool) -> list[str]:
    """How Whisper may write one grammar word (its leading space included)."""
    forms = [word, word[:1].upper() + word[1:]]
    if word in NUMBER_WORDS:
        forms.append(str(NUMBER_WORDS[word]))
    if first:
        return [" " + form for form in forms] + forms
    return [" " + form for form in forms] + ["-" + form for form in forms if form != forms[1]]


class TokenGraph:
    """Allowed next tokens for a word graph; `moves(state)` maps token -> next state."""

    def __init__(self, graph: WordGraph, encode: Callable[[str], tuple[int, ...]], end_of_text: int) -> None:
        self.graph = graph
        self.encode = encode
        self.end_of_text = end_of_text
        self.punctuation = tuple(sorted({encode(mark)[0] for mark in PUNCTUATION if len(encode(mark)) == 1}))
        self._tries: dict[int, _Trie] = {}
        self._moves: dict[State, dict[int, State]] = {}
        self.start: State = self._closure((0, 0, 0))
        self.longest_tokens = 3 * graph.longest + 4

    def _trie(self, state: int) -> _Trie:
        trie = self._tries.get(state)
        if trie is None:
            trie = self._tries[state] = _Trie()
            for word, target in self.graph.arcs[state].items():
                for form in spellings(word, first=state == 0):
                    trie.add(self.encode(form), target)
                if word in _TENS:
                    for ones, after in self.graph.arcs[target].items():
                        if ones in _ONES:
                            number = str(_TENS[word] + _ONES[ones])
                            for prefix in ((" ", "") if state == 0 else (" ", "-")):
                                trie.add(self.encode(prefix + number), after)
        return trie

    def _closure(self, position: Position) -> State:
        kind, state, node = position
        reached = {position}
        if kind == 0:
            reached.update((0, target, 0) for target in self._trie(state).ends[node])
        return frozenset(reached)

    def moves(self, current: State) -> dict[int, State]:
        """Token -> the state it leads to; the end-of-text token leads to END where a phrase may end."""
        known = self._moves.get(current)
        if known is not None:
            return known
        targets: dict[int, set[Position]] = {}
        for kind, state, node in current:
            if state < 0:
                continue
            trie = self._trie(state)
            for token, child in trie.children[node].items():
                targets.setdefault(token, set()).update(self._closure((0, state, child)))
            if node == 0 and state in self.graph.finals:
                targets[self.end_of_text] = set(END)
            if kind == 0 and node == 0 and state != 0:
                for mark in self.punctuation:
                    targets.setdefault(mark, set()).add((1, state, 0))
        result = {token: frozenset(positions) for token, positions in targets.items()}
        self._moves[current] = result
        return result
