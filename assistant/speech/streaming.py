"""A speaker made of a synthesizer and an output: what Piper and pyttsx3 have in common.

Why it is built this way:
- Two threads. The synthesis thread renders one piece (a sentence, or the short head of the first
  one) while the playback thread plays the previous one, so the first sound waits only for the first
  piece, and the rest never leaves a gap.
- Playback writes blocks of at most 40 ms and looks at the stop generation between blocks; stop()
  bumps the generation, the playback thread aborts the stream (dropping the device's buffer), and
  every request of an older generation is answered with an interrupted event instead of being spoken.
  Events stay one per say(), in order, because only the playback thread sends them.
- Each piece is trimmed to its sound and peak-normalized; the pause between sentences is then exact
  silence written by hearth (0.9 s at the calm default), the same for every voice family. Volume and
  Say.soft are applied here as gains, so both families honour them identically.
- A stop() that lands while a piece is being synthesized hands the rest of the work to a fresh
  synthesis thread at once; the old one finishes its (now useless) piece alone and exits, so the
  reply after "juniper, stop" never waits for a sentence nobody will hear.
- Rendered pieces of hearth's own prompt text are kept in a bounded in-memory cache (never on disk),
  so a repeated question or "one minute left" starts at once. Nothing the couple says reaches a
  speaker: it only ever gets hearth's lines.
- A failure (synthesizer error, device lost) ends that utterance with a "failed" event and a one-line
  notice; the threads live on and the next utterance tries again, so the session never crashes here.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from assistant.errors import HearthError
from assistant.speech.base import (
    DEFAULT_RATE_WPM, DEFAULT_VOLUME, SOFT_GAIN, Audio, SpeakerEvent, Synthesizer, check_rate_volume, sentence_pause_s,
)
from assistant.speech.chunking import pieces
from assistant.speech.playback import BLOCK_S, AudioOutput

CACHE_SECONDS = 240.0
"""Audio kept in the in-memory cache, at most (about 20 MB at 22050 Hz)."""


@dataclass(frozen=True)
class _Request:
    generation: int
    utterance_id: int
    text: str
    soft: bool


@dataclass(frozen=True)
class _Piece:
    request: _Request
    audio: Audio
    pause_s: float


@dataclass(frozen=True)
class _End:
    request: _Request
    failure: str = ""


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


def _reason(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, HearthError):
        return exc.message, exc.fix
    lines = str(exc).strip().splitlines()
    return f"speech failed ({type(exc).__name__}: {lines[0] if lines else ''})", ""


class StreamingSpeaker:
    """Speaks with any Synthesizer through any AudioOutput; see the module docstring."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        output: AudioOutput,
        *,
        rate: int = DEFAULT_RATE_WPM,
        volume: float = DEFAULT_VOLUME,
        notices: TextIO | None = None,
        idle_release_s: float = 1.0,
        cache_s: float = CACHE_SECONDS,
    ) -> None:
        check_rate_volume(rate, volume)
        self.synthesizer = synthesizer
        self.output = output
        self.rate = rate
        self.volume = volume
        self.description = synthesizer.description
        self.notices = notices
        self.idle_release_s = idle_release_s
        self._pause_s = sentence_pause_s(rate)
        self._cache: OrderedDict[str, Audio] = OrderedDict()
        self._cache_samples = 0
        self._cache_limit = int(cache_s * synthesizer.sample_rate)
        self._requests: queue.Queue[_Request | None] = queue.Queue()
        self._pieces: queue.Queue[_Piece | _End | None] = queue.Queue(maxsize=3)
        self._events: queue.Queue[SpeakerEvent] = queue.Queue()
        self._generation = 0
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._synth_epoch = 0  # bumped when a stop hands synthesis to a fresh thread
        self._inflight: _Request | None = None  # the request whose piece is being synthesized now
        self._closed = False
        self._noticed = False
        self._synth_thread = self._start_synthesis(0, None)
        self._play_thread = threading.Thread(target=self._play_loop, name="hearth-tts-play", daemon=True)
        self._play_thread.start()

    def _start_synthesis(self, epoch: int, orphan: _Request | None) -> threading.Thread:
        thread = threading.Thread(target=self._synth_loop, args=(epoch, orphan), name="hearth-tts-synth", daemon=True)
        thread.start()
        return thread

    # ---- the Speaker protocol

    def say(self, text: str, utterance_id: int, soft: bool = False) -> None:
        """Queue an utterance; returns at once."""
        if self._closed:
            raise RuntimeError("speaker is closed")
        with self._lock:
            self._requests.put(_Request(self._generation, utterance_id, text, soft))

    def stop(self) -> None:
        """Cut the current utterance within one block, and drop the queued ones."""
        with self._lock:
            self._generation += 1
            if self._inflight is not None and not self._closed:
                orphan, self._inflight = self._inflight, None
                self._synth_epoch += 1
                self._synth_thread = self._start_synthesis(self._synth_epoch, orphan)

    def events(self) -> queue.Queue[SpeakerEvent]:
        """Where SpeakerEvents arrive."""
        return self._events

    def close(self) -> None:
        """Stop, end both threads, release the device and the engine."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        self._requests.put(None)
        self._synth_thread.join(timeout=10.0)
        self._play_thread.join(timeout=10.0)
        self.synthesizer.close()

    # ---- synthesis thread

    def _stale(self, request: _Request) -> bool:
        return request.generation != self._generation

    def _synth_loop(self, epoch: int, orphan: _Request | None) -> None:
        if orphan is not None:  # taking over after a stop: the cut request ends first
            self._pieces.put(_End(orphan))
        while (request := self._requests.get()) is not None:
            try:
                for piece in pieces(request.text):
                    if self._stale(request):
                        break
                    audio = self._render(request, piece.text, epoch)
                    if audio is None:
                        return  # superseded: a fresh thread carries on
                    self._pieces.put(_Piece(request, audio, piece.pause_before * self._pause_s))
            except Exception as exc:  # noqa: BLE001 - one failed utterance must not end the thread
                if epoch != self._synth_epoch:
                    return
                message, fix = _reason(exc)
                self._notice(message, fix)
                self._pieces.put(_End(request, message))
                continue
            self._pieces.put(_End(request))
        self._pieces.put(None)

    def _render(self, request: _Request, text: str, epoch: int) -> Audio | None:
        """One piece, trimmed and normalized, from the cache when hearth said it before; None when a
        stop handed synthesis to another thread meanwhile (this one must then touch nothing)."""
        with self._cache_lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        with self._lock:
            self._inflight = request
        try:
            raw = self.synthesizer.synthesize(text)
        finally:
            with self._lock:
                superseded = epoch != self._synth_epoch
                if not superseded:
                    self._inflight = None
        if superseded:
            return None
        audio = prepare(raw, self.synthesizer.sample_rate)
        with self._cache_lock:
            self._cache[text] = audio
            self._cache_samples += audio.size
            while self._cache_samples > self._cache_limit and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._cache_samples -= old.size
        return audio

    # ---- playback thread

    def _play_loop(self) -> None:
        begun: int | None = None  # the utterance the output has been begun for
        failure = ""  # why the current utterance could not be played
        device_open = False
        while True:
            try:
                item = self._pieces.get(timeout=self.idle_release_s if device_open else None)
            except queue.Empty:
                self._release()
                device_open = False
                continue
            if item is None:
                break
            request = item.request
            if isinstance(item, _End):
                self._events.put(self._finish(request, item.failure or failure, begun == request.utterance_id))
                begun, failure = None, ""
                device_open = device_open and not self._stale(request)
                continue
            if failure or self._stale(request):
                continue
            try:
                if begun != request.utterance_id:
                    self.output.begin(request.utterance_id, request.text, self.synthesizer.sample_rate)
                    begun, device_open = request.utterance_id, True
                gain = self.volume * (SOFT_GAIN if request.soft else 1.0)
                if not self._play(request, item, gain):
                    self.output.abort()
                    device_open = False
            except Exception as exc:  # noqa: BLE001 - a lost device fails the utterance, not the session
                failure, fix = _reason(exc)
                self._notice(failure, fix)
                self._release()
                device_open = False
        self._release()
        self.output.close()

    def _play(self, request: _Request, piece: _Piece, gain: float) -> bool:
        """Write the pause, then the piece, in blocks; False as soon as a stop makes it stale."""
        rate = self.synthesizer.sample_rate
        block = max(1, int(rate * BLOCK_S))
        silence = np.zeros(block, dtype=np.float32)
        pause = int(piece.pause_s * rate)
        while pause > 0:
            if self._stale(request):
                return False
            self.output.write(silence[: min(block, pause)])
            pause -= block
        for start in range(0, piece.audio.size, block):
            if self._stale(request):
                return False
            self.output.write(piece.audio[start : start + block] * np.float32(gain))
        return not self._stale(request)

    def _finish(self, request: _Request, failure: str, begun: bool) -> SpeakerEvent:
        if failure:
            return SpeakerEvent("failed", request.utterance_id, True, failure)
        if self._stale(request):
            return SpeakerEvent("finished", request.utterance_id, True)
        if begun:
            try:
                self.output.end()
            except Exception as exc:  # noqa: BLE001
                message, fix = _reason(exc)
                self._notice(message, fix)
                self._release()
                return SpeakerEvent("failed", request.utterance_id, True, message)
        return SpeakerEvent("finished", request.utterance_id, False)

    def _release(self) -> None:
        try:
            self.output.idle()
        except Exception:  # noqa: BLE001 - releasing a lost device may fail; nothing to recover
            pass

    def _notice(self, message: str, fix: str) -> None:
        """One line on stderr the first time speech fails; the prompts are printed anyway."""
        if self._noticed:
            return
        self._noticed = True
        stream = self.notices if self.notices is not None else sys.stderr
        line = f"hearth: {message}; the prompts are printed instead"
        print(f"{line} (fix: {fix})" if fix else line, file=stream, flush=True)
