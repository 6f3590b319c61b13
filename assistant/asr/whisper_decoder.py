"""Whisper's text decoder in numpy, with a key/value cache, reading CTranslate2's weights.

Why not CTranslate2's own decoding: hearth must steer every step of the beam search by the live
grammar (only tokens that continue an allowed phrase), and CTranslate2's Whisper API offers no
per-step hook; re-running its `generate` with each growing prefix costs O(n^2) decoder passes. The
decoder of tiny.en is small (4 layers, 384 wide), so running it here with a cache is cheaper
than that, while CTranslate2 keeps doing the expensive part, the audio encoder.

The weights are read from CTranslate2's model.bin (a documented layout: a header, then named
arrays), only the decoder's, as float32; the projection onto the vocabulary that ends each step
runs in onnxruntime (projection.py).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError
from .projection import Projection

Array = NDArray[np.float32]
_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16)
Cache = list[tuple[Array, Array]]


def read_variables(path: Path, prefix: str) -> dict[str, NDArray[np.generic]]:
    """The arrays of a CTranslate2 model.bin whose names start with `prefix`."""
    found: dict[str, NDArray[np.generic]] = {}
    try:
        with path.open("rb") as handle:
            _read_u32(handle)  # binary version
            _read_string(handle)  # spec name
            _read_u32(handle)  # spec revision
            for _ in range(_read_u32(handle)):
                name = _read_string(handle)
                rank = handle.read(1)[0]
                shape = struct.unpack(f"<{rank}I", handle.read(4 * rank))
                dtype = handle.read(1)[0]
                size = _read_u32(handle)
                if name.startswith(prefix):
                    found[name] = np.frombuffer(handle.read(size), dtype=_DTYPES[dtype]).reshape(shape)
                else:
                    handle.seek(size, 1)
    except (OSError, IndexError, struct.error, ValueError) as error:
        raise ModelError(f"cannot read the Whisper model {path}: {error}", "run `hearth model download whisper`") from error
    return found


def _read_u32(handle: BinaryIO) -> int:
    value: int = struct.unpack("<I", handle.read(4))[0]
    return value


def _read_string(handle: BinaryIO) -> str:
    length = struct.unpack("<H", handle.read(2))[0]
    return handle.read(length)[:-1].decode("utf-8")


def _erf(x: Array) -> Array:
    """Abramowitz and Stegun 7.1.26 (error below 1.5e-7): numpy has no erf, and GELU needs it."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)), dtype=np.float32)


def _layer_norm(x: Array, gamma: Array, beta: Array) -> Array:
    mean = x.mean(-1, keepdims=True)
    centered = x - mean
    variance = (centered * centered).mean(-1, keepdims=True)
    return np.asarray(centered / np.sqrt(variance + 1e-5) * gamma + beta, dtype=np.float32)


def _softmax_inplace(scores: Array) -> Array:
    scores -= scores.max(-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(-1, keepdims=True)
    return scores


class _Layer:
    def __init__(self, get: dict[str, Array]) -> None:
        def linear(name: str) -> tuple[Array, Array]:
            return np.ascontiguousarray(get[name + "/weight"].T), get[name + "/bias"]

        self.self_norm = (get["self_attention/layer_norm/gamma"], get["self_attention/layer_norm/beta"])
        self.qkv = linear("self_attention/linear_0")
        self.self_out = linear("self_attention/linear_1")
        self.cross_norm = (get["attention/layer_norm/gamma"], get["attention/layer_norm/beta"])
        self.query = linear("attention/linear_0")
        self.key_value = linear("attention/linear_1")
        self.cross_out = linear("attention/linear_2")
        self.ffn_norm = (get["ffn/layer_norm/gamma"], get["ffn/layer_norm/beta"])
        self.ffn_in = linear("ffn/linear_0")
        self.ffn_out = linear("ffn/linear_1")


class WhisperDecoder:
    """forward(tokens, position, audio, cache) -> log-probabilities of the next token."""

    def __init__(self, model_bin: Path) -> None:
        raw = read_variables(model_bin, "decoder/")
        # Token embeddings are looked up a few rows a step: kept as stored (float16 in the known
        # conversions, 40 MB), while the projection onto the vocabulary, which ends every step and
        # used to be most of a decision's time, runs on its own float32 copy in onnxruntime. Built
        # first, while the process is small: onnxruntime copies and repacks the 80 MB matrix once.
        self._embedding = raw["decoder/embeddings/weight"]
        self._project = Projection(np.asarray(self._embedding, dtype=np.float32))
        weights = {name[len("decoder/"):]: np.asarray(value, dtype=np.float32) for name, value in raw.items() if value.ndim and "embeddings/weight" not in name}
        self.heads = int(raw["decoder/num_heads"])
        self.positions = weights["position_encodings/encodings"]
        self.width = int(self._embedding.shape[1])
        self.head_width = self.width // self.heads
        self.final_norm = (weights["layer_norm/gamma"], weights["layer_norm/beta"])
        self.layers = []
        index = 0
        while f"layer_{index}/ffn/linear_0/weight" in weights:
            prefix = f"layer_{index}/"
            self.layers.append(_Layer({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}))
            index += 1
        self.max_tokens = self.positions.shape[0]

    @property
    def vocabulary_size(self) -> int:
        return int(self._embedding.shape[0])

    def audio_keys(self, encoded: Array) -> Cache:
        """Each layer's cross-attention keys and values for one encoded segment, computed once."""
        frames = encoded.shape[0]
        result = []
        for layer in self.layers:
            weight, bias = layer.key_value
            both = encoded @ weight + bias
            keys = both[:, : self.width].reshape(frames, self.heads, self.head_width).transpose(1, 2, 0)
            values = both[:, self.width :].reshape(frames, self.heads, self.head_width).transpose(1, 0, 2)
            result.append((np.ascontiguousarray(keys), np.ascontiguousarray(values)))
        return result

    def forward(self, tokens: NDArray[np.int64], position: int, audio: Cache, cache: Cache | None) -> tuple[Array, Cache]:
        """Log-probabilities after each of `tokens` ([beams, steps]) placed at `position`, and the
        extended self-attention cache. `cache` rows belong to the same beams as `tokens`."""
        beams, steps = tokens.shape
        x = self._embedding[tokens].astype(np.float32) + self.positions[position : position + steps][None]
        scale = np.float32(1.0 / math.sqrt(self.head_width))
        new_cache: Cache = []

        def heads(a: Array) -> Array:
            return a.reshape(beams, steps, self.heads, self.head_width).transpose(0, 2, 1, 3)

        for number, layer in enumerate(self.layers):
            h = _layer_norm(x, *layer.self_norm)
            q, k, v = np.split(h @ layer.qkv[0] + layer.qkv[1], 3, axis=-1)
            q, k, v = heads(q) * scale, heads(k), heads(v)
            if cache is not None:
                k = np.concatenate([cache[number][0], k], axis=2)
                v = np.concatenate([cache[number][1], v], axis=2)
            new_cache.append((k, v))
            scores: Array = q @ k.transpose(0, 1, 3, 2)
            if steps > 1:
                span = k.shape[2]
                future = np.triu(np.ones((steps, span), bool), k=span - steps + 1)
                scores = np.asarray(np.where(future, np.float32(-1e9), scores), dtype=np.float32)
            attended = (_softmax_inplace(scores) @ v).transpose(0, 2, 1, 3).reshape(beams, steps, self.width)
            x = x + attended @ layer.self_out[0] + layer.self_out[1]
            h = _layer_norm(x, *layer.cross_norm)
            q = heads(h @ layer.query[0] + layer.query[1]) * scale
            keys, values = audio[number]
            attended = (_softmax_inplace(np.asarray(q @ keys[None], dtype=np.float32)) @ values[None]).transpose(0, 2, 1, 3).reshape(beams, steps, self.width)
            x = x + attended @ layer.cross_out[0] + layer.cross_out[1]
            h = _layer_norm(x, *layer.ffn_norm)
            inner = h @ layer.ffn_in[0] + layer.ffn_in[1]
            inner = 0.5 * inner * (1.0 + _erf(inner * np.float32(0.7071067811865476)))
            x = x + inner @ layer.ffn_out[0] + layer.ffn_out[1]
        return self._project(_layer_norm(x, *self.final_norm)), new_cache


def select(cache: Cache, rows: NDArray[np.int64]) -> Cache:
    """The cache rows of the beams that survive a step, in their new order."""
    return [(k[rows], v[rows]) for k, v in cache]
