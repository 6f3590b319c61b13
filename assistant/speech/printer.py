"""The speaker that only prints (or only records): `--mute`, a missing voice, and tests.

It finishes every utterance at once, so the engine moves on exactly as if it had been spoken.
With no stream it prints nothing: the app prints every prompt itself, so a muted or voiceless
session still shows each line once.
"""

from __future__ import annotations

import queue
from typing import TextIO

from assistant.speech.base import SpeakerEvent


class PrintSpeaker:
    """Prints each utterance to `stream` (when given), keeps it in `spoken`, finishes at once."""

    def __init__(self, stream: TextIO | None = None, prefix: str = "hearth: ") -> None:
        self.stream = stream
        self.prefix = prefix
        self.spoken: list[str] = []
        self.soft: list[bool] = []
        self._events: queue.Queue[SpeakerEvent] = queue.Queue()

    def say(self, text: str, utterance_id: int, soft: bool = False) -> None:
        """Print (softly or not: text has no volume) and finish."""
        self.spoken.append(text)
        self.soft.append(soft)
        if self.stream is not None:
            self.stream.write(f"{self.prefix}{' '.join(text.split())}\n")
            self.stream.flush()
        self._events.put(SpeakerEvent("finished", utterance_id, False))

    def stop(self) -> None:
        """Nothing is ever pending."""

    def events(self) -> queue.Queue[SpeakerEvent]:
        """Where SpeakerEvents arrive."""
        return self._events

    def close(self) -> None:
        """Nothing to release."""
