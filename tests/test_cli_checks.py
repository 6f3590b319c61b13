"""What the command line checks before anything starts, and text mode's rules at its edges:
the end of input, rehearsals on a fake clock, and writing speech to files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from assistant.cli import MINUTES_RANGE
from assistant.errors import ConfigError
from assistant.exercises import content_dir
from assistant.speech.base import DEFAULT_RATE_WPM, RATE_RANGE_WPM
from assistant.speech.factory import create_speaker
from test_text_mode import NAMES, assert_in_order, saved_session_args, session_args

# ---------------------------------------------------------------- hearth start NAME


def test_an_unknown_exercise_is_refused_before_any_device_opens(tmp_path: Path, hearth_cli) -> None:
    result = hearth_cli(["start", "nosuch", "--data-dir", tmp_path / "data", "--input-device", "no-such-microphone"], timeout=60)
    assert result.returncode == 2, result.stderr
    assert "there is no exercise 'nosuch'" in result.stderr and "check_in" in result.stderr
    assert "microphone" not in result.stderr.lower() and "printing prompts" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("minutes", ["0", "-3", "21", "2.5", "lots"])
def test_minutes_out_of_range_are_refused_with_the_range(tmp_path: Path, hearth_cli, minutes: str) -> None:
    result = hearth_cli(["start", "listening_turns", "--minutes", minutes, *session_args(tmp_path / "data")])
    assert result.returncode == 2
    assert f"use a whole number of minutes from {MINUTES_RANGE[0]} to {MINUTES_RANGE[1]}" in result.stderr, result.stderr


def test_the_minutes_range_is_the_spoken_one(builtin_intents) -> None:
    spoken = [value.value for value in builtin_intents.lists["minutes"].values]
    assert (min(spoken), max(spoken)) == MINUTES_RANGE  # "start listening turns for twenty minutes"


def test_minutes_on_an_exercise_without_adjustable_turns_are_refused(tmp_path: Path, hearth_cli) -> None:
    result = hearth_cli(["start", "check_in", "--minutes", "5", *session_args(tmp_path / "data")])
    assert result.returncode == 1
    assert "the turns of check_in have a fixed length" in result.stderr and "listening_turns" in result.stderr


@pytest.mark.parametrize("rate", ["20", "451", "fast"])
def test_a_bad_rate_is_refused_with_one_range(tmp_path: Path, hearth_cli, rate: str) -> None:
    result = hearth_cli(["--rate", rate, *session_args(tmp_path / "data")])
    assert result.returncode == 2
    low, high = RATE_RANGE_WPM
    if rate.isdigit():
        assert f"use {low} to {high} words per minute (default {DEFAULT_RATE_WPM})" in result.stderr, result.stderr
    saved = hearth_cli(["setup", "--rate", rate, "--data-dir", tmp_path / "data"])
    assert saved.returncode == 2  # setup never saves a rate a session would refuse


def test_the_speaker_states_the_same_rate_range() -> None:
    low, high = RATE_RANGE_WPM
    with pytest.raises(ConfigError) as error:
        create_speaker(mute=True, rate=high + 1)
    assert error.value.fix == f"use {low} to {high} words per minute (default {DEFAULT_RATE_WPM})"
    create_speaker(mute=True, rate=low)
    create_speaker(mute=True, rate=high)


def test_an_exercise_file_that_replaces_a_built_in_one_says_so(tmp_path: Path, hearth_cli) -> None:
    extra = tmp_path / "mine"
    extra.mkdir()
    shutil.copy(content_dir() / "exercises" / "check_in.yaml", extra / "check_in.yaml")
    result = hearth_cli(["--exercises", extra, *session_args(tmp_path / "data")], stdin="start our check in\n")
    assert result.returncode == 0, result.stderr
    notices = [line for line in result.stderr.splitlines() if "replaces" in line]
    assert notices == [f"hearth: {extra / 'check_in.yaml'} replaces the built-in exercise 'check_in'"]
    plain = hearth_cli(session_args(tmp_path / "data"), stdin="start our check in\n")
    assert "replaces" not in plain.stderr


# ---------------------------------------------------------------- the end of input


def test_input_that_ends_mid_exercise_closes_the_session_with_its_place_saved(tmp_path: Path, hearth_cli) -> None:
    data = tmp_path / "data"
    script = "start the thirty six questions\nnext question\nnext question\n"
    ended = hearth_cli(saved_session_args(data), stdin=script, timeout=30)  # real clock, no timer running: nothing to wait for
    assert ended.returncode == 0, ended.stderr
    assert "Sam, question 2 is for you." in ended.stdout
    history = hearth_cli(["history", "--data-dir", data])
    assert "Thirty-six questions" in history.stdout and "(stopped early" in history.stdout, history.stdout
    again = hearth_cli(saved_session_args(data), stdin="continue the thirty six questions\n", timeout=30)
    assert "Last time you stopped before question two of thirty six." in again.stdout, again.stdout


def test_input_that_ends_mid_turn_does_not_wait_for_the_timer(tmp_path: Path, hearth_cli) -> None:
    ended = hearth_cli(saved_session_args(tmp_path / "data"), stdin="start our check in\n", timeout=30)  # a two-minute turn
    assert ended.returncode == 0, ended.stderr
    assert_in_order(ended.stdout, ["hearth: Over to you, Alex.", "[timer: 2:00 of 2:00]"])


# ---------------------------------------------------------------- rehearsals on a fake clock


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_fake_clock_session_saves_nothing_and_says_so(tmp_path: Path, hearth_cli) -> None:
    data = tmp_path / "data"
    assert hearth_cli(["setup", "Robin", "Kim", "--data-dir", data]).returncode == 0
    before = _snapshot(data)
    script = "start our check in\n:wait 240\nstart the thirty six questions\nnext question\nnext question\n"
    rehearsal = hearth_cli(["--text", "--mute", "--fake-clock", "--data-dir", data], stdin=script)
    assert rehearsal.returncode == 0, rehearsal.stderr
    assert "Welcome, Robin and Kim." in rehearsal.stdout  # it reads what is saved ...
    assert "Thank you both, for sharing and for listening." in rehearsal.stdout
    assert "fake clock: a rehearsal; nothing from this session is saved" in rehearsal.stderr
    assert _snapshot(data) == before  # ... and writes nothing back
    history = hearth_cli(["history", "--data-dir", data])
    assert "No sessions yet." in history.stdout


def test_a_fake_clock_session_creates_no_data_folder(tmp_path: Path, hearth_cli) -> None:
    data = tmp_path / "never"
    result = hearth_cli(session_args(data), stdin="start our check in\n:wait 240\n")
    assert result.returncode == 0, result.stderr
    assert not data.exists()


def test_fake_clock_and_tts_to_write_every_utterance(tmp_path: Path, hearth_cli) -> None:
    speech = tmp_path / "speech"
    args = ["--text", "--fake-clock", "--tts-to", speech, "--data-dir", tmp_path / "data", *NAMES]
    result = hearth_cli(args, stdin="start our check in\n:wait 240\n", timeout=120)
    assert result.returncode == 0, result.stderr
    said = [line[len("hearth: "):] for line in result.stdout.splitlines() if line.startswith("hearth: ")]
    assert said[-1] == "Thank you both, for sharing and for listening."
    wavs = sorted(speech.glob("*.wav"))
    assert len(wavs) == len(said) and all(path.stat().st_size > 1000 for path in wavs)
    transcript = [line.split("\t")[2] for line in (speech / "transcript.tsv").read_text(encoding="utf-8").splitlines()]
    assert transcript == said
