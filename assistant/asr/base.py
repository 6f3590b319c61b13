"""The one interface every speech recognizer implements.

The session loop feeds raw 16 kHz mono int16 PCM in small blocks and gets back hypotheses: what a
grammar-constrained decoder believes was said as a whole command phrase. Recognizers never see the
intents' meaning; the matcher (assistant.intents) turns a hypothesis' text into an intent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Hypothesis:
    """One decoded phrase. Times are seconds of audio since the recognizer was created."""

    text: str
    confidence: float  # 0..1, engine-specific but monotonic: higher is surer
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Grammar:
    """What may be recognized in one context.

    `jsgf` is a compact JSGF grammar compiled from the intent templates (never an enumeration of every
    sentence); `phrases` is the expanded list, for engines (Vosk) that take a phrase list;
    `vocabulary` is every word that can occur.
    """

    context: str
    jsgf: str
    phrases: tuple[str, ...]
    vocabulary: frozenset[str]


class Recognizer(Protocol):
    """A streaming, grammar-constrained recognizer."""

    name: str

    def set_grammar(self, grammar: Grammar) -> None:
        """Switch to another context's grammar; drops any partial utterance."""

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        """Feed 16 kHz mono int16 little-endian PCM; returns phrases completed by this block."""

    def flush(self) -> list[Hypothesis]:
        """End of input: return whatever utterance is still open."""

    def reset(self) -> None:
        """Forget the audio heard so far (used after hearth itself spoke)."""
