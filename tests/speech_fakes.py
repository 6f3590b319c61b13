"""Fakes for the speech boundary: a synthesizer that renders tones and an output that records blocks.

Fakes, not mocks: they implement the same protocols as Piper and the sound device (Synthesizer,
AudioOutput), so the StreamingSpeaker under test runs its real threads, chunking, pauses and gains.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from numpy.typing import NDArray

from assistant.errors import DeviceError

RATE = 16_000


class ToneSynthesizer:
    """Each piece becomes a 440 Hz tone, 20 ms per character, with 50 ms of silence on both sides
    (as real synthesizers pad), so lengths and order can be read back from the samples."""

    description = "voice: tones (test)"
    sample_rate = RATE

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[str] = []
        self.fail_on = fail_on
        self.closed = False

    @staticmethod
    def tone_s(text: str) -> float:
        return 0.02 * len(text)

    def synthesize(self, text: str) -> NDArray[np.float32]:
        self.calls.append(text)
        if self.fail_on is not None and self.fail_on in text:
            raise RuntimeError("the model fell over")
        n = int(self.tone_s(text) * RATE)
        tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / RATE)
        pad = np.zeros(int(0.05 * RATE))
        return np.concatenate([pad, tone, pad]).astype(np.float32)

    def close(self) -> None:
        self.closed = True


class RecordingOutput:
    """Keeps every block with the utterance it belongs to; optionally paced like a real device
    (each write takes as long as its audio), or failing from the n-th write on."""

    def __init__(self, paced: bool = False, fail_from_write: int | None = None) -> None:
        self.paced = paced
        self.fail_from_write = fail_from_write
        self.lock = threading.Lock()
        self.blocks: list[tuple[int, NDArray[np.float32]]] = []
        self.calls: list[tuple[str, int | None]] = []
        self.writes = 0
        self.rate = RATE
        self.current: int | None = None
        self.on_write: Callable[[RecordingOutput], None] | None = None

    def begin(self, utterance_id: int, text: str, rate: int) -> None:
        self.current, self.rate = utterance_id, rate
        self.calls.append(("begin", utterance_id))

    def write(self, block: NDArray[np.float32]) -> None:
        self.writes += 1
        if self.fail_from_write is not None and self.writes >= self.fail_from_write:
            raise DeviceError("the speaker 'fake' stopped working (unplugged)", "plug it back in")
        if self.paced:
            time.sleep(block.size / self.rate)
        assert self.current is not None
        with self.lock:
            self.blocks.append((self.current, block.copy()))
        if self.on_write is not None:
            self.on_write(self)

    def end(self) -> None:
        self.calls.append(("end", self.current))

    def abort(self) -> None:
        self.calls.append(("abort", self.current))

    def idle(self) -> None:
        self.calls.append(("idle", None))

    def close(self) -> None:
        self.calls.append(("close", None))

    def audio(self, utterance_id: int) -> NDArray[np.float32]:
        with self.lock:
            parts = [b for u, b in self.blocks if u == utterance_id]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def frames(self, utterance_id: int) -> int:
        with self.lock:
            return sum(b.size for u, b in self.blocks if u == utterance_id)


def sound_runs(audio: NDArray[np.float32], rate: int, threshold: float = 1e-3, min_gap_s: float = 0.3) -> list[tuple[float, float]]:
    """(start_s, end_s) of each stretch of sound, gaps shorter than min_gap_s bridged."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return []
    runs: list[tuple[float, float]] = []
    start = prev = int(loud[0])
    for index in loud[1:]:
        if index - prev > min_gap_s * rate:
            runs.append((start / rate, prev / rate))
            start = int(index)
        prev = int(index)
    runs.append((start / rate, prev / rate))
    return runs


class _Hidden(importlib.abc.MetaPathFinder):
    """An import hook that makes packages look uninstalled (ImportError, as on a bare machine)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname.split(".")[0] in self.names:
            raise ImportError(f"No module named '{fullname}' (hidden by the test)")
        return None


@contextmanager
def hidden_packages(*names: str) -> Iterator[None]:
    """Within the block, importing any of `names` fails as if it were not installed."""
    saved = {m: sys.modules.pop(m) for m in list(sys.modules) if m.split(".")[0] in names}
    hook = _Hidden(names)
    sys.meta_path.insert(0, hook)
    try:
        yield
    finally:
        sys.meta_path.remove(hook)
        sys.modules.update(saved)


class TeeOutput:
    """Passes everything to a real output and keeps a copy of each utterance's blocks, so a test can
    find exactly what was written in what the virtual speaker recorded."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.recorder = RecordingOutput()
        self.lock = self.recorder.lock

    def begin(self, utterance_id: int, text: str, rate: int) -> None:
        self.recorder.begin(utterance_id, text, rate)
        self.inner.begin(utterance_id, text, rate)  # type: ignore[attr-defined]

    def write(self, block: NDArray[np.float32]) -> None:
        self.inner.write(block)  # type: ignore[attr-defined]
        self.recorder.write(block)

    def end(self) -> None:
        self.inner.end()  # type: ignore[attr-defined]

    def abort(self) -> None:
        self.inner.abort()  # type: ignore[attr-defined]

    def idle(self) -> None:
        self.inner.idle()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.inner.close()  # type: ignore[attr-defined]


def locate(recording: NDArray[np.float32], written: NDArray[np.float32]) -> tuple[int, float]:
    """(offset in `recording`, normalized correlation) where `written` (same rate) matches best."""
    n = recording.size + written.size
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(recording, size) * np.conj(np.fft.rfft(written, size)), size)[: recording.size]
    offset = int(np.argmax(corr))
    segment = recording[offset : offset + written.size]
    denom = float(np.linalg.norm(segment) * np.linalg.norm(written[: segment.size]))
    return offset, float(corr[offset] / denom) if denom > 0 else 0.0
