"""Speech through a real sound device: the virtual PulseAudio sink, recorded back and analysed.

Every check is made on samples: the audio hearth wrote (kept by a tee in front of the real
sounddevice output) is located in the recording by cross-correlation, so order, completeness,
the cut after stop() and the soft gain are measured where the couple would hear them.
"""

from __future__ import annotations

import io
import subprocess
import threading

import numpy as np
import pytest
from numpy.typing import NDArray
from speech_fakes import TeeOutput, locate, sound_runs
from virtual_audio import SECOND_SPEAKER, VirtualAudio, virtual_audio

from assistant import engine
from assistant.bootstrap import bootstrap
from assistant.resample import resample
from assistant.chimes import ChimePlayer
from assistant.speech.base import DEFAULT_RATE_WPM, SpeakerEvent
from assistant.speech.factory import create_speaker, open_synthesizer
from assistant.speech.playback import BLOCK_S, SoundDeviceOutput
from assistant.speech.streaming import StreamingSpeaker

pytestmark = [pytest.mark.audio, pytest.mark.slow]

REC_RATE = 16_000
PROMPT = "Thank you both. Take a slow breath before the next question. Say ready when you are ready."


def _speaker(voice: str | None = None, device: str | None = None) -> tuple[StreamingSpeaker, TeeOutput]:
    tee = TeeOutput(SoundDeviceOutput(device))
    synthesizer = open_synthesizer(voice, DEFAULT_RATE_WPM, io.StringIO())
    return StreamingSpeaker(synthesizer, tee, notices=io.StringIO()), tee  # type: ignore[arg-type]


def _events(speaker: StreamingSpeaker, n: int) -> list[SpeakerEvent]:
    return [speaker.events().get(timeout=60) for _ in range(n)]


def _as_recorded(audio: NDArray[np.float32], rate: int) -> NDArray[np.float32]:
    return resample(audio.astype(np.float64), rate, REC_RATE).astype(np.float32)


def _float(recording: NDArray[np.int16]) -> NDArray[np.float32]:
    return recording.astype(np.float32) / 32768.0


def _rms_db(x: NDArray[np.float32]) -> float:
    return 20 * float(np.log10(np.sqrt(np.mean(np.square(x.astype(np.float64)))) + 1e-12))


def _record(va: VirtualAudio, sink: str = "hearth_speaker"):  # type: ignore[no-untyped-def]
    rec = va.start_recording(REC_RATE, sink)
    assert rec.wait_started()
    return rec


@pytest.mark.parametrize("voice", ["piper", "pyttsx3"])
def test_speech_is_heard_whole_in_order_and_at_the_calm_pace(voice: str) -> None:
    texts = {1: "Yes.", 2: PROMPT, 3: "Okay, go on."}
    with virtual_audio() as va, va.in_process():
        rec = _record(va)
        speaker, tee = _speaker(voice)
        try:
            for uid, text in texts.items():
                speaker.say(text, uid)
            events = _events(speaker, 3)
        finally:
            speaker.close()
        rec.keep_recording(0.5)
        recording = _float(rec.stop())
    assert events == [("finished", uid, False, "") for uid in texts]
    rate = tee.recorder.rate
    starts, after = {}, 0
    for uid in texts:
        # Each stretch of sound hearth wrote is found, unchanged, after the previous one: every sentence
        # reached the speaker whole and in order (a busy machine may only lengthen the pauses).
        written = _as_recorded(tee.recorder.audio(uid), rate)
        for begin, end in sound_runs(written, REC_RATE, threshold=0.01, min_gap_s=0.25):
            part = written[int(begin * REC_RATE) : int(end * REC_RATE) + 1]
            offset, match = locate(recording[after:], part)
            assert match > 0.9, (uid, begin, match)
            assert np.max(np.abs(recording[after + offset : after + offset + part.size])) > 0.3  # audible
            starts.setdefault(uid, after + offset)
            after += offset + part.size
    prompt = recording[starts[2] : starts[3]]
    runs = sound_runs(prompt, REC_RATE, threshold=0.01, min_gap_s=0.5)
    pauses = [b[0] - a[1] for a, b in zip(runs, runs[1:])]
    wpm = len(PROMPT.split()) / (runs[-1][1] - runs[0][0]) * 60
    print(f"{voice} through the virtual speaker: {wpm:.0f} words a minute, pauses {[round(p, 2) for p in pauses]} s")
    # The exact pauses and pace are asserted on the rendered samples (tests/test_voices.py); here a
    # busy machine may only lengthen a pause (the next sentence not rendered yet), never shorten it.
    assert 85 <= wpm <= 135  # two 0.9 s pauses in 16 words
    assert len(pauses) == 2 and all(0.75 <= p <= 1.4 for p in pauses), pauses


def test_stop_cuts_the_sound_within_100_ms() -> None:
    """Located in the recording: no sound later than 100 ms after the audio written up to stop()."""
    long = "This sentence keeps going for a good long while, so that there is plenty left to cut. " * 2
    cuts = []
    with virtual_audio() as va, va.in_process():
        speaker, tee = _speaker("piper")
        try:
            for trial, stop_after_s in enumerate((0.6, 1.3, 2.1)):
                rec = _record(va)
                uid = 10 + trial
                speaker.say(long, uid)
                while tee.recorder.frames(uid) < stop_after_s * tee.recorder.rate:
                    threading.Event().wait(0.005)
                with tee.lock:
                    at_stop = sum(b.size for u, b in tee.recorder.blocks if u == uid)
                    speaker.stop()
                assert _events(speaker, 1) == [("finished", uid, True, "")]
                rec.keep_recording(1.0)
                recording = _float(rec.stop())
                written = _as_recorded(tee.recorder.audio(uid), tee.recorder.rate)
                lead = written[: int(0.5 * REC_RATE)]
                offset, match = locate(recording, lead)
                assert match > 0.9, match
                stop_at = offset + int(at_stop / tee.recorder.rate * REC_RATE)
                loud = np.flatnonzero(np.abs(recording[offset:]) > 0.01)
                last_sound = offset + int(loud[-1])
                cuts.append((last_sound - stop_at) / REC_RATE)
                assert np.max(np.abs(recording[stop_at + int(0.1 * REC_RATE) :])) < 0.01, "sound went on after stop()"
        finally:
            speaker.close()
    print(f"stop(): sound ended {[round(c * 1000) for c in cuts]} ms after the audio written before stop() "
          f"(blocks of {BLOCK_S * 1000:.0f} ms)")
    assert max(cuts) <= 0.1


def test_soft_cues_are_measurably_quieter() -> None:
    text = "One minute left."
    with virtual_audio() as va, va.in_process():
        rec = _record(va)
        speaker, tee = _speaker("piper")
        try:
            speaker.say(text, 1)
            speaker.say(text, 2, soft=True)
            assert [e.kind for e in _events(speaker, 2)] == ["finished", "finished"]
        finally:
            speaker.close()
        rec.keep_recording(0.5)
        recording = _float(rec.stop())
    levels = []
    after = 0  # the same words twice: look for the second after the first
    for uid in (1, 2):
        written = _as_recorded(tee.recorder.audio(uid), tee.recorder.rate)
        offset, match = locate(recording[after:], written)
        assert match > 0.9
        levels.append(_rms_db(recording[after + offset : after + offset + written.size]))
        after += offset + written.size
    print(f"normal {levels[0]:.1f} dBFS, soft {levels[1]:.1f} dBFS")
    assert levels[0] - levels[1] >= 6.0


def test_the_acknowledgement_chime_plays_before_the_reply() -> None:
    """Effects [Chime, Say] through the runtime: the chime is heard to its end, then the speech."""
    from live_harness import timeline

    from assistant.bootstrap import ChimesBeforeSpeech

    with virtual_audio() as va, va.in_process():
        rec = _record(va)
        speaker = create_speaker(notices=io.StringIO())
        app = bootstrap(va.directory / "data", speaker=speaker, chimes=ChimesBeforeSpeech(ChimePlayer()), out=io.StringIO())
        try:
            app.execute(engine.Chime("acknowledged"))
            app.execute(engine.Say("Here is the next question for you both.", 1))
            assert speaker.events().get(timeout=60) == ("finished", 1, False, "")
        finally:
            app.close()
        rec.keep_recording(0.5)
        sound = rec.stop()
    events = timeline(sound)
    assert [e.kind for e in events][:2] == ["acknowledged", "speech"], events
    assert events[1].start_s >= events[0].end_s - 0.02, events


def test_speech_and_chimes_go_to_the_chosen_output_device() -> None:
    with virtual_audio() as va, va.in_process():
        chosen, default = _record(va, SECOND_SPEAKER), _record(va)
        speaker = create_speaker(output_device=SECOND_SPEAKER, notices=io.StringIO())
        chimes = ChimePlayer(device=SECOND_SPEAKER)
        try:
            chimes.play("turn_start")
            assert chimes.wait(timeout=5)
            speaker.say("This goes to the second speaker.", 1)
            assert speaker.events().get(timeout=60) == ("finished", 1, False, "")
        finally:
            speaker.close()
            chimes.close()
        chosen.keep_recording(0.5)
        on_chosen, on_default = _float(chosen.stop()), _float(default.stop())
    assert np.max(np.abs(on_chosen)) > 0.3
    assert np.max(np.abs(on_default)) < 0.01
    assert len(sound_runs(on_chosen, REC_RATE, threshold=0.01)) >= 2  # the chime, then the speech


def test_a_speaker_that_disappears_mid_utterance_fails_quietly() -> None:
    """The sound server dies while hearth talks: a "failed" event with the reason and one notice
    line, later utterances fail the same way, and nothing raises into the session loop."""
    from virtual_audio import stop as stop_daemon

    notices = io.StringIO()
    with virtual_audio() as va, va.in_process():
        speaker = create_speaker(notices=notices)
        try:
            speaker.say(PROMPT + " " + PROMPT, 1)
            while speaker.events().empty() and not _written_something(speaker):
                threading.Event().wait(0.01)
            stop_daemon(va.directory)
            first = speaker.events().get(timeout=30)
            speaker.say("Is anyone there?", 2)
            second = speaker.events().get(timeout=30)
        finally:
            speaker.close()
    assert first.kind == "failed" and first.utterance_id == 1 and "speaker" in first.reason
    assert second.kind == "failed" and second.utterance_id == 2
    (line,) = notices.getvalue().splitlines()
    assert "fix:" in line and "--output-device" in line


def _written_something(speaker: object) -> bool:
    output = getattr(speaker, "output", None)
    return getattr(output, "_stream", None) is not None


def test_the_live_process_speaks_with_piper(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`hearth` itself says which voice it uses, and its first prompt reaches the speaker."""
    from live_harness import HearthProcess, pulse_env

    with virtual_audio() as va:
        rec = va.start_recording(REC_RATE)
        assert rec.wait_started()
        hearth = HearthProcess(["start", "check_in", "--data-dir", str(tmp_path / "data"), "--names", "Alex", "Sam",
                                "--engine", "pocketsphinx"], pulse_env(va.env))
        try:
            hearth.wait_for("^voice: Piper en_US-joe-medium", timeout=90)
            hearth.wait_for("^hearth: ", timeout=60)
            rec.keep_recording(3.0)
        finally:
            hearth.stop()
        sound = _float(rec.stop())
        subprocess.run(["true"], check=True)
    assert np.max(np.abs(sound)) > 0.3
