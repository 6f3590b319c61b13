"""The template language of intent files: `(start | begin) [our] {exercise}`.

A template is a small language in the spirit of Home Assistant's hassil: alternatives, optional
words and slot lists. This module only parses text into a tree and normalizes transcripts; what
the tree means for recognition (a word graph) lives in assistant.grammar, and what it means for
understanding (the matcher) in assistant.intents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from .errors import ContentError

NAME = r"[A-Za-z][A-Za-z0-9_]*"
"""Intent and slot names: lower case with underscores here, camelCase in packs from other tools."""


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

MAX_NESTING = 50  # brackets inside brackets; real templates use two or three
_TOKEN = re.compile(r"\(|\)|\[|\]|\||\{" + NAME + r"\}|[^\s()\[\]|{}]+")
_WORD = re.compile(r"^[a-z][a-z']*$")


def parse_template(text: str, at: str = "<template>") -> Node:
    """Parse `(a | b) [c] {slot} d` into a tree; errors name the file:line given in `at`."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ContentError(f"{at}: template '{text}' has a character the template language does not know")
    depth = 0
    for token in tokens:
        depth += 1 if token in ("(", "[") else -1 if token in (")", "]") else 0
        if depth > MAX_NESTING:
            raise ContentError(f"{at}: template '{text[:40]}...' nests brackets more than {MAX_NESTING} deep")
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


def slots_in(node: Node) -> set[str]:
    """The slot names a template refers to (not those inside the slot lists' own values)."""
    if isinstance(node, Slot):
        return {node.name}
    if isinstance(node, Opt):
        return slots_in(node.inner)
    if isinstance(node, (Alt, Seq)):
        children = node.options if isinstance(node, Alt) else node.items
        return set().union(*(slots_in(child) for child in children))
    return set()


def first_words(node: Node) -> tuple[str, ...]:
    """One phrase of the template, taking the first option everywhere and leaving out optionals:
    what an intent teaches when its file gives no `help:` phrase."""
    if isinstance(node, Word):
        return (node.text,)
    if isinstance(node, Opt) or isinstance(node, Slot):
        return ()
    if isinstance(node, Alt):
        return first_words(node.options[0])
    return tuple(word for item in node.items for word in first_words(item))


# ---------------------------------------------------------------- numbers and normalizing

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
NUMBER_WORDS = {word: n for n, word in enumerate(_ONES)} | {word: 10 * n for n, word in enumerate(_TENS) if n >= 2}


def number_words(n: int) -> str:
    """0..99 as spoken words: 36 -> 'thirty six'."""
    if not 0 <= n < 100:
        raise ValueError(f"{n} is outside 0..99")
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])


def _spoken_number(digits: re.Match[str]) -> str:
    """Digits as the words a recognizer would hear; 100 and more (any length) are dropped."""
    value = digits.group().lstrip("0") or "0"
    return f" {number_words(int(value))} " if len(value) <= 2 else " "


# Typed British spellings of template words; a recognizer hears the same sound as the word on the right.
_SPELLINGS = {"counselling": "counseling", "counsellor": "counselor", "counsellors": "counselors"}


def normalize(text: str) -> list[str]:
    """Lower-case words the matcher compares: digits spelled out, hyphens split, punctuation gone."""
    text = text.lower().replace("\u2019", "'").replace("-", " ")
    text = re.sub(r"\d+", _spoken_number, text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    words = [word.strip("'") for word in text.split() if word.strip("'")]
    return [_SPELLINGS.get(word, word) for word in words]
