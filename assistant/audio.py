"""Audio capture and devices: the microphone side of hearth's audio boundary.

Everything downstream (voice activity, recognizers) wants one format: 16 kHz mono int16 little-endian
PCM in small blocks. This module is the only place that knows about devices, sample rates, channel
counts and resampling; it converts everything else to that format (WAV files: `wavfile`).

Design rules, and why:
- The PortAudio callback only copies bytes into a queue (`put_nowait`). It runs on a real-time audio
  thread; blocking, decoding or resampling there causes overflows and dropped audio.
- Resampling happens in the reader (`read()`), with a windowed-sinc polyphase filter implemented here
  in numpy (scipy is not a dependency; see `Resampler`).
- Audio of the user is never written to disk: blocks live only in memory queues.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from assistant.errors import ConfigError, DeviceError

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
# Resampling
# --------------------------------------------------------------------------------------------------


def _design_polyphase(up: int, down: int, zeros: int, beta: float, rolloff: float) -> NDArray[np.float64]:
    """Kaiser-windowed sinc low-pass, split into `up` phases of equal length.

    The prototype runs at the virtual rate in*up; its cutoff is the lower Nyquist of input and output
    (times `rolloff`, so the transition band ends before Nyquist and nothing aliases audibly).
    """
    factor = max(up, down)
    half = zeros * factor
    n = np.arange(-half, half + 1, dtype=np.float64)
    cutoff = rolloff / factor  # in cycles per virtual sample, times 2 (sinc's unit)
    proto = cutoff * np.sinc(cutoff * n) * np.kaiser(n.size, beta) * up
    taps_per_phase = math.ceil(proto.size / up)
    padded = np.zeros(taps_per_phase * up, dtype=np.float64)
    padded[: proto.size] = proto
    # phase p holds proto[p + k*up], k = 0..taps-1
    return padded.reshape(taps_per_phase, up).T.copy()


class Resampler:
    """Streaming rational resampler (windowed-sinc polyphase), mono float input, float output.

    Why this design: speech recognizers are sensitive to aliasing and to ripple in the 300-4000 Hz
    band; plain linear interpolation aliases badly when going from 44.1/48 kHz down to 16 kHz. This is
    the method of scipy.signal.resample_poly (not a dependency here), vectorized with numpy: a
    Kaiser-windowed sinc (beta 8.6, 24 zero crossings per side, cutoff 0.9 of the lower Nyquist).
    Measured for 44.1/48/22.05 kHz -> 16 kHz: flat within 0.1 dB up to 6.5 kHz, -2.6 dB at 7 kHz,
    and input above 8.1 kHz is rejected by more than 79 dB, for about 130 multiply-adds per output
    sample. The filter is centred (no delay) and keeps its history between calls, so streaming in
    blocks gives exactly the same samples as converting the whole signal at once.
    """

    def __init__(
        self, in_rate: int, out_rate: int = SAMPLE_RATE, *, zeros: int = 24, beta: float = 8.6, rolloff: float = 0.9
    ) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ConfigError(f"bad sample rates {in_rate} -> {out_rate}", "use positive sample rates")
        g = math.gcd(in_rate, out_rate)
        self.in_rate, self.out_rate = in_rate, out_rate
        self.up, self.down = out_rate // g, in_rate // g
        self._passthrough = self.up == self.down
        self._bank = _design_polyphase(self.up, self.down, zeros, beta, rolloff)
        self._taps = self._bank.shape[1]
        self._center = zeros * max(self.up, self.down)  # prototype delay in virtual samples
        self._buf = np.zeros(0, dtype=np.float64)
        self._buf_start = 0  # absolute input index of self._buf[0]
        self._next_out = 0  # absolute index of the next output sample
        self._in_total = 0

    def process(self, samples: NDArray[Any]) -> NDArray[np.float64]:
        """Feed input samples; return every output sample that is now fully determined."""
        x = np.asarray(samples, dtype=np.float64)
        if self._passthrough:
            return x.copy()
        self._buf = np.concatenate([self._buf, x])
        self._in_total += x.size
        return self._drain(self._in_total)

    def flush(self) -> NDArray[np.float64]:
        """End of input: pad with silence and return the remaining outputs (ceil(n*up/down) in all)."""
        if self._passthrough:
            return np.zeros(0, dtype=np.float64)
        pad = self._taps + 1
        self._buf = np.concatenate([self._buf, np.zeros(pad)])
        wanted = -(-self._in_total * self.up // self.down)  # ceil
        out = self._drain(self._in_total + pad)
        keep = max(0, wanted - (self._next_out - out.size))
        return out[:keep]

    def _drain(self, available: int) -> NDArray[np.float64]:
        # Output m sits at virtual position m*down; input j at j*up. With the centred filter, output m
        # needs inputs up to (m*down + center) // up, which must be < available.
        m_end = (available * self.up - 1 - self._center) // self.down + 1
        if m_end <= self._next_out:
            return np.zeros(0, dtype=np.float64)
        m = np.arange(self._next_out, m_end, dtype=np.int64)
        pos = m * self.down + self._center  # virtual position of the newest tap
        newest = pos // self.up
        phase = pos - newest * self.up
        # tap k of phase p multiplies input (newest - k)
        idx = newest[:, None] - np.arange(self._taps, dtype=np.int64)[None, :] - self._buf_start
        valid = idx >= 0
        gathered = np.where(valid, self._buf[np.clip(idx, 0, None)], 0.0)
        out = np.einsum("ij,ij->i", gathered, self._bank[phase])
        self._next_out = m_end
        self._trim()
        return np.asarray(out, dtype=np.float64)

    def _trim(self) -> None:
        oldest_needed = (self._next_out * self.down + self._center) // self.up - self._taps
        drop = oldest_needed - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop


def to_int16(samples: NDArray[Any]) -> NDArray[np.int16]:
    """Float samples in int16 units (not -1..1) to int16, with clipping instead of wrap-around."""
    return np.asarray(np.clip(np.rint(samples), -32768, 32767), dtype=np.int16)


def resample(samples: NDArray[Any], in_rate: int, out_rate: int = SAMPLE_RATE) -> NDArray[np.float64]:
    """One-shot resampling of a whole mono signal (same filter as the streaming `Resampler`)."""
    r = Resampler(in_rate, out_rate)
    return np.concatenate([r.process(samples), r.flush()])


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


def _supports(sd: Any, device: int | str | None, rate: int, channels: int) -> bool:
    try:
        sd.check_input_settings(device=device, samplerate=rate, channels=channels, dtype="int16")
    except Exception:  # noqa: BLE001 - PortAudio reports unsupported formats in several ways
        return False
    return True


def _input_format(sd: Any, device: int | str | None) -> tuple[int, int]:
    """Pick (rate, channels): 16 kHz mono if the device takes it, else its native rate and channels."""
    if _supports(sd, device, SAMPLE_RATE, 1):
        return SAMPLE_RATE, 1
    info = sd.query_devices(device, "input")
    native = int(info["default_samplerate"])
    for channels in (1, min(2, int(info["max_input_channels"]))):
        if _supports(sd, device, native, channels):
            return native, channels
    raise DeviceError(f"the input device '{info['name']}' accepts no usable format", MIC_FIX)


class SoundDeviceMicrophone:
    """Live capture through PortAudio (python-sounddevice), delivered as 16 kHz mono int16 blocks.

    The callback only enqueues raw bytes; channel mixing and resampling run in `read()`. Device loss is
    detected three ways, because PortAudio backends differ in how they report it: an error status
    in the callback, the stream finishing on its own, and no audio at all for `stall_s` seconds.
    """

    def __init__(
        self,
        device: int | str | None = None,
        block_ms: int = DEFAULT_BLOCK_MS,
        *,
        max_queue_s: float = 10.0,
        stall_s: float = 3.0,
    ) -> None:
        if block_ms <= 0:
            raise ConfigError(f"block size must be positive, got {block_ms} ms", "use e.g. 20 ms blocks")
        self.device = device
        self.block_ms = block_ms
        self.stall_s = stall_s
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=max(1, int(max_queue_s * 1000 / block_ms)))
        self._stream: Any = None
        self._rate = SAMPLE_RATE
        self._channels = 1
        self._resampler: Resampler | None = None
        self._pending = np.zeros(0, dtype=np.int16)
        self._level = SILENCE_DBFS
        self._last_data = 0.0
        self._stopping = False
        self._finished = threading.Event()
        self.overflows = 0  # blocks dropped because the reader fell behind
        self.status_errors = 0  # callbacks that reported input overflow/underflow
        self.device_name = ""

    @property
    def level(self) -> float:
        """RMS of the last block returned by read(), in dBFS."""
        return self._level

    @property
    def ended(self) -> bool:
        """A live microphone never ends; it fails with DeviceError instead."""
        return False

    @property
    def backlog_s(self) -> float:
        """Seconds of audio captured but not yet read: it grows when recognition cannot keep up."""
        return self._queue.qsize() * self.block_ms / 1000.0 + self._pending.size / SAMPLE_RATE

    @property
    def capture_rate(self) -> int:
        """The rate the device actually captures at (16000 unless it had to resample)."""
        return self._rate

    def start(self) -> None:
        """Open the input stream; raise DeviceError with a fix if there is none or it cannot open."""
        sd = load_sounddevice()
        try:
            info = sd.query_devices(self.device, "input")
        except Exception as exc:  # ValueError / PortAudioError: no such device or no default input
            raise DeviceError(f"no microphone found ({_one_line(exc)})", MIC_FIX) from exc
        self.device_name = str(info["name"])
        self._rate, self._channels = _input_format(sd, self.device)
        self._resampler = None if self._rate == SAMPLE_RATE else Resampler(self._rate, SAMPLE_RATE)
        frames = max(1, self._rate * self.block_ms // 1000)
        try:
            self._stream = sd.RawInputStream(
                samplerate=self._rate,
                blocksize=frames,
                device=self.device,
                channels=self._channels,
                dtype="int16",
                callback=self._callback,
                finished_callback=self._finished.set,
            )
            self._stopping = False
            self._finished.clear()
            self._last_data = time.monotonic()
            self._stream.start()
        except Exception as exc:
            self._close_stream()
            raise DeviceError(f"cannot open the microphone '{self.device_name}' ({_one_line(exc)})", MIC_FIX) from exc

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        """Real-time thread: copy and enqueue, nothing else."""
        if status:
            self.status_errors += 1
        try:
            self._queue.put_nowait(bytes(indata))
        except queue.Full:
            self.overflows += 1

    def read(self, timeout: float) -> bytes | None:
        """Next 16 kHz block (about block_ms long), or None after `timeout` seconds without audio."""
        if self._stream is None:
            raise DeviceError("the microphone is not started", "call start() before read()")
        deadline = time.monotonic() + max(0.0, timeout)
        want = SAMPLE_RATE * self.block_ms // 1000
        while self._pending.size < want:
            raw = self._get(deadline)
            if raw is None:
                return None
            self._pending = np.concatenate([self._pending, self._convert(raw)])
        block, self._pending = self._pending[:want], self._pending[want:]
        self._level = rms_dbfs(block)
        return block.astype("<i2").tobytes()

    def _get(self, deadline: float) -> bytes | None:
        while True:
            self._check_alive()
            remaining = deadline - time.monotonic()
            try:
                raw = self._queue.get(timeout=max(0.0, min(remaining, 0.1)))
            except queue.Empty:
                if remaining <= 0.1:
                    self._check_alive()
                    return None
                continue
            self._last_data = time.monotonic()
            return raw

    def _check_alive(self) -> None:
        if self._stopping:
            return
        if self._finished.is_set() or (self._stream is not None and not self._stream.active):
            if self._queue.empty():
                raise DeviceError(f"the microphone '{self.device_name}' stopped (was it unplugged?)", MIC_FIX)
        elif time.monotonic() - self._last_data > self.stall_s and self._queue.empty():
            raise DeviceError(
                f"the microphone '{self.device_name}' delivered no audio for {self.stall_s:.0f} s", MIC_FIX
            )

    def _convert(self, raw: bytes) -> NDArray[np.int16]:
        data = np.frombuffer(raw, dtype="<i2")
        if self._channels > 1:
            data = to_int16(data.reshape(-1, self._channels).mean(axis=1))
        if self._resampler is not None:
            return to_int16(self._resampler.process(data))
        return data

    def stop(self) -> None:
        """Stop and close the stream; drop queued audio. Safe to call twice."""
        self._stopping = True
        self._close_stream()
        self._pending = np.zeros(0, dtype=np.int16)
        while not self._queue.empty():
            self._queue.get_nowait()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            # closing a lost device may fail; there is nothing left to recover then
            with contextlib.suppress(Exception):
                stream.abort()
                stream.close()


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
        raise DeviceError(f"cannot list audio devices ({_one_line(exc)})", "check that PortAudio/ALSA work") from exc
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
        raise DeviceError(f"no speaker found ({_one_line(exc)})", SPEAKER_FIX) from exc


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
        raise DeviceError(f"cannot play audio ({_one_line(exc)})", SPEAKER_FIX) from exc


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
