"""WAV files: reading them, and replaying one through the Microphone interface.

Used by `hearth listen --input`, `hearth run --input`, the tests and the benchmarks; never for the
couple's own audio, which is not written to disk.

Why hand-rolled and not the `wave` module: it rejects float and WAVE_FORMAT_EXTENSIBLE files
(Python 3.11), and streamed WAVs (espeak-ng --stdout, arecord to a pipe) carry a bogus data size; here
the size is clamped to the bytes actually present.

Why the file microphone streams: a file already in hearth's format (16 kHz mono 16-bit) is read block
by block from disk, so an hour of input costs no memory (held whole it was 115 MB, and padding it
doubled that). Other formats are converted whole, once, at start().
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from assistant.audio import DEFAULT_BLOCK_MS, SAMPLE_RATE, SILENCE_DBFS, rms_dbfs
from assistant.resample import resample, to_int16
from assistant.errors import ConfigError, DeviceError

_HEARTH_FORMAT = (1, 1, SAMPLE_RATE, 16)  # PCM, mono, 16 kHz, 16-bit


@dataclass(frozen=True)
class WavData:
    """Decoded WAV: float samples scaled to int16 units, shape (frames, channels)."""

    samples: NDArray[np.float64]
    rate: int


@dataclass(frozen=True)
class _Layout:
    """Where a WAV file's samples lie: (format tag, channels, rate, bits) and the data chunk's bytes."""

    fmt: tuple[int, int, int, int]
    offset: int
    size: int


def _parse_fmt(chunk: bytes) -> tuple[int, int, int, int]:
    fmt_tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", chunk[:16])
    if fmt_tag == 0xFFFE and len(chunk) >= 26:  # WAVE_FORMAT_EXTENSIBLE: real tag in the sub-format GUID
        fmt_tag = struct.unpack("<H", chunk[24:26])[0]
    return fmt_tag, channels, rate, bits


def _decode(raw: bytes, fmt_tag: int, bits: int, channels: int) -> NDArray[np.float64]:
    width = bits // 8
    usable = len(raw) - len(raw) % (width * channels)
    raw = raw[:usable]
    if fmt_tag == 3 and bits in (32, 64):
        data = np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8").astype(np.float64) * 32768.0
    elif fmt_tag == 1 and bits == 8:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    elif fmt_tag == 1 and bits == 16:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    elif fmt_tag == 1 and bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        val = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        data = (np.where(val >= 1 << 23, val - (1 << 24), val) / 256.0).astype(np.float64)
    elif fmt_tag == 1 and bits == 32:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float64) / 65536.0
    else:
        raise ConfigError(
            f"unsupported WAV encoding (format {fmt_tag}, {bits} bit)",
            "convert it to 16-bit PCM, e.g. `sox in.wav -b 16 out.wav`",
        )
    return data.reshape(-1, channels)


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", "check the path of the WAV file") from exc


def _layout(f: BinaryIO, path: Path) -> _Layout:
    """Scan the RIFF chunks by seeking (the samples are not read)."""
    file_size = os.fstat(f.fileno()).st_size
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ConfigError(f"{path} is not a WAV file", "give a .wav file (RIFF/WAVE)")
    fmt: tuple[int, int, int, int] | None = None
    pos = 12
    while pos + 8 <= file_size:
        f.seek(pos)
        cid, size = struct.unpack("<4sI", f.read(8))
        if cid == b"fmt ":
            fmt = _parse_fmt(f.read(min(size, 64)))
        elif cid == b"data":
            if fmt is None or fmt[1] < 1 or fmt[2] < 1:
                break
            return _Layout(fmt, pos + 8, min(size, file_size - pos - 8))
        pos += 8 + size + (size & 1)
    raise ConfigError(f"{path} has no usable fmt/data chunks", "re-export the file as a 16-bit PCM WAV")


def _read_whole(path: str | Path) -> tuple[tuple[int, int, int, int], bytes]:
    p = Path(path)
    with _open(p) as f:
        layout = _layout(f, p)
        f.seek(layout.offset)
        return layout.fmt, f.read(layout.size)


def read_wav(path: str | Path) -> WavData:
    """Read a PCM (8/16/24/32-bit) or float WAV, including WAVE_FORMAT_EXTENSIBLE."""
    (tag, channels, rate, bits), body = _read_whole(path)
    return WavData(_decode(body, tag, bits, channels), rate)


def read_mono16k(path: str | Path) -> NDArray[np.int16]:
    """A WAV file as 16 kHz mono int16. A file already in that form is used as read (an hour is
    115 MB; decoding it through float copies peaked at 1.3 GB); others are converted."""
    fmt, body = _read_whole(path)
    if fmt == _HEARTH_FORMAT:
        return np.frombuffer(body, dtype="<i2", count=len(body) // 2)
    return _converted(fmt, body)


def _converted(fmt: tuple[int, int, int, int], body: bytes) -> NDArray[np.int16]:
    tag, channels, rate, bits = fmt
    return to_mono16k(WavData(_decode(body, tag, bits, channels), rate))


def to_mono16k(wav: WavData, rate: int = SAMPLE_RATE) -> NDArray[np.int16]:
    """Average the channels, resample to `rate`, and convert to int16."""
    mono = wav.samples.mean(axis=1) if wav.samples.shape[1] > 1 else wav.samples[:, 0]
    if wav.rate != rate:
        return to_int16(resample(mono, wav.rate, rate))
    rounded = np.rint(mono)  # already at the rate: no resampler copies (an hour of audio is 460 MB a copy)
    np.clip(rounded, -32768, 32767, out=rounded)
    return rounded.astype(np.int16)


class WavFileMicrophone:
    """Replays a WAV file through the Microphone interface (tests, benchmarks, `--input`).

    With `realtime=True` blocks are paced by the wall clock, as a live microphone would deliver them;
    otherwise read() returns them as fast as asked. `lead_silence_s`/`tail_silence_s` pad the file
    (recognizers need trailing silence to close an utterance) and `noise_floor_dbfs` adds white noise
    like a real microphone's self-noise (synthetic speech has exact digital silence, on which
    PocketSphinx does badly — see docs/notes). Padding and noise are made block by block, as read.
    """

    def __init__(
        self,
        path: str | Path,
        realtime: bool = False,
        *,
        block_ms: int = DEFAULT_BLOCK_MS,
        lead_silence_s: float = 0.0,
        tail_silence_s: float = 0.0,
        noise_floor_dbfs: float | None = None,
        seed: int = 0,
    ) -> None:
        self.path = Path(path)
        self.realtime = realtime
        self.block_ms = block_ms
        self.lead_silence_s = lead_silence_s
        self.tail_silence_s = tail_silence_s
        self.noise_floor_dbfs = noise_floor_dbfs
        self.seed = seed
        self._file: BinaryIO | None = None  # streamed: the file is in hearth's format
        self._converted = np.zeros(0, dtype=np.int16)  # otherwise: the whole file, converted
        self._lead = self._signal = self._total = 0  # in samples
        self._noise: tuple[np.random.Generator, float] | None = None  # generator and sigma of the floor
        self._pos = 0
        self._t0 = 0.0
        self._level = SILENCE_DBFS
        self._started = False

    @property
    def level(self) -> float:
        """RMS of the last block returned by read(), in dBFS."""
        return self._level

    @property
    def ended(self) -> bool:
        """True once every block of the file has been read."""
        return self._started and self._pos >= self._total

    @property
    def backlog_s(self) -> float:
        """Replayed in real time: how far reading has fallen behind the clock (else 0)."""
        if not self.realtime or not self._started:
            return 0.0
        return max(0.0, time.monotonic() - self._t0 - self._pos / SAMPLE_RATE)

    def start(self) -> None:
        """Open the file (streamed) or convert it (any other format), and start the clock."""
        self.stop()
        f = _open(self.path)
        try:
            layout = _layout(f, self.path)
            f.seek(layout.offset)
            if layout.fmt == _HEARTH_FORMAT:
                self._file, self._signal = f, layout.size // 2
            else:
                self._converted = _converted(layout.fmt, f.read(layout.size))
                self._signal = self._converted.size
                f.close()
        except BaseException:
            f.close()
            raise
        self._lead = int(self.lead_silence_s * SAMPLE_RATE)
        self._total = self._lead + self._signal + int(self.tail_silence_s * SAMPLE_RATE)
        self._noise = None
        if self.noise_floor_dbfs is not None:
            self._noise = (np.random.default_rng(self.seed), 32768.0 * 10 ** (self.noise_floor_dbfs / 20.0))
        self._pos = 0
        self._t0 = time.monotonic()
        self._started = True

    def read(self, timeout: float) -> bytes | None:
        """Next block; None at the end of the file, or (realtime) if it is not due within `timeout`."""
        if not self._started:
            raise DeviceError("the WAV microphone is not started", "call start() before read()")
        if self._pos >= self._total:
            self._close()
            return None
        want = min(SAMPLE_RATE * self.block_ms // 1000, self._total - self._pos)
        if self.realtime:
            due = self._t0 + (self._pos + want) / SAMPLE_RATE
            wait = due - time.monotonic()
            if wait > timeout:
                time.sleep(max(0.0, timeout))
                return None
            if wait > 0:
                time.sleep(wait)
        block = self._block(self._pos, want)
        self._pos += want
        self._level = rms_dbfs(block)
        return block.astype("<i2").tobytes()

    def _block(self, pos: int, n: int) -> NDArray[np.int16]:
        """Samples pos..pos+n of lead silence + file + tail silence, with the noise floor added."""
        block = np.zeros(n, dtype=np.int16)
        lo = max(pos, self._lead) - pos
        hi = min(pos + n, self._lead + self._signal) - pos
        if hi > lo:
            start = pos + lo - self._lead
            if self._file is not None:  # reads are in order: the file position is already there
                got = np.frombuffer(self._file.read((hi - lo) * 2), dtype="<i2")
                block[lo : lo + got.size] = got
            else:
                block[lo:hi] = self._converted[start : start + hi - lo]
        if self._noise is not None:
            rng, sigma = self._noise
            block = to_int16(block + rng.normal(0.0, sigma, n))
        return block

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def stop(self) -> None:
        """Close the file and forget any converted audio."""
        self._close()
        self._converted = np.zeros(0, dtype=np.int16)
        self._pos = self._total = 0
