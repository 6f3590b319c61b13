"""From audio to commands: the recognizer, the live context's grammar and the matcher, in one place.

`CommandListener` is used both by the live session and by `hearth listen`, the measurement
interface, so benchmarks measure exactly what the couple gets. Hypotheses that the matcher cannot
map to a live intent (or that lack the wake name where it is required) are dropped here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from .asr.base import SAMPLE_RATE, Hypothesis, Recognizer
from .audio import Microphone
from .wavfile import WavFileMicrophone
from .intents import IntentSet

BYTES_PER_SECOND = SAMPLE_RATE * 2


@dataclass(frozen=True)
class Detection:
    """A command hearth would act on. Times are seconds of audio."""

    intent: str
    slots: dict[str, str | int]
    text: str
    confidence: float
    start_s: float
    end_s: float
    decided_s: float
    live: bool = True  # False: one of hearth's commands said to it, but not one that fits now


class CommandListener:
    def __init__(self, recognizer: Recognizer, intents: IntentSet, context: str = "idle") -> None:
        self.recognizer = recognizer
        self.intents = intents
        self.context = ""
        self.audio_s = 0.0  # how much audio has been fed, across resets
        self.set_context(context)

    def replace_recognizer(self, recognizer: Recognizer) -> None:
        """Carry on with another engine (one that keeps up); it starts on the live context."""
        self.recognizer = recognizer
        recognizer.set_grammar(self.intents.grammar(self.context))

    def set_context(self, context: str) -> None:
        """Switch the recognizer to the grammar of what is live now (cheap when unchanged)."""
        if context != self.context:
            self.context = context
            self.recognizer.set_grammar(self.intents.grammar(context))

    def feed(self, pcm: bytes) -> list[Detection]:
        self.audio_s += len(pcm) / BYTES_PER_SECOND
        return self._detections(self.recognizer.accept(pcm))

    def skip(self, pcm: bytes) -> None:
        """Audio that must not be heard (hearth's own voice): time moves on, nothing is decoded."""
        self.audio_s += len(pcm) / BYTES_PER_SECOND

    def flush(self) -> list[Detection]:
        return self._detections(self.recognizer.flush())

    def reset(self) -> None:
        self.recognizer.reset()

    def _detections(self, hypotheses: list[Hypothesis]) -> list[Detection]:
        found = []
        for hypothesis in hypotheses:
            if not hypothesis.live:
                match = self.intents.not_live_match(hypothesis.text, self.context)
            elif not self.intents.is_phrase(hypothesis.text, self.context):
                continue  # recognizers only give whole phrases of the live grammar; never act on less
            else:
                match = self.intents.match(hypothesis.text, self.context, enforce_wake=True)
            if match is None:
                continue
            found.append(
                Detection(
                    intent=match.intent,
                    slots=dict(match.slots),
                    text=hypothesis.text,
                    confidence=round(hypothesis.confidence, 3),
                    start_s=round(hypothesis.start_s, 3),
                    end_s=round(hypothesis.end_s, 3),
                    decided_s=round(max(self.audio_s, hypothesis.ready_s or 0.0), 3),
                    live=hypothesis.live,
                )
            )
        return found


def detections_in(microphone: Microphone, listener: CommandListener) -> Iterator[Detection]:
    """Every command in a (file) microphone's audio, as fast as it can be decoded."""
    microphone.start()
    try:
        while True:
            block = microphone.read(timeout=1.0)
            if block is None:
                if microphone.ended:
                    break
                continue
            yield from listener.feed(block)
        yield from listener.flush()
    finally:
        microphone.stop()


def run_listen(input_path: Path, listener: CommandListener, as_json: bool, out: TextIO = sys.stdout) -> int:
    """`hearth listen`: print one line per command the file contains."""
    for detection in detections_in(WavFileMicrophone(input_path), listener):
        if as_json:
            print(json.dumps(asdict(detection)), file=out, flush=True)
        else:
            where = "" if detection.live else "  [not live here: hearth says what fits now]"
            print(f"{detection.start_s:7.2f}-{detection.end_s:6.2f}s  {detection.intent} {detection.slots or ''}  ({detection.confidence:.2f}){where}", file=out, flush=True)
    return 0
