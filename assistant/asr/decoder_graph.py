"""One step of Whisper's text decoder as an onnxruntime graph: all layers and the projection onto
the vocabulary, from token embeddings to log-probabilities, with the self-attention cache passed
in and out.

Why a graph rather than numpy: a beam search steps a few rows at a time, and OpenBLAS multiplies
such thin matrices slowly (measured on 2 cores: sixteen 384x1536 products took 12-14 ms for 4 to
12 rows in numpy, 2-2.5 ms in onnxruntime on one thread), and numpy's hundred-odd small calls per
step cost as much again. The graph computes what Whisper's decoder computes, in float32 (tests
check it against a plain numpy reading of the same weights, tests/whisper_reference.py).

Inputs: x [beams, steps, width] (token embedding plus position), mask [steps, past + steps]
(0 where a position may be attended to, -1e9 for later ones), and per layer past_k / past_v
[beams, heads, past, head_width] and the audio's cross_k [heads, head_width, frames] / cross_v
[heads, frames, head_width]. Outputs: the final hidden state [beams * steps, width], the int8
projection's logits, their log-sum-exp and best TOP tokens, and per layer present_k / present_v.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError
from . import onnx_writer as w

Array = NDArray[np.float32]


def _linear(p: str, x: str, name: str, out: str) -> bytes:
    return w.node("MatMul", [x, f"{p}{name}.w"], [f"{out}.mm"]) + w.node("Add", [f"{out}.mm", f"{p}{name}.b"], [out])


def _norm(p: str, x: str, name: str, out: str) -> bytes:
    return w.node("LayerNormalization", [x, f"{p}{name}.g", f"{p}{name}.b"], [out], axis=-1, epsilon=1e-5)


def _heads(x: str, out: str, scale: bool = False) -> bytes:
    """[beams, steps, width] -> [beams, heads, steps, head_width], optionally scaled for attention."""
    split = w.node("Reshape", [x, "heads_shape"], [f"{out}.r"]) + w.node("Transpose", [f"{out}.r"], [f"{out}.t" if scale else out], perm=[0, 2, 1, 3])
    return split + (w.node("Mul", [f"{out}.t", "scale"], [out]) if scale else b"")


def _merge(x: str, out: str) -> bytes:
    return w.node("Transpose", [x], [f"{out}.t"], perm=[0, 2, 1, 3]) + w.node("Reshape", [f"{out}.t", "merge_shape"], [out])


def _layer(n: int, x: str) -> tuple[bytes, str]:
    p = f"l{n}."
    nodes = _norm(p, x, "self_norm", f"{p}h1") + _linear(p, f"{p}h1", "qkv", f"{p}qkv")
    nodes += w.node("Split", [f"{p}qkv", "split3"], [f"{p}q0", f"{p}k0", f"{p}v0"], axis=-1)
    nodes += _heads(f"{p}q0", f"{p}q", scale=True) + _heads(f"{p}k0", f"{p}k") + _heads(f"{p}v0", f"{p}v")
    nodes += w.node("Concat", [f"past_k{n}", f"{p}k"], [f"present_k{n}"], axis=2) + w.node("Concat", [f"past_v{n}", f"{p}v"], [f"present_v{n}"], axis=2)
    nodes += w.node("Transpose", [f"present_k{n}"], [f"{p}kt"], perm=[0, 1, 3, 2])
    nodes += w.node("MatMul", [f"{p}q", f"{p}kt"], [f"{p}s0"]) + w.node("Add", [f"{p}s0", "mask"], [f"{p}s1"]) + w.node("Softmax", [f"{p}s1"], [f"{p}a"], axis=-1)
    nodes += w.node("MatMul", [f"{p}a", f"present_v{n}"], [f"{p}o0"]) + _merge(f"{p}o0", f"{p}o1") + _linear(p, f"{p}o1", "self_out", f"{p}o2")
    nodes += w.node("Add", [x, f"{p}o2"], [f"{p}x1"])
    nodes += _norm(p, f"{p}x1", "cross_norm", f"{p}h2") + _linear(p, f"{p}h2", "query", f"{p}cq0") + _heads(f"{p}cq0", f"{p}cq", scale=True)
    nodes += w.node("MatMul", [f"{p}cq", f"cross_k{n}"], [f"{p}cs"]) + w.node("Softmax", [f"{p}cs"], [f"{p}ca"], axis=-1)
    nodes += w.node("MatMul", [f"{p}ca", f"cross_v{n}"], [f"{p}co0"]) + _merge(f"{p}co0", f"{p}co1") + _linear(p, f"{p}co1", "cross_out", f"{p}co2")
    nodes += w.node("Add", [f"{p}x1", f"{p}co2"], [f"{p}x2"])
    # GELU, exactly: 0.5 x (1 + erf(x / sqrt 2))
    nodes += _norm(p, f"{p}x2", "ffn_norm", f"{p}h3") + _linear(p, f"{p}h3", "ffn_in", f"{p}f0")
    nodes += w.node("Mul", [f"{p}f0", "rsqrt2"], [f"{p}f1"]) + w.node("Erf", [f"{p}f1"], [f"{p}f2"]) + w.node("Add", [f"{p}f2", "one"], [f"{p}f3"])
    nodes += w.node("Mul", [f"{p}f0", f"{p}f3"], [f"{p}f4"]) + w.node("Mul", [f"{p}f4", "half"], [f"{p}f5"]) + _linear(p, f"{p}f5", "ffn_out", f"{p}f6")
    nodes += w.node("Add", [f"{p}x2", f"{p}f6"], [f"{p}x3"])
    return nodes, f"{p}x3"


TOP = 16
"""Tokens per row whose logits are recomputed exactly for the normalizer (see Scores)."""


def decoder_graph(weights: Mapping[str, NDArray[np.generic]], layers: int, heads: int, width: int, vocabulary: int) -> bytes:
    """ONNX model bytes for one decoder step; `weights` become in-memory initializers."""
    head_width = width // heads
    nodes, x = b"", "x"
    for n in range(layers):
        more, x = _layer(n, x)
        nodes += more
    nodes += w.node("LayerNormalization", [x, "final.g", "final.b"], ["hf"], axis=-1, epsilon=1e-5) + w.node("Reshape", ["hf", "flat_shape"], ["hidden"])
    # The projection onto the vocabulary in int8 (a quarter of the memory to read, every step):
    # only its normalizer and its best tokens are used, and the tokens weighed are rescored exactly
    # (whisper_decoder.Scores).
    nodes += w.node("DynamicQuantizeMatMul", ["hidden", "embedding_q", "embedding_scale"], ["logits_q"], domain=w.MICROSOFT)
    nodes += w.node("ReduceLogSumExp", ["logits_q"], ["lse_q"], axes=[-1], keepdims=0)
    nodes += w.node("TopK", ["logits_q", "top"], ["top_logits_q", "top_ids"], axis=-1)
    small: dict[str, NDArray[Any]] = {
        "heads_shape": np.array([0, 0, heads, head_width], dtype=np.int64),
        "merge_shape": np.array([0, 0, width], dtype=np.int64),
        "flat_shape": np.array([-1, width], dtype=np.int64),
        "split3": np.array([width] * 3, dtype=np.int64),
        "scale": np.array(1.0 / math.sqrt(head_width), dtype=np.float32),
        "rsqrt2": np.array(1.0 / math.sqrt(2.0), dtype=np.float32),
        "one": np.array(1.0, dtype=np.float32),
        "half": np.array(0.5, dtype=np.float32),
        "top": np.array([TOP], dtype=np.int64),
    }
    initializers = b"".join(w.constant(name, value) for name, value in small.items()) + b"".join(w.in_memory(name, value) for name, value in weights.items())
    inputs = w.graph_input("x", ["beams", "steps", width]) + w.graph_input("mask", ["steps", "span"])
    outputs = w.graph_output("hidden", ["rows", width]) + w.graph_output("logits_q", ["rows", vocabulary]) + w.graph_output("lse_q", ["rows"])
    outputs += w.graph_output("top_logits_q", ["rows", TOP]) + w.graph_output("top_ids", ["rows", TOP], w.INT64)
    for n in range(layers):
        inputs += w.graph_input(f"past_k{n}", ["beams", heads, "past", head_width]) + w.graph_input(f"past_v{n}", ["beams", heads, "past", head_width])
        inputs += w.graph_input(f"cross_k{n}", [heads, head_width, "frames"]) + w.graph_input(f"cross_v{n}", [heads, "frames", head_width])
        outputs += w.graph_output(f"present_k{n}", ["beams", heads, "span", head_width]) + w.graph_output(f"present_v{n}", ["beams", heads, "span", head_width])
    return w.model("hearth-whisper-decoder", nodes + initializers + inputs + outputs)


class DecoderSession:
    """The decoder-step graph in onnxruntime, on the calling thread.

    One intra-op thread: the free transcript and the constrained search step the decoder side by
    side, each on its own core (beam.Search), and onnxruntime's threads are never left spinning
    (a busy machine, see whisper_engine._one_blas_thread)."""

    def __init__(self, weights: Mapping[str, NDArray[np.generic]], layers: int, heads: int, width: int, vocabulary: int) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # a dependency of hearth's (Silero VAD): only a broken install
            raise ModelError(f"onnxruntime does not import ({exc})", "reinstall hearth: `pip install -e .`") from exc
        self.layers = layers
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        arrays = {name: np.ascontiguousarray(value) for name, value in weights.items()}
        options.add_external_initializers(list(arrays), [ort.OrtValue.ortvalue_from_numpy(a) for a in arrays.values()])
        graph = decoder_graph(arrays, layers, heads, width, vocabulary)
        self._session: Any = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def run(self, x: Array, mask: Array, past: list[tuple[Array, Array]], audio: list[tuple[Array, Array]]) -> tuple[list[NDArray[Any]], list[tuple[Array, Array]]]:
        """(hidden, logits_q, lse_q, top_logits_q, top_ids), and the extended cache."""
        feed: dict[str, Array] = {"x": x, "mask": mask}
        for n, ((past_k, past_v), (cross_k, cross_v)) in enumerate(zip(past, audio, strict=True)):
            feed |= {f"past_k{n}": past_k, f"past_v{n}": past_v, f"cross_k{n}": cross_k, f"cross_v{n}": cross_v}
        out = self._session.run(None, feed)
        return out[:5], [(out[5 + 2 * n], out[6 + 2 * n]) for n in range(self.layers)]
