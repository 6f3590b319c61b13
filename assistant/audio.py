"""Audio devices and hearth's one audio format, shared by every input and output.

Everything downstream (voice activity, recognizers) wants one format: 16 kHz mono int16 little-endian
PCM in small blocks (`Microphone`). The boundary is split by what it touches: live capture in
`microphone`, WAV files in `wavfile`, sample-rate conversion in `resample`; this module holds the
format, levels, PortAudio's loading and device list, and playback.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from assistant.errors import DeviceError

SAMPLE_RATE = 16_000
"""The one rate every consumer of microphone audio gets."""

DEFAULT_BLOCK_MS = 20

MIC_FIX = (
    "plug in a microphone or pick one with --input-device; `hearth devices` lists them; or use --text"
)
PLAYBACK_TAIL_S = 0.15
"""Silence appended to anything played, so the end is not cut off (see play())."""

SPEAKER_FIX = "connect speakers or headphones or pick one with --output-device; `hearth devices` lists them"

SILENCE_DBFS = -120.0


# --------------------------------------------------------------------------------------------------
# Levels
# --------------------------------------------------------------------------------------------------


def rms_dbfs(samples: NDArray[np.int16] | bytes) -> float:
    """RMS level of int16 samples in dBFS (0 dBFS = full-scale sine's peak), floored at -120 dB.

    Used for the level meter, so a user can see whether the microphone hears them at all.
    """
    data = np.frombuffer(samples, dtype="<i2") if isinstance(samples, bytes) else samples
    if data.size == 0:
        return SILENCE_DBFS
    rms = float(np.sqrt(np.mean(np.square(data.astype(np.float64)))))
    if rms <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * math.log10(rms / 32768.0))


# --------------------------------------------------------------------------------------------------
# Microphones
# --------------------------------------------------------------------------------------------------


class Microphone(Protocol):
    """A source of 16 kHz mono int16 little-endian PCM blocks."""

    @property
    def level(self) -> float:
        """RMS of the last block returned by read(), in dBFS (-120 when silent or nothing read yet)."""

    @property
    def ended(self) -> bool:
        """True when no more audio will ever come (end of a file); live microphones never end."""

    def start(self) -> None:
        """Open the device / file and begin delivering blocks."""

    def read(self, timeout: float) -> bytes | None:
        """Next block, or None if nothing arrived within `timeout` seconds (or the input `ended`)."""

    def stop(self) -> None:
        """Close the device; queued audio is discarded. Safe to call twice."""


def load_sounddevice() -> Any:
    """Import sounddevice lazily and turn a missing PortAudio library into a DeviceError."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio2 is missing
        raise DeviceError(
            f"the PortAudio library is missing ({exc})", "install it: sudo apt-get install libportaudio2"
        ) from exc
    return sounddevice


def refresh_devices() -> None:
    """Re-scan audio devices (PortAudio only scans at initialization).

    Needed after a device was plugged in or after PULSE_SERVER changed in this process (tests start a
    virtual PulseAudio and must re-initialize PortAudio afterwards). Do not call while streams are open.
    """
    sd = load_sounddevice()
    sd._terminate()
    sd._initialize()


# --------------------------------------------------------------------------------------------------
# Devices and playback
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioDevice:
    """One PortAudio device as `hearth devices` shows it."""

    index: int
    name: str
    host_api: str
    channels: int
    default_rate: int
    is_default: bool


def list_devices() -> tuple[list[AudioDevice], list[AudioDevice]]:
    """(inputs, outputs) known to PortAudio; both empty on a machine without audio devices."""
    sd = load_sounddevice()
    try:
        devices = list(sd.query_devices())
        apis = [str(a["name"]) for a in sd.query_hostapis()]
        default_in, default_out = sd.default.device
    except Exception as exc:
        raise DeviceError(f"cannot list audio devices ({one_line(exc)})", "check that PortAudio/ALSA work") from exc
    inputs: list[AudioDevice] = []
    outputs: list[AudioDevice] = []
    for i, d in enumerate(devices):
        api = apis[int(d["hostapi"])] if int(d["hostapi"]) < len(apis) else "?"
        rate = int(d["default_samplerate"])
        if int(d["max_input_channels"]) > 0:
            inputs.append(AudioDevice(i, str(d["name"]), api, int(d["max_input_channels"]), rate, i == default_in))
        if int(d["max_output_channels"]) > 0:
            outputs.append(AudioDevice(i, str(d["name"]), api, int(d["max_output_channels"]), rate, i == default_out))
    return inputs, outputs


def output_device_info(device: int | str | None = None) -> dict[str, Any]:
    """PortAudio's description of an output device; DeviceError (with fix) if there is none."""
    sd = load_sounddevice()
    try:
        return dict(sd.query_devices(device, "output"))
    except Exception as exc:
        raise DeviceError(f"no speaker found ({one_line(exc)})", SPEAKER_FIX) from exc


def play(samples: NDArray[Any], rate: int, device: int | str | None = None) -> None:
    """Play a mono signal and wait until it has been heard (blocking).

    int16 arrays are played as they are; float arrays are taken as -1..1. Uses its own stream rather
    than `sounddevice.play`, whose single global stream would cut off whatever else is playing.
    """
    sd = load_sounddevice()
    data = np.ascontiguousarray(samples.reshape(-1, 1))
    dtype = "int16" if data.dtype == np.int16 else "float32"
    if dtype == "float32":
        data = data.astype(np.float32)
    output_device_info(device)
    # Trailing silence: stop() is meant to wait until every buffer has been played, but through
    # ALSA's pulse plugin the last ~30 ms were measured missing; the padding absorbs that loss.
    data = np.concatenate([data, np.zeros((int(rate * PLAYBACK_TAIL_S), 1), dtype=data.dtype)])
    try:
        with sd.OutputStream(samplerate=rate, channels=1, dtype=dtype, device=device) as stream:
            stream.write(data)
    except DeviceError:
        raise
    except Exception as exc:
        raise DeviceError(f"cannot play audio ({one_line(exc)})", SPEAKER_FIX) from exc


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def close_quietly(stream: Any) -> None:
    """Stop a sound device stream at once and release it. A lost device may fail either call;
    there is nothing left to recover then, but the release is still tried after a failed stop."""
    if stream is None:
        return
    with contextlib.suppress(Exception):
        stream.abort()
    with contextlib.suppress(Exception):
        stream.close()
