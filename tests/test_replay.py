"""A session driven by a recording hears the same commands as `hearth listen` does in the same file.

Both go through the one runtime's audio input and the same CommandListener with the default engine;
the recording's last command ends with the file, so only the final flush of its open segment finds
it (a replay that forgot the flush missed it). Muted, hearth makes no sound, so its echo guard drops
nothing and the two hear exactly alike; on --fake-clock the replay runs as fast as it decodes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

from live_harness import RATE, command_audio

REPO = Path(__file__).resolve().parent.parent
COMMANDS = [  # idle-context commands that leave hearth idle, so the live grammar never changes
    ("juniper, what exercises are there", "en-us", 150),
    ("juniper, what can I say", "en+m3", 140),
    ("juniper, what is a bid for connection", "en-us", 150),
]


def _recording(path: Path) -> float:
    parts = [command_audio(text, voice=voice, wpm=wpm, seed=i, lead_s=1.0 if i == 0 else 0.5, tail_s=2.0 if i < len(COMMANDS) - 1 else 0.0)
             for i, (text, voice, wpm) in enumerate(COMMANDS)]
    audio = np.concatenate(parts)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(audio.astype("<i2").tobytes())
    return audio.size / RATE


def _hearth(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "assistant", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_a_session_replay_hears_what_hearth_listen_hears_to_the_end_of_the_file(tmp_path: Path, hearth_env: dict[str, str]) -> None:
    recording = tmp_path / "evening.wav"
    duration = _recording(recording)
    listened = [json.loads(line) for line in _hearth(["listen", "--input", str(recording), "--context", "idle", "--json"], hearth_env).stdout.splitlines()]
    session = _hearth(["--input", str(recording), "--fake-clock", "--mute", "--debug-transcripts", "--data-dir", str(tmp_path / "data"),
                       "--names", "Alex", "Sam"], hearth_env)
    heard = [line[len("(heard: "):-1] for line in session.stderr.splitlines() if line.startswith("(heard: ")]
    assert [d["text"] for d in listened] == heard
    assert [d["intent"] for d in listened] == ["list_exercises", "help", "info"]
    assert listened[-1]["decided_s"] > duration  # the last command was found by the end-of-file flush
    assert "A bid for connection is" in session.stdout  # and the session answered it before closing
