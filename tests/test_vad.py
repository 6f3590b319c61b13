"""Segmentation in a real room: commands found inside continuous background talk, and the
endpointer's early decisions and holds (with a fake decoder).

Babble is five LibriSpeech talkers at once, running through the whole stream, the pauses between
commands included: the case where the old energy endpointer never closed a segment.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant.asr.base import Hypothesis
from assistant.asr.endpoint import Decision, Endpointer
from assistant.asr.vad import FRAME, LevelOnly, Segment, Segmenter, SegmenterSettings, SileroVad

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "speech"
RATE = 16_000
PHRASES = ["ready for the next question", "juniper, hold on a moment", "give us two more minutes", "we're done for tonight",
           "start our daily check in", "pass on this one", "juniper, how much time is left", "that's all from me"]


def espeak(text: str, voice: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(out), text], check=True, capture_output=True)
        from assistant.wavfile import read_mono16k

        audio = read_mono16k(out).astype(np.float32) / 32768.0
    loud = np.nonzero(np.abs(audio) > 0.01)[0]
    return audio[loud[0] : loud[-1] + 1]


def babble(n: int, rng: np.random.Generator) -> np.ndarray:
    import wave

    talkers = sorted((SPEECH / "librispeech").glob("*.wav"))[:24]
    mix = np.zeros(n, dtype=np.float32)
    for index in rng.choice(len(talkers), size=5, replace=False):
        with wave.open(str(talkers[index])) as handle:
            voice = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float32) / 32768
        mix += np.resize(np.roll(voice, -int(rng.integers(0, voice.size))), n) / voice.std()
    return mix / mix.std()


def room(snr_db: float | None, seed: int = 1) -> tuple[bytes, list[tuple[float, float]]]:
    rng = np.random.default_rng(seed)
    voices = ("en-us", "en+f3", "en+m3", "en-gb")
    pieces = [espeak(text, voices[i % len(voices)]) for i, text in enumerate(PHRASES)]
    parts, spans, at = [np.zeros(3 * RATE, dtype=np.float32)], [], 3 * RATE
    for piece in pieces:
        spans.append((at / RATE, (at + piece.size) / RATE))
        pause = np.zeros(int(rng.uniform(1.8, 2.8) * RATE), dtype=np.float32)
        parts += [piece * np.float32(0.03 / piece.std()), pause]
        at += piece.size + pause.size
    audio = np.concatenate(parts)
    if snr_db is not None:
        audio += babble(audio.size, rng) * np.float32(0.03 / 10 ** (snr_db / 20))
    audio += rng.normal(0, 10 ** (-66 / 20), audio.size).astype(np.float32)
    return np.clip(np.rint(audio * 32768), -32768, 32767).astype("<i2").tobytes(), spans


def segments(pcm: bytes, segmenter: Segmenter) -> list[Segment]:
    found = [s for at in range(0, len(pcm), 640) for s in segmenter.feed(pcm[at : at + 640]) if s.final]
    return found + segmenter.finish()


@pytest.fixture(scope="module", autouse=True)
def _needs() -> None:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is needed: scripts/setup.sh installs it")


@pytest.mark.parametrize("snr", [None, 10.0], ids=["quiet", "babble10"])
def test_each_command_is_one_segment_even_with_talk_all_around(snr: float | None) -> None:
    pcm, spans = room(snr)
    found = segments(pcm, Segmenter(SileroVad()))
    for start, end in spans:
        mine = [s for s in found if s.end_s > start and s.start_s < end]
        assert len(mine) == 1, (start, end, [(s.start_s, s.end_s) for s in mine])
        segment = mine[0]
        assert segment.start_s <= start + 0.15 and segment.end_s >= end - 0.15  # the whole command
        assert segment.end_s <= end + 1.0  # and closed soon after it: the talk around does not keep it open
        assert segment.pcm is not None
    strays = [s for s in found if not any(s.end_s > a and s.start_s < b for a, b in spans)]
    assert len(strays) <= 1  # the background talk alone opens (almost) nothing
    if snr is not None:
        assert min(s.above_floor_db for s in found) < 25  # the level over the floor tells a noisy room


def test_speech_longer_than_a_command_is_never_handed_over() -> None:
    pcm, _ = room(None)
    audio = np.frombuffer(pcm, dtype="<i2")
    talk = np.concatenate([audio[int(3 * RATE) :]] * 1)
    loud = np.abs(talk.astype(np.int32)) > 300
    continuous = talk[loud]  # the commands back to back with no pauses: one long run of speech
    quiet = audio[: 2 * RATE]  # the room first, so the noise floor is known
    found = segments(np.concatenate([quiet, continuous]).tobytes(), Segmenter(SileroVad(), SegmenterSettings(max_s=4.0)))
    assert found and all(s.pcm is None for s in found if s.end_s - s.start_s > 4.0)
    assert any(s.end_s - s.start_s > 4.0 for s in found)


def test_times_run_on_across_restarts_and_odd_blocks() -> None:
    pcm, spans = room(None)
    segmenter = Segmenter(SileroVad())
    half = len(pcm) // 2 + 1  # an odd byte count
    first = [s for s in segmenter.feed(pcm[:half]) if s.final]
    segmenter.restart()
    second = [s for at in range(half, len(pcm), 333) for s in segmenter.feed(pcm[at : at + 333]) if s.final]
    assert all(a.end_s <= b.start_s for a, b in zip(first + second, (first + second)[1:]))
    assert abs(segmenter.clock_s - len(pcm) / 2 / RATE) < FRAME / RATE


def test_without_silero_the_level_alone_still_finds_commands_in_quiet() -> None:
    pcm, spans = room(None)
    found = segments(pcm, Segmenter(LevelOnly()))
    assert sum(any(s.end_s > a and s.start_s < b for s in found) for a, b in spans) == len(spans)


# ---------------------------------------------------------------- the endpointer, with a fake decoder


def segment(start: float, end: float, final: bool = True) -> Segment:
    return Segment(start, end, b"\x00\x00" * int((end - start) * RATE), final, start - 0.2, 30.0)


class Decoder:
    """Says `phrase` for a segment of the given (start, end) and counts its calls; phrases ending
    in "..." could go on."""

    def __init__(self, phrases: dict[tuple[float, float], str]) -> None:
        self.phrases, self.calls = phrases, 0

    def __call__(self, seg: Segment) -> Decision:
        self.calls += 1
        text = self.phrases.get((seg.start_s, seg.end_s))
        if text is None:
            return Decision(None, False, 0.05)
        return Decision(Hypothesis(text.rstrip("."), 0.9, seg.start_s, seg.end_s), text.endswith("..."), 0.05)


def test_a_command_that_cannot_go_on_is_said_at_the_tentative_end() -> None:
    clock = [0.0]
    decoder = Decoder({(1.0, 2.0): "next question"})
    endpointer = Endpointer(decoder, lambda: clock[0])
    clock[0] = 2.16
    [heard] = endpointer.handle([segment(1.0, 2.0, final=False)])
    assert heard.text == "next question"
    assert heard.ready_s == pytest.approx(2.21)  # decoding took 0.05 s from 2.16, before the end was confirmed at 2.32
    clock[0] = 2.32
    assert endpointer.handle([segment(1.0, 2.0)]) == [] and decoder.calls == 1


def test_a_command_the_model_is_unsure_of_waits_for_the_confirmed_end() -> None:
    """Talk cut at a short breath can be forced into a command at low confidence: such a decision
    is emitted only when the end is confirmed; when the words go on, the longer segment decides."""
    clock = [0.0]
    decoder = Decoder({(1.0, 2.0): "what can we do", (4.0, 5.0): "what can we do"})

    def unsure(seg: Segment) -> Decision:
        decision = decoder(seg)
        return replace(decision, hypothesis=replace(decision.hypothesis, confidence=0.07)) if decision.hypothesis else decision

    endpointer = Endpointer(unsure, lambda: clock[0])
    clock[0] = 2.16
    assert endpointer.handle([segment(1.0, 2.0, final=False)]) == []
    clock[0] = 2.9
    assert endpointer.handle([segment(1.0, 2.6, final=False)]) == []  # the words went on: nothing
    clock[0] = 3.0
    assert endpointer.handle([segment(1.0, 2.6)]) == []
    clock[0] = 5.16
    assert endpointer.handle([segment(4.0, 5.0, final=False)]) == []
    clock[0] = 5.32
    [heard] = endpointer.handle([segment(4.0, 5.0)])  # they did not: it is said at the confirmed end
    assert heard.text == "what can we do" and heard.ready_s == pytest.approx(5.32)


def test_speech_that_goes_on_after_a_command_is_not_acted_on_twice() -> None:
    """A word after a short breath belongs to the utterance that was already acted on: neither its
    tentative nor its final end is decoded again. The next utterance is heard as usual."""
    clock = [0.0]
    decoder = Decoder({(1.0, 2.0): "next question", (1.0, 2.6): "next question", (3.5, 4.0): "pause"})
    endpointer = Endpointer(decoder, lambda: clock[0])
    clock[0] = 2.16
    assert [h.text for h in endpointer.handle([segment(1.0, 2.0, final=False)])] == ["next question"]
    clock[0] = 2.76
    assert endpointer.handle([segment(1.0, 2.6, final=False)]) == []
    clock[0] = 2.92
    assert endpointer.handle([segment(1.0, 2.6)]) == [] and decoder.calls == 1
    clock[0] = 4.16
    assert [h.text for h in endpointer.handle([segment(3.5, 4.0, final=False)])] == ["pause"]


def test_a_tentative_end_that_could_go_on_or_join_waits_for_the_confirmed_end() -> None:
    clock = [0.0]
    decoder = Decoder({(1.0, 2.0): "start our daily check in...", (2.3, 2.4): "pause", (1.0, 2.4): "no"})
    endpointer = Endpointer(decoder, lambda: clock[0], hold_s=0.6)
    clock[0] = 2.16
    assert endpointer.handle([segment(1.0, 2.0, final=False)]) == []  # could go on
    clock[0] = 2.32
    assert endpointer.handle([segment(1.0, 2.0)]) == []  # held for 0.6 s
    clock[0] = 2.56
    assert endpointer.handle([segment(2.3, 2.4, final=False)]) == []  # a command alone, but it may join the held one
    clock[0] = 2.72
    [heard] = endpointer.handle([segment(2.3, 2.4)])
    assert heard.text == "no"


def test_a_decoding_started_for_nothing_delays_the_next_one() -> None:
    """Speech went on after the tentative end: the decoder was busy with it all the same, and one
    decision is made at a time."""
    clock = [0.0]
    decoder = Decoder({(1.0, 2.3): "next question"})

    def slow(seg: Segment) -> Decision:
        return replace(decoder(seg), compute_s=0.3)

    endpointer = Endpointer(slow, lambda: clock[0])
    clock[0] = 2.16
    assert endpointer.handle([segment(1.0, 2.0, final=False)]) == []  # nothing heard; busy until 2.46
    clock[0] = 2.40
    [heard] = endpointer.handle([segment(1.0, 2.3, final=False)])  # starts at 2.46, not 2.40
    assert heard.ready_s == pytest.approx(2.76)


def test_a_phrase_that_could_go_on_waits_and_joins_what_follows() -> None:
    clock = [0.0]
    decoder = Decoder({(1.0, 2.0): "no...", (2.4, 3.1): "keep going", (1.0, 3.1): "no keep going"})
    endpointer = Endpointer(decoder, lambda: clock[0], hold_s=0.6)
    clock[0] = 2.32
    assert endpointer.handle([segment(1.0, 2.0)]) == []  # held
    clock[0] = 3.42
    [heard] = endpointer.handle([segment(2.4, 3.1)])
    assert heard.text == "no keep going"


def test_a_held_phrase_is_said_when_nobody_goes_on() -> None:
    clock = [0.0]
    endpointer = Endpointer(Decoder({(1.0, 2.0): "start our daily check in..."}), lambda: clock[0], hold_s=0.6)
    clock[0] = 2.32
    assert endpointer.handle([segment(1.0, 2.0)]) == []
    clock[0] = 2.5
    assert endpointer.poll() == []
    clock[0] = 2.61
    [heard] = endpointer.poll()
    assert heard.text == "start our daily check in" and heard.ready_s == pytest.approx(2.61)


def test_speech_that_began_in_time_is_waited_for() -> None:
    clock = [0.0]
    speaking: list[float | None] = [None]
    endpointer = Endpointer(Decoder({(1.0, 2.0): "no..."}), lambda: clock[0], lambda: speaking[0], hold_s=0.6)
    clock[0] = 2.32
    endpointer.handle([segment(1.0, 2.0)])
    speaking[0], clock[0] = 2.4, 3.0  # someone went on speaking at 2.4, still speaking at 3.0
    assert endpointer.poll() == []


def test_when_the_join_is_not_a_command_both_parts_count_alone() -> None:
    clock = [0.0]
    decoder = Decoder({(1.0, 2.0): "no...", (2.4, 3.1): "next question"})
    endpointer = Endpointer(decoder, lambda: clock[0], hold_s=0.6)
    clock[0] = 2.32
    endpointer.handle([segment(1.0, 2.0)])
    clock[0] = 3.42
    heard = endpointer.handle([segment(2.4, 3.1)])
    assert [h.text for h in heard] == ["no", "next question"]


def test_a_command_broken_by_a_pause_is_heard_whole() -> None:
    """Neither part is a command alone (the segmenter took a quiet syllable under the room's talk
    for the end); together they are, and the first part's keeping delayed nothing."""
    clock = [0.0]
    decoder = Decoder({(1.0, 2.6): "a large latte with oat milk"})
    endpointer = Endpointer(decoder, lambda: clock[0], hold_s=0.6)
    clock[0] = 1.72
    assert endpointer.handle([segment(1.0, 1.4)]) == []  # not understood: kept, silently
    clock[0] = 2.92
    [heard] = endpointer.handle([segment(1.9, 2.6)])
    # ready after both decodings of that moment, one after the other: the second part, then both
    assert heard.text == "a large latte with oat milk" and heard.ready_s == pytest.approx(3.02)


def test_three_parts_are_joined_and_talk_that_is_no_command_stays_nothing() -> None:
    clock = [0.0]
    decoder = Decoder({(1.0, 3.6): "a large latte with oat milk"})
    endpointer = Endpointer(decoder, lambda: clock[0], hold_s=0.6)
    for start, end in ((1.0, 1.4), (1.9, 2.6), (3.0, 3.6)):
        clock[0] = end + 0.32
        heard = endpointer.handle([segment(start, end)])
    assert [h.text for h in heard] == ["a large latte with oat milk"]
    clock[0] = 10.0
    quiet = Endpointer(Decoder({}), lambda: clock[0], hold_s=0.6)
    assert quiet.handle([segment(5.0, 5.5)]) + quiet.handle([segment(5.8, 6.3)]) + quiet.poll() + quiet.finish() == []


def test_parts_are_not_joined_past_the_longest_command() -> None:
    clock = [0.0]
    decoder = Decoder({(1.0, 7.5): "a large latte with oat milk", (6.0, 7.5): "next question"})
    endpointer = Endpointer(decoder, lambda: clock[0], hold_s=0.6)
    clock[0] = 5.9
    endpointer.handle([segment(1.0, 5.6)])
    clock[0] = 7.8
    assert [h.text for h in endpointer.handle([segment(6.0, 7.5)])] == ["next question"]
