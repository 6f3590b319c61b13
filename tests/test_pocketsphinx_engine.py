"""Real-audio tests of the PocketSphinx recognizer: synthesized commands must be recognized, ordinary
read speech (LibriSpeech, from ../shared/speech) must not trigger anything.

Synthesis needs espeak-ng / flite and sox; the real-speech test needs ../shared/speech. Each skips
with its reason when what it needs is absent. No audio is written into the repository.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pocketsphinx")

from assistant.asr.base import Grammar, Hypothesis  # noqa: E402
from assistant.intent_yaml import load_intents  # noqa: E402
from assistant.asr.pocketsphinx_engine import VERIFIER, PocketSphinxRecognizer, add_noise_floor  # noqa: E402
from assistant.asr.verify import (  # noqa: E402
    SegmentEvidence,
    edit_distance,
    judge,
    phone_distance,
)

SPEECH = Path(os.environ.get("HEARTH_SPEECH", Path(__file__).resolve().parents[2] / "shared" / "speech"))

# The real context grammars compiled from the intent templates (wake name from exercises.yaml).
_INTENTS = load_intents()
IDLE = _INTENTS.grammar("idle")
PROMPT = _INTENTS.grammar("prompt")
TURN = _INTENTS.grammar("turn")
WAKE = _INTENTS.wake_name

needs_tts = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("flite") and shutil.which("sox")),
    reason="espeak-ng, flite and sox are needed to synthesize test commands",
)


def _read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def synth(text: str, voice: str, speed: int = 160) -> np.ndarray:
    """Synthesize at 16 kHz mono; voice "flite:slt" uses flite, anything else espeak-ng."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        if voice.startswith("flite:"):
            cmd = ["flite", "-voice", voice[6:], "-t", text, "-o", str(raw)]
        else:
            cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text]
        subprocess.run(cmd, check=True, capture_output=True)
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)
        return _read(out)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), dtype=np.int16)


def white_noise(x: np.ndarray, snr_db: float, seed: int = 1) -> np.ndarray:
    active = x[np.abs(x) > 300].astype(np.float64)
    power = float(np.mean(active**2)) / 10 ** (snr_db / 10)
    noise = np.random.default_rng(seed).normal(0.0, np.sqrt(power), x.size)
    return np.clip(x + noise, -32768, 32767).astype(np.int16)


def run(rec: PocketSphinxRecognizer, audio: np.ndarray, flush: bool = True) -> list[Hypothesis]:
    """Feed `audio` in 20 ms blocks, as the session loop does."""
    data = audio.astype("<i2").tobytes()
    hyps: list[Hypothesis] = []
    for i in range(0, len(data), 640):
        hyps += rec.accept(data[i : i + 640])
    if flush:
        hyps += rec.flush()
    return hyps


def utterance(speech: np.ndarray) -> np.ndarray:
    return np.concatenate([silence(0.5), speech, silence(0.8)])


@pytest.fixture(scope="module")
def rec() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer(PROMPT)


# ---------------------------------------------------------------- recognition of commands

CASES = [
    (PROMPT, "next question", "en-us"),
    (PROMPT, "repeat that", "flite:slt"),
    (PROMPT, "give us one more minute", "en+f3"),
    (PROMPT, "stop the exercise", "flite:kal16"),
    (PROMPT, f"{WAKE} wait a second", "en+m3"),
    (IDLE, "start our check in", "flite:slt"),
    (IDLE, "begin the thirty six questions", "en-us"),
    (IDLE, "pick up where we left off", "flite:awb"),
    (IDLE, f"{WAKE} what can we do", "en+m3"),
    (TURN, f"{WAKE} pause", "en-us"),
    (TURN, f"{WAKE} how much time is left", "flite:slt"),
    (TURN, f"{WAKE} ten more minutes", "en+f3"),
]


def test_cases_are_phrases_of_their_grammar() -> None:
    for grammar, phrase, _ in CASES:
        assert grammar.graph.accepts(phrase.split()), (grammar.context, phrase)


@needs_tts
def test_recognizes_synthesized_commands_across_voices(rec: PocketSphinxRecognizer) -> None:
    right = 0
    for grammar, phrase, voice in CASES:
        rec.set_grammar(grammar)
        texts = [h.text for h in run(rec, utterance(synth(phrase, voice)))]
        assert texts in ([phrase], []), f"{voice} said {phrase!r}, got {texts}"
        right += texts == [phrase]
    # The verifier trades many misses for ~zero false activations on the real grammars
    # (held-out clean accuracy 15-70% per context, docs/false-activations.md): never wrong, and
    # clearly better than chance of a forced fit.
    assert right >= len(CASES) // 4, f"only {right}/{len(CASES)} recognized"


@needs_tts
def test_command_in_white_noise_is_never_misrecognized(rec: PocketSphinxRecognizer) -> None:
    # Recall in noise is the known gap (held-out white 20 dB: 40-85% per context); a wrong
    # command must still never come out.
    rec.set_grammar(TURN)
    phrases = [f"{WAKE} how much time is left", f"{WAKE} wait a second", f"{WAKE} pause"]
    got = [[h.text for h in run(rec, white_noise(utterance(synth(p, "flite:slt")), snr_db=20))]
           for p in phrases]
    assert all(g in ([p], []) for g, p in zip(got, phrases)), got


@needs_tts
def test_grammar_switching(rec: PocketSphinxRecognizer) -> None:
    audio = utterance(synth("next question", "flite:slt"))
    rec.set_grammar(IDLE)
    assert [h.text for h in run(rec, audio)] == []
    rec.set_grammar(PROMPT)
    assert [h.text for h in run(rec, audio)] == ["next question"]
    rec.set_grammar(TURN)
    assert [h.text for h in run(rec, audio)] == []


@needs_tts
def test_turn_context_needs_the_wake_name(rec: PocketSphinxRecognizer) -> None:
    # A phrasing hearth teaches in turns ("that's all from me"). PocketSphinx, now the last
    # fallback, no longer verifies "juniper pause" or "juniper hold on a moment" in this one flite
    # voice since it shares the Silero segmenter (it does in flite kal16); its figures per voice
    # are in BENCHMARKS.md. What this test guards is the wake-name rule.
    rec.set_grammar(TURN)
    assert run(rec, utterance(synth("that's all from me", "flite:slt"))) == []
    assert [h.text for h in run(rec, utterance(synth(f"{WAKE} that's all from me", "flite:slt")))] == [
        f"{WAKE} that's all from me"
    ]


@needs_tts
def test_reset_drops_partial_utterance_and_times_stay_monotonic() -> None:
    rec = PocketSphinxRecognizer(PROMPT)
    speech = synth("repeat that", "flite:slt")
    first = run(rec, utterance(speech))  # 0.5 s silence, speech, 0.8 s silence
    assert [h.text for h in first] == ["repeat that"]
    assert 0.2 <= first[0].start_s <= 0.8 and first[0].end_s > first[0].start_s

    before = rec.accept(np.concatenate([silence(0.5), speech]).tobytes())  # cut off mid-command
    assert before == []
    rec.reset()
    assert run(rec, silence(1.0)) == []

    offset = (utterance(speech).size + silence(0.5).size + speech.size + silence(1.0).size) / 16000
    second = run(rec, utterance(speech))
    assert [h.text for h in second] == ["repeat that"]
    assert second[0].start_s >= offset + 0.2  # the clock ran on across reset and flush
    assert second[0].start_s > first[0].end_s and second[0].end_s > second[0].start_s
    assert 0.0 < second[0].confidence <= 1.0


def trimmed(speech: np.ndarray) -> np.ndarray:
    """The speech without the silence a synthesizer puts before and after it."""
    loud = np.flatnonzero(np.abs(speech) > 0.01 * np.abs(speech).max())
    return speech[loud[0] : loud[-1] + 1]


@needs_tts
def test_long_speech_run_is_never_a_command(rec: PocketSphinxRecognizer) -> None:
    rec.set_grammar(PROMPT)
    piece = trimmed(synth("next question", "flite:slt"))
    assert [h.text for h in run(rec, utterance(piece))] == ["next question"]  # alone, a command
    # Said five times without a breath between (each synthesis' own silence trimmed; untrimmed,
    # the pauses between them are five separate commands): one run of speech longer than any
    # command, which is talk and is never decoded.
    ramble = np.concatenate([piece] * 5)
    assert ramble.size / 16000 > rec.settings.max_duration_s
    assert run(rec, utterance(ramble)) == []


# ---------------------------------------------------------------- ordinary conversation

def _librispeech(minutes: float) -> list[Path]:
    manifest = SPEECH / "manifest.csv"
    if not manifest.exists():
        pytest.skip(f"real speech corpus absent: {manifest} not found")
    with open(manifest) as f:
        rows = [r for r in csv.DictReader(f) if r["file"].startswith("librispeech/")]
    chosen, total = [], 0.0
    for r in rows:
        if total >= minutes * 60:
            break
        chosen.append(SPEECH / r["file"])
        total += float(r["duration_s"])
    return chosen


@pytest.mark.parametrize("grammar", [IDLE, PROMPT, TURN], ids=lambda g: g.context)
def test_read_speech_yields_no_commands(grammar: Grammar) -> None:
    # A fresh recognizer (fixed noise-floor seed) so the run is the same as scripts/fa_study.py's.
    # Borderline segments do exist: the accept edge was chosen at ~0 FA in 27 min per context.
    rec = PocketSphinxRecognizer(grammar)
    accepted: list[Hypothesis] = []
    for path in _librispeech(minutes=8):
        accepted += run(rec, np.concatenate([_read(path), silence(0.5)]))
    # Report only phrases of our grammar (never what was said) on failure.
    assert accepted == [], f"{len(accepted)} false activations: {[h.text for h in accepted]}"


# ---------------------------------------------------------------- second-pass logic

def _evidence(**kw: object) -> SegmentEvidence:
    base: dict[str, object] = dict(
        duration_s=1.2, n_frames=120, grammar_text="next question", grammar_score=-500.0,
        phone_score=-480.0, grammar_phones=("N", "EH", "K", "S", "T"),
        free_phones=("N", "EH", "K", "T"), free_words=(),
    )
    base.update(kw)
    return SegmentEvidence(**base)  # type: ignore[arg-type]


def test_verifier_rules() -> None:
    s = VERIFIER  # the rule the recognizer uses
    assert edit_distance("abc", "abd") == 1 and phone_distance(("A", "B"), ("A",)) == 0.5
    assert phone_distance(("A",), ("B", "C", "D")) == 3.0
    assert judge(_evidence(), s) is not None
    assert judge(_evidence(duration_s=9.0), s) is None  # conversation-length
    assert judge(_evidence(complete=False), s) is None  # partial grammar path
    assert judge(_evidence(phone_score=-100.0), s) is None  # free decode far better
    assert judge(_evidence(free_phones=("S",) * 30), s) is None  # phones disagree


def test_noise_floor_is_quiet_and_only_adds() -> None:
    out = np.frombuffer(add_noise_floor(bytes(32000), -66.0, np.random.default_rng(0)), np.int16)
    rms = float(np.sqrt(np.mean(out.astype(np.float64) ** 2)))
    assert 10 < rms < 25  # -66 dBFS is ~16 LSB RMS


def test_a_huge_pack_loads_in_bounded_memory(tmp_path: Path) -> None:
    """The coffee pack (6e8 sentences, a 58-state graph) goes to PocketSphinx as its own FSG;
    through JSGF, PocketSphinx expanded it past 18 GB and the process was killed."""
    import resource
    import subprocess
    import sys
    import wave

    repo = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo / "scripts"))
    from rhino_context import convert_file

    pack = tmp_path / "coffee.yaml"
    pack.write_text(convert_file(repo.parent / "shared" / "speech" / "coffee_orders" / "context.yaml"), encoding="utf-8")
    silence = tmp_path / "silence.wav"
    with wave.open(str(silence), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(32000))

    def three_gigabytes() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    result = subprocess.run([sys.executable, "-m", "assistant", "listen", "--input", str(silence), "--context", "any",
                             "--json", "--engine", "pocketsphinx", "--intents", str(pack)],
                            cwd=repo, capture_output=True, text=True, timeout=300, preexec_fn=three_gigabytes)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == ""
