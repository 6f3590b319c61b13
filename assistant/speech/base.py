"""The Speaker protocol, its events, and the settings every speaker shares.

Both voice families take the same --rate (words a minute, pauses between sentences included) and
--volume (0 to 1, the loudest sample of a sentence), and every message about them quotes the same
ranges from here, so a couple never meets two different scales.
"""

from __future__ import annotations

import queue
from typing import Literal, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from assistant.errors import ConfigError

DEFAULT_RATE_WPM = 125
"""Calm pace for reflective prompts: measured words a minute, pauses between sentences included
(BENCHMARKS.md, "Speech output"). Conversational English runs at 150-160."""

MIN_RATE_WPM = 90
MAX_RATE_WPM = 200
DEFAULT_VOLUME = 0.9

SENTENCE_PAUSE_S = 0.9
"""Silence between sentences at the default rate (it scales with the rate, within 0.6-1.2 s)."""

SOFT_GAIN = 0.35
"""Soft cues (Say.soft: a partner is talking) play at this fraction of the volume, about -9 dB."""

RATE_RANGE_WPM = (MIN_RATE_WPM, MAX_RATE_WPM)
RATE_FIX = f"use {MIN_RATE_WPM} to {MAX_RATE_WPM} words per minute (default {DEFAULT_RATE_WPM})"
VOLUME_FIX = f"use 0 to 1 (default {DEFAULT_VOLUME})"

Audio = NDArray[np.float32]
"""Mono float32 samples in -1..1."""


class SpeakerEvent(NamedTuple):
    """One per say(), in order: ("finished", utterance_id, interrupted).

    kind is "failed" when the utterance could not be spoken (the synthesizer broke or the sound
    device went away); `reason` then says why in one line. The prompt was printed anyway, so the
    runtime treats it like an interrupted finish and the evening goes on.
    """

    kind: Literal["finished", "failed"]
    utterance_id: int
    interrupted: bool
    reason: str = ""


class Speaker(Protocol):
    """Speech output. say() never blocks; completion arrives on events()."""

    def say(self, text: str, utterance_id: int, soft: bool = False) -> None:
        """Queue `text` (quieter when `soft`); a SpeakerEvent for `utterance_id` follows when done."""

    def stop(self) -> None:
        """Cut the current utterance and drop the queued ones (each still gets an interrupted event)."""

    def events(self) -> queue.Queue[SpeakerEvent]:
        """The queue SpeakerEvents are delivered on."""

    def close(self) -> None:
        """Stop speaking and release the engine; say() must not be called afterwards."""


class Synthesizer(Protocol):
    """Text to audio, one piece at a time; used by StreamingSpeaker and WavDir output."""

    description: str
    sample_rate: int

    def synthesize(self, text: str) -> Audio:
        """Render one sentence-sized piece at the configured pace (mono float32)."""

    def close(self) -> None:
        """Release the engine."""


def check_rate_volume(rate: int, volume: float) -> None:
    """The one validation of --rate and --volume, for every voice family."""
    if not MIN_RATE_WPM <= rate <= MAX_RATE_WPM:
        raise ConfigError(f"speech rate {rate} words per minute is out of range", RATE_FIX)
    if not 0.0 <= volume <= 1.0:
        raise ConfigError(f"volume {volume} is out of range", VOLUME_FIX)


def sentence_pause_s(rate: int) -> float:
    """The pause between sentences at `rate`: 0.9 s at the calm default, shorter when faster."""
    return min(1.2, max(0.6, SENTENCE_PAUSE_S * DEFAULT_RATE_WPM / rate))
