"""Whisper's log-mel front end in numpy (80 mel bands, 25 ms windows every 10 ms, 16 kHz).

Written here rather than taken from faster-whisper, whose package pulls in PyAV and its bundled
FFmpeg; the computation is short: a Hann-windowed STFT, a Slaney-style mel filterbank, log10,
a dynamic range of 8 (in log10 units) below the loudest bin, then (x + 4) / 4.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

SAMPLE_RATE = 16_000
N_FFT = 400
HOP = 160
N_MELS = 80


def _hz_to_mel(hz: NDArray[np.float64]) -> NDArray[np.float64]:
    """Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    linear = hz / (200.0 / 3.0)
    log_step = np.log(6.4) / 27.0
    return np.where(hz >= 1000.0, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / log_step, linear)


def _mel_to_hz(mel: NDArray[np.float64]) -> NDArray[np.float64]:
    log_step = np.log(6.4) / 27.0
    return np.where(mel >= 15.0, 1000.0 * np.exp(log_step * (mel - 15.0)), mel * (200.0 / 3.0))


def mel_filterbank(n_mels: int = N_MELS) -> NDArray[np.float32]:
    """Triangular filters equally spaced on the mel scale, each normalized to unit area."""
    bins = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges = _mel_to_hz(np.linspace(0.0, float(_hz_to_mel(np.array(SAMPLE_RATE / 2.0))), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2 : n_mels + 2] - edges[:n_mels]))[:, None]
    return weights.astype(np.float32)


_FILTERS = mel_filterbank()
_WINDOW = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def log_mel(audio: NDArray[np.float32]) -> NDArray[np.float32]:
    """Features of `audio` (mono, 16 kHz, -1..1): shape (80, frames), frames an even number."""
    padded = np.pad(audio.astype(np.float32), (N_FFT // 2, N_FFT // 2), mode="reflect")
    count = 1 + (padded.size - N_FFT) // HOP
    frames = padded[np.arange(N_FFT)[None, :] + HOP * np.arange(count)[:, None]] * _WINDOW
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    mel = _FILTERS @ power[:-1].T.astype(np.float32)
    logs = np.log10(np.maximum(mel, 1e-10))
    logs = np.maximum(logs, logs.max() - 8.0)
    features = ((logs + 4.0) / 4.0).astype(np.float32)
    return np.ascontiguousarray(features[:, : features.shape[1] // 2 * 2])
