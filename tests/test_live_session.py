"""Hands-free end to end: real audio through virtual PulseAudio devices into a real hearth process.

A synthesized couple speaks commands into the virtual microphone, each once, in the phrasing hearth
teaches (a person does not say a command six times); hearth recognizes them with its default
engine, speaks with its default voice (Piper) and chimes into the virtual speaker, which the test
records and analyses.
"""

from __future__ import annotations

import subprocess
import time
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
    events = [e for e in timeline(sound) if e.kind != "acknowledged"]  # each command's acknowledgement aside
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
            confirm = hearth.wait_for(r"^hearth: Alex, did Sam get it right", timeout=60, after=reflect + 1)
            # the speaker confirms, then they swap: as a person does, once hearth has asked (its
            # own voice is looped back into the microphone here, as in a room)
            listen_to(hearth.lines[confirm])
            say(va, hearth, "juniper, that's all from me")
            hearth.wait_for(r"^\[timer: 0:21", timeout=60, after=confirm + 1)  # swapped roles
            second = hearth.wait_for(r"^hearth: Sam, did Alex get it right", timeout=120, after=confirm + 1)
            listen_to(hearth.lines[second])
            say(va, hearth, "juniper, that's all from me")
            hearth.wait_for("Thank you both", timeout=60, after=second + 1)
            recording.keep_recording(6.0)
        finally:
            hearth.stop()
        sound = recording.stop()
    assert heard_intents(hearth) == ["time_left", "done_turn", "done_turn", "done_turn"], hearth.lines
    chimes = [e.kind for e in timeline(sound) if e.kind not in ("speech", "acknowledged")]
    assert chimes == ["turn_start", "turn_end"] * 4, chimes


def listen_to(line: str) -> None:
    """Let hearth finish saying `line` (printed as it starts): about 125 words a minute, with a
    pause after each sentence, as the couple would hear it before answering."""
    text = line.removeprefix("hearth: ")
    time.sleep(len(text.split()) / (125 / 60) + 0.9 * text.count(". ") + 1.0)

def _pactl(va: object, *args: str) -> str:
    result = subprocess.run(["pactl", *args], env=va.env, check=True, capture_output=True, text=True, timeout=20)  # type: ignore[attr-defined]
    return result.stdout


def test_a_microphone_that_goes_away_pauses_the_turn_and_it_carries_on_when_it_is_back(tmp_path: Path) -> None:
    """The virtual microphone is pulled out mid-turn, then plugged back in. PulseAudio moves a stream
    whose source is unloaded to another source (here a speaker's monitor) rather than ending it, so
    pulling it out is done as a device does it: the source falls silent (suspended), then goes away
    (unloaded) while hearth tries it again, then comes back (loaded). The turn is 15 s; it is gone
    for longer than that, and the turn must still be running, paused, when it is back."""
    with virtual_audio() as va:
        env = pulse_env(va.env) | {"PULSE_SOURCE": "hearth_mic"}  # this microphone, not whatever is the default
        exercises = short_exercises(tmp_path / "exercises", 0.25)
        hearth = HearthProcess(["start", "check_in", "--data-dir", str(tmp_path / "data"), "--names", "Alex", "Sam",
                                "--exercises", str(exercises), "--debug-transcripts", "--rate", "190"], env)
        try:
            turn = hearth.wait_for(r"^\[timer: 0:15 of 0:15\]", timeout=120)
            module = next(line.split()[0] for line in _pactl(va, "list", "short", "modules").splitlines() if "module-remap-source" in line)
            _pactl(va, "suspend-source", "hearth_mic", "1")
            lost = hearth.wait_for("microphone stopped working", timeout=30, after=turn)
            _pactl(va, "unload-module", module)
            gone_until = time.monotonic() + 16.0  # longer than the whole turn; hearth retries every few seconds meanwhile
            while time.monotonic() < gone_until:
                assert hearth.proc.poll() is None, "\n".join(hearth.lines)
                time.sleep(0.5)
            _pactl(va, "load-module", "module-remap-source", "source_name=hearth_mic", "master=hearth_mic_feed.monitor",
                    "source_properties=device.description=hearth_mic")
            back = hearth.wait_for("microphone is working again", timeout=30, after=lost)
            resumed = hearth.wait_for(r"^\[timer: 0:1[0-5] of 0:15\]", timeout=30, after=back)
            say(va, hearth, "juniper, that's all from me")  # heard again: Alex finishes early
            hearth.wait_for("Now Sam, the same question", timeout=60, after=resumed)
        finally:
            hearth.stop()
    text = "\n".join(hearth.lines)
    assert hearth.count("microphone stopped working") == 1, text  # said once, however many retries failed
    assert hearth.lines.index(next(line for line in hearth.lines if line.startswith("[timer paused at"))) > turn, text
    assert not any("Now Sam, the same question" in line for line in hearth.lines[:back]), text  # the turn did not run out while it was gone
    assert heard_intents(hearth) == ["done_turn"], text
