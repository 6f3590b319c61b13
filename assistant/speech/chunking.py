"""Text into pieces that are synthesized and played one by one.

Pieces bound the wait before the first sound (a piece is synthesized whole before it plays) and give
stop() a natural point to drop the rest. The first piece is kept short, because how soon hearth starts
talking is what a couple notices and Piper renders a piece whole before it can play: a long first
sentence is split at a comma, or failing that before a word that opens a phrase ("that", "when",
...), where a speaker could take a breath. Later sentences stay whole (they are rendered while the
first one plays), so only the first sentence ever carries such a seam.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_COMMA = re.compile(r"(?<=,)\s+")
MAX_CHUNK = 160
FIRST_PIECE_MAX = 32
"""A first piece longer than this (characters, about two seconds of calm speech) is split."""

MIN_HEAD = 12
"""A split never leaves a first piece shorter than this (a lone "So" would sound clipped)."""

PHRASE_OPENERS = frozenset(
    "that which who whom whose when where while if because before after until unless and but or what how why".split()
)

LATER_OPENERS = frozenset("in on at with from about out could would should might will".split())
"""Failing a comma or a phrase opener, a first sentence is split before one of these (a preposition
or a modal starts a phrase too), if at least MIN_REST_WORDS words follow: "If the two of you | could
have dinner anywhere", never "hard to ask | for is"."""

MIN_REST_WORDS = 3

COMMA_PAUSE_FRACTION = 0.3
"""A pause at a comma split is this fraction of the sentence pause (a comma's breath, not a stop)."""


class Piece(NamedTuple):
    text: str
    pause_before: float  # fraction of the sentence pause to leave before this piece (0 for the first)


def split_sentences(text: str) -> list[str]:
    """Split into sentence-sized chunks; overlong sentences are split again at commas."""
    chunks: list[str] = []
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        chunks.extend(_split_long(sentence, MAX_CHUNK))
    return [c for c in chunks if c.strip()]


def pieces(text: str) -> list[Piece]:
    """The pieces to synthesize, with the pause before each (as a fraction of the sentence pause)."""
    out: list[Piece] = []
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        if not sentence.strip():
            continue
        parts = _split_long(sentence, MAX_CHUNK)
        if not out:
            parts = _short_head(parts[0]) + parts[1:]
        for part_index, part in enumerate(parts):
            if not out:
                pause = 0.0
            elif part_index == 0:
                pause = 1.0
            else:
                pause = COMMA_PAUSE_FRACTION if parts[part_index - 1].endswith(",") else 0.0
            out.append(Piece(part, pause))
    return out


def _short_head(sentence: str) -> list[str]:
    """[head, rest] with a short head: at the last comma that fits, else before a phrase opener."""
    if len(sentence) <= FIRST_PIECE_MAX:
        return [sentence]
    clauses = _COMMA.split(sentence)
    head = clauses[0]
    taken = 1
    while taken < len(clauses) - 1 and len(head) + 1 + len(clauses[taken]) <= FIRST_PIECE_MAX:
        head = f"{head} {clauses[taken]}"
        taken += 1
    if MIN_HEAD <= len(head) <= FIRST_PIECE_MAX and taken < len(clauses) or len(clauses) > 1 and len(head) < MIN_HEAD:
        return [head, " ".join(clauses[taken:])]
    words = sentence.split(" ")
    best = _last_opener(words, PHRASE_OPENERS, 2) or _last_opener(words, LATER_OPENERS, MIN_REST_WORDS)
    if best:
        return [" ".join(words[:best]), " ".join(words[best:])]
    return [head, " ".join(clauses[taken:])] if taken < len(clauses) else [sentence]


def _last_opener(words: list[str], openers: frozenset[str], min_rest: int) -> int:
    """Index of the last word in `openers` that a first piece of MIN_HEAD..FIRST_PIECE_MAX
    characters can end before, with at least `min_rest` words after it and no comma right before
    it (a comma split was tried first); 0 when there is none."""
    best = 0
    for index in range(1, len(words) - min_rest + 1):
        length = len(" ".join(words[:index]))
        if length > FIRST_PIECE_MAX:
            break
        if length >= MIN_HEAD and words[index].lower() in openers and not words[index - 1].endswith(","):
            best = index
    return best


def _split_long(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    parts: list[str] = []
    current = ""
    for piece in _COMMA.split(sentence):
        if current and len(current) + len(piece) + 1 > limit:
            parts.append(current)
            current = piece
        else:
            current = f"{current} {piece}".strip()
    if current:
        parts.append(current)
    return parts
