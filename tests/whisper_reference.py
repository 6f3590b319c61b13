"""Whisper's text decoder written out plainly in numpy, from the same weights: what the
onnxruntime graph (assistant/asr/decoder_graph.py) is checked against. Slow, and only for tests."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from assistant.asr.whisper_decoder import WhisperDecoder

Array = NDArray[np.float64]


def _layer_norm(x: Array, gamma: Array, beta: Array) -> Array:
    centered = x - x.mean(-1, keepdims=True)
    return np.asarray(centered / np.sqrt((centered * centered).mean(-1, keepdims=True) + 1e-5) * gamma + beta)


def _softmax(scores: Array) -> Array:
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    return np.asarray(scores / scores.sum(-1, keepdims=True))


def _gelu(x: Array) -> Array:
    return np.asarray(0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0))))


def reference_logprobs(decoder: WhisperDecoder, tokens: list[int], encoded: NDArray[np.float32]) -> Array:
    """Log-probabilities [len(tokens), vocabulary] after each of `tokens`, decoding from position 0
    with no cache, in float64."""
    weights = {name: np.asarray(value, dtype=np.float64) for name, value in decoder.weights.items()}
    heads, width = decoder.heads, decoder.width
    head_width = width // heads
    audio = encoded.astype(np.float64)
    steps = len(tokens)
    x = np.asarray(decoder.embedding, dtype=np.float64)[tokens] + np.asarray(decoder.positions, dtype=np.float64)[:steps]

    def linear(name: str, h: Array) -> Array:
        return np.asarray(h @ weights[name + ".w"] + weights[name + ".b"])

    def split_heads(a: Array) -> Array:
        return a.reshape(a.shape[0], heads, head_width).transpose(1, 0, 2)

    future = np.triu(np.ones((steps, steps), bool), k=1)
    for n in range(decoder.layer_count):
        p = f"l{n}."
        q, k, v = np.split(linear(p + "qkv", _layer_norm(x, weights[p + "self_norm.g"], weights[p + "self_norm.b"])), 3, axis=-1)
        scores = split_heads(q) @ split_heads(k).transpose(0, 2, 1) / math.sqrt(head_width)
        attended = _softmax(np.where(future, -1e9, scores)) @ split_heads(v)
        x = x + linear(p + "self_out", attended.transpose(1, 0, 2).reshape(steps, width))
        q = split_heads(linear(p + "query", _layer_norm(x, weights[p + "cross_norm.g"], weights[p + "cross_norm.b"])))
        both = linear(p + "key_value", audio)
        keys, values = split_heads(both[:, :width]), split_heads(both[:, width:])
        attended = _softmax(q @ keys.transpose(0, 2, 1) / math.sqrt(head_width)) @ values
        x = x + linear(p + "cross_out", attended.transpose(1, 0, 2).reshape(steps, width))
        x = x + linear(p + "ffn_out", _gelu(linear(p + "ffn_in", _layer_norm(x, weights[p + "ffn_norm.g"], weights[p + "ffn_norm.b"]))))
    logits = _layer_norm(x, weights["final.g"], weights["final.b"]) @ np.asarray(decoder.embedding, dtype=np.float64).T
    peak = logits.max(-1, keepdims=True)
    return np.asarray(logits - (np.log(np.exp(logits - peak).sum(-1, keepdims=True)) + peak))
