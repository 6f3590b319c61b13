"""Fakes for the session's audio side: a scripted microphone, a recognizer that "hears" a phrase at a
given block, and speakers that keep talking until told (or forever). No audio, no threads.

The runtime under test is the real one (assistant.bootstrap), so these implement the same
protocols as the microphone, the recognizer and the speaker.
"""

from __future__ import annotations

import queue
from collections.abc import Callable

from assistant.asr.base import Grammar, Hypothesis
from assistant.errors import DeviceError
from assistant.speech.base import SpeakerEvent

BLOCK = b"\x00\x00" * 320  # 20 ms of silence at 16 kHz


class ScriptedMicrophone:
    """`blocks` blocks of silence, then the end (like a file); `on_end` runs as the last one is read.
    From block `lost_from` on it is unplugged: read() raises, and start() fails `refusals` times."""

    def __init__(self, blocks: int, on_end: Callable[[], None] | None = None, lost_from: int | None = None, refusals: int = 0) -> None:
        self.left, self.on_end = blocks, on_end
        self.level = -90.0
        self.read_count = 0
        self.lost_from, self.refusals = lost_from, refusals
        self.starts = 0
        self.unplugged = False

    @property
    def ended(self) -> bool:
        return self.left <= 0

    def start(self) -> None:
        self.starts += 1
        if self.unplugged:
            if self.refusals > 0:
                self.refusals -= 1
                raise DeviceError("no microphone found (fake)", "plug it back in")
            self.unplugged = False

    def read(self, timeout: float) -> bytes | None:
        self.read_count += 1
        if self.lost_from is not None and self.read_count == self.lost_from:
            self.unplugged = True
        if self.unplugged:
            raise DeviceError("the microphone 'fake' stopped (was it unplugged?)", "plug it back in")
        self.left -= 1
        if self.left == 0 and self.on_end is not None:
            self.on_end()
        return BLOCK

    def stop(self) -> None:
        pass


class ScriptedRecognizer:
    """Returns `phrase` as a hypothesis on the given block numbers (counting blocks fed)."""

    name = "scripted"

    def __init__(self, heard_at: dict[int, str], at_flush: str | None = None, not_live: frozenset[int] = frozenset()) -> None:
        self.heard_at, self.block, self.at_flush = heard_at, 0, at_flush
        self.not_live = not_live  # blocks whose phrase is reported as a command not live now
        self.contexts: list[str] = []

    def set_grammar(self, grammar: Grammar) -> None:
        self.contexts.append(grammar.context)

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        self.block += 1
        text = self.heard_at.get(self.block)
        return [Hypothesis(text, 0.9, 0.0, 1.0, live=self.block not in self.not_live)] if text else []

    def flush(self) -> list[Hypothesis]:
        return [Hypothesis(self.at_flush, 0.9, 0.0, 1.0)] if self.at_flush else []

    def reset(self) -> None:
        pass


class SlowSpeaker:
    """Speaks until `finish_all()` (or `stop()`, which reports the utterances as interrupted); after
    `finish_all()` it finishes every later utterance at once."""

    def __init__(self) -> None:
        self._events: queue.Queue[SpeakerEvent] = queue.Queue()
        self.open: list[int] = []
        self.said: list[str] = []
        self.prepared: list[str] = []
        self.stops = 0
        self.quick = False

    def say(self, text: str, utterance_id: int, soft: bool = False) -> None:
        self.said.append(text)
        self.open.append(utterance_id)
        if self.quick:
            self.finish_all()

    def stop(self) -> None:
        self.stops += 1
        for utterance in self.open:
            self._events.put(SpeakerEvent("finished", utterance, True))
        self.open = []

    def prepare(self, text: str) -> None:
        self.prepared.append(text)

    def finish_all(self) -> None:
        self.quick = True
        for utterance in self.open:
            self._events.put(SpeakerEvent("finished", utterance, False))
        self.open = []

    def events(self) -> queue.Queue[SpeakerEvent]:
        return self._events

    def close(self) -> None:
        pass
