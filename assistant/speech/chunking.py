"""Text into pieces that are synthesized and played one by one.

Pieces bound the wait before the first sound (a piece is synthesized whole before it plays) and give
stop() a natural point to drop the rest. The first piece is kept short (split at a comma when the
first sentence is long), because how soon hearth starts talking is what a couple notices.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_COMMA = re.compile(r"(?<=,)\s+")
MAX_CHUNK = 160
FIRST_PIECE_MAX = 60
"""A first sentence longer than this (characters) is split at a comma, so sound starts sooner."""

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
            pause = 0.0 if not out else (1.0 if part_index == 0 else COMMA_PAUSE_FRACTION)
            out.append(Piece(part, pause))
    return out


def _short_head(sentence: str) -> list[str]:
    """[head, rest]: the head is the longest run of comma clauses that fits FIRST_PIECE_MAX."""
    clauses = _COMMA.split(sentence)
    if len(sentence) <= FIRST_PIECE_MAX or len(clauses) == 1:
        return [sentence]
    head = clauses[0]
    taken = 1
    while taken < len(clauses) - 1 and len(head) + 1 + len(clauses[taken]) <= FIRST_PIECE_MAX:
        head = f"{head} {clauses[taken]}"
        taken += 1
    return [head, " ".join(clauses[taken:])]


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
