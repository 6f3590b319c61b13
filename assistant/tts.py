"""Speech out: the Speaker interface and its implementations.

- `Pyttsx3Speaker` — the default on desktops (the project's fixed choice): pyttsx3 with its espeak-ng
  driver, which plays each utterance through `aplay`.
- `WavDirSpeaker` (`--tts-to DIR`) — writes every utterance to DIR/0001.wav, 0002.wav, ...
- `PrintSpeaker` (`--mute`) — prints the text.
- `synthesize_to_array()` — espeak-ng's command line to a numpy array, for tests and benchmarks.

What pyttsx3 2.99's espeak driver really does here (measured; see tests/test_tts.py):
- espeak runs in AUDIO_OUTPUT_RETRIEVAL mode: synthesis happens on espeak's own thread, which at the
  end of each utterance writes a temporary 22050 Hz WAV and runs `aplay` on it via os.system. So the
  'finished-utterance' callback also arrives on espeak's thread, after aplay has exited.
- The first `runAndWait()` of an engine returns after ~10 ms, long before the audio; later ones block.
  So completion is taken from 'finished-utterance' (completed=True) through a threading.Event.
- `engine.stop()` does nothing audible: the driver's Cancel cannot reach an aplay that is already
  running; the utterance plays to its end (measured: finished 4.9 s after stop()).
- The only handle on the sound is the `aplay` child process. `stop()` therefore kills the aplay
  processes this process started (found through /proc, never by name across the system); that cuts
  the sound within ~10 ms, and the driver then reports the utterance finished.
- 'finished-utterance' is sent from inside espeak's callback, while espeak still reports IsPlaying.
  A say() issued at that moment is cancelled by pyttsx3's own endLoop and "finishes" after ~0.2 s
  without being heard (observed), so the next chunk waits until IsPlaying() is 0.
- Unknown voice names are ignored silently, so voices are validated here against espeak-ng's list.
Text is spoken in sentence-sized chunks, so stop() has a natural point to drop the unspoken rest even
where killing aplay cannot work, and each chunk's wait has a sensible timeout. Measured on the virtual
speaker: say() to first sound ~65 ms (a 300-character text in one piece: ~85 ms); stop() to the
interrupted event ~10 ms, and no sound reaches the speaker after stop().
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol, TextIO

import numpy as np
from numpy.typing import NDArray

from assistant.errors import ConfigError, DeviceError

DEFAULT_RATE_WPM = 145
"""Calm speaking rate. espeak-ng's own default (175) sounds hurried for reflective exercises, and
through pyttsx3 a setting of 165 measured about 213 real words a minute here."""

DEFAULT_VOLUME = 0.9

_ESPEAK_DATA_DIRS = (
    Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data"),
    Path("/usr/lib/aarch64-linux-gnu/espeak-ng-data"),
    Path("/usr/share/espeak-ng-data"),
    Path("/usr/local/share/espeak-ng-data"),
)
_MBROLA_DIRS = (Path("/usr/share/mbrola"), Path("/usr/local/share/mbrola"))
_INSTALL_FIX = "install the speech synthesizer: sudo apt-get install espeak-ng alsa-utils"


class SpeakerEvent(NamedTuple):
    """("finished", utterance_id, interrupted) once per say(), in order.

    kind is "failed" instead of "finished" when the utterance could not be spoken at all (the
    synthesizer crashed or hung); treat it like an interrupted finish, and consider printing instead.
    """

    kind: Literal["finished", "failed"]
    utterance_id: int
    interrupted: bool


class Speaker(Protocol):
    """Speech output. say() never blocks; completion arrives on events()."""

    def say(self, text: str, utterance_id: int) -> None:
        """Queue `text`; a SpeakerEvent for `utterance_id` follows when it is done."""

    def stop(self) -> None:
        """Cut the current utterance and drop the queued ones (each still gets an interrupted event)."""

    def events(self) -> queue.Queue[SpeakerEvent]:
        """The queue SpeakerEvents are delivered on."""

    def close(self) -> None:
        """Stop speaking and release the engine; say() must not be called afterwards."""


# --------------------------------------------------------------------------------------------------
# Voices
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice; `id` is its file name, accepted by both pyttsx3 and the espeak-ng CLI."""

    id: str
    name: str
    language: str
    gender: str
    mbrola: bool
    other_languages: tuple[str, ...] = ()

    def names(self) -> set[str]:
        """Every spelling resolve_voice() accepts for this voice (lower case)."""
        file_name = self.id.rsplit("/", 1)[-1]
        return {self.id.lower(), file_name.lower(), self.name.lower(), self.language.lower()}

    @property
    def usable(self) -> bool:
        """mbrola voices are listed even when the mbrola program and its voice data are missing."""
        return not self.mbrola or _mbrola_installed(self.id)


def _mbrola_installed(voice_id: str) -> bool:
    base = voice_id.rsplit("/", 1)[-1].removeprefix("mb-")
    return shutil.which("mbrola") is not None and any((d / base).exists() for d in _MBROLA_DIRS)


def list_voices() -> list[Voice]:
    """Every voice espeak-ng knows (from `espeak-ng --voices`), for `hearth voices`.

    Uses the command line rather than pyttsx3 so that listing needs no engine: a second pyttsx3
    engine in the process would steal the running one's synthesis callback.
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DeviceError("espeak-ng is not installed", _INSTALL_FIX)
    voices: list[Voice] = []
    for which in ("--voices", "--voices=mb"):  # plain --voices leaves out the mbrola voices
        out = subprocess.run([exe, which], capture_output=True, text=True, timeout=20, check=False).stdout
        voices.extend(_parse_voice_line(line) for line in out.splitlines()[1:] if len(line.split()) >= 5)
    return voices


def _parse_voice_line(line: str) -> Voice:
    """One row of `espeak-ng --voices`: Pty Language Age/Gender VoiceName File (Other Languages)."""
    parts = line.split()
    gender = {"M": "male", "F": "female"}.get(parts[2].rpartition("/")[2], "")
    others = tuple(re.findall(r"\((\S+) \d+\)", line))
    voice_id = parts[4]
    return Voice(voice_id, parts[3].replace("_", " "), parts[1], gender, voice_id.startswith("mb/"), others)


def _variants() -> set[str]:
    for d in _ESPEAK_DATA_DIRS:
        v = d / "voices" / "!v"
        if v.is_dir():
            return {p.name.lower() for p in v.iterdir()}
    return set()


def _voice_error(name: str, voices: list[Voice], why: str) -> ConfigError:
    order = {"en-us": 0, "en-gb": 1}
    english = sorted(
        (v for v in voices if v.usable and v.language.startswith("en")), key=lambda v: order.get(v.language, 2)
    )
    sample = ", ".join(f"{v.language} ({v.name})" for v in english[:6])
    return ConfigError(
        f"{why}: '{name}'",
        f"pick one of e.g. {sample}, optionally with a variant like 'en-us+f3'; `hearth voices` lists all",
    )


def resolve_voice(name: str | None, voices: list[Voice] | None = None) -> str | None:
    """Validate a voice name and return the id to give espeak (None: keep the default voice).

    Accepts an id ("gmw/en-US"), a language ("en-us") or a name ("English (America)"), case-insensitive,
    optionally with "+variant" ("en-us+f3"). pyttsx3 silently ignores names it does not know, so an
    unknown one raises ConfigError here with a few valid choices.
    """
    if name is None or not name.strip():
        return None
    voices = list_voices() if voices is None else voices
    base, _, variant = name.strip().partition("+")
    key = base.lower().replace("_", " ")
    # Exact spellings first; then voices that list the language among their others ("en" -> en-gb).
    match = next((v for v in voices if key in v.names()), None) or next(
        (v for v in voices if key in v.other_languages and v.usable), None
    )
    if match is None:
        raise _voice_error(name, voices, "unknown voice")
    if not match.usable:
        raise _voice_error(name, voices, "this mbrola voice is not installed (needs the mbrola package)")
    if variant and variant.lower() not in _variants():
        raise _voice_error(name, voices, f"unknown voice variant '{variant}'")
    return f"{match.id}+{variant}" if variant else match.id


# --------------------------------------------------------------------------------------------------
# Text chunking
# --------------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_MAX_CHUNK = 160


def split_sentences(text: str) -> list[str]:
    """Split into sentence-sized chunks; overlong sentences are split again at commas.

    Chunks bound the wait before the first sound (a chunk is synthesized in full before it plays)
    and give stop() a natural point to drop the rest.
    """
    chunks: list[str] = []
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        chunks.extend(_split_long(sentence))
    return [c for c in chunks if c.strip()]


def _split_long(sentence: str) -> list[str]:
    if len(sentence) <= _MAX_CHUNK:
        return [sentence]
    parts: list[str] = []
    current = ""
    for piece in re.split(r"(?<=,)\s+", sentence):
        if current and len(current) + len(piece) + 1 > _MAX_CHUNK:
            parts.append(current)
            current = piece
        else:
            current = f"{current} {piece}".strip()
    if current:
        parts.append(current)
    return parts


# --------------------------------------------------------------------------------------------------
# espeak-ng command line synthesis
# --------------------------------------------------------------------------------------------------


def _espeak_args(voice: str | None, rate: int, volume: float) -> list[str]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DeviceError("espeak-ng is not installed", _INSTALL_FIX)
    args = [exe, "--stdout", "-b", "1", "-s", str(int(rate)), "-a", str(round(volume * 100))]
    return args + (["-v", voice] if voice else [])


def _parse_stream_wav(blob: bytes) -> tuple[NDArray[np.int16], int]:
    """espeak-ng --stdout writes a streaming WAV whose size fields are placeholders; read it anyway."""
    if blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise DeviceError("espeak-ng produced no audio", _INSTALL_FIX)
    rate = int.from_bytes(blob[24:28], "little")
    data = blob.find(b"data", 12)
    samples = np.frombuffer(blob[data + 8 : len(blob) - (len(blob) - data - 8) % 2], dtype="<i2")
    return samples.astype(np.int16), rate


def synthesize_to_array(
    text: str, voice: str | None = None, rate: int = DEFAULT_RATE_WPM, volume: float = 1.0
) -> tuple[NDArray[np.int16], int]:
    """Speak `text` with the espeak-ng command line into (mono int16 samples, sample rate).

    The rate comes from the WAV espeak-ng writes, so it is right for every voice (22050 Hz for
    espeak voices, 16000 Hz for mbrola ones) — unlike pyttsx3's save_to_file, which always writes a
    22050 Hz header. `voice` is passed to espeak-ng as is; use resolve_voice() to validate names.
    Text goes in on stdin, so it can never be mistaken for an option.
    """
    args = _espeak_args(voice, rate, volume)
    proc = subprocess.run(args, input=text.encode("utf-8"), capture_output=True, timeout=60, check=False)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(f"espeak-ng failed: {msg[0] if msg else proc.returncode}", "check the voice name")
    return _parse_stream_wav(proc.stdout)


def write_wav(path: Path, samples: NDArray[np.int16], rate: int) -> None:
    """Write mono int16 samples as a PCM WAV with a correct header."""
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.astype("<i2").tobytes())


# --------------------------------------------------------------------------------------------------
# Availability
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TtsStatus:
    """Whether spoken output can work here, and if not, why and what to do."""

    ok: bool
    reason: str = ""
    fix: str = ""

    def __bool__(self) -> bool:
        """So `if tts.available():` means what it says."""
        return self.ok


def pyttsx3_status() -> TtsStatus:
    """Check pyttsx3, libespeak-ng, aplay and an ALSA output, cheaply and without making a sound.

    The last check matters because pyttsx3 reports aplay failures only on stderr: without it, hearth
    would "speak" into nothing and never notice.
    """
    try:
        import pyttsx3  # noqa: F401
        from pyttsx3.drivers import _espeak  # noqa: F401 - loads libespeak-ng
    except Exception as exc:  # noqa: BLE001 - ImportError or OSError from ctypes
        return TtsStatus(False, f"pyttsx3/espeak-ng cannot load ({exc})", _INSTALL_FIX + " libespeak-ng1")
    aplay = shutil.which("aplay")
    if aplay is None:
        return TtsStatus(False, "aplay is not installed (pyttsx3 plays speech through it)", _INSTALL_FIX)
    probe = [aplay, "-q", "-t", "raw", "-f", "S16_LE", "-r", "22050", "-c", "1", os.devnull]
    proc = subprocess.run(probe, capture_output=True, text=True, timeout=10, check=False)
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        return TtsStatus(
            False,
            f"no sound output device ({err[-1] if err else 'aplay failed'})",
            "connect speakers or headphones, or use --mute / --tts-to DIR",
        )
    return TtsStatus(True)


def available() -> TtsStatus:
    """Whether the default (pyttsx3) speaker can work; the reason and fix when not."""
    return pyttsx3_status()


def create_speaker(
    *,
    mute: bool = False,
    tts_to: Path | None = None,
    voice: str | None = None,
    rate: int = DEFAULT_RATE_WPM,
    volume: float = DEFAULT_VOLUME,
    text_stream: TextIO | None = None,
) -> Speaker:
    """The speaker the command line asked for: --mute, --tts-to DIR, or pyttsx3 (the default).

    Raises ConfigError for bad voice/rate/volume and DeviceError (with fix) when speech cannot work.
    """
    _check_rate_volume(rate, volume)
    if mute:
        import sys

        return PrintSpeaker(text_stream if text_stream is not None else sys.stdout)
    if tts_to is not None:
        return WavDirSpeaker(tts_to, voice=voice, rate=rate, volume=volume)
    status = available()
    if not status.ok:
        raise DeviceError(f"cannot speak: {status.reason}", status.fix)
    return Pyttsx3Speaker(voice=voice, rate=rate, volume=volume)


RATE_RANGE_WPM = (80, 450)
"""Speaking rates every message and check uses: slower is hard to follow, faster is a blur."""


def _check_rate_volume(rate: int, volume: float) -> None:
    low, high = RATE_RANGE_WPM
    if not low <= rate <= high:
        raise ConfigError(f"speech rate {rate} words per minute is out of range", f"use {low} to {high} words per minute (default {DEFAULT_RATE_WPM})")
    if not 0.0 <= volume <= 1.0:
        raise ConfigError(f"volume {volume} is out of range", "use 0 to 1")


# --------------------------------------------------------------------------------------------------
# Shared worker machinery
# --------------------------------------------------------------------------------------------------


class _Request(NamedTuple):
    generation: int
    utterance_id: int
    text: str


class _QueuedSpeaker:
    """A worker thread fed by a queue, with generation-based stop().

    stop() bumps the generation; every request from an older generation is answered with an
    interrupted event instead of being spoken, so events stay one-per-say and in order.
    """

    def __init__(self, name: str) -> None:
        self._requests: queue.Queue[_Request | None] = queue.Queue()
        self._events: queue.Queue[SpeakerEvent] = queue.Queue()
        self._generation = 0
        self._gen_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def say(self, text: str, utterance_id: int) -> None:
        """Queue an utterance; returns at once."""
        if self._closed:
            raise RuntimeError("speaker is closed")
        with self._gen_lock:
            self._requests.put(_Request(self._generation, utterance_id, text))

    def stop(self) -> None:
        """Cut the current utterance and drop the queued ones."""
        with self._gen_lock:
            self._generation += 1
        self._interrupt_current()

    def events(self) -> queue.Queue[SpeakerEvent]:
        """Where SpeakerEvents arrive."""
        return self._events

    def close(self) -> None:
        """Stop and end the worker thread."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        self._requests.put(None)
        self._thread.join(timeout=5.0)

    def _stale(self, request: _Request) -> bool:
        return request.generation != self._generation

    def _run(self) -> None:
        self._setup()
        try:
            while (request := self._requests.get()) is not None:
                if self._stale(request):
                    self._events.put(SpeakerEvent("finished", request.utterance_id, True))
                    continue
                self._events.put(self._speak(request))
        finally:
            self._teardown()

    # hooks for subclasses
    def _setup(self) -> None:
        """Runs on the worker thread before the first request."""

    def _teardown(self) -> None:
        """Runs on the worker thread after close()."""

    def _speak(self, request: _Request) -> SpeakerEvent:
        raise NotImplementedError

    def _interrupt_current(self) -> None:
        """Called on the caller's thread by stop(): make the current utterance end soon."""


# --------------------------------------------------------------------------------------------------
# pyttsx3
# --------------------------------------------------------------------------------------------------


def _children_by_parent() -> dict[int, list[int]]:
    table: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        table.setdefault(ppid, []).append(int(entry))
    return table


def _own_aplay_pids() -> list[int]:
    """aplay processes descended from this process, each preceded by its `sh -c` parent.

    pyttsx3 runs `os.system("aplay FILE -q")`; killing only aplay makes that shell print "Killed" on
    stderr, so the shell goes first (a shell killed by SIGKILL prints nothing).
    """
    table = _children_by_parent()
    found: list[int] = []
    stack = [(pid, os.getpid()) for pid in table.get(os.getpid(), [])]
    while stack:
        pid, parent = stack.pop()
        stack.extend((child, pid) for child in table.get(pid, []))
        if _is_pyttsx3_aplay(pid):
            if parent != os.getpid() and _comm(parent) == b"sh":
                found.append(parent)
            found.append(pid)
    return found


def _is_pyttsx3_aplay(pid: int) -> bool:
    """Exactly pyttsx3's command line `aplay /tmp/tmpXXXX.wav -q`, so no other aplay is touched."""
    if _comm(pid) != b"aplay":
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().rstrip(b"\0").split(b"\0")
    except OSError:
        return False
    return len(argv) == 3 and argv[1].endswith(b".wav") and argv[2] == b"-q"


def _comm(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().strip()
    except OSError:
        return b""


def _kill_own_aplay() -> int:
    """SIGKILL our aplays (TERM would make aplay print "write error: Interrupted system call")."""
    killed = 0
    for pid in _own_aplay_pids():
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    return killed


_ENGINE: list[tuple[Any, str]] = []


def _shared_engine() -> tuple[Any, str]:
    """The process's one pyttsx3 engine and its initial voice, created on first use.

    Never a second engine: pyttsx3.init() hands back a cached engine while the old one is still
    alive (with the old speaker's callbacks and voice), and when an old espeak driver is garbage
    collected its destructor sets espeak's global synthesis callback to None, which would silence
    whichever engine came after it. Speakers use this engine one at a time (see _instance_open).
    """
    if not _ENGINE:
        import pyttsx3

        engine = pyttsx3.init()
        _ENGINE.append((engine, str(engine.getProperty("voice") or "")))
    return _ENGINE[0]


class Pyttsx3Speaker(_QueuedSpeaker):
    """pyttsx3 on one dedicated thread; see the module docstring for why it works this way.

    Only one may exist per process: pyttsx3's espeak driver keeps one global synthesis callback.
    """

    _instance_lock = threading.Lock()
    _instance_open = False

    def __init__(
        self,
        voice: str | None = None,
        rate: int = DEFAULT_RATE_WPM,
        volume: float = DEFAULT_VOLUME,
        *,
        chunk_timeout_s: float = 60.0,
    ) -> None:
        _check_rate_volume(rate, volume)
        self.voice = resolve_voice(voice)
        self.rate = rate
        self.volume = volume
        self.chunk_timeout_s = chunk_timeout_s
        self._engine: Any = None
        self._token: dict[str, Any] | None = None
        self._is_playing: Callable[[], int] | None = None
        self._chunk_done = threading.Event()
        self._chunk_active = threading.Event()
        self._chunk_seq = 0
        self._seq_lock = threading.Lock()
        self._init_error: BaseException | None = None
        self._ready = threading.Event()
        with Pyttsx3Speaker._instance_lock:
            if Pyttsx3Speaker._instance_open:
                raise RuntimeError("only one Pyttsx3Speaker may be open per process; close the other first")
            Pyttsx3Speaker._instance_open = True
        super().__init__("hearth-tts")
        self._thread.start()
        self._ready.wait(timeout=15.0)
        if self._init_error is not None or not self._ready.is_set():
            self.close()
            why = self._init_error or "timed out"
            raise DeviceError(f"cannot start the speech synthesizer ({why})", _INSTALL_FIX)

    def _setup(self) -> None:
        try:
            engine, default_voice = _shared_engine()
            try:
                from pyttsx3.drivers import _espeak

                self._is_playing = _espeak.IsPlaying
            except (ImportError, AttributeError):  # another driver: nothing to wait for
                self._is_playing = None
            self._token = engine.connect("finished-utterance", self._on_finished)
            # Always set all three: the engine outlives speakers and keeps the previous one's values.
            engine.setProperty("voice", self.voice or default_voice)
            engine.setProperty("rate", self.rate)
            engine.setProperty("volume", self.volume)
            self._engine = engine
        except Exception as exc:  # noqa: BLE001 - report any init failure to the constructor
            self._init_error = exc
        finally:
            self._ready.set()

    def _on_finished(self, name: object = None, completed: bool = True) -> None:
        # Arrives on espeak's thread. completed=False comes from the driver's own (no-op) stop path and
        # can trail a finished utterance, so only completed=True marks the chunk as done.
        if completed:
            self._chunk_done.set()

    def _speak(self, request: _Request) -> SpeakerEvent:
        if self._engine is None:
            return SpeakerEvent("failed", request.utterance_id, True)
        for chunk in split_sentences(request.text):
            if not self._speak_chunk(request, chunk):
                return SpeakerEvent("failed", request.utterance_id, True)
            if self._stale(request):
                return SpeakerEvent("finished", request.utterance_id, True)
        return SpeakerEvent("finished", request.utterance_id, False)

    def _speak_chunk(self, request: _Request, chunk: str) -> bool:
        """Speak one chunk and wait for it; False if the engine never reported it finished.

        Ordering against stop(): here the chunk is marked active BEFORE the generation is checked;
        stop() bumps the generation BEFORE it looks for an active chunk. So either this sees the
        stop and skips the chunk, or stop() sees the chunk and kills its aplay.
        """
        self._wait_espeak_idle()
        self._chunk_done.clear()
        with self._seq_lock:
            self._chunk_seq += 1
            self._chunk_active.set()
        try:
            if self._stale(request):
                return True
            self._engine.say(chunk)
            self._engine.runAndWait()  # may return early; completion comes from the event
            timeout = self.chunk_timeout_s + len(chunk) * 0.2
            return self._chunk_done.wait(timeout)
        finally:
            self._chunk_active.clear()

    def _wait_espeak_idle(self, timeout: float = 3.0) -> None:
        """Let espeak's thread leave the previous utterance's callback before the next say().

        'finished-utterance' is sent from inside that callback. Calling say()/runAndWait() right
        away makes pyttsx3's endLoop see espeak still "playing" and cancel the NEW utterance, which
        then reports finished after ~0.2 s without being heard (observed here).
        """
        if self._is_playing is None:
            return
        deadline = time.monotonic() + timeout
        while self._is_playing() and time.monotonic() < deadline:
            time.sleep(0.005)

    def _interrupt_current(self) -> None:
        """Kill the aplay of the current chunk, and keep doing so until that chunk ends.

        The loop covers the race where stop() lands while the chunk is still being synthesized and
        aplay has not started yet. It is tied to the chunk's sequence number, so it can never kill
        the aplay of an utterance said after this stop().
        """
        with self._seq_lock:
            if not self._chunk_active.is_set():
                return
            seq = self._chunk_seq
        _kill_own_aplay()
        threading.Thread(target=self._reap_until_done, args=(seq,), name="hearth-tts-stop", daemon=True).start()

    def _reap_until_done(self, seq: int) -> None:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            with self._seq_lock:
                if self._chunk_seq != seq or not self._chunk_active.is_set():
                    return
                _kill_own_aplay()
            self._chunk_done.wait(0.01)

    def _teardown(self) -> None:
        if self._engine is not None and self._token is not None:
            self._engine.disconnect(self._token)
        self._engine = None
        with Pyttsx3Speaker._instance_lock:
            Pyttsx3Speaker._instance_open = False

    def close(self) -> None:
        """Stop speaking and end the engine thread; a new Pyttsx3Speaker may be opened afterwards."""
        super().close()
        if not self._thread.is_alive():
            with Pyttsx3Speaker._instance_lock:
                Pyttsx3Speaker._instance_open = False


# --------------------------------------------------------------------------------------------------
# WAV directory and print speakers
# --------------------------------------------------------------------------------------------------


class WavDirSpeaker(_QueuedSpeaker):
    """`--tts-to DIR`: each utterance becomes DIR/NNNN.wav (numbering continues after existing files).

    Synthesized with the espeak-ng command line, so the header's rate is the voice's real rate.
    DIR/transcript.tsv gets one line per file: file name, utterance id, text. With `realtime=True`
    the finished event waits as long as the audio would have played (stop() cuts that wait), so a
    session driven by a simulated microphone keeps its real timing.
    """

    def __init__(
        self,
        directory: Path | str,
        voice: str | None = None,
        rate: int = DEFAULT_RATE_WPM,
        volume: float = DEFAULT_VOLUME,
        *,
        realtime: bool = False,
    ) -> None:
        _check_rate_volume(rate, volume)
        self.directory = Path(directory)
        self.voice = resolve_voice(voice)
        self.rate = rate
        self.volume = volume
        self.realtime = realtime
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {self.directory}: {exc.strerror}", "pick a writable --tts-to folder") from exc
        existing = [int(p.stem) for p in self.directory.glob("[0-9][0-9][0-9][0-9]*.wav") if p.stem.isdigit()]
        self._counter = max(existing, default=0)
        self._interrupt = threading.Event()
        self.files: list[Path] = []
        super().__init__("hearth-tts-wav")
        self._thread.start()

    def _speak(self, request: _Request) -> SpeakerEvent:
        self._interrupt.clear()
        try:
            samples, sr = synthesize_to_array(request.text, self.voice, self.rate, self.volume)
        except Exception:  # noqa: BLE001 - report, do not kill the worker thread
            return SpeakerEvent("failed", request.utterance_id, True)
        if self._stale(request):
            return SpeakerEvent("finished", request.utterance_id, True)
        self._counter += 1
        path = self.directory / f"{self._counter:04d}.wav"
        write_wav(path, samples, sr)
        with open(self.directory / "transcript.tsv", "a", encoding="utf-8") as f:
            f.write(f"{path.name}\t{request.utterance_id}\t{' '.join(request.text.split())}\n")
        self.files.append(path)
        if self.realtime and self._interrupt.wait(samples.size / sr):
            return SpeakerEvent("finished", request.utterance_id, True)
        return SpeakerEvent("finished", request.utterance_id, self._stale(request))

    def _interrupt_current(self) -> None:
        self._interrupt.set()


class PrintSpeaker:
    """`--mute`: prints each utterance to `stream` and reports it finished at once."""

    def __init__(self, stream: TextIO, prefix: str = "hearth: ") -> None:
        self.stream = stream
        self.prefix = prefix
        self._events: queue.Queue[SpeakerEvent] = queue.Queue()

    def say(self, text: str, utterance_id: int) -> None:
        """Print and finish."""
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
