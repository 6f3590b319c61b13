"""Run the product's own measurement interface on a stream: `hearth listen --input FILE.wav --json`.

Every figure comes from a real `hearth listen` process (the same code a couple runs), started on
a WAV of the stream; its CPU time and peak memory are read from the kernel when it exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .material import REPO, write_16k
from .streams import Expect, Stream


@dataclass
class Run:
    detections: list[Any]
    cpu_s: float
    wall_s: float
    rss_mb: float
    audio_s: float
    notes: list[str] = field(default_factory=list)


def listen(stream: Stream, engine: str, context: str, intents: Path | None = None, code: Path = REPO) -> Run:
    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as folder:
        wav = Path(folder) / "stream.wav"
        write_16k(wav, stream.audio)
        argv = [sys.executable, "-c", _MEASURED, sys.executable, "-m", "assistant", "listen", "--input", str(wav), "--context", context, "--json", "--engine", engine]
        if intents is not None:
            argv += ["--intents", str(intents)]
        env = {**os.environ, "PYTHONPATH": str(code), "HOME": folder, "XDG_DATA_HOME": folder}
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = process.communicate()
        _, status, usage = os.wait4(process.pid, 0) if process.returncode is None else (0, 0, None)
        wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"hearth listen failed ({process.returncode}): {err.strip()[-500:]}")
    detections = [SimpleNamespace(**json.loads(line)) for line in out.splitlines() if line.strip()]
    cpu, _ = _usage(usage)
    tagged = [line for line in err.splitlines() if line.startswith(_RSS_TAG)]
    rss = float(tagged[-1][len(_RSS_TAG):]) / 1024 if tagged else float("nan")
    notes = [line for line in err.splitlines() if line.strip() and not line.startswith(_RSS_TAG)]
    return Run(detections, cpu, wall, rss, stream.audio.size / 16000, notes)


_RSS_TAG = "bench-peak-rss-kb: "
# A small Python process runs `hearth listen` and reports its child's peak RSS. Started straight
# from the benchmark, the child's ru_maxrss would count the benchmark's own memory (all its audio),
# which a forked child shares until it execs: both engines then showed the same 1120 MB.
_MEASURED = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    f"print('{_RSS_TAG}' + str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


_CHILD_TOTALS = {"cpu": 0.0}


def _usage(usage: Any) -> tuple[float, float]:
    """CPU seconds and peak RSS (MB) of the child that just exited.

    Popen.communicate reaps the child itself, so its rusage is taken from the running total of
    all waited-for children (the difference since the last call) and ru_maxrss, which for
    RUSAGE_CHILDREN is the largest of them so far; each benchmark stage runs one engine at a time."""
    import resource

    if usage is not None:
        return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
    total = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = total.ru_utime + total.ru_stime
    spent = cpu - _CHILD_TOTALS["cpu"]
    _CHILD_TOTALS["cpu"] = cpu
    return spent, total.ru_maxrss / 1024


def expect_of(detection: Any) -> Expect:
    return (detection.intent, tuple(sorted((k, str(v)) for k, v in detection.slots.items())))
