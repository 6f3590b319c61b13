"""Sound out through sounddevice, in blocks small enough that stop() is heard at once.

The speaker thread writes each utterance in blocks of at most BLOCK_S (40 ms) with blocking writes,
and looks at its stop flag between blocks; on stop it aborts the stream, which drops what the device
still holds. So an addressed "stop" silences hearth within one block plus the device's own latency
(measured through the virtual sink in tests/test_speech_live.py). The stream stays open while
utterances follow each other and is released when hearth falls quiet, so a card without mixing is
free for chimes and other programs in between.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from assistant.audio import PLAYBACK_TAIL_S, SPEAKER_FIX, close_quietly, load_sounddevice, output_device_info
from assistant.errors import DeviceError
from assistant.speech.base import Audio

BLOCK_S = 0.04
"""Longest block handed to the device between two looks at the stop flag."""

STREAM_LATENCY = 0.1
"""Seconds of audio the device may hold. PortAudio's "high" setting (35 ms here) underran when the
two cores were busy (gaps in the recorded speech at a load average of 5); 100 ms did not. It does not
delay a stop: abort() drops whatever the device holds, and the block size bounds the rest."""


class AudioOutput(Protocol):
    """Where a StreamingSpeaker's audio goes: a sound device, a WAV folder, or a test fake."""

    def begin(self, utterance_id: int, text: str, rate: int) -> None:
        """Get ready to play one utterance at `rate` Hz (opens the device if needed)."""

    def write(self, block: Audio) -> None:
        """Play one block of at most BLOCK_S; returns when the device has taken it."""

    def end(self) -> None:
        """The utterance is complete: return once it has been heard to its end."""

    def abort(self) -> None:
        """Stop at once, dropping whatever the device still holds."""

    def idle(self) -> None:
        """Nothing more to play for now: release the device."""

    def close(self) -> None:
        """Release everything; nothing is written afterwards."""


def device_arg(value: str | int | None) -> str | int | None:
    """--output-device as sounddevice wants it: a number is an index, anything else a name."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class SoundDeviceOutput:
    """A blocking sounddevice OutputStream on the chosen device (None: the system default)."""

    def __init__(self, device: str | int | None = None) -> None:
        self.device = device_arg(device)
        info = output_device_info(self.device)  # DeviceError "no speaker found" with the fix
        self.device_name = str(info.get("name", "default"))
        self._stream: Any = None
        self._rate = 0
        self.underflows = 0  # writes after the device had run dry (hearth had nothing to play in time)

    def begin(self, utterance_id: int, text: str, rate: int) -> None:
        """Open (or keep) a stream at `rate`."""
        if self._stream is not None and self._rate != rate:
            self.idle()
        if self._stream is None:
            sd = load_sounddevice()
            try:
                stream = sd.OutputStream(samplerate=rate, channels=1, dtype="float32", device=self.device,
                                         latency=STREAM_LATENCY)
                stream.start()
            except Exception as exc:
                raise DeviceError(f"cannot open the speaker '{self.device_name}' ({_one_line(exc)})", SPEAKER_FIX) from exc
            self._stream, self._rate = stream, rate

    def write(self, block: Audio) -> None:
        """Blocking write; an underflow (the device ran dry) is harmless and ignored."""
        if self._stream is None:
            raise DeviceError("the speaker is not open", SPEAKER_FIX)
        try:
            if self._stream.write(np.ascontiguousarray(block.reshape(-1, 1), dtype=np.float32)):
                self.underflows += 1
        except Exception as exc:
            self.abort()
            raise DeviceError(f"the speaker '{self.device_name}' stopped working ({_one_line(exc)})", SPEAKER_FIX) from exc

    def end(self) -> None:
        """Silence after the last word: through ALSA's pulse plugin the last ~30 ms of a stream were
        measured missing, and the finished event must not come before the sound has been heard."""
        tail = np.zeros(int(self._rate * BLOCK_S), dtype=np.float32)
        for _ in range(max(1, round(PLAYBACK_TAIL_S / BLOCK_S))):
            self.write(tail)

    def abort(self) -> None:
        """Drop the device's buffer and close the stream (a lost device may fail to close)."""
        stream, self._stream = self._stream, None
        close_quietly(stream)

    def idle(self) -> None:
        """Release the device; only silence is left in it after end()."""
        self.abort()

    def close(self) -> None:
        """Release the device."""
        self.abort()
