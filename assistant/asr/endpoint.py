"""From speech segments to decisions, as early as possible and no earlier.

Two things make a recognizer feel quick without cutting people off:

* Decide on the tentative end. The segmenter reports a segment once when speech has paused briefly
  and again when the pause is long enough to be the end (assistant/asr/vad.py). Decoding starts at
  the first report; when the end is confirmed with no new speech, that decision is used as is, so
  the decoding time overlaps the wait for the end.
* Hold a decision that could go on. People pause inside long commands ("can I get a large latte
  ... with oat milk"). When what was heard could continue into a longer phrase of the grammar,
  the decision waits `hold_s`; if speech follows within that time, both segments are decoded as
  one and that decision replaces the first. Phrases that cannot go on are never held.
* Keep what was not understood, briefly. A command broken by a pause the segmenter took for its end
  (a quiet syllable under someone else's talk, a breath) comes as two segments, neither of them a
  command alone. A rejected segment is kept for `hold_s` (silently: nothing was going to be said
  for it, so keeping it delays nothing); speech that follows in time is decoded together with it,
  up to `max_join_s` of speech in all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .base import Hypothesis
from .vad import Segment


@dataclass(frozen=True)
class Decision:
    hypothesis: Hypothesis | None
    goes_on: bool  # what was heard could continue into a longer phrase of the grammar
    compute_s: float
    evidence: Any = None  # what the engine measured, kept only when measuring


@dataclass
class _Held:
    segment: Segment
    decision: Decision
    ready_s: float
    until_s: float


@dataclass
class Endpointer:
    decide: Callable[[Segment], Decision]
    clock: Callable[[], float]  # seconds of audio fed so far
    speech_since: Callable[[], float | None] = lambda: None  # start of the speech now going on, if any
    hold_s: float = 0.6
    max_join_s: float = 6.0  # no command is longer (the segmenter's own limit)
    evidence: list[Any] = field(default_factory=list)
    _tentative: tuple[Segment, Decision, float] | None = None
    _held: _Held | None = None
    _busy_until: float = 0.0  # when the decoding asked for so far is done (seconds of audio)

    def reset(self) -> None:
        self._tentative = None
        self._held = None

    def handle(self, segments: list[Segment]) -> list[Hypothesis]:
        found: list[Hypothesis] = []
        for segment in segments:
            if segment.pcm is None:
                self._tentative = None
                found += self._release()
                continue
            if not segment.final:
                decision, ready = self._decide(segment)
                self._tentative = (segment, decision, ready)
                continue
            found += self._final(segment)
        return found + self.poll()

    def poll(self) -> list[Hypothesis]:
        """Held decisions whose wait is over: nobody went on speaking in time. (Speech that began
        in time is waited for until it ends: its segment decides.)"""
        if self._held is None or self.clock() < self._held.until_s:
            return []
        began = self.speech_since()
        if began is not None and began <= self._held.until_s:
            return []
        return self._release()

    def finish(self) -> list[Hypothesis]:
        return self._release()

    def _final(self, segment: Segment) -> list[Hypothesis]:
        tentative, self._tentative = self._tentative, None
        if tentative is not None and (tentative[0].start_s, tentative[0].end_s) == (segment.start_s, segment.end_s):
            decision, ready = tentative[1], tentative[2]
        else:
            decision, ready = self._decide(segment)
        found: list[Hypothesis] = []
        held = self._held
        if held is not None and segment.start_s - held.segment.end_s <= self.hold_s and segment.end_s - held.segment.start_s <= self.max_join_s:
            joined = _join(held.segment, segment)
            together, ready = self._decide(joined)
            if together.hypothesis is not None:
                self._held = None
                return found + self._settle(joined, together, ready)
            if held.decision.hypothesis is None and decision.hypothesis is None:
                self._held = None  # neither part nor both were a command: keep both, for a third
                if held.decision.evidence is not None:
                    self.evidence.append(held.decision.evidence)
                return found + self._settle(joined, together, ready)
        found += self._release()
        return found + self._settle(segment, decision, ready)

    def _decide(self, segment: Segment) -> tuple[Decision, float]:
        """A decision, and when it is ready: decoding starts once its audio is in and the decoder
        is free (one decision at a time: a decoding that was started for nothing, because speech
        went on, delays the next one)."""
        started = max(self.clock(), self._busy_until)
        decision = self.decide(segment)
        self._busy_until = started + decision.compute_s
        return decision, self._busy_until

    def _settle(self, segment: Segment, decision: Decision, ready: float) -> list[Hypothesis]:
        """Emit now, or hold when the words could go on or were not understood (see above)."""
        if decision.goes_on or decision.hypothesis is None:
            self._held = _Held(segment, decision, ready, segment.end_s + self.hold_s)
            return []
        return self._emit(decision, ready)

    def _release(self) -> list[Hypothesis]:
        held, self._held = self._held, None
        if held is None:
            return []
        return self._emit(held.decision, max(held.ready_s, held.until_s))

    def _emit(self, decision: Decision, ready: float) -> list[Hypothesis]:
        if decision.evidence is not None:
            self.evidence.append(decision.evidence)
        if decision.hypothesis is None:
            return []
        return [replace(decision.hypothesis, ready_s=max(ready, self.clock()))]


def _join(first: Segment, second: Segment) -> Segment:
    """Two segments as one (the pause between them is mostly in the second's lead-in)."""
    assert first.pcm is not None and second.pcm is not None
    return Segment(first.start_s, second.end_s, first.pcm + second.pcm, True, first.audio_start_s, min(first.above_floor_db, second.above_floor_db))
