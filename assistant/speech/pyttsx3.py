"""pyttsx3, the portable voice (espeak-ng on Linux, the platform voices elsewhere), rendered into memory.

hearth does not let pyttsx3 play: its espeak driver plays through `aplay` on the ALSA default (no
device choice, no way to stop it but killing the process, failures only on stderr). Instead every
piece is rendered with `save_to_file` into a private folder in memory-backed /dev/shm (where it
exists), read back and deleted at once, and played by hearth's own playback like Piper's voice.

What pyttsx3 2.99's espeak driver does, measured on this kind of machine:
- `runAndWait()` can return before synthesis has finished, so completion is taken from the
  'finished-utterance' callback (completed=True) through a threading.Event.
- One `save_to_file` per `runAndWait()`: queued together, only the last is produced.
- The next piece waits until espeak's thread has left the previous callback (IsPlaying() == 0);
  otherwise pyttsx3 cancels the new utterance, which then "finishes" silently.
- Every save prints "Audio saved to FILE" on stdout: those lines (only ours) are filtered out.
- The WAV header always says 22050 Hz; mbrola voices really render at 16000 Hz, so the rate comes
  from the voice, not the header.
- Unknown voice names are ignored silently, so names are checked against espeak-ng's list first.
- Only one engine per process works (its driver keeps one global synthesis callback); it is reused.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from assistant.errors import DeviceError
from assistant.speech.base import DEFAULT_RATE_WPM, Audio, check_rate_volume
from assistant.speech.espeak import INSTALL_FIX, find_voice

CALM_VOICES = ("gmw/en-US",)
"""espeak-ng voices hearth picks itself, first installed one wins: American English (like the Piper
voice), measured in tests/test_speech_live.py to speak audibly, in order and at the calm pace.
espeak-ng's own default (British, brisk) is what hearth avoids."""

PLATFORM_CALM_NAMES = ("samantha", "zira", "aria")
"""Other drivers (macOS, Windows): the first installed voice whose name contains one of these."""

ESPEAK_RATE_PER_WPM = 0.82
"""espeak-ng's rate setting per word a minute of hearth's --rate (measured with scripts/bench_tts.py,
pauses included, so that the default gives about 125 words a minute)."""

_ENGINE: list[Any] = []


def pyttsx3_problem() -> tuple[str, str] | None:
    """(reason, fix) when pyttsx3 or libespeak-ng cannot load here; None when they can."""
    try:
        import pyttsx3  # noqa: F401
        if sys.platform.startswith("linux"):
            from pyttsx3.drivers import _espeak  # noqa: F401 - loads libespeak-ng
    except Exception as exc:  # noqa: BLE001 - ImportError or OSError from ctypes
        return f"pyttsx3/espeak-ng cannot load ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})", INSTALL_FIX
    return None


def _shared_engine() -> Any:
    """The process's one pyttsx3 engine, created on first use and never replaced (see above)."""
    if not _ENGINE:
        import pyttsx3

        _ENGINE.append(pyttsx3.init())
    return _ENGINE[0]


def _memory_dir() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and shutil.disk_usage(shm).free > 16 * 2**20 else None
    return Path(tempfile.mkdtemp(prefix="hearth-tts-", dir=base))


class _QuietSaves(io.TextIOBase):
    """sys.stdout minus pyttsx3's "Audio saved to <our folder>..." lines (and their newline)."""

    def __init__(self, inner: TextIO, folder: Path) -> None:
        self.inner = inner
        self.prefix = f"Audio saved to {folder}"
        self._swallow_newline: int | None = None

    def write(self, text: str) -> int:
        if text.startswith(self.prefix):
            self._swallow_newline = threading.get_ident()
            return len(text)
        if text == "\n" and self._swallow_newline == threading.get_ident():
            self._swallow_newline = None
            return 1
        return self.inner.write(text)

    def flush(self) -> None:
        self.inner.flush()

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        return self.inner.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.inner, "encoding", "utf-8"))

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)

    @property
    def buffer(self) -> object:
        return getattr(self.inner, "buffer", None)


def choose_voice(name: str | None, espeak: bool) -> tuple[str | None, int]:
    """(voice id, sample rate) for a --voice name, or hearth's calm pick when none is given."""
    if not espeak:
        return name, 22_050
    if name:
        voice, voice_id = find_voice(name)
        return voice_id, voice.sample_rate
    for candidate in CALM_VOICES:
        try:
            voice, voice_id = find_voice(candidate)
        except Exception:  # noqa: BLE001 - not installed here: try the next
            continue
        return voice_id, voice.sample_rate
    return None, 22_050


class Pyttsx3Synthesizer:
    """Renders pieces with the shared pyttsx3 engine; only one may be open per process."""

    _instance_lock = threading.Lock()
    _instance_open = False

    def __init__(self, voice: str | None = None, rate: int = DEFAULT_RATE_WPM, *, piece_timeout_s: float = 30.0) -> None:
        check_rate_volume(rate, 1.0)
        problem = pyttsx3_problem()
        if problem is not None:
            raise DeviceError(*problem)
        self._espeak = sys.platform.startswith("linux")
        self.voice, self.sample_rate = choose_voice(voice, self._espeak)
        self.piece_timeout_s = piece_timeout_s
        with Pyttsx3Synthesizer._instance_lock:
            if Pyttsx3Synthesizer._instance_open:
                raise RuntimeError("only one pyttsx3 voice may be open per process; close the other first")
            Pyttsx3Synthesizer._instance_open = True
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._count = 0
        self._folder = _memory_dir()
        self._saved_stdout = sys.stdout
        sys.stdout = _QuietSaves(sys.stdout, self._folder)
        try:
            self._engine = _shared_engine()
            self._token = self._engine.connect("finished-utterance", self._on_finished)
            self._choose_platform_voice()
            # Always set all three: the engine outlives synthesizers and keeps the previous values.
            if self.voice:
                self._engine.setProperty("voice", self.voice)
            self._rate = round(rate * ESPEAK_RATE_PER_WPM) if self._espeak else rate
            self._engine.setProperty("rate", self._rate)
            self._engine.setProperty("volume", 1.0)
        except Exception as exc:  # noqa: BLE001
            self.close()
            raise DeviceError(f"cannot start the speech synthesizer ({exc})", INSTALL_FIX) from exc
        self.description = f"voice: pyttsx3 {self.voice or 'default'} (portable)"

    def _choose_platform_voice(self) -> None:
        if self._espeak or self.voice:
            return
        for voice in self._engine.getProperty("voices") or []:
            if any(name in str(getattr(voice, "name", "")).lower() for name in PLATFORM_CALM_NAMES):
                self.voice = str(voice.id)
                return

    def _on_finished(self, name: object = None, completed: bool = True) -> None:
        # espeak's thread. completed=False comes from the driver's own stop path; only True is a file.
        if completed:
            self._done.set()

    def synthesize(self, text: str) -> Audio:
        """Render `text` to a file in memory, read it back, delete it."""
        with self._lock:
            self._wait_espeak_idle()
            self._count += 1
            path = self._folder / f"{self._count}.wav"
            self._done.clear()
            # Again with every piece: once in CI a whole prompt came out at espeak's default pace
            # (179 words a minute), as if the rate set at start had been lost in the driver's queue.
            self._engine.setProperty("rate", self._rate)
            self._engine.save_to_file(text, str(path))
            self._engine.runAndWait()  # may return early; completion comes from the event
            if not self._done.wait(self.piece_timeout_s + len(text) * 0.1):
                raise DeviceError("the speech synthesizer did not answer", INSTALL_FIX)
            try:
                with wave.open(str(path), "rb") as f:
                    data = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
            finally:
                path.unlink(missing_ok=True)
        return (data.astype(np.float32) / 32768.0).astype(np.float32)

    def _wait_espeak_idle(self, timeout: float = 3.0) -> None:
        if not self._espeak:
            return
        from pyttsx3.drivers import _espeak

        deadline = time.monotonic() + timeout
        while _espeak.IsPlaying() and time.monotonic() < deadline:
            time.sleep(0.005)

    def close(self) -> None:
        """Disconnect from the shared engine and restore stdout; another voice may open afterwards."""
        with self._lock:  # a piece still being rendered (after a stop) finishes first
            token = getattr(self, "_token", None)
            if token is not None:
                self._engine.disconnect(token)
                self._token = None
        if isinstance(sys.stdout, _QuietSaves) and sys.stdout.prefix == f"Audio saved to {self._folder}":
            sys.stdout = self._saved_stdout
        shutil.rmtree(self._folder, ignore_errors=True)
        with Pyttsx3Synthesizer._instance_lock:
            Pyttsx3Synthesizer._instance_open = False
