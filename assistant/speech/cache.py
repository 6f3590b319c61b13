"""Rendered pieces of hearth's own lines, kept in memory (never on disk), so a line said before, or
foreseen and rendered ahead, starts at once. Only hearth's prompt text ever reaches a speaker, so
nothing the couple says can be in here. Bounded by seconds of audio; the least recently used piece
goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from assistant.speech.base import Audio

CACHE_SECONDS = 240.0
"""Audio kept in the in-memory cache, at most (about 20 MB at 22050 Hz)."""


def prepare(audio: Audio, rate: int, threshold: float = 0.02) -> Audio:
    """Trim a rendered piece to its sound (10 ms kept before, 40 ms after) and normalize its peak to 1.

    Synthesizers pad each sentence with their own, differing silence; trimming makes hearth's pause
    the only one. A 5 ms fade at both ends keeps the cut from clicking.
    """
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak < 1e-4:
        return np.zeros(0, dtype=np.float32)
    loud = np.flatnonzero(np.abs(x) > threshold * peak)
    start = max(0, int(loud[0]) - rate // 100)
    end = min(x.size, int(loud[-1]) + rate // 25)
    out = x[start:end] / peak
    fade = min(out.size // 2, rate // 200)
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        out[:fade] *= ramp
        out[-fade:] *= ramp[::-1]
    return out.astype(np.float32)



class RenderCache:
    """Trimmed, normalized pieces by their text; safe to share between the synthesis threads."""

    def __init__(self, sample_rate: int, seconds: float = CACHE_SECONDS) -> None:
        self.sample_rate = sample_rate
        self._pieces: OrderedDict[str, Audio] = OrderedDict()
        self._samples = 0
        self._limit = int(seconds * sample_rate)
        self._lock = threading.Lock()

    def __contains__(self, text: object) -> bool:
        with self._lock:
            return text in self._pieces

    def get(self, text: str) -> Audio | None:
        with self._lock:
            audio = self._pieces.get(text)
            if audio is not None:
                self._pieces.move_to_end(text)
            return audio

    def keep(self, text: str, raw: Audio) -> Audio:
        """Trim and normalize a freshly rendered piece, keep it, and return it."""
        audio = prepare(raw, self.sample_rate)
        with self._lock:
            if text not in self._pieces:
                self._pieces[text] = audio
                self._samples += audio.size
            while self._samples > self._limit and len(self._pieces) > 1:
                _, old = self._pieces.popitem(last=False)
                self._samples -= old.size
        return audio
