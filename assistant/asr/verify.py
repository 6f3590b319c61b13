"""Second-pass check: is a grammar hit a command, or conversation forced into the grammar?

A grammar decoder always answers with *some* phrase of its grammar: measured on ordinary talk, the
bare grammar turned 71-82 % of speech segments into a command. So every grammar hit is re-judged on
the same audio against unconstrained decodes:

* a phone loop (allphone search): a grammar path that the free phone recognizer disagrees with is
  a forced fit. We compare both the path scores per frame (the classic garbage-model likelihood
  ratio) and the phone strings (normalized edit distance between the grammar words' dictionary
  phones and the free phones);
* an open-vocabulary decode with the bundled language model: most words of a real command come
  back from it too, while conversation decodes as other words;
* the segment length: commands take 0.4-3 s; a long run of speech is conversation.

This module holds only the decision logic (pure functions over numbers and strings) so that it can
be measured and unit-tested without audio; `pocketsphinx_engine` gathers the evidence.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

_ALT_PRON = re.compile(r"\(\d+\)$")


@dataclass(frozen=True)
class SegmentEvidence:
    """What the decoders said about one speech segment (never stored, never logged)."""

    duration_s: float
    n_frames: int
    grammar_text: str
    grammar_score: float  # path score of the grammar decode, log domain (higher is better)
    phone_score: float  # path score of the free phone-loop decode on the same audio
    grammar_phones: tuple[str, ...]  # dictionary phones of the grammar hypothesis
    free_phones: tuple[str, ...]  # phones found by the phone loop
    free_words: tuple[str, ...]  # words found by the open-vocabulary decode (empty if not run)
    complete: bool = True  # the grammar text is one of the grammar's whole phrases


@dataclass(frozen=True)
class VerifierSettings:
    """Acceptance thresholds, chosen by measurement (see docs/false-activations.md)."""

    min_duration_s: float = 0.35
    max_duration_s: float = 4.0
    # Accept when  margin - distance_weight * phone_distance >= min_evidence,  where margin is
    # (grammar score - phone-loop score) per 10 ms frame in nats (a forced fit of conversation
    # scores far below the free phone loop) and phone_distance is the phone edit distance
    # normalized by the grammar phrase's length (0 same, >=1 unrelated). Swept on synthesized
    # commands vs 27 min of LibriSpeech per context (docs/false-activations.md).
    min_evidence: float = -2.5
    distance_weight: float = 2.0
    # fraction of the grammar words that the open-vocabulary decode also found (0 disables)
    min_word_overlap: float = 0.0


def clean_word(word: str) -> str:
    """Drop PocketSphinx's alternate-pronunciation marker: "the(2)" -> "the"."""
    return _ALT_PRON.sub("", word).lower()


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def phone_distance(expected: Sequence[str], found: Sequence[str]) -> float:
    """Edit distance normalized by the expected (grammar) length: 0 is identical, >=1 unrelated.

    Normalizing by the grammar phrase keeps the penalty growing when a long stretch of speech was
    squeezed into a short phrase (many extra free phones), which is what conversation looks like."""
    if not expected:
        return 1.0
    return edit_distance(expected, found) / len(expected)


def word_overlap(grammar_text: str, free_words: Sequence[str]) -> float:
    """Fraction of the grammar hypothesis' words that the free decode also produced."""
    words = grammar_text.split()
    if not words:
        return 0.0
    free = {clean_word(w) for w in free_words}
    return sum(w in free for w in words) / len(words)


def score_margin(evidence: SegmentEvidence) -> float:
    """Grammar-vs-phone-loop path score per frame: near zero for a real command."""
    return (evidence.grammar_score - evidence.phone_score) / max(evidence.n_frames, 1)


def judge(evidence: SegmentEvidence, settings: VerifierSettings) -> float | None:
    """Return a confidence in 0..1 if the grammar hit is accepted as a command, else None."""
    if not evidence.grammar_text or not evidence.complete:
        return None
    if not settings.min_duration_s <= evidence.duration_s <= settings.max_duration_s:
        return None
    distance = phone_distance(evidence.grammar_phones, evidence.free_phones)
    evidence_score = score_margin(evidence) - settings.distance_weight * distance
    if evidence_score < settings.min_evidence:
        return None
    if settings.min_word_overlap > 0.0:
        if word_overlap(evidence.grammar_text, evidence.free_words) < settings.min_word_overlap:
            return None
    return _confidence(evidence_score, settings)


def _confidence(evidence_score: float, settings: VerifierSettings) -> float:
    """Map the combined evidence to 0..1: 0.5 at the acceptance edge, rising as it gets clearer."""
    return 1.0 / (1.0 + math.exp(-2.0 * (evidence_score - settings.min_evidence)))
