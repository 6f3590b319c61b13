"""What hearth has said and the speaker has not yet reported finished, and when that means it hangs.

Speakers report every utterance's end, in order ("finished", or "failed" when the device or the
voice broke). One that never does (an engine stuck inside a synthesis) would stall the evening, so
the oldest unfinished utterance has a budget: generous, since a false alarm silences hearth for the
rest of the evening, and scaled to its length (the slowest pace, the longest pauses). Real time,
not the session's clock: speech takes real time even on a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .speech.base import MIN_RATE_WPM
from .speech.chunking import split_sentences

SPEECH_GRACE_S = 20.0  # a voice may take this long to start, on a busy computer, before it counts as hung
SPEECH_SLACK = 3.0  # ... plus this many times the slowest an utterance could take to say


def speaking_budget_s(text: str, grace_s: float = SPEECH_GRACE_S, slack: float = SPEECH_SLACK) -> float:
    """How long an utterance may go unfinished before the voice counts as hung."""
    slowest_s = len(text.split()) * 60.0 / MIN_RATE_WPM + 1.2 * len(split_sentences(text))
    return grace_s + slack * slowest_s


@dataclass
class Utterances:
    """The unfinished utterances, oldest first, and the deadline of the oldest."""

    budget: Callable[[str], float] = speaking_budget_s
    unfinished: dict[int, str] = field(default_factory=dict)  # utterance id -> text
    waiting_since: float = 0.0  # when the oldest began to be waited for: said, or the one before it ended

    def __bool__(self) -> bool:
        return bool(self.unfinished)

    def said(self, utterance: int, text: str) -> None:
        if not self.unfinished:
            self.waiting_since = time.monotonic()
        self.unfinished[utterance] = text

    def ended(self, utterance: int) -> bool:
        """True when it was ours and unfinished (not one given up on, answered late)."""
        if self.unfinished.pop(utterance, None) is None:
            return False
        self.waiting_since = time.monotonic()
        return True

    def left_s(self) -> float:
        """Seconds until the oldest counts as hung (0 or less: it does now)."""
        oldest = next(iter(self.unfinished.values()))
        return self.waiting_since + self.budget(oldest) - time.monotonic()

    def ids(self) -> list[int]:
        return list(self.unfinished)
