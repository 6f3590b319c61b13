"""Hands-free end to end: real audio through virtual PulseAudio devices into a real hearth process.

A synthesized couple speaks commands into the virtual microphone, each once, in the phrasing hearth
teaches (a person does not say a command six times); hearth recognizes them with its default
engine, speaks with its default voice (Piper) and chimes into the virtual speaker, which the test
records and analyses.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from live_harness import HearthProcess, heard_intents, pulse_env, say, short_exercises, timeline
from virtual_audio import virtual_audio

pytestmark = [pytest.mark.audio, pytest.mark.slow]


def _start_hearth(va: object, tmp_path: Path, *command: str, minutes: float = 0.25) -> HearthProcess:
    """`hearth` listening in idle, or `hearth start EXERCISE` when a command is given."""
    exercises = short_exercises(tmp_path / "exercises", minutes)
    args = [*command, "--data-dir", str(tmp_path / "data"), "--names", "Alex", "Sam", "--exercises", str(exercises),
            "--debug-transcripts", "--rate", "190"]
    hearth = HearthProcess(args, pulse_env(va.env))  # type: ignore[attr-defined]
    hearth.wait_for("^Listening" if not command else "^hearth: ", timeout=60)
    return hearth


def test_check_in_runs_hands_free_and_ignores_its_own_voice(tmp_path: Path) -> None:
    """The speaker is looped back into the microphone, as a laptop's speakers sit next to its mic:
    the prompts say "juniper, that's all from me" aloud, and hearth must hear only the couple."""
    with virtual_audio() as va:
        subprocess.run(["pactl", "load-module", "module-loopback", "source=hearth_speaker.monitor", "sink=hearth_mic_feed",
                        "latency_msec=30"], env=va.env, check=True, capture_output=True, timeout=20)
        recording = va.start_recording()
        assert recording.wait_started()
        hearth = _start_hearth(va, tmp_path)
        try:
            say(va, hearth, "start our daily check in")
            first_turn = hearth.wait_for(r"^\[timer: 0:15", timeout=90)
            say(va, hearth, "juniper, that's all from me")  # Alex finishes early
            second_turn = hearth.wait_for(r"^\[timer: 0:15", timeout=90, after=first_turn + 1)
            hearth.wait_for("Thank you both", timeout=60, after=second_turn)  # Sam's turn runs out
            recording.keep_recording(6.0)
        finally:
            hearth.stop()
        sound = recording.stop()
    assert heard_intents(hearth) == ["start", "done_turn"], hearth.lines  # the couple's two commands, never its own words
    events = timeline(sound)
    chimes = [e.kind for e in events if e.kind != "speech"]
    assert chimes == ["turn_start", "turn_end", "turn_start", "turn_end"], events
    # speech before the first chime (welcome and Alex's prompt), between the turns (Sam's prompt), after (thanks)
    first_chime = next(e for e in events if e.kind == "turn_start")
    speech = [e for e in events if e.kind == "speech"]
    before = [e for e in speech if e.end_s <= first_chime.start_s]
    assert sum(e.end_s - e.start_s for e in before) > 8.0, events  # two long prompts take many seconds
    turn_ends = [e for e in events if e.kind == "turn_end"]
    second_start = [e for e in events if e.kind == "turn_start"][1]
    between = [e for e in speech if turn_ends[0].end_s <= e.start_s and e.end_s <= second_start.start_s]
    assert sum(e.end_s - e.start_s for e in between) > 3.0, events  # Sam's prompt, however many sentences
    assert speech[-1].start_s > [e for e in events if e.kind == "turn_end"][-1].start_s, events


def test_listening_turns_with_time_left_and_an_early_finish(tmp_path: Path) -> None:
    with virtual_audio() as va:
        recording = va.start_recording()
        assert recording.wait_started()
        # started directly (the check-in test starts by voice); the commands inside are spoken
        hearth = _start_hearth(va, tmp_path, "start", "listening_turns", minutes=0.35)
        try:
            first = hearth.wait_for(r"^\[timer: 0:21", timeout=90)
            say(va, hearth, "juniper, how much time do we have left")
            hearth.wait_for(r"^hearth: (Less than a minute|Just a few seconds) left", timeout=30, after=first)
            reflect = hearth.wait_for(r"^\[timer: 0:21", timeout=60, after=first + 1)  # speaker's turn ran out
            say(va, hearth, "juniper, that's all from me")  # the listener's reflection ends early
            hearth.wait_for(r"^\[timer: 0:21", timeout=60, after=reflect + 1)  # swapped roles
            hearth.wait_for("Thank you both", timeout=120)
            recording.keep_recording(6.0)
        finally:
            hearth.stop()
        sound = recording.stop()
    assert heard_intents(hearth) == ["time_left", "done_turn"], hearth.lines
    chimes = [e.kind for e in timeline(sound) if e.kind != "speech"]
    assert chimes == ["turn_start", "turn_end"] * 4, chimes
