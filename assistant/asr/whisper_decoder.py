"""Whisper's text decoder, reading CTranslate2's weights, run as an onnxruntime graph.

Why not CTranslate2's own decoding: hearth must steer every step of the beam search by the live
grammar (only tokens that continue an allowed phrase), and CTranslate2's Whisper API offers no
per-step hook; re-running its `generate` with each growing prefix costs O(n^2) decoder passes. The
decoder of tiny.en is small (4 layers, 384 wide), so one step of it runs here as a graph with a
key/value cache (decoder_graph.py), while CTranslate2 keeps doing the expensive part, the audio
encoder.

The weights are read from CTranslate2's model.bin (a documented layout: a header, then named
arrays), only the decoder's, as float32, except the token embeddings: they are kept as stored
(float16 in the known conversions), looked up a few rows a step, and quantized to int8 for the
projection onto the vocabulary that ends each step (see Scores).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError
from .decoder_graph import DecoderSession

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


class Scores:
    """Log-probabilities of the next token, for the rows of one decoder step.

    The projection onto the 51864 tokens is int8 (decoder_graph.py): a quarter of the memory to
    read each step, and on one core 1.9 ms instead of 8-12 ms for a row. Its logits are only used
    to find the best tokens and the normalizer. The normalizer's terms for the best TOP tokens,
    which hold nearly all of the probability, are recomputed exactly, and so is every token the
    caller weighs (`of`), from the float hidden state and the model's own embeddings. What is left
    of int8 is the normalizer's tail: where the best tokens hold most of the probability (nearly
    every step of a command) it is off by thousandths, in the flattest rows by up to 0.04
    (measured against float64, tests/test_decoder_graph.py). On the tuning material every decision
    came out the same as with the float32 projection, the mean log-probabilities within 0.017.
    """

    def __init__(self, embedding: NDArray[Any], hidden: Array, logits_q: Array, lse: NDArray[np.float64], top_ids: NDArray[np.int64], top_logprobs: NDArray[np.float64]) -> None:
        self._embedding, self._hidden, self._logits_q = embedding, hidden, logits_q
        self._lse, self._top_ids, self._top_logprobs = lse, top_ids, top_logprobs

    @classmethod
    def of_step(cls, embedding: NDArray[Any], hidden: Array, logits_q: Array, lse_q: Array, top_logits_q: Array, top_ids: NDArray[np.int64]) -> Scores:
        exact = np.einsum("rkw,rw->rk", embedding[top_ids].astype(np.float32), hidden).astype(np.float64)
        peak = np.maximum(exact.max(-1), lse_q)
        rest = np.exp(lse_q - peak) - np.exp(top_logits_q - peak[:, None]).sum(-1)
        lse = peak + np.log(np.maximum(rest, 0.0) + np.exp(exact - peak[:, None]).sum(-1))
        return cls(embedding, hidden, logits_q, lse, top_ids, exact - lse[:, None])

    @property
    def rows(self) -> int:
        return int(self._hidden.shape[0])

    def pick(self, rows: list[int]) -> Scores:
        return Scores(self._embedding, self._hidden[rows], self._logits_q[rows], self._lse[rows], self._top_ids[rows], self._top_logprobs[rows])

    def of(self, row: int, ids: NDArray[np.int64]) -> NDArray[np.float64]:
        """Exact log-probabilities of `ids` after row `row`."""
        logits = np.asarray(self._embedding[ids].astype(np.float32) @ self._hidden[row], dtype=np.float64)
        return np.asarray(logits - self._lse[row], dtype=np.float64)

    def best(self, row: int, allowed: NDArray[np.bool_]) -> tuple[int, float]:
        """The most likely allowed token after row `row`, and its log-probability."""
        ids = self._top_ids[row]
        usable = allowed[ids]
        if usable.any():
            index = int(np.argmax(np.where(usable, self._top_logprobs[row], -np.inf)))
            return int(ids[index]), float(self._top_logprobs[row, index])
        token = int(np.argmax(np.where(allowed, self._logits_q[row], -np.inf)))
        return token, float(self.of(row, np.array([token], dtype=np.int64))[0])


_LINEARS = {"qkv": "self_attention/linear_0", "self_out": "self_attention/linear_1", "query": "attention/linear_0",
            "cross_out": "attention/linear_2", "ffn_in": "ffn/linear_0", "ffn_out": "ffn/linear_1"}
_NORMS = {"self_norm": "self_attention/layer_norm", "cross_norm": "attention/layer_norm", "ffn_norm": "ffn/layer_norm"}


class WhisperDecoder:
    """forward(tokens, position, audio, cache) -> Scores of the next token, and the extended cache."""

    def __init__(self, model_bin: Path) -> None:
        raw = read_variables(model_bin, "decoder/")
        self.embedding = raw["decoder/embeddings/weight"]  # [vocabulary, width], as stored
        weights = {name[len("decoder/"):]: np.asarray(value, dtype=np.float32) for name, value in raw.items() if value.ndim and "embeddings/weight" not in name}
        self.heads = int(raw["decoder/num_heads"])
        self.positions = weights["position_encodings/encodings"]
        self.width = int(self.embedding.shape[1])
        self.head_width = self.width // self.heads
        self.layer_count = 0
        while f"layer_{self.layer_count}/ffn/linear_0/weight" in weights:
            self.layer_count += 1
        self.weights: dict[str, Array] = {"final.g": weights["layer_norm/gamma"], "final.b": weights["layer_norm/beta"]}
        for n in range(self.layer_count):
            for short, name in (_LINEARS | {"key_value": "attention/linear_1"}).items():
                self.weights[f"l{n}.{short}.w"] = np.ascontiguousarray(weights[f"layer_{n}/{name}/weight"].T)
                self.weights[f"l{n}.{short}.b"] = weights[f"layer_{n}/{name}/bias"]
            for short, name in _NORMS.items():
                self.weights[f"l{n}.{short}.g"], self.weights[f"l{n}.{short}.b"] = weights[f"layer_{n}/{name}/gamma"], weights[f"layer_{n}/{name}/beta"]
        self.max_tokens = self.positions.shape[0]
        quantized, scale = _int8_columns(self.embedding)
        graph_weights: dict[str, NDArray[Any]] = {k: v for k, v in self.weights.items() if ".key_value." not in k}
        graph_weights |= {"embedding_q": quantized, "embedding_scale": scale}
        self._session = DecoderSession(graph_weights, self.layer_count, self.heads, self.width, self.vocabulary_size)

    @property
    def vocabulary_size(self) -> int:
        return int(self.embedding.shape[0])

    def audio_keys(self, encoded: Array) -> Cache:
        """Each layer's cross-attention keys and values for one encoded segment, computed once."""
        frames = encoded.shape[0]
        result = []
        for n in range(self.layer_count):
            both = encoded @ self.weights[f"l{n}.key_value.w"] + self.weights[f"l{n}.key_value.b"]
            keys = both[:, : self.width].reshape(frames, self.heads, self.head_width).transpose(1, 2, 0)
            values = both[:, self.width :].reshape(frames, self.heads, self.head_width).transpose(1, 0, 2)
            result.append((np.ascontiguousarray(keys), np.ascontiguousarray(values)))
        return result

    def forward(self, tokens: NDArray[np.int64], position: int, audio: Cache, cache: Cache | None) -> tuple[Scores, Cache]:
        """Scores after each of `tokens` ([beams, steps]) placed at `position` (row b * steps + s),
        and the extended self-attention cache. `cache` rows belong to the same beams as `tokens`."""
        beams, steps = tokens.shape
        x = np.ascontiguousarray(self.embedding[tokens].astype(np.float32) + self.positions[position : position + steps][None])
        if cache is None:
            empty = np.zeros((beams, self.heads, 0, self.head_width), dtype=np.float32)
            cache = [(empty, empty)] * self.layer_count
        span = cache[0][0].shape[2] + steps
        mask = np.zeros((steps, span), dtype=np.float32)
        mask[np.triu(np.ones((steps, span), dtype=bool), k=span - steps + 1)] = -1e9
        outputs, new_cache = self._session.run(x, mask, cache, audio)
        return Scores.of_step(self.embedding, *outputs), new_cache


def _int8_columns(embedding: NDArray[Any], chunk: int = 4096) -> tuple[NDArray[np.int8], Array]:
    """The embeddings transposed to [width, vocabulary] in int8, one scale per token (its largest
    weight is 127). Done a few thousand tokens at a time: whole, the float32 temporaries of the
    51864 x 384 matrix had raised the process's peak memory by 250 MB at start-up."""
    vocabulary, width = embedding.shape
    quantized = np.empty((width, vocabulary), dtype=np.int8)
    scale = np.empty(vocabulary, dtype=np.float32)
    for first in range(0, vocabulary, chunk):
        rows = np.asarray(embedding[first : first + chunk], dtype=np.float32)
        peak = np.maximum(np.abs(rows).max(axis=1), 1e-8) / np.float32(127.0)
        rows /= peak[:, None]
        np.rint(rows, out=rows)
        np.clip(rows, -127, 127, out=rows)
        quantized[:, first : first + chunk] = rows.T
        scale[first : first + chunk] = peak
    return quantized, scale


def select(cache: Cache, rows: NDArray[np.int64]) -> Cache:
    """The cache rows of the beams that survive a step, in their new order."""
    return [(k[rows], v[rows]) for k, v in cache]
