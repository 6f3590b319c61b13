"""Earcons: short, soft, distinct sounds that mark turns without words.

A couple doing an exercise should not be talked over; a quiet chime says "your turn now" or "one
minute left" without interrupting the speaker. Each chime is synthesized in code (no audio files to
ship or lose): a few bell-like partials per note, a raised-cosine attack so it does not click, an
exponential decay, and a short fade to exact zero at the end.

The five sounds differ in pitch contour and length so they can be told apart without looking:
- turn_start: rising two-note bell (E5 -> A5), 0.55 s
- turn_end: falling three-note bell (A5 -> E5 -> C#5), 0.85 s
- minute_left: one soft low tone (G4), quieter than the others, 0.4 s
- acknowledged: one short high ping (C6), 0.22 s
- not_understood: two low, dull, equal notes (D4, D4), 0.5 s
Peaks are normalized to -18 dBFS (-26 dBFS for minute_left).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from assistant.audio import PLAYBACK_TAIL_S, SPEAKER_FIX, load_sounddevice
from assistant.errors import ConfigError, DeviceError

ChimeKind = Literal["turn_start", "minute_left", "turn_end", "acknowledged", "not_understood"]
CHIME_KINDS: tuple[ChimeKind, ...] = get_args(ChimeKind)

SAMPLE_RATE = 44_100
PEAK_DBFS = -18.0
QUIET_PEAK_DBFS = -26.0

_BELL = ((1.0, 1.0), (2.0, 0.35), (2.76, 0.12), (4.07, 0.05))  # (ratio, amplitude): bright, bell-like
_DULL = ((1.0, 1.0), (2.0, 0.18), (3.0, 0.06))  # fewer, weaker overtones: a duller "uh-uh"


@dataclass(frozen=True)
class _Note:
    freq: float
    start_s: float
    length_s: float
    gain: float = 1.0
    decay_s: float = 0.25  # time constant of the fundamental's decay


@dataclass(frozen=True)
class _Design:
    notes: tuple[_Note, ...]
    partials: tuple[tuple[float, float], ...]
    duration_s: float
    peak_dbfs: float


_DESIGNS: dict[ChimeKind, _Design] = {
    "turn_start": _Design(
        (_Note(659.26, 0.0, 0.3, 0.8, 0.15), _Note(880.0, 0.14, 0.41, 1.0, 0.2)), _BELL, 0.55, PEAK_DBFS
    ),
    "turn_end": _Design(
        (
            _Note(880.0, 0.0, 0.35, 1.0, 0.16),
            _Note(659.26, 0.18, 0.35, 0.9, 0.18),
            _Note(554.37, 0.36, 0.49, 0.85, 0.25),
        ),
        _BELL,
        0.85,
        PEAK_DBFS,
    ),
    "minute_left": _Design((_Note(392.0, 0.0, 0.4, 1.0, 0.18),), _BELL, 0.4, QUIET_PEAK_DBFS),
    "acknowledged": _Design((_Note(1046.5, 0.0, 0.22, 1.0, 0.07),), _BELL, 0.22, PEAK_DBFS),
    "not_understood": _Design(
        (_Note(293.66, 0.0, 0.2, 1.0, 0.09), _Note(293.66, 0.25, 0.25, 1.0, 0.1)), _DULL, 0.5, PEAK_DBFS
    ),
}


def _envelope(n: int, rate: int, decay_s: float, attack_s: float = 0.008, release_s: float = 0.03) -> NDArray[np.float64]:
    """Raised-cosine attack, exponential decay, raised-cosine release to exactly zero.

    Both ends are zero, so a chime never starts or stops with a step (an audible click).
    """
    t = np.arange(n) / rate
    env = np.exp(-t / decay_s)
    a = min(n, max(2, int(attack_s * rate)))
    env[:a] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    r = min(n, max(2, int(release_s * rate)))
    env[n - r :] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, r + 1) / r)
    return env


def _note(note: _Note, partials: tuple[tuple[float, float], ...], rate: int) -> NDArray[np.float64]:
    n = int(note.length_s * rate)
    t = np.arange(n) / rate
    out = np.zeros(n)
    for ratio, amp in partials:
        f = note.freq * ratio
        if f >= rate / 2:
            continue
        # higher partials die away faster, as on a struck bell
        out += amp * np.sin(2 * np.pi * f * t) * _envelope(n, rate, note.decay_s / ratio**0.5)
    return note.gain * out


def duration_s(kind: ChimeKind) -> float:
    """How long a chime sounds (the echo guard keeps the microphone closed that long)."""
    design = _DESIGNS.get(kind)
    if design is None:
        raise ConfigError(f"unknown chime '{kind}'", f"use one of: {', '.join(CHIME_KINDS)}")
    return design.duration_s


def render(kind: ChimeKind, rate: int = SAMPLE_RATE) -> NDArray[np.float32]:
    """The chime as mono float32 in -1..1 at `rate`, peak at the design level."""
    design = _DESIGNS.get(kind)
    if design is None:
        raise ConfigError(f"unknown chime '{kind}'", f"use one of: {', '.join(CHIME_KINDS)}")
    out = np.zeros(int(design.duration_s * rate))
    for note in design.notes:
        seg = _note(note, design.partials, rate)
        start = int(note.start_s * rate)
        end = min(out.size, start + seg.size)
        out[start:end] += seg[: end - start]
    peak = float(np.max(np.abs(out)))
    target = 10 ** (design.peak_dbfs / 20.0)
    return (out * (target / peak)).astype(np.float32)


def render_int16(kind: ChimeKind, rate: int = SAMPLE_RATE) -> NDArray[np.int16]:
    """The chime as int16 (for files or int16-only sinks)."""
    return np.asarray(np.rint(render(kind, rate) * 32767.0), dtype=np.int16)


class ChimePlayer:
    """Plays chimes without blocking the session loop.

    mode "sound" plays through a sounddevice OutputStream of its own (one per chime, so a chime never
    cuts off another sound, and the device is not held open between chimes, which would block other
    ALSA clients on cards without mixing); "silent" does nothing; "record" keeps (kind, samples) in
    `played` for tests. A new chime stops the one still sounding, so chimes never pile up.
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        mode: Literal["sound", "silent", "record"] = "sound",
        rate: int = SAMPLE_RATE,
    ) -> None:
        self.device = device
        self.mode = mode
        self.rate = rate
        self.played: list[tuple[ChimeKind, NDArray[np.float32]]] = []
        self._cache: dict[ChimeKind, NDArray[np.float32]] = {}
        self._lock = threading.Lock()
        self._streams: list[Any] = []
        self._done = threading.Event()
        self._done.set()

    def play(self, kind: ChimeKind) -> None:
        """Start playing `kind` and return at once."""
        samples = self._cache.get(kind)
        if samples is None:
            samples = self._cache[kind] = render(kind, self.rate)
        if self.mode == "record":
            self.played.append((kind, samples))
            return
        if self.mode == "silent":
            return
        self._start_stream(np.concatenate([samples, np.zeros(int(self.rate * PLAYBACK_TAIL_S), np.float32)]))

    def _start_stream(self, samples: NDArray[np.float32]) -> None:
        sd = load_sounddevice()
        with self._lock:
            self._close_streams()
            done = threading.Event()
            pos = [0]

            def callback(outdata: Any, frames: int, time_info: Any, status: Any) -> None:
                chunk = samples[pos[0] : pos[0] + frames]
                outdata[: chunk.size, 0] = chunk
                outdata[chunk.size :, 0] = 0.0
                pos[0] += frames
                if chunk.size < frames:
                    raise sd.CallbackStop

            try:
                stream = sd.OutputStream(
                    samplerate=self.rate,
                    channels=1,
                    dtype="float32",
                    device=self.device,
                    callback=callback,
                    finished_callback=done.set,
                )
                stream.start()
            except Exception as exc:
                raise DeviceError(f"cannot play a chime ({str(exc).splitlines()[0]})", SPEAKER_FIX) from exc
            self._streams.append(stream)
            self._done = done

    def wait(self, timeout: float = 2.0) -> bool:
        """Block until the current chime has finished playing; False on timeout."""
        return self._done.wait(timeout)

    def _close_streams(self) -> None:
        for stream in self._streams:
            # a lost device may fail to close; there is nothing to recover then
            with contextlib.suppress(Exception):
                stream.abort()
                stream.close()
        self._streams.clear()

    def close(self) -> None:
        """Stop any chime and release the device."""
        with self._lock:
            self._close_streams()
            self._done.set()
