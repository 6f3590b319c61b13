"""Speech out without a sound device: chunking, the streaming speaker on fakes, stop, soft, failures.

The streaming speaker runs its real threads here; only the synthesizer (tones) and the output (a
recorder) are fakes, so every check is on samples and blocks, never on wall-clock time.
"""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from speech_fakes import RATE, RecordingOutput, ToneSynthesizer, sound_runs

from assistant import engine
from assistant.bootstrap import bootstrap
from assistant.runtime import SilentChimes
from assistant.errors import ConfigError
from assistant.speech import base
from assistant.speech.base import SOFT_GAIN, SpeakerEvent, check_rate_volume, sentence_pause_s
from assistant.speech.chunking import FIRST_PIECE_MAX, pieces, split_sentences
from assistant.speech.factory import create_speaker
from assistant.speech.playback import BLOCK_S, device_arg
from assistant.speech.printer import PrintSpeaker
from assistant.speech.cache import prepare
from assistant.speech.streaming import StreamingSpeaker

THREE = "First one here. The second sentence is longer than that. Third."


def _events(speaker: base.Speaker, n: int, timeout: float = 30.0) -> list[SpeakerEvent]:
    return [speaker.events().get(timeout=timeout) for _ in range(n)]


def _speaker(output: RecordingOutput, synthesizer: ToneSynthesizer | None = None, **kwargs: object) -> StreamingSpeaker:
    return StreamingSpeaker(synthesizer or ToneSynthesizer(), output, notices=io.StringIO(), **kwargs)  # type: ignore[arg-type]


# ---- text into pieces ------------------------------------------------------------------------------


def test_split_sentences_keeps_chunks_short() -> None:
    assert split_sentences("Hello there.  How are you?\nFine!") == ["Hello there.", "How are you?", "Fine!"]
    long = "one, " * 60 + "done."
    chunks = split_sentences(long)
    assert len(chunks) > 1 and all(len(c) <= 160 for c in chunks)
    assert " ".join(chunks).split() == long.split()
    assert split_sentences("   ") == []


def test_a_long_first_sentence_starts_with_a_short_piece() -> None:
    text = "Take a slow breath together, and when you are both ready, tell each other one small thing from today. Then swap."
    parts = pieces(text)
    assert len(parts[0].text) <= FIRST_PIECE_MAX
    assert " ".join(p.text for p in parts).split() == text.split()
    assert [p.pause_before for p in parts] == [0.0, 0.3, 1.0]  # a comma's breath, then a sentence pause
    assert pieces("Short. Then more, and more, and more, and more, and more, and more, and more.")[1].pause_before == 1.0
    # no comma: split before a word that opens a phrase, with no added pause (a seam, not a stop)
    assert pieces("What are you carrying today that your partner might not see?") == [
        ("What are you carrying today", 0.0), ("that your partner might not see?", 0.0)]
    assert len(pieces("Something I find hard to ask for is...")) == 1  # never "ask | for"
    # failing both: before a preposition or a modal, with a phrase's worth of words after it
    assert [p.text for p in pieces("If the two of you could have dinner anywhere in the world tonight, where would it be?")][:2] == [
        "If the two of you", "could have dinner anywhere in the world tonight, where would it be?"]
    assert [p.text for p in pieces("What song has been stuck in your head lately?")] == ["What song has been stuck", "in your head lately?"]


# ---- settings: one range for both families -----------------------------------------------------------


@pytest.mark.parametrize("rate, volume", [(20, 0.5), (500, 0.5), (125, 1.5), (125, -0.1)])
def test_rate_and_volume_out_of_range_name_the_same_range(rate: int, volume: float) -> None:
    with pytest.raises(ConfigError) as info:
        create_speaker(mute=True, rate=rate, volume=volume)
    assert info.value.fix in (base.RATE_FIX, base.VOLUME_FIX)
    check_rate_volume(base.DEFAULT_RATE_WPM, base.DEFAULT_VOLUME)


def test_cli_help_quotes_the_same_range() -> None:
    from assistant.cli import make_parser

    text = make_parser().format_help()
    assert f"{base.MIN_RATE_WPM} to {base.MAX_RATE_WPM} words per minute" in text and "0 to 1" in text and "--output-device" in text


def test_sentence_pause_is_calm_by_default_and_shorter_when_faster() -> None:
    assert 0.8 <= sentence_pause_s(base.DEFAULT_RATE_WPM) <= 1.0
    assert sentence_pause_s(180) < sentence_pause_s(125) < sentence_pause_s(100)


def test_device_numbers_are_indexes_and_names_stay_names() -> None:
    assert device_arg("3") == 3 and device_arg("hearth_speaker2") == "hearth_speaker2" and device_arg(None) is None


# ---- the print speaker --------------------------------------------------------------------------------


def test_print_speaker_prints_and_finishes_at_once() -> None:
    out = io.StringIO()
    speaker = create_speaker(mute=True, text_stream=out)
    speaker.say("Hello\n  there.", 7)
    speaker.say("Bye.", 8, soft=True)
    assert _events(speaker, 2, timeout=1) == [("finished", 7, False, ""), ("finished", 8, False, "")]
    assert out.getvalue() == "hearth: Hello there.\nhearth: Bye.\n"
    assert isinstance(speaker, PrintSpeaker) and speaker.soft == [False, True]
    speaker.stop()
    speaker.close()


def test_the_app_passes_say_soft_to_the_speaker(tmp_path) -> None:  # type: ignore[no-untyped-def]
    speaker = PrintSpeaker()
    app = bootstrap(tmp_path / "data", speaker=speaker, chimes=SilentChimes(), out=io.StringIO())
    try:
        app.execute(engine.Say("One minute left.", 1, soft=True))
        app.execute(engine.Say("Welcome.", 2))
    finally:
        app.close()
    assert list(zip(speaker.spoken, speaker.soft)) == [("One minute left.", True), ("Welcome.", False)]


# ---- trimming ------------------------------------------------------------------------------------------


def test_prepare_trims_the_synthesizers_silence_and_normalizes() -> None:
    raw = ToneSynthesizer().synthesize("x" * 50)  # 1 s tone with 50 ms of silence each side
    audio = prepare(raw, RATE)
    assert abs(float(np.max(np.abs(audio))) - 1.0) < 1e-3
    assert 1.0 <= audio.size / RATE <= 1.0 + 0.01 + 0.04 + 1e-3  # at most 10 ms before, 40 ms after
    assert audio[0] == 0.0 and audio[-1] == 0.0  # faded: no click at the cut
    assert prepare(np.zeros(100, dtype=np.float32), RATE).size == 0


# ---- the streaming speaker on fakes --------------------------------------------------------------------


def test_utterances_play_in_order_in_small_blocks_with_calm_pauses() -> None:
    output = RecordingOutput()
    speaker = _speaker(output, volume=0.8)
    speaker.say(THREE, 1)
    speaker.say("Bye now.", 2)
    assert _events(speaker, 2) == [("finished", 1, False, ""), ("finished", 2, False, "")]
    speaker.close()
    assert max(b.size for _, b in output.blocks) <= int(RATE * BLOCK_S) <= RATE * 0.05
    assert [c for c in output.calls if c[0] in ("begin", "end")] == [("begin", 1), ("end", 1), ("begin", 2), ("end", 2)]
    runs = sound_runs(output.audio(1), RATE)
    assert len(runs) == 3  # three sentences, in order: their lengths follow the texts
    lengths = [end - start for start, end in runs]
    expected = [ToneSynthesizer.tone_s(s) for s in ("First one here.", "The second sentence is longer than that.", "Third.")]
    assert np.allclose(lengths, expected, atol=0.06)
    gaps = [b[0] - a[1] for a, b in zip(runs, runs[1:])]
    assert all(abs(g - sentence_pause_s(base.DEFAULT_RATE_WPM)) < 0.06 for g in gaps), gaps
    assert abs(float(np.max(np.abs(output.audio(1)))) - 0.8) < 0.01  # volume is the peak level


def test_soft_utterances_are_quieter_by_the_soft_gain() -> None:
    output = RecordingOutput()
    speaker = _speaker(output, volume=0.9)
    speaker.say("One minute left.", 1)
    speaker.say("One minute left.", 2, soft=True)
    _events(speaker, 2)
    speaker.close()
    loud, soft = (float(np.sqrt(np.mean(output.audio(u) ** 2))) for u in (1, 2))
    assert soft / loud == pytest.approx(SOFT_GAIN, rel=0.01)
    assert 20 * np.log10(loud / soft) >= 6.0


def test_stop_lands_between_blocks_and_nothing_more_is_written() -> None:
    """Stop while a block is being written: the speaker writes no further block of that utterance,
    aborts the output (dropping the device's buffer), and reports it interrupted."""
    output = RecordingOutput()
    speaker = _speaker(output)

    def stop_after_half_a_second(out: RecordingOutput) -> None:
        if out.current == 1 and out.frames(1) >= RATE // 2 and not stopped.is_set():
            stopped.set()
            frames_at_stop.append(out.frames(1))
            speaker.stop()

    stopped = threading.Event()
    frames_at_stop: list[int] = []
    output.on_write = stop_after_half_a_second
    speaker.say("A long sentence that goes on and on for quite a while, " * 3, 1)
    speaker.say("Queued before the stop.", 2)
    assert _events(speaker, 2) == [("finished", 1, True, ""), ("finished", 2, True, "")]
    output.on_write = None
    speaker.say("After the stop.", 3)
    assert _events(speaker, 1) == [("finished", 3, False, "")]
    speaker.close()
    assert output.frames(1) == frames_at_stop[0]
    assert output.frames(2) == 0
    assert ("abort", 1) in output.calls
    assert sound_runs(output.audio(3), RATE)  # the next utterance is heard in full
    assert output.frames(3) >= ToneSynthesizer.tone_s("After the stop.") * RATE


def test_stop_from_another_thread_cuts_within_one_block_of_a_paced_device() -> None:
    """As in a session: the device takes blocks in real time and stop() comes from the main loop.
    After stop() at most the block already being written reaches the device: <= 40 ms of audio."""
    output = RecordingOutput(paced=True)
    speaker = _speaker(output)
    speaker.say("Keep talking for a good while so there is something to cut, yes indeed.", 1)
    after: list[int] = []
    for trial_frames in (int(0.3 * RATE),):
        while output.frames(1) < trial_frames:
            threading.Event().wait(0.005)
        with output.lock:  # no block completes between reading the count and stop()
            at_stop = sum(b.size for u, b in output.blocks if u == 1)
            speaker.stop()
        event = speaker.events().get(timeout=10)
        after.append(output.frames(1) - at_stop)
    speaker.close()
    assert event == ("finished", 1, True, "")
    assert max(after) <= int(RATE * BLOCK_S)
    assert int(RATE * BLOCK_S) / RATE <= 0.05


def test_rendered_pieces_are_cached_in_memory() -> None:
    synthesizer = ToneSynthesizer()
    output = RecordingOutput()
    speaker = _speaker(output, synthesizer)
    speaker.say("One minute left.", 1)
    speaker.say("One minute left.", 2)
    _events(speaker, 2)
    speaker.close()
    assert synthesizer.calls == ["One minute left."]
    assert np.array_equal(output.audio(1), output.audio(2))


def test_a_lost_device_fails_the_utterance_with_a_notice_and_the_next_one_tries_again() -> None:
    output = RecordingOutput(fail_from_write=5)
    notices = io.StringIO()
    speaker = StreamingSpeaker(ToneSynthesizer(), output, notices=notices)
    speaker.say(THREE, 1)
    speaker.say("Second.", 2)
    first, second = _events(speaker, 2)
    assert first.kind == "failed" and first.interrupted and "stopped working" in first.reason
    assert second.kind == "failed"  # still unplugged
    output.fail_from_write = None  # plugged back in
    speaker.say("Third.", 3)
    assert _events(speaker, 1) == [("finished", 3, False, "")]
    speaker.close()
    lines = notices.getvalue().splitlines()
    assert len(lines) == 1 and "stopped working" in lines[0] and "fix: plug it back in" in lines[0]


def test_a_synthesizer_failure_fails_only_that_utterance() -> None:
    output = RecordingOutput()
    speaker = _speaker(output, ToneSynthesizer(fail_on="broken"))
    speaker.say("This is broken.", 1)
    speaker.say("This works.", 2)
    first, second = _events(speaker, 2)
    speaker.close()
    assert first.kind == "failed" and "RuntimeError" in first.reason
    assert second == ("finished", 2, False, "")


def test_close_releases_the_output_and_the_synthesizer() -> None:
    synthesizer = ToneSynthesizer()
    output = RecordingOutput()
    speaker = _speaker(output, synthesizer)
    speaker.close()
    speaker.close()
    assert synthesizer.closed and ("close", None) in output.calls
    with pytest.raises(RuntimeError):
        speaker.say("too late", 1)


# ---- the WAV folder output ------------------------------------------------------------------------------


def test_wav_folder_gets_numbered_files_a_transcript_and_what_would_be_heard(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from assistant.speech.wavdir import WavDirOutput

    (tmp_path / "0007.wav").write_bytes(b"")
    output = WavDirOutput(tmp_path)
    speaker = StreamingSpeaker(ToneSynthesizer(), output, notices=io.StringIO())
    speaker.say(THREE, 1)
    speaker.say("Quietly now.", 2, soft=True)
    _events(speaker, 2)
    speaker.close()
    assert [p.name for p in output.files] == ["0008.wav", "0009.wav"]
    lines = (tmp_path / "transcript.tsv").read_text().splitlines()
    assert lines == [f"0008.wav\t1\t{THREE}", "0009.wav\t2\tQuietly now."]
    import wave

    with wave.open(str(output.files[0]), "rb") as f:
        assert f.getframerate() == RATE
        audio = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float32) / 32768
    assert len(sound_runs(audio, RATE)) == 3  # the pauses are in the file too


def test_wav_folder_in_real_time_is_cut_by_stop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from assistant.speech.wavdir import WavDirOutput

    output = WavDirOutput(tmp_path, realtime=True)
    speaker = StreamingSpeaker(ToneSynthesizer(), output, notices=io.StringIO())
    speaker.say("A long sentence that takes a few seconds to say out loud, really it does.", 1)
    speaker.say("Dropped.", 2)
    while not output._blocks:
        threading.Event().wait(0.005)
    speaker.stop()
    assert _events(speaker, 2) == [("finished", 1, True, ""), ("finished", 2, True, "")]
    speaker.close()
    assert [p.name for p in output.files] == ["0001.wav"]  # what was heard until the stop


def test_an_unwritable_wav_folder_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from assistant.speech.wavdir import WavDirOutput

    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="writable"):
        WavDirOutput(tmp_path / "file" / "sub")


def test_a_stop_during_a_slow_synthesis_does_not_delay_the_next_reply() -> None:
    """stop() while a long piece is still being rendered: the reply is synthesized by a fresh thread
    while the old render is still running (it is never waited for), and events stay in order."""
    release = threading.Event()
    rendering = threading.Event()

    class Slow(ToneSynthesizer):
        def synthesize(self, text: str):  # type: ignore[no-untyped-def]
            if "slow" in text:
                rendering.set()
                release.wait(30)
            return super().synthesize(text)

    output = RecordingOutput()
    speaker = _speaker(output, Slow())
    speaker.say("Quick start. Then a slow sentence nobody will hear.", 1)
    assert rendering.wait(10)
    speaker.stop()
    speaker.say("Do you want to stop here?", 2)
    first, second = _events(speaker, 2)
    still_rendering = not release.is_set()
    release.set()
    speaker.close()
    assert still_rendering
    assert (first, second) == (("finished", 1, True, ""), ("finished", 2, False, ""))
    assert output.frames(2) > 0


# ---- rendering ahead (prepare) -------------------------------------------------------------------


def test_prepare_renders_the_first_piece_ahead_and_the_line_then_starts_from_the_cache() -> None:
    synthesizer = ToneSynthesizer()
    output = RecordingOutput()
    speaker = _speaker(output, synthesizer)
    line = "Alex, question 1 is for you. Anyone in the world could join you for dinner. Who would you invite?"
    head = pieces(line)[0].text
    speaker.prepare(line)
    speaker.prepare(line)  # asked twice, rendered once
    deadline = threading.Event()
    for _ in range(500):
        if synthesizer.calls:
            break
        deadline.wait(0.01)
    assert synthesizer.calls == [head] and not output.blocks  # rendered, not played
    speaker.say(line, 1)
    _events(speaker, 1)
    speaker.close()
    assert synthesizer.calls.count(head) == 1 and len(synthesizer.calls) == len(pieces(line))


def test_a_line_said_while_a_guess_renders_does_not_wait_for_it() -> None:
    release = threading.Event()
    rendering = threading.Event()

    class SlowGuess(ToneSynthesizer):
        def synthesize(self, text: str):  # type: ignore[no-untyped-def]
            if "guess" in text:
                rendering.set()
                release.wait(30)
            return super().synthesize(text)

    synthesizer = SlowGuess()
    output = RecordingOutput()
    speaker = _speaker(output, synthesizer)
    speaker.prepare("A guess that takes long.")
    assert rendering.wait(10)
    speaker.say("Okay, one minute more.", 1)
    event = speaker.events().get(timeout=30)
    still_guessing = not release.is_set()
    release.set()
    for _ in range(1000):  # the guess still lands in the cache, from the thread that gave way
        if "A guess that takes long." in speaker._cache:
            break
        threading.Event().wait(0.01)
    speaker.say("A guess that takes long.", 2)
    _events(speaker, 1)
    speaker.close()
    assert still_guessing and event == ("finished", 1, False, "")
    assert synthesizer.calls.count("A guess that takes long.") == 1


def test_the_line_being_guessed_is_not_rendered_twice_when_it_is_said() -> None:
    release = threading.Event()
    rendering = threading.Event()

    class SlowGuess(ToneSynthesizer):
        def synthesize(self, text: str):  # type: ignore[no-untyped-def]
            if "guess" in text and not rendering.is_set():
                rendering.set()
                release.wait(30)
            return super().synthesize(text)

    synthesizer = SlowGuess()
    speaker = _speaker(RecordingOutput(), synthesizer)
    speaker.prepare("The guess comes true.")
    assert rendering.wait(10)
    speaker.say("The guess comes true.", 1)  # exactly what is being rendered: it waits for it
    release.set()
    assert _events(speaker, 1) == [("finished", 1, False, "")]
    speaker.close()
    assert synthesizer.calls == ["The guess comes true."]
