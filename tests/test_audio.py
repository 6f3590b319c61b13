"""Capture side: WAV decoding, resampling, the file microphone, and live capture via virtual devices."""

from __future__ import annotations

import struct
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from assistant import audio, microphone, resample, wavfile
from assistant.errors import ConfigError, DeviceError

try:
    from tests.virtual_audio import virtual_audio
except ImportError:  # tests/ is not a package: pytest puts it on sys.path itself
    from virtual_audio import virtual_audio  # type: ignore[no-redef]


def _tone(freq: float, rate: int, seconds: float, amp: float = 0.5) -> NDArray[np.float64]:
    return amp * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)


def _write_pcm16(path: Path, frames: NDArray[np.float64], rate: int) -> None:
    """frames: (n, channels) in -1..1."""
    with wave.open(str(path), "wb") as f:
        f.setnchannels(frames.shape[1])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.rint(frames * 32767).astype("<i2").tobytes())


def _write_float32(path: Path, frames: NDArray[np.float64], rate: int) -> None:
    data = frames.astype("<f4").tobytes()
    ch = frames.shape[1]
    fmt = struct.pack("<HHIIHH", 3, ch, rate, rate * ch * 4, ch * 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def _peak_hz(x: NDArray[np.int16] | NDArray[np.float64], rate: int) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(x.size)))
    return float(np.argmax(spec)) * rate / x.size


def _read_all(mic: audio.Microphone) -> NDArray[np.int16]:
    blocks = []
    while (block := mic.read(timeout=0.0)) is not None:
        blocks.append(block)
    return np.frombuffer(b"".join(blocks), dtype="<i2")


# ---- levels and resampling -------------------------------------------------------------------------


def test_rms_dbfs() -> None:
    full_square = np.full(320, 32767, dtype=np.int16)
    assert abs(audio.rms_dbfs(full_square)) < 0.01
    assert audio.rms_dbfs(np.zeros(320, dtype=np.int16)) == -120.0
    half_sine = (_tone(440, 16000, 0.1, 0.5) * 32768).astype(np.int16)
    assert abs(audio.rms_dbfs(half_sine.tobytes()) - (-9.03)) < 0.1


@pytest.mark.parametrize("in_rate", [8000, 22050, 44100, 48000])
def test_resampler_keeps_tone_frequency_and_level(in_rate: int) -> None:
    y = resample.resample(_tone(1000, in_rate, 1.0) * 32768, in_rate)
    assert abs(y.size - 16000) <= 1
    assert abs(_peak_hz(y, 16000) - 1000) < 2
    mid = y[2000:-2000]
    assert abs(np.sqrt(np.mean(mid**2)) - 0.5 * 32768 / np.sqrt(2)) < 0.01 * 32768


def test_resampler_rejects_what_would_alias() -> None:
    # 12 kHz cannot exist at 16 kHz; naive decimation would fold it to 4 kHz at full level.
    y = resample.resample(_tone(12000, 48000, 1.0) * 32768, 48000)
    assert 20 * np.log10(np.sqrt(np.mean(y[2000:-2000] ** 2)) / 32768 + 1e-12) < -80


def test_streaming_in_blocks_equals_one_shot() -> None:
    x = np.random.default_rng(3).standard_normal(44100) * 3000
    whole = resample.resample(x, 44100)
    r = resample.Resampler(44100)
    parts = [r.process(x[i : i + 441]) for i in range(0, x.size, 441)]
    streamed = np.concatenate([*parts, r.flush()])
    assert streamed.size == whole.size
    assert np.max(np.abs(streamed - whole)) < 1e-6


def test_bad_rates_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        resample.Resampler(0, 16000)


# ---- WAV files ---------------------------------------------------------------------------------------


def test_wav_microphone_converts_44k_stereo_to_16k_mono(tmp_path: Path) -> None:
    left = _tone(440, 44100, 1.5, 0.4)
    right = _tone(440, 44100, 1.5, 0.4)
    path = tmp_path / "stereo44.wav"
    _write_pcm16(path, np.stack([left, right], axis=1), 44100)
    mic = wavfile.WavFileMicrophone(path)
    mic.start()
    first = mic.read(timeout=0.1)
    assert first is not None and len(first) == 320 * 2  # 20 ms of 16 kHz int16
    pcm = np.concatenate([np.frombuffer(first, dtype="<i2"), _read_all(mic)])
    assert mic.ended
    assert abs(pcm.size - 24000) <= 320
    assert abs(_peak_hz(pcm[1600:-1600], 16000) - 440) < 2
    assert abs(mic.level - audio.rms_dbfs((_tone(440, 16000, 0.02, 0.4) * 32767).astype(np.int16))) < 1.0


def test_wav_microphone_reads_float_wav_and_pads(tmp_path: Path) -> None:
    path = tmp_path / "float48.wav"
    _write_float32(path, _tone(1000, 48000, 0.5, 0.25)[:, None], 48000)
    mic = wavfile.WavFileMicrophone(path, lead_silence_s=0.2, tail_silence_s=0.3, noise_floor_dbfs=-66)
    mic.start()
    pcm = _read_all(mic)
    assert abs(pcm.size - int(16000 * 1.0)) <= 320
    lead = pcm[: 16000 // 5 - 100]
    assert -70 < audio.rms_dbfs(lead) < -62  # the noise floor, not digital silence
    assert abs(_peak_hz(pcm[3200:11200], 16000) - 1000) < 2


def test_wav_microphone_streams_a_16k_file_with_padding_and_noise_as_if_held_whole(tmp_path: Path) -> None:
    # A file in hearth's own format is read block by block from disk (an hour costs no memory); what
    # comes out must be what padding and noising the whole signal at once gives, sample for sample.
    path = tmp_path / "speech16k.wav"
    signal = _tone(250, 16000, 0.737, 0.3) * 0.8 + _tone(1900, 16000, 0.737, 0.1)
    _write_pcm16(path, signal[:, None], 16000)
    mic = wavfile.WavFileMicrophone(path, lead_silence_s=0.13, tail_silence_s=0.21, noise_floor_dbfs=-60, seed=5)
    mic.start()
    streamed = _read_all(mic)
    padded = np.concatenate([np.zeros(2080), wavfile.read_mono16k(path), np.zeros(3360)])
    noise = np.random.default_rng(5).normal(0.0, 32768.0 * 10 ** (-60 / 20), padded.size)
    assert np.array_equal(streamed, resample.to_int16(padded + noise))
    assert mic.ended and mic.read(timeout=0.0) is None
    mic.start()  # a second start replays the file from its beginning
    assert np.array_equal(_read_all(mic), streamed)


def test_wav_with_streaming_header_is_clamped(tmp_path: Path) -> None:
    # espeak-ng --stdout and arecord to a pipe write placeholder sizes (0x7ffff000...)
    samples = (_tone(500, 22050, 0.3, 0.3) * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, 22050, 44100, 2, 16)
    blob = b"RIFF\xff\xff\xff\x7fWAVEfmt " + struct.pack("<I", 16) + fmt + b"data\x00\xf0\xff\x7f" + samples
    path = tmp_path / "stream.wav"
    path.write_bytes(blob)
    wav = wavfile.read_wav(path)
    assert wav.rate == 22050 and wav.samples.shape == (len(samples) // 2, 1)


def test_not_a_wav_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"hello")
    with pytest.raises(ConfigError):
        wavfile.WavFileMicrophone(bad).start()
    with pytest.raises(ConfigError):
        wavfile.read_wav(tmp_path / "missing.wav")


def test_realtime_wav_microphone_paces_blocks(tmp_path: Path) -> None:
    path = tmp_path / "t.wav"
    _write_pcm16(path, _tone(300, 16000, 0.2)[:, None], 16000)
    mic = wavfile.WavFileMicrophone(path, realtime=True)
    mic.start()
    assert mic.read(timeout=0.0) is None  # the first block is not due yet
    assert mic.read(timeout=1.0) is not None


# ---- devices ---------------------------------------------------------------------------------------------


class _LostStream:
    """A stream on a device that has gone: stopping it fails."""

    def __init__(self) -> None:
        self.closed = False

    def abort(self) -> None:
        raise RuntimeError("PortAudio: device unavailable")

    def close(self) -> None:
        self.closed = True


def test_a_stream_on_a_lost_device_is_still_released() -> None:
    stream = _LostStream()
    audio.close_quietly(stream)  # no exception reaches the caller
    assert stream.closed
    audio.close_quietly(None)


def test_missing_input_device_is_a_device_error_with_fix() -> None:
    mic = microphone.SoundDeviceMicrophone(device="no-such-device-anywhere")
    with pytest.raises(DeviceError) as info:
        mic.start()
    assert "--input-device" in info.value.fix and "--text" in info.value.fix
    assert "\n" not in info.value.message


def test_read_before_start_is_an_error() -> None:
    with pytest.raises(DeviceError):
        microphone.SoundDeviceMicrophone().read(0.1)


def test_list_devices_never_raises_on_a_bare_machine() -> None:
    inputs, outputs = audio.list_devices()
    assert all(d.channels > 0 for d in inputs + outputs)


# ---- end to end through virtual PulseAudio -----------------------------------------------------------


@pytest.mark.audio
def test_virtual_devices_are_listed() -> None:
    with virtual_audio() as va, va.in_process():
        inputs, outputs = audio.list_devices()
    print(f"virtual audio started in {va.startup_s * 1000:.0f} ms")
    assert any(d.is_default for d in inputs)
    assert any(d.is_default for d in outputs)


@pytest.mark.audio
@pytest.mark.slow
def test_spoken_phrase_injected_into_hearth_mic_is_captured() -> None:
    from assistant.speech.espeak import synthesize_to_array

    speech, rate = synthesize_to_array("start our check in", voice="en-us")
    phrase = resample.to_int16(resample.resample(speech.astype(np.float64), rate))
    with virtual_audio() as va, va.in_process():
        mic = microphone.SoundDeviceMicrophone()
        mic.start()
        try:
            assert mic.capture_rate == audio.SAMPLE_RATE
            assert mic.read(timeout=5.0) is not None  # inject only once the stream delivers
            feeder = va.inject_async(phrase)
            blocks = []
            levels = []
            deadline = time.monotonic() + phrase.size / audio.SAMPLE_RATE + 5.0
            while time.monotonic() < deadline:
                block = mic.read(timeout=1.0)
                if block is not None:
                    blocks.append(block)
                    levels.append(mic.level)
                if not feeder.is_alive() and len(blocks) * 320 > phrase.size + 8000:
                    break
            feeder.join(timeout=10)
        finally:
            mic.stop()
    captured = np.frombuffer(b"".join(blocks), dtype="<i2").astype(np.float64)
    ref = phrase.astype(np.float64)
    corr = np.correlate(captured, ref, mode="valid")
    lag = int(np.argmax(corr))
    seg = captured[lag : lag + ref.size]
    similarity = float(np.dot(seg, ref) / (np.linalg.norm(seg) * np.linalg.norm(ref) + 1e-9))
    energy_ratio = float(np.sum(seg**2) / np.sum(ref**2))
    print(f"captured phrase: similarity {similarity:.4f}, energy ratio {energy_ratio:.3f}, "
          f"lag {lag / 16000:.2f} s, loudest block {max(levels):.1f} dBFS, overflows {mic.overflows}")
    assert similarity > 0.99
    assert 0.9 < energy_ratio < 1.1
    assert max(levels) > -40


@pytest.mark.audio
def test_microphone_at_another_rate_is_resampled_in_the_reader() -> None:
    # Force the non-16k path: ask PortAudio for 48 kHz by making 16 kHz "unsupported".
    with virtual_audio() as va, va.in_process():
        mic = microphone.SoundDeviceMicrophone()
        original = microphone._input_format
        microphone._input_format = lambda sd, device: (48000, 2)  # type: ignore[assignment]
        try:
            mic.start()
        finally:
            microphone._input_format = original  # type: ignore[assignment]
        try:
            assert mic.capture_rate == 48000
            assert mic.read(timeout=5.0) is not None
            feeder = va.inject_async((_tone(1000, 16000, 1.0, 0.3) * 32767).astype(np.int16))
            blocks = [b for _ in range(150) if (b := mic.read(timeout=1.0)) is not None]
            feeder.join(timeout=10)
        finally:
            mic.stop()
    pcm = np.frombuffer(b"".join(blocks), dtype="<i2")
    assert all(len(b) == 640 for b in blocks)
    loud = pcm[np.abs(pcm) > 0]
    assert loud.size > 8000
    start = int(np.argmax(np.abs(pcm) > 1000))
    assert abs(_peak_hz(pcm[start + 1600 : start + 9600], 16000) - 1000) < 3


@pytest.mark.audio
def test_losing_the_device_raises_device_error_from_read() -> None:
    try:
        from tests.virtual_audio import stop as stop_virtual_audio
    except ImportError:
        from virtual_audio import stop as stop_virtual_audio  # type: ignore[no-redef]

    with virtual_audio() as va, va.in_process():
        mic = microphone.SoundDeviceMicrophone(stall_s=3.0)
        mic.start()
        try:
            assert mic.read(timeout=5.0) is not None
            stop_virtual_audio(va.directory)  # the "microphone" disappears
            with pytest.raises(DeviceError) as info:
                for _ in range(200):
                    mic.read(timeout=0.5)
        finally:
            mic.stop()
    assert "--input-device" in info.value.fix


def test_play_to_a_missing_device_is_a_device_error() -> None:
    with pytest.raises(DeviceError) as info:
        audio.play(np.zeros(100, dtype=np.int16), 16000, device="no-such-device-anywhere")
    assert "hearth devices" in info.value.fix


@pytest.mark.audio
def test_play_is_heard_on_the_virtual_speaker() -> None:
    tone = (_tone(660, 22050, 0.5, 0.3) * 32767).astype(np.int16)
    with virtual_audio() as va, va.in_process():
        rec = va.start_recording()
        assert rec.wait_started()
        audio.play(tone, 22050)
        rec.keep_recording(0.3)
        sound = rec.stop()
    loud = np.nonzero(np.abs(sound) > 2000)[0]
    assert loud.size > 0
    start, end = int(loud[0]), int(loud[-1])
    print(f"play(): {(end - start) / 16000:.3f} s of tone recorded (0.5 s played), peak {np.max(np.abs(sound))}")
    assert 0.48 < (end - start) / 16000 < 0.52
    assert abs(_peak_hz(sound[start + 800 : start + 6400], 16000) - 660) < 4
