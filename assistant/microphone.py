"""Live capture from a microphone through PortAudio (python-sounddevice).

The PortAudio callback only copies bytes into a queue (`put_nowait`): it runs on a real-time audio
thread, and blocking, decoding or resampling there causes overflows and dropped audio. Channel
mixing and resampling happen in the reader (`read()`). Audio of the user is never written to disk:
blocks live only in memory queues.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from assistant.audio import DEFAULT_BLOCK_MS, MIC_FIX, SAMPLE_RATE, SILENCE_DBFS, close_quietly, load_sounddevice, one_line, rms_dbfs
from assistant.errors import ConfigError, DeviceError
from assistant.resample import Resampler, to_int16


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
            raise DeviceError(f"no microphone found ({one_line(exc)})", MIC_FIX) from exc
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
            raise DeviceError(f"cannot open the microphone '{self.device_name}' ({one_line(exc)})", MIC_FIX) from exc

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
        close_quietly(stream)
