"""Speech out: voices, chunking, the print/WAV speakers, and pyttsx3 on a virtual speaker."""

from __future__ import annotations

import io
import queue
import shutil
import statistics
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from assistant import tts
from assistant.errors import ConfigError, DeviceError

try:
    from tests.virtual_audio import SpeakerRecording, virtual_audio
except ImportError:  # tests/ is not a package: pytest puts it on sys.path itself
    from virtual_audio import SpeakerRecording, virtual_audio  # type: ignore[no-redef]

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")

SHORT = "Take a breath."
LONG = (
    "Take a slow breath together, and when you are both ready, tell each other one small thing "
    "from today that you were grateful for, and why it mattered to you."
)


def _events(speaker: tts.Speaker, n: int, timeout: float = 60.0) -> list[tts.SpeakerEvent]:
    out = []
    for _ in range(n):
        out.append(speaker.events().get(timeout=timeout))
    return out


def _wav_info(path: Path) -> tuple[int, float, NDArray[np.int16]]:
    with wave.open(str(path), "rb") as f:
        rate, frames = f.getframerate(), f.getnframes()
        data = np.frombuffer(f.readframes(frames), dtype="<i2")
    return rate, frames / rate, data


# ---- text and voices -------------------------------------------------------------------------------


def test_split_sentences_keeps_chunks_short() -> None:
    assert tts.split_sentences("Hello there.  How are you?\nFine!") == ["Hello there.", "How are you?", "Fine!"]
    long = "one, " * 60 + "done."
    chunks = tts.split_sentences(long)
    assert len(chunks) > 1 and all(len(c) <= 160 for c in chunks)
    assert " ".join(chunks).split() == long.split()
    assert tts.split_sentences("   ") == []


@needs_espeak
def test_voice_names_resolve_in_several_spellings() -> None:
    assert tts.resolve_voice(None) is None
    assert tts.resolve_voice("en-us") == "gmw/en-US"
    assert tts.resolve_voice("English (America)") == "gmw/en-US"
    assert tts.resolve_voice("GMW/EN-US") == "gmw/en-US"
    assert tts.resolve_voice("en-us+f3") == "gmw/en-US+f3"
    assert tts.resolve_voice("en") == "gmw/en"


@needs_espeak
@pytest.mark.parametrize("name", ["no-such-voice", "en-us+nosuchvariant"])
def test_unknown_voice_is_a_config_error_listing_voices(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        tts.resolve_voice(name)
    assert name in info.value.message
    assert "en-us" in info.value.fix and "hearth voices" in info.value.fix


@needs_espeak
def test_uninstalled_mbrola_voice_is_refused() -> None:
    mbrola = [v for v in tts.list_voices() if v.mbrola and not v.usable]
    if not mbrola:
        pytest.skip("no uninstalled mbrola voice listed")
    with pytest.raises(ConfigError, match="mbrola"):
        tts.resolve_voice(mbrola[0].id)


@needs_espeak
def test_list_voices_has_english() -> None:
    voices = tts.list_voices()
    assert any(v.language == "en-us" and not v.mbrola for v in voices)


def test_bad_rate_and_volume() -> None:
    with pytest.raises(ConfigError):
        tts.create_speaker(mute=True, rate=20)
    with pytest.raises(ConfigError):
        tts.create_speaker(mute=True, volume=1.5)


# ---- print speaker -----------------------------------------------------------------------------------


def test_print_speaker_prints_and_finishes_at_once() -> None:
    out = io.StringIO()
    speaker = tts.create_speaker(mute=True, text_stream=out)
    speaker.say("Hello\n  there.", 7)
    speaker.say("Bye.", 8)
    assert _events(speaker, 2, timeout=1) == [("finished", 7, False), ("finished", 8, False)]
    assert out.getvalue() == "hearth: Hello there.\nhearth: Bye.\n"
    speaker.stop()
    speaker.close()


# ---- espeak-ng synthesis and the WAV speaker -----------------------------------------------------------


@needs_espeak
def test_synthesize_to_array_duration_scales_with_text_and_rate() -> None:
    short, rate = tts.synthesize_to_array(SHORT)
    long, _ = tts.synthesize_to_array(LONG)
    slow, _ = tts.synthesize_to_array(LONG, rate=120)
    fast, _ = tts.synthesize_to_array(LONG, rate=240)
    assert rate == 22050 and short.dtype == np.int16
    assert long.size > 4 * short.size
    assert 1.5 < slow.size / fast.size < 2.5


@needs_espeak
def test_wav_dir_speaker_writes_numbered_files_with_true_rate(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    speaker = tts.WavDirSpeaker(tmp_path / "out", voice="en-us")
    speaker.say(SHORT, 1)
    speaker.say(LONG, 2)
    assert _events(speaker, 2) == [("finished", 1, False), ("finished", 2, False)]
    speaker.close()
    assert capfd.readouterr().out == ""  # nothing may leak into hearth's stdout
    files = sorted((tmp_path / "out").glob("*.wav"))
    assert [f.name for f in files] == ["0001.wav", "0002.wav"]
    (rate1, dur1, data1), (rate2, dur2, _) = _wav_info(files[0]), _wav_info(files[1])
    assert rate1 == rate2 == 22050
    # The header rate matches the audio: the file holds exactly what espeak-ng produced at its own
    # rate, and its duration is plausible for the text (2-5 words a second; espeak-ng's "165 wpm"
    # measures about 210 here). pyttsx3's save_to_file would have written 22050 for every voice.
    same, espeak_rate = tts.synthesize_to_array(SHORT, voice="gmw/en-US", volume=tts.DEFAULT_VOLUME)
    assert rate1 == espeak_rate and np.array_equal(data1, same)
    words = len(LONG.split())
    print(f"WAV speaker: {words} words in {dur2:.2f} s ({words / dur2 * 60:.0f} wpm); '{SHORT}' {dur1:.2f} s")
    assert words / 5 < dur2 < words / 2
    assert dur2 > 4 * dur1
    assert np.max(np.abs(data1)) > 3000
    lines = (tmp_path / "out" / "transcript.tsv").read_text().splitlines()
    assert lines[0] == f"0001.wav\t1\t{SHORT}"


@needs_espeak
def test_wav_dir_speaker_continues_numbering_and_stop_drops_queue(tmp_path: Path) -> None:
    (tmp_path / "0007.wav").write_bytes(b"")
    speaker = tts.WavDirSpeaker(tmp_path, realtime=True)
    speaker.say(LONG, 1)
    speaker.say(SHORT, 2)
    speaker.say(SHORT, 3)
    first = speaker.events().get(timeout=30)  # arrives after the long utterance's real duration...
    speaker.stop()  # ...unless stopped; either way the rest are dropped as interrupted
    rest = _events(speaker, 2)
    speaker.close()
    assert first.utterance_id == 1
    assert [(e.utterance_id, e.interrupted) for e in rest][-1] == (3, True)
    assert (tmp_path / "0008.wav").exists()
    assert not (tmp_path / "0010.wav").exists()


@needs_espeak
def test_wav_dir_speaker_stop_cuts_realtime_wait(tmp_path: Path) -> None:
    speaker = tts.WavDirSpeaker(tmp_path, realtime=True)
    speaker.say(LONG, 1)
    while not list(tmp_path.glob("*.wav")):
        time.sleep(0.01)
    speaker.stop()
    event = speaker.events().get(timeout=5)
    speaker.close()
    assert event == ("finished", 1, True)


@needs_espeak
def test_wav_dir_speaker_rejects_unknown_voice(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        tts.WavDirSpeaker(tmp_path, voice="no-such-voice")


# ---- pyttsx3 on the virtual speaker ------------------------------------------------------------------------


def _wait_for_sound(rec: SpeakerRecording, timeout: float = 20.0) -> bool:
    """Wait until speech shows up in what was recorded since this call (anywhere, not just at the end:
    the monitor may deliver in bursts, and speech has pauses)."""
    start = rec.bytes_so_far() // 2
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = b"".join(rec._chunks)
        recorded = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")[start:]
        if recorded.size and np.max(np.abs(recorded)) > 1000:
            return True
        time.sleep(0.01)
    return False


def test_unknown_voice_fails_before_the_engine_starts() -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    with pytest.raises(ConfigError):
        tts.Pyttsx3Speaker(voice="no-such-voice")


@pytest.mark.audio
@pytest.mark.slow
def test_pyttsx3_speaks_in_order_and_is_heard(capfd: pytest.CaptureFixture[str]) -> None:
    with virtual_audio() as va, va.in_process():
        status = tts.available()
        assert status.ok, status
        rec = va.start_recording()
        assert rec.wait_started()
        t0 = time.monotonic()
        speaker = tts.create_speaker(voice="en-us", volume=1.0)
        init_s = time.monotonic() - t0
        try:
            speaker.say("Hello. This is hearth.", 1)
            speaker.say(SHORT, 2)
            speaker.say("Goodbye.", 3)
            events = _events(speaker, 3)
        finally:
            speaker.close()
        rec.keep_recording(0.3)
        sound = rec.stop()
    assert events == [("finished", 1, False), ("finished", 2, False), ("finished", 3, False)]
    assert capfd.readouterr().out == ""  # neither pyttsx3 nor aplay may write to our stdout
    loud = np.abs(sound) > 1000
    heard_s = np.count_nonzero(np.convolve(loud, np.ones(800), mode="same") > 0) / 16000
    print(f"pyttsx3: engine thread ready in {init_s * 1000:.0f} ms; {heard_s:.2f} s of speech recorded")
    assert heard_s > 1.5


@pytest.mark.audio
@pytest.mark.slow
def test_pyttsx3_stop_cuts_a_long_utterance_quickly() -> None:
    latencies: list[float] = []
    cuts: list[float] = []
    with virtual_audio() as va, va.in_process():
        speaker = tts.Pyttsx3Speaker()
        try:
            for trial in range(5):
                rec = va.start_recording()
                assert rec.wait_started()
                speaker.say(LONG, 10 * trial)
                speaker.say(SHORT, 10 * trial + 1)
                assert _wait_for_sound(rec), "no speech reached the virtual speaker"
                assert speaker.events().empty(), "the long utterance ended before stop()"
                time.sleep(0.2 * trial)  # stop at different points of the sentence
                mark = rec.bytes_so_far() // 2
                t0 = time.monotonic()
                speaker.stop()
                first = speaker.events().get(timeout=10)
                latencies.append(time.monotonic() - t0)
                second = speaker.events().get(timeout=10)
                assert (first.utterance_id, first.interrupted) == (10 * trial, True)
                assert (second.utterance_id, second.interrupted) == (10 * trial + 1, True)
                rec.keep_recording(0.8)
                sound = rec.stop()
                loud = np.nonzero(np.abs(sound[mark:]) > 1000)[0]
                cuts.append(float(loud[-1]) / 16000 if loud.size else 0.0)
            # stop() right after say(): lands while the chunk is still being synthesized, before
            # aplay exists; the stop loop must still catch the aplay that starts a moment later.
            rec = va.start_recording()
            assert rec.wait_started()
            speaker.say(LONG, 50)
            speaker.stop()
            assert speaker.events().get(timeout=10) == ("finished", 50, True)
            rec.keep_recording(1.0)
            early = rec.stop()
            early_heard = np.count_nonzero(np.abs(early) > 1000) / 16000
            # stop() immediately followed by say(): the new utterance must be heard in full.
            rec = va.start_recording()
            assert rec.wait_started()
            speaker.say(LONG, 60)
            assert _wait_for_sound(rec)
            speaker.stop()
            mark = rec.bytes_so_far() // 2
            speaker.say("These words come after the stop.", 61)
            assert speaker.events().get(timeout=10) == ("finished", 60, True)
            assert speaker.events().get(timeout=30) == ("finished", 61, False)
            rec.keep_recording(0.3)
            after = rec.stop()[mark:]
            after_heard = np.count_nonzero(np.convolve(np.abs(after) > 1000, np.ones(800), mode="same")) / 16000
            assert after_heard > 1.0, after_heard
        finally:
            speaker.close()
    print(
        f"pyttsx3 stop(): finished event after median {statistics.median(latencies) * 1000:.0f} ms "
        f"(max {max(latencies) * 1000:.0f} ms); sound ended median {statistics.median(cuts) * 1000:.0f} ms "
        f"(max {max(cuts) * 1000:.0f} ms) after stop() in the recording; stop() during synthesis let "
        f"{early_heard * 1000:.0f} ms of loud samples through"
    )
    assert max(latencies) < 2.0
    assert max(cuts) < 2.0
    assert early_heard < 0.5


def test_speaker_events_are_a_queue() -> None:
    speaker = tts.PrintSpeaker(io.StringIO())
    assert isinstance(speaker.events(), queue.Queue)


def test_create_speaker_explains_why_there_is_no_speech(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tts, "available", lambda: tts.TtsStatus(False, "no sound output device (x)", "use --mute"))
    with pytest.raises(DeviceError) as info:
        tts.create_speaker()
    assert "no sound output device" in info.value.message and info.value.fix == "use --mute"


def test_availability_probe_matches_this_machine() -> None:
    status = tts.pyttsx3_status()
    if not status.ok:
        assert status.reason and status.fix  # e.g. no sound card: says so, and what to do


@pytest.mark.audio
def test_a_new_pyttsx3_speaker_does_not_inherit_the_previous_voice() -> None:
    with virtual_audio() as va, va.in_process():
        first = tts.Pyttsx3Speaker(voice="en-us+f3", rate=200)
        first.say("One.", 1)
        assert first.events().get(timeout=30) == ("finished", 1, False)
        engine = first._engine
        assert engine.getProperty("voice") == "gmw/en-us+f3"
        first.close()
        second = tts.Pyttsx3Speaker()
        second.say("Two.", 2)
        assert second.events().get(timeout=30) == ("finished", 2, False)
        assert second._engine is engine  # one engine per process, reused
        assert engine.getProperty("voice") == "gmw/en"
        assert len(engine._connects["finished-utterance"]) == 1  # the old speaker's callback is gone
        second.close()
