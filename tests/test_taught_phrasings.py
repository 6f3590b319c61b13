"""Every phrasing hearth teaches is heard at least 9 times in 10, in the context where it is said.

The taught phrasing of each intent is its `help:` text (with the wake name where the context needs
it): what the prompts, help and README tell a couple to say. Each is spoken by ten synthesized
voice setups, once each, in a stream with pauses (as a microphone delivers it), through the same
listener the live session uses, with the default engine. The live tests through the virtual
devices (test_live_session.py) say each command once as well.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from assistant.asr.select import open_recognizer
from assistant.intents import IntentSet
from assistant.intent_yaml import load_intents
from assistant.listen import CommandListener

pytestmark = pytest.mark.slow
RATE = 16_000
VOICES = [(voice, speed) for voice in ("en-us", "en+m3", "en+f3", "en-gb", "en-us+f2") for speed in (140, 175)]
INTENTS = load_intents()


def taught() -> list[tuple[str, str, str]]:
    """(context, phrase, intent) for every intent live in every context."""
    found = []
    for context in ("idle", "prompt", "turn"):
        for intent in INTENTS.live(context):
            phrase = intent.help if not INTENTS.needs_wake(intent, context) else f"{INTENTS.wake_name}, {intent.help}"
            found.append((context, phrase, intent.name))
    return found


def speak(text: str, voice: str, speed: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text], check=True, capture_output=True)
        from assistant.wavfile import read_mono16k

        return read_mono16k(out).astype(np.float32) / 32768.0


@pytest.fixture(scope="module")
def intents() -> IntentSet:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is needed: scripts/setup.sh installs it")
    return INTENTS


@pytest.mark.parametrize("context,phrase,intent", taught(), ids=lambda v: str(v).replace(" ", "_"))
def test_taught_phrasing_is_heard_nine_times_in_ten(intents: IntentSet, context: str, phrase: str, intent: str) -> None:
    recognizer, _ = open_recognizer("auto", None, intents)
    listener = CommandListener(recognizer, intents, context)
    rng = np.random.default_rng(len(phrase))
    parts, spans, at = [np.zeros(2 * RATE, dtype=np.float32)], [], 2 * RATE
    for voice, speed in VOICES:
        piece = speak(phrase, voice, speed)
        gap = np.zeros(int(rng.uniform(1.5, 2.5) * RATE), dtype=np.float32)
        spans.append((at / RATE, (at + piece.size) / RATE))
        parts += [piece, gap]
        at += piece.size + gap.size
    audio = np.concatenate(parts) + rng.normal(0, 10 ** (-66 / 20), at).astype(np.float32)
    pcm = np.clip(np.rint(audio * 32768), -32768, 32767).astype("<i2").tobytes()
    found = []
    for offset in range(0, len(pcm), 640):
        found += listener.feed(pcm[offset : offset + 640])
    found += listener.flush()
    heard = [[d.intent for d in found if min(b + 0.3, d.end_s) - max(a - 0.3, d.start_s) > 0] for a, b in spans]
    right = sum(h == [intent] for h in heard)
    assert not [h for h in heard if h and h != [intent]], heard  # never a wrong action
    assert right >= 9, f"{right} of 10: {heard}"
