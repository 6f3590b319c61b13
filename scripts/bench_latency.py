"""Reply latency: from the end of a spoken command to the first sample of hearth's spoken reply.

Runs a real hearth process on virtual PulseAudio devices (scripts/virtual-audio.sh), speaks
"pick up where we left off" into the virtual microphone several times, and records one mix of the
microphone feed and the speaker (the keep-alive sink receives both through equal loopbacks), so
both events sit on one timeline. Reports p50/p95 and writes the "## Reply latency" section of
BENCHMARKS.md. Usage: .venv/bin/python scripts/bench_latency.py [--trials 12] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from live_harness import RATE, HearthProcess, command_audio, pulse_env  # noqa: E402
from virtual_audio import start, stop  # noqa: E402

COMMAND = "pick up where we left off"  # with nothing saved, hearth answers and stays idle
FRAME = RATE // 100  # 10 ms


def loud_frames(signal: np.ndarray, dbfs: float = -45.0) -> np.ndarray:
    frames = signal[: signal.size // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME) / 32768.0
    return 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-12) > dbfs


def measure(trials: int, engine: str) -> list[float]:
    directory = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    va = start(directory)
    try:
        return _run_trials(va, directory, trials, engine)
    finally:
        stop(directory)


def _run_trials(va: object, directory: Path, trials: int, engine: str) -> list[float]:
    env = pulse_env(va.env)  # type: ignore[attr-defined]
    recorder = subprocess.Popen(
        ["parec", "--device=hearth_keepalive.monitor", "--format=s16le", f"--rate={RATE}", "--channels=1", "--raw", "--latency-msec=10"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    chunks: list[bytes] = []
    threading.Thread(target=lambda: [chunks.append(c) for c in iter(lambda: recorder.stdout.read(3200), b"")], daemon=True).start()  # type: ignore[union-attr]
    hearth = HearthProcess(["--data-dir", str(directory / "data"), "--engine", engine], env)
    command = command_audio(COMMAND, lead_s=0.0, tail_s=0.0)
    speech_len = int(np.argwhere(np.abs(command) > 300).max()) + 1  # the voice's last sample
    latencies = []
    try:
        hearth.wait_for("^Listening", timeout=60)
        for trial in range(trials):
            time.sleep(1.5)
            before = sum(len(c) for c in chunks) // 2
            mark = len(hearth.lines)
            va.inject(np.concatenate([command, np.zeros(RATE, dtype=np.int16)]))  # type: ignore[attr-defined]
            try:
                hearth.wait_for("^hearth: ", timeout=15, after=mark)  # the reply (nothing is saved yet)
            except AssertionError:
                print(f"trial {trial + 1}: the command was not recognized", file=sys.stderr)
                continue
            time.sleep(9.0)  # let the whole reply play
            signal = np.frombuffer(b"".join(chunks), dtype="<i2")[before:]
            latency = _reply_latency(signal, speech_len)
            if latency is not None:
                latencies.append(latency)
    finally:
        hearth.stop()
        recorder.terminate()
    return latencies


def _reply_latency(signal: np.ndarray, speech_len: int) -> float | None:
    """Command onset = first loud frame; its end = onset + the known speech length; the reply is the
    first loud frame after that end following at least 60 ms of quiet."""
    loud = loud_frames(signal)
    onsets = np.flatnonzero(loud)
    if onsets.size == 0:
        return None
    end = onsets[0] + speech_len // FRAME
    quiet = 0
    for index in range(end, loud.size):
        if not loud[index]:
            quiet += 1
        elif quiet >= 6:
            return (index - end) * FRAME / RATE
    return None


def write_section(out: Path, results: dict[str, list[float]], trials: int) -> str:
    rows = ""
    for engine, latencies in results.items():
        if not latencies:
            rows += f"| {engine} | 0 of {trials} | — | — | p95 <= 800 ms | no |\n"
            continue
        p50, p95 = np.percentile(latencies, 50), np.percentile(latencies, 95)
        rows += f"| {engine} | {len(latencies)} of {trials} | {p50 * 1000:.0f} ms | {p95 * 1000:.0f} ms | p95 <= 800 ms | {'yes' if p95 <= 0.8 else '**NO**'} |\n"
    section = (
        "## Reply latency\n\n"
        f"From the end of a spoken command (\"{COMMAND}\", said once per trial) to the first sample of hearth's\n"
        "reply (its acknowledgement chime or its voice, whichever comes first), through the virtual microphone and\n"
        "speaker, with hearth's default voice; each engine measured in the same run. Target: p95 at most 800 ms.\n\n"
        "| engine | trials measured | p50 | p95 | target | met? |\n|---|---|---|---|---|---|\n"
        + rows + "\n"
        f"Measured {date.today().isoformat()} on {_machine()}. Reproduce: `.venv/bin/python scripts/bench_latency.py --trials {trials}`.\n"
    )
    text = out.read_text(encoding="utf-8") if out.exists() else "# Benchmarks\n"
    if "## Reply latency" in text:
        text = re.sub(r"## Reply latency\n.*?(?=\n## |\Z)", section.rstrip("\n") + "\n", text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text, encoding="utf-8")
    return section


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    import os

    return f"{os.cpu_count()} cores, {cpu}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--engines", default="whisper,pocketsphinx")
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    results = {engine: measure(args.trials, engine) for engine in args.engines.split(",")}
    if not any(results.values()):
        print("no reply was measured", file=sys.stderr)
        return 1
    print(write_section(args.out, results, args.trials))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
