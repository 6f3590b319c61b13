"""Finding command-sized stretches of speech in room audio, for every recognition engine.

Two cues decide whether a 32 ms frame is someone speaking *to hearth*:

* Silero VAD (a small neural voice-activity model, ONNX, run with onnxruntime) tells speech from
  clatter, music and hiss far better than an energy threshold.
* Its level relative to the room: the noise floor is the 15th percentile of the frame levels of
  the last eight seconds. When other people talk in the background, Silero calls every frame
  speech, and a segmenter that relies on it alone never closes a segment (that is how the old
  endpointer lost every command in babble). Someone addressing hearth is louder than the
  background, so a frame only opens or continues a segment when it stands out from that floor.

A segment ends after `hangover_s` without such frames. Earlier, after `tentative_s`, the segment
is reported once as tentative so a recognizer may start decoding while the end is confirmed; if
speech resumes, the later report supersedes it. Segments longer than `max_s` are never handed
over: no command is that long, and conversation is not decoded (privacy and cost).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError
from .base import SAMPLE_RATE

log = logging.getLogger("hearth")

FRAME = 512  # samples per frame: what Silero VAD takes at 16 kHz
FRAME_S = FRAME / SAMPLE_RATE
SILERO_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"  # silero-vad 6.2.3
SILERO_FIX = "install it: pip install onnxruntime 'silero-vad==6.2.3' --no-deps (scripts/setup.sh does)"


class SpeechModel(Protocol):
    def probability(self, frame: NDArray[np.float32]) -> float:
        """Probability that this 512-sample frame (-1..1) is speech."""

    def reset(self) -> None: ...


class SileroVad:
    """Silero VAD's ONNX model: it carries a recurrent state and the last 64 samples between frames."""

    CONTEXT = 64

    def __init__(self, model_path: Path | None = None) -> None:
        try:
            import onnxruntime
        except ImportError as error:
            raise ModelError(f"onnxruntime is not installed ({error})", SILERO_FIX) from error
        path = model_path or silero_model_path()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session: Any = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self._rate = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(self.CONTEXT, dtype=np.float32)

    def probability(self, frame: NDArray[np.float32]) -> float:
        window = np.concatenate([self._context, frame])[None, :]
        out, self._state = self._session.run(None, {"input": window, "state": self._state, "sr": self._rate})
        self._context = frame[-self.CONTEXT :]
        return float(out[0, 0])


class LevelOnly:
    """Stands in for Silero VAD when it cannot be loaded: every frame counts as speech-like, so the
    level relative to the room decides alone (worse with clatter and music; said at start-up)."""

    def probability(self, frame: NDArray[np.float32]) -> float:
        return 1.0

    def reset(self) -> None:
        pass


def default_segmenter(settings: SegmenterSettings | None = None) -> Segmenter:
    """A segmenter on Silero VAD, or on the level alone (with a warning) when Silero is missing."""
    try:
        model: SpeechModel = SileroVad()
    except ModelError as error:
        log.warning("voice activity: %s; using the sound level alone.  fix: %s", error.message, error.fix)
        model = LevelOnly()
    return Segmenter(model, settings)


def silero_model_path() -> Path:
    """The model file inside the silero-vad package, checked against its pinned SHA-256."""
    spec = importlib.util.find_spec("silero_vad")  # located, not imported: its __init__ needs torch
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the Silero VAD model is not installed", SILERO_FIX)
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "silero_vad.onnx"
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != SILERO_SHA256:
        raise ModelError(f"{path} is missing or is not the pinned Silero VAD model", SILERO_FIX)
    return path


@dataclass(frozen=True)
class Segment:
    """Speech from `start_s` to `end_s` (seconds of audio since the segmenter began).

    `pcm` is that speech with a little audio before and after it, as 16 kHz int16 bytes; None when
    the speech was longer than any command. `final` is False for the early, tentative report."""

    start_s: float
    end_s: float
    pcm: bytes | None
    final: bool
    audio_start_s: float = 0.0  # where `pcm` itself begins (a little before start_s)
    above_floor_db: float = 0.0  # the speech's mean level over the room's noise floor (an SNR)


@dataclass(frozen=True)
class SegmenterSettings:
    hangover_s: float = 0.32
    tentative_s: float = 0.16
    pre_roll_s: float = 0.25
    min_s: float = 0.2
    max_s: float = 6.0
    speech_on: float = 0.5  # Silero probability that opens a segment
    speech_off: float = 0.3  # ... and that keeps it open
    above_floor_on_db: float = 12.0  # level over the room's noise floor that opens a segment
    # ... and that keeps it open, the level averaged over `smooth_frames` (160 ms): low enough for
    # the quiet syllables of a command, high enough that talk in the background (a few dB over
    # the floor) does not keep a segment open after the command.
    above_floor_off_db: float = 7.0
    smooth_frames: int = 5
    floor_window_s: float = 8.0
    floor_percentile: float = 15.0


class Segmenter:
    """feed(pcm) -> segments ended (or tentatively ended) by this block; times survive restart()."""

    def __init__(self, model: SpeechModel, settings: SegmenterSettings | None = None) -> None:
        self.model = model
        self.settings = s = settings or SegmenterSettings()
        self._clock = 0  # samples seen since creation, at the start of the next frame
        self._pending = np.zeros(0, dtype=np.int16)
        self._odd_byte = b""
        self._levels: deque[float] = deque(maxlen=max(1, round(s.floor_window_s / FRAME_S)))
        self._recent: deque[NDArray[np.int16]] = deque(maxlen=max(1, round(s.pre_roll_s / FRAME_S)))
        self._tail = max(1, round(s.tentative_s / FRAME_S))
        self._hangover = max(self._tail + 1, round(s.hangover_s / FRAME_S))
        self._powers: deque[float] = deque(maxlen=max(1, s.smooth_frames))
        self._clear()

    def _clear(self) -> None:
        self._start: int | None = None  # first sample of the first voiced frame of the open segment
        self._last_voiced = 0  # first sample of the last voiced frame
        self._collected: list[NDArray[np.int16]] = []
        self._lead = 0  # pre-roll frames at the head of _collected
        self._overlong = False
        self._floor_at_start = -90.0
        self._voiced_power = 0.0
        self._voiced_frames = 0

    @property
    def clock_s(self) -> float:
        """Seconds of audio fed so far."""
        return (self._clock + self._pending.size) / SAMPLE_RATE

    @property
    def speech_since(self) -> float | None:
        """When the speech now going on began (seconds of audio), or None in a pause."""
        return None if self._start is None else self._start / SAMPLE_RATE

    @property
    def floor_db(self) -> float:
        return float(np.percentile(self._levels, self.settings.floor_percentile)) if self._levels else -90.0

    def restart(self) -> None:
        """Forget the open segment and buffered audio (hearth spoke); the clock keeps running."""
        self._clock += self._pending.size
        self._pending = np.zeros(0, dtype=np.int16)
        self._odd_byte = b""
        self._recent.clear()
        self.model.reset()
        self._clear()

    def feed(self, pcm: bytes) -> list[Segment]:
        data = self._odd_byte + pcm
        cut = len(data) - len(data) % 2
        data, self._odd_byte = data[:cut], data[cut:]
        self._pending = np.concatenate([self._pending, np.frombuffer(data, dtype="<i2")])
        found: list[Segment] = []
        while self._pending.size >= FRAME:
            frame, self._pending = self._pending[:FRAME], self._pending[FRAME:]
            segment = self._step(frame)
            if segment is not None:
                found.append(segment)
        return found

    def finish(self) -> list[Segment]:
        """End of input: the open segment, if any, ends here."""
        found = []
        if self._start is not None:
            segment = self._report(final=True)
            if segment is not None:
                found.append(segment)
        self.restart()
        return found

    def _step(self, frame: NDArray[np.int16]) -> Segment | None:
        s = self.settings
        samples = frame.astype(np.float32) / 32768.0
        power = float(np.mean(samples * samples))
        level = 10.0 * float(np.log10(power + 1e-10))
        self._powers.append(power)
        smooth = 10.0 * float(np.log10(sum(self._powers) / len(self._powers) + 1e-10))
        floor = self.floor_db
        self._levels.append(level)
        probability = self.model.probability(samples)
        index = self._clock
        self._clock += FRAME
        if self._start is None:
            self._recent.append(frame)
            if probability >= s.speech_on and level >= floor + s.above_floor_on_db:
                self._start, self._last_voiced = index, index
                self._collected = list(self._recent)
                self._lead = len(self._collected) - 1
                self._floor_at_start, self._voiced_power, self._voiced_frames = floor, power, 1
            return None
        if not self._overlong:
            self._collected.append(frame)
        if probability >= s.speech_off and smooth >= floor + s.above_floor_off_db:
            self._last_voiced = index
            self._voiced_power += power
            self._voiced_frames += 1
            if (index + FRAME - self._start) / SAMPLE_RATE > s.max_s:
                self._overlong, self._collected = True, []
            return None
        quiet = (index - self._last_voiced) // FRAME
        if quiet == self._tail:
            return self._report(final=False)
        if quiet >= self._hangover:
            segment = self._report(final=True)
            self._recent.clear()
            self._clear()
            return segment
        return None

    def _report(self, final: bool) -> Segment | None:
        assert self._start is not None
        start_s = self._start / SAMPLE_RATE
        end_s = (self._last_voiced + FRAME) / SAMPLE_RATE
        if end_s - start_s < self.settings.min_s:
            return None
        if self._overlong:
            return Segment(start_s, end_s, None, final) if final else None
        keep = self._lead + (self._last_voiced - self._start) // FRAME + 1 + self._tail
        pcm = np.concatenate(self._collected[:keep]).astype("<i2").tobytes()
        level = 10.0 * float(np.log10(self._voiced_power / max(1, self._voiced_frames) + 1e-10))
        return Segment(start_s, end_s, pcm, final, start_s - self._lead * FRAME_S, level - self._floor_at_start)
