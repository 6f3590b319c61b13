"""Driving a real `hearth` process through virtual audio devices, and reading what it played.

Shared by the end-to-end tests and scripts/bench_latency.py. Synchronization is by the process's
own printed lines (never fixed sleeps for logic), with generous timeouts; analysis of the recorded
speaker finds chimes by matched filtering against the chimes hearth renders, and speech as longer
stretches of energy that are not chimes.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from assistant.resample import resample
from assistant.chimes import render
from assistant.speech.espeak import synthesize_to_array

RATE = 16_000
REPO = Path(__file__).resolve().parent.parent
CHIME_KINDS = ("turn_start", "minute_left", "turn_end", "acknowledged", "not_understood")


def command_audio(text: str, voice: str = "en-us", wpm: int = 150, lead_s: float = 0.6, tail_s: float = 0.9, seed: int = 0) -> NDArray[np.int16]:
    """A spoken command at 16 kHz with silence around it and a -66 dBFS noise floor, like a real mic."""
    samples, rate = synthesize_to_array(text, voice=voice, rate=wpm)
    speech = resample(samples.astype(np.float64), rate, RATE)
    signal = np.concatenate([np.zeros(int(lead_s * RATE)), speech, np.zeros(int(tail_s * RATE))])
    noise = np.random.default_rng(seed).normal(0.0, 32768 * 10 ** (-66 / 20), signal.size)
    return np.clip(signal + noise, -32768, 32767).astype(np.int16)


class HearthProcess:
    """`python -m assistant ...` with its output lines collected on a thread."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path = REPO) -> None:
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "assistant", *args],
            cwd=cwd, env={**env, "PYTHONPATH": str(REPO)}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line)

    def wait_for(self, pattern: str, timeout: float = 60.0, after: int = 0) -> int:
        """Index of the first output line from `after` on matching `pattern` (waits for it)."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            for index in range(after, len(self.lines)):
                if regex.search(self.lines[index]):
                    return index
            if time.monotonic() > deadline or self.proc.poll() is not None and self._new.empty():
                raise AssertionError(f"hearth never printed /{pattern}/; output:\n" + "\n".join(self.lines))
            try:
                self._new.get(timeout=0.1)
            except queue.Empty:
                pass

    def count(self, pattern: str) -> int:
        return sum(1 for line in self.lines if re.search(pattern, line))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # Ctrl-C: the app closes the session cleanly
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


VOICES = (("en-us", 150), ("en+m3", 140), ("en+f3", 130), ("en", 150))


def say(va: object, hearth: HearthProcess, phrase: str, voice: tuple[str, int] = VOICES[0], seed: int = 0) -> int:
    """Speak a command once, as a person would, and return the index of hearth's `(heard: ...)`
    line; fail if hearth shows no sign of hearing it within a few seconds."""
    mark = len(hearth.lines)
    va.inject(command_audio(phrase, voice=voice[0], wpm=voice[1], seed=seed))  # type: ignore[attr-defined]
    try:
        return hearth.wait_for(r"^\(heard: ", timeout=8.0, after=mark)
    except AssertionError:
        raise AssertionError(f"hearth did not hear {phrase!r}, said once; output:\n" + "\n".join(hearth.lines)) from None


def heard_intents(hearth: HearthProcess) -> list[str]:
    """The intents of every command hearth printed as heard (`--debug-transcripts`), in order."""
    from assistant.intent_yaml import load_intents

    intents = load_intents()
    texts = [line[len("(heard: ") : -1] for line in hearth.lines if line.startswith("(heard: ")]
    matches = [intents.match(text, "any") for text in texts]
    return [m.intent if m else f"?{text}" for m, text in zip(matches, texts)]


@dataclass(frozen=True)
class Sound:
    kind: str  # "speech" or a chime kind
    start_s: float
    end_s: float


def find_chimes(signal: NDArray[np.int16], threshold: float = 0.6) -> list[Sound]:
    """Chimes in a recording, by normalized cross-correlation with each rendered chime."""
    x = signal.astype(np.float64) / 32768.0
    found: list[Sound] = []
    for kind in CHIME_KINDS:
        template = render(kind, RATE).astype(np.float64)  # type: ignore[arg-type]
        n = template.size
        if x.size < n:
            continue
        corr = np.correlate(x, template, mode="valid")
        energy = np.sqrt(np.convolve(x * x, np.ones(n), mode="valid")) * np.sqrt(np.sum(template * template))
        score = np.divide(corr, energy, out=np.zeros_like(corr), where=energy > 1e-9)
        index = 0
        while index < score.size:
            if score[index] >= threshold:
                window = score[index : index + n]
                peak = index + int(np.argmax(window))
                found.append(Sound(kind, peak / RATE, (peak + n) / RATE))
                index = peak + n
            else:
                index += 1
    return sorted(found, key=lambda s: s.start_s)


def speech_segments(signal: NDArray[np.int16], chimes: list[Sound], min_s: float = 0.4) -> list[Sound]:
    """Stretches of sound (20 ms frames above -50 dBFS, gaps under 0.6 s bridged) that are not chimes."""
    frame = RATE // 50
    frames = signal[: signal.size // frame * frame].astype(np.float64).reshape(-1, frame) / 32768.0
    loud = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-12) > -50
    for chime in chimes:
        loud[int(chime.start_s * 50) : int(chime.end_s * 50) + 1] = False
    segments: list[Sound] = []
    start = None
    quiet = 0
    for i, on in enumerate(loud):
        if on:
            start = i if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet > 30:
                segments.append(Sound("speech", start / 50, (i - quiet + 1) / 50))
                start, quiet = None, 0
    if start is not None:
        segments.append(Sound("speech", start / 50, (len(loud) - quiet) / 50))
    return [s for s in segments if s.end_s - s.start_s >= min_s]


def timeline(signal: NDArray[np.int16]) -> list[Sound]:
    chimes = find_chimes(signal)
    return sorted(chimes + speech_segments(signal, chimes), key=lambda s: s.start_s)


def short_exercises(directory: Path, minutes: float = 0.25) -> Path:
    """Copies of the packaged check-in and listening turns with short turns (same ids: they replace
    the built-in ones), so a hands-free run takes a minute instead of ten."""
    directory.mkdir(parents=True, exist_ok=True)
    source = REPO / "assistant" / "content" / "exercises"
    for name in ("check_in.yaml", "listening_turns.yaml"):
        text = (source / name).read_text(encoding="utf-8")
        text = re.sub(r"minutes: [0-9.]+", f"minutes: {minutes}", text)
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def pulse_env(env: dict[str, str]) -> dict[str, str]:
    """The environment for a hearth child process: the virtual devices and no stray PYTHON vars."""
    return {k: v for k, v in env.items() if not k.startswith("PYTEST")} | {"PYTHONUNBUFFERED": "1", "HOME": env.get("HOME", os.environ.get("HOME", "/root"))}
