"""Virtual PulseAudio devices for end-to-end audio tests (no sound card needed).

Thin Python wrapper around scripts/virtual-audio.sh, so tests, .ci/run and people at a shell start
exactly the same setup: a private PulseAudio daemon with
  hearth_speaker   default output; what was played can be recorded from hearth_speaker.monitor
  hearth_mic_feed  sink that test audio is injected into
  hearth_mic       default input, a remap of hearth_mic_feed.monitor
  hearth_speaker2  a second output; sounddevice sees it as the ALSA device "hearth_speaker2"

Usage:
    with virtual_audio() as va:            # skips the test if pulseaudio is not installed
        with va.in_process():              # sets PULSE_* in os.environ and re-initializes PortAudio
            mic = SoundDeviceMicrophone(); mic.start()
            va.inject(samples, rate=16000)
        sound = va.record_speaker(1.0)
Subprocesses get `va.env`.

Each daemon lives in its own temporary directory, so parallel test runs and a desktop's own
PulseAudio never collide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "virtual-audio.sh"
SPEAKER = "hearth_speaker"
MIC_FEED = "hearth_mic_feed"
MIC = "hearth_mic"
SECOND_SPEAKER = "hearth_speaker2"


def missing_tools() -> list[str]:
    """Programs the virtual setup needs that are not installed."""
    return [t for t in ("pulseaudio", "pactl", "pacat", "parec") if shutil.which(t) is None]


class SpeakerRecording:
    """parec from hearth_speaker.monitor running in the background until stop()."""

    def __init__(self, env: dict[str, str], rate: int, sink: str = SPEAKER) -> None:
        self.rate = rate
        self._proc = subprocess.Popen(
            ["parec", f"--device={sink}.monitor", "--format=s16le", f"--rate={rate}", "--channels=1",
             "--raw", "--latency-msec=20"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        while chunk := self._proc.stdout.read1(4096):
            self._chunks.append(chunk)

    def bytes_so_far(self) -> int:
        """How much audio has arrived (0 until the monitor stream delivers its first frames)."""
        return sum(len(c) for c in self._chunks)

    def wait_started(self, timeout: float = 5.0) -> bool:
        """Wait for the first recorded frames, so nothing played afterwards is missed."""
        deadline = time.monotonic() + timeout
        while self.bytes_so_far() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.bytes_so_far() > 0

    def keep_recording(self, seconds: float, timeout: float = 10.0) -> None:
        """Wait until `seconds` more audio have been recorded (the monitor lags behind playback)."""
        target = self.bytes_so_far() + int(seconds * self.rate) * 2
        deadline = time.monotonic() + timeout
        while self.bytes_so_far() < target and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> NDArray[np.int16]:
        """End the recording; mono int16 samples at `rate`."""
        self._proc.terminate()
        self._proc.wait(timeout=5)
        self._reader.join(timeout=5)
        raw = b"".join(self._chunks)
        return np.frombuffer(raw[: len(raw) - len(raw) % 2], dtype="<i2").copy()


class VirtualAudio:
    """A running virtual PulseAudio; see the module docstring."""

    def __init__(self, directory: Path, env: dict[str, str], startup_s: float) -> None:
        self.directory = directory
        self.env = env
        self.startup_s = startup_s

    @property
    def pulse_vars(self) -> dict[str, str]:
        """Just the variables that point clients at this daemon (and ALSA at its second speaker)."""
        return {k: self.env[k] for k in ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "ALSA_CONFIG_PATH") if k in self.env}

    def inject(self, audio: Path | str | NDArray[np.int16], rate: int = 16_000) -> None:
        """Play a WAV file or mono int16 samples into the microphone feed; returns when played."""
        if isinstance(audio, (str, Path)):
            subprocess.run(["paplay", f"--device={MIC_FEED}", str(audio)], env=self.env, check=True, timeout=120)
            return
        data = np.asarray(audio, dtype="<i2").tobytes()
        subprocess.run(
            ["pacat", "--playback", f"--device={MIC_FEED}", "--format=s16le", f"--rate={rate}", "--channels=1",
             "--raw"],
            input=data, env=self.env, check=True, timeout=120,
        )

    def inject_async(self, audio: NDArray[np.int16], rate: int = 16_000) -> threading.Thread:
        """inject() on a background thread; join() the returned thread to wait for the end."""
        t = threading.Thread(target=self.inject, args=(audio, rate), daemon=True)
        t.start()
        return t

    def start_recording(self, rate: int = 16_000, sink: str = SPEAKER) -> SpeakerRecording:
        """Begin recording what is played to hearth_speaker (or another sink)."""
        return SpeakerRecording(self.env, rate, sink)

    def record_speaker(self, seconds: float, rate: int = 16_000) -> NDArray[np.int16]:
        """Record hearth_speaker.monitor for `seconds` (blocks that long, plus start-up)."""
        rec = self.start_recording(rate)
        rec.wait_started()
        time.sleep(seconds)
        return rec.stop()

    @contextmanager
    def in_process(self) -> Iterator[None]:
        """Point this process's PortAudio (sounddevice) and child processes at the daemon.

        PortAudio reads the device list and ALSA's pulse configuration only at initialization, so it
        is re-initialized after the variables are set, and again after they are restored.
        """
        from assistant.audio import refresh_devices

        saved = {k: os.environ.get(k) for k in self.pulse_vars}
        os.environ.update(self.pulse_vars)
        refresh_devices()
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            refresh_devices()


def start(directory: Path) -> VirtualAudio:
    """Start the daemon in `directory` (see scripts/virtual-audio.sh)."""
    t0 = time.monotonic()
    proc = subprocess.run(["bash", str(SCRIPT), "start", str(directory)], capture_output=True, text=True,
                          timeout=60, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"virtual audio did not start: {proc.stderr.strip()}")
    env = dict(os.environ)
    for assignment in proc.stdout.split()[1:]:  # "export A=1 B=2"
        key, _, value = assignment.partition("=")
        env[key] = value
    return VirtualAudio(directory, env, time.monotonic() - t0)


def stop(directory: Path) -> None:
    """Stop the daemon started in `directory`."""
    subprocess.run(["bash", str(SCRIPT), "stop", str(directory)], capture_output=True, timeout=30, check=False)


@contextmanager
def virtual_audio() -> Iterator[VirtualAudio]:
    """Start a private virtual PulseAudio for the duration of the block (pytest-skips if unavailable)."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"virtual audio needs {', '.join(missing)} (apt-get install pulseaudio pulseaudio-utils)")
    directory = Path(tempfile.mkdtemp(prefix="hearth-pa-"))
    try:
        va = start(directory)
        try:
            yield va
        finally:
            stop(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
