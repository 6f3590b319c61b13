"""Whisper's text decoder as one onnxruntime graph (assistant/asr/decoder_graph.py), checked against
a plain float64 numpy reading of the same weights (tests/whisper_reference.py) on real speech:
step by step with the cache, all at once with the causal mask, and the int8 projection's scores
rescored exactly where they are weighed."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from assistant.asr.decoder_graph import decoder_graph
from assistant.asr.whisper_decoder import Scores
from assistant.asr.whisper_engine import WhisperRuntime

try:
    from tests.whisper_reference import reference_logprobs
except ImportError:  # tests/ is not a package: pytest puts it on sys.path itself
    from whisper_reference import reference_logprobs  # type: ignore[no-redef]

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "speech"
# Exact but for the int8 normalizer's tail: off by up to 0.04 in the flattest rows (the one after
# <|startoftranscript|>, where the best tokens hold little of the probability), far less elsewhere.
TOLERANCE = 0.06


@pytest.fixture(scope="module")
def encoded(runtime: WhisperRuntime) -> np.ndarray:
    path = sorted((SPEECH / "coffee_orders" / "wav").glob("*.wav"))[3]
    with wave.open(str(path)) as handle:
        audio = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return runtime.encode_audio(np.concatenate([audio, np.zeros(5 * 16000 - audio.size % (5 * 16000), dtype=np.float32)]))


def _tokens(runtime: WhisperRuntime) -> list[int]:
    return list(runtime.prompt) + list(runtime.encode_text(" Can I get a large latte with oat milk?"))


def _full(scores: Scores, row: int, vocabulary: int) -> np.ndarray:
    return scores.of(row, np.arange(vocabulary, dtype=np.int64))


def test_step_by_step_with_the_cache_the_graph_scores_what_the_decoder_computes(runtime: WhisperRuntime, encoded: np.ndarray) -> None:
    decoder = runtime.decoder
    tokens = _tokens(runtime)
    expected = reference_logprobs(decoder, tokens, encoded)
    audio = decoder.audio_keys(encoded)
    cache = None
    allowed = np.ones(decoder.vocabulary_size, dtype=bool)
    for position, token in enumerate(tokens):
        scores, cache = decoder.forward(np.array([[token]], dtype=np.int64), position, audio, cache)
        got = _full(scores, 0, decoder.vocabulary_size)
        likely = expected[position] > -12.0  # where a beam could ever go
        assert np.abs(got[likely] - expected[position][likely]).max() < TOLERANCE
        best, logprob = scores.best(0, allowed)
        assert best == int(np.argmax(expected[position]))
        assert abs(logprob - expected[position].max()) < TOLERANCE


def test_several_steps_at_once_see_only_what_came_before(runtime: WhisperRuntime, encoded: np.ndarray) -> None:
    decoder = runtime.decoder
    tokens = _tokens(runtime)
    expected = reference_logprobs(decoder, tokens, encoded)
    audio = decoder.audio_keys(encoded)
    first, cache = decoder.forward(np.array([tokens[:4]], dtype=np.int64), 0, audio, None)
    rest, _ = decoder.forward(np.array([tokens[4:]], dtype=np.int64), 4, audio, cache)
    assert first.rows == 4 and rest.rows == len(tokens) - 4
    for row in range(len(tokens)):
        scores, at = (first, row) if row < 4 else (rest, row - 4)
        got = _full(scores, at, decoder.vocabulary_size)
        likely = expected[row] > -12.0
        assert np.abs(got[likely] - expected[row][likely]).max() < TOLERANCE


def test_a_beam_scores_as_it_would_alone(runtime: WhisperRuntime, encoded: np.ndarray) -> None:
    decoder = runtime.decoder
    audio = decoder.audio_keys(encoded)
    prompt = np.array([list(runtime.prompt)], dtype=np.int64)
    _, cache = decoder.forward(prompt, 0, audio, None)
    words = [runtime.encode_text(w)[0] for w in (" Can", " Could", " I")]
    three = [(np.repeat(k, 3, 0), np.repeat(v, 3, 0)) for k, v in cache]
    together, _ = decoder.forward(np.array([[w] for w in words], dtype=np.int64), len(runtime.prompt), audio, three)
    for row, word in enumerate(words):
        alone, _ = decoder.forward(np.array([[word]], dtype=np.int64), len(runtime.prompt), audio, cache)
        # the same to the int8 normalizer's rounding, which sees the rows of one step together
        assert np.abs(_full(together, row, decoder.vocabulary_size) - _full(alone, 0, decoder.vocabulary_size)).max() < TOLERANCE / 2


def test_the_best_allowed_token_is_found_when_the_best_tokens_are_not_allowed(runtime: WhisperRuntime, encoded: np.ndarray) -> None:
    decoder = runtime.decoder
    tokens = _tokens(runtime)[:3]
    expected = reference_logprobs(decoder, tokens, encoded)[-1]
    scores, _ = decoder.forward(np.array([tokens], dtype=np.int64), 0, decoder.audio_keys(encoded), None)
    allowed = np.ones(decoder.vocabulary_size, dtype=bool)
    allowed[np.argsort(-expected)[:40]] = False  # more than the graph's TOP best tokens
    token, logprob = scores.best(scores.rows - 1, allowed)
    runner_up = np.where(allowed, expected, -np.inf)
    assert expected[token] >= runner_up.max() - 0.1  # int8 picks it; its score is then exact
    assert abs(logprob - expected[token]) < TOLERANCE


def test_the_graph_bytes_carry_no_weights() -> None:
    weights = {"embedding_q": np.zeros((384, 51864), dtype=np.int8), "final.g": np.ones(384, dtype=np.float32)}
    graph = decoder_graph(weights, layers=4, heads=6, width=384, vocabulary=51864)
    assert len(graph) < 40_000  # the weights are in-memory initializers, never serialized
    assert b"in-memory" in graph and b"DynamicQuantizeMatMul" in graph and b"com.microsoft" in graph
