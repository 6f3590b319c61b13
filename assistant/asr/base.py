"""The one interface every speech recognizer implements.

The session loop feeds raw 16 kHz mono int16 PCM in small blocks and gets back hypotheses: what a
grammar-constrained decoder believes was said as a whole command phrase. Recognizers never see the
intents' meaning; the matcher (assistant.intents) turns a hypothesis' text into an intent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from ..grammar import WordGraph

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Hypothesis:
    """One decoded phrase. Times are seconds of audio since the recognizer was created."""

    text: str
    confidence: float  # 0..1, engine-specific but monotonic: higher is surer
    start_s: float
    end_s: float
    # Audio time at which a live microphone would have this decision: the recognizer may decide
    # before the audio that confirms the end of speech has been fed (or after, when decoding took
    # longer than that audio lasts). None: when the block that produced it was fed.
    ready_s: float | None = None
    # False: a command of hearth's, but not one live in this context ("juniper, next question" with
    # nothing running). hearth then says what can be said now instead of staying silent.
    live: bool = True


@dataclass(frozen=True, eq=False)
class Grammar:
    """What may be recognized in one context: a compiled word graph (assistant.grammar), never an
    enumeration of every sentence. Engines take what they can use of it: the graph itself
    (constrained decoding), its JSGF (PocketSphinx), or its phrase list when it is small (Vosk).
    `fillers` are words a free transcript may contain around a command ("um", "please").
    `outside` holds the commands of other contexts, always addressed with the wake name: an engine
    that hears one of them exactly (never by forcing a fit) reports it as not live. `wake_name`
    tells an addressed phrase from a bare one."""

    context: str
    graph: WordGraph
    fillers: frozenset[str] = frozenset()
    outside: WordGraph | None = None
    wake_name: tuple[str, ...] = ()  # how an addressed phrase begins ("juniper")

    @cached_property
    def jsgf(self) -> str:
        return self.graph.to_jsgf()

    @property
    def vocabulary(self) -> frozenset[str]:
        return self.graph.vocabulary

    def phrases(self, limit: int) -> list[str] | None:
        """Every phrase, or None when there are more than `limit`."""
        return self.graph.phrases(limit)

    def parse(self, text_words: list[str]) -> str | None:
        """The grammar phrase a (normalized) free transcript spells, fillers left out; or None."""
        path = self.graph.parse(text_words, self.fillers)
        return " ".join(path) if path else None

    def parse_outside(self, text_words: list[str]) -> str | None:
        """The addressed command of another context a free transcript spells exactly; or None."""
        if self.outside is None:
            return None
        path = self.outside.parse(text_words, self.fillers)
        return " ".join(path) if path else None


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
