"""From speech segments to decisions, as early as possible and no earlier.

Three things make a recognizer feel quick without cutting people off:

* Decide on the tentative end. The segmenter reports a segment once when speech has paused briefly
  and again when the pause is long enough to be the end (assistant/asr/vad.py). Decoding starts at
  the first report. A command that cannot go on is emitted as soon as it is decoded: in a room
  where others talk, their voices often keep the pause from ever being long enough, and waiting
  for the confirmed end had added up to half a second there (measured on the tuning half: the p95
  from end of speech to decision went from 622 to 444 ms in 10 dB babble, with the same commands
  heard). Only a decision the model is fairly sure of is emitted early (`early_confidence`: a
  mean probability per token of 0.2): in a test, read speech in babble cut at a short breath had been
  forced into "what can we do" at 0.07, where the confirmed end joins the words that follow and
  the joined decision rejects it. Any other decision waits: when the end is confirmed with no new
  speech, it is used as is, so the decoding time overlaps the wait for the end.
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
    early_confidence: float = 0.2  # the least confidence of a command emitted at the tentative end (see above)
    evidence: list[Any] = field(default_factory=list)
    _tentative: tuple[Segment, Decision, float] | None = None
    _held: _Held | None = None
    _busy_until: float = 0.0  # when the decoding asked for so far is done (seconds of audio)
    _acted_on: float | None = None  # start of the speech whose command was emitted at its tentative end

    def reset(self) -> None:
        self._tentative = None
        self._held = None
        self._acted_on = None

    def handle(self, segments: list[Segment]) -> list[Hypothesis]:
        found: list[Hypothesis] = []
        for segment in segments:
            if segment.pcm is None:
                self._tentative = None
                self._acted_on = None
                found += self._release()
                continue
            if not segment.final:
                if self._acted_on == segment.start_s:
                    continue
                decision, ready = self._decide(segment)
                self._tentative = (segment, decision, ready)
                heard = decision.hypothesis
                if self._held is None and heard is not None and not decision.goes_on and heard.confidence >= self.early_confidence:
                    found += self._act_early(segment, decision, ready)
                continue
            if self._acted_on == segment.start_s:
                self._acted_on = None  # its command was emitted at the tentative end
                continue
            found += self._final(segment)
        return found + self.poll()

    def _act_early(self, segment: Segment, decision: Decision, ready: float) -> list[Hypothesis]:
        """A command that cannot go on, heard at the tentative end, is emitted there: waiting for
        the confirmed end would not change it when the speech has ended, and when it goes on (a
        word after a short breath) the command was already said. The rest of that speech is then
        not decoded again, so one utterance never acts twice."""
        self._tentative = None
        self._acted_on = segment.start_s
        return self._emit(decision, ready)

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
