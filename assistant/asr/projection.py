"""The last step of every decoder pass: hidden state -> log-probabilities over all 51864 tokens.

It is most of a decision's time in numpy (an 80 MB matrix read per step, then a log-softmax over
the whole vocabulary), so it runs in onnxruntime, which hearth already needs for Silero VAD: one
Gemm and one LogSoftmax, in float32, so the numbers are the numpy ones to rounding (measured: a
step of twelve beams 12 ms -> 2-4 ms on 2 cores). onnxruntime's threads are told not to spin while
they wait, for the reason the decoder gives (a busy machine).

The two-node graph is written here as ONNX protobuf bytes by hand (a few fields of onnx.proto),
so the `onnx` package is not a dependency. The weights go in as an external initializer, handed
over from memory: never serialized, never written to disk.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError

Array = NDArray[np.float32]

# onnx.proto field numbers and enum values used below
_FLOAT = 1  # TensorProto.DataType
_EXTERNAL = 1  # TensorProto.DataLocation
_ATTR_INT = 2  # AttributeProto.AttributeType
_IR_VERSION = 8
_OPSET = 17


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _node(op: str, inputs: list[str], outputs: list[str], **attributes: int) -> bytes:
    body = b"".join(_bytes(1, name) for name in inputs) + b"".join(_bytes(2, name) for name in outputs) + _bytes(4, op)
    for name, value in attributes.items():
        body += _bytes(5, _bytes(1, name) + _int(3, value if value >= 0 else value + (1 << 64)) + _int(20, _ATTR_INT))
    return _bytes(1, body)


def _tensor_info(field: int, name: str, dims: list[int | str]) -> bytes:
    shape = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _bytes(2, d)) for d in dims)
    tensor_type = _int(1, _FLOAT) + _bytes(2, shape)
    return _bytes(field, _bytes(1, name) + _bytes(2, _bytes(1, tensor_type)))


def _external_tensor(name: str, dims: tuple[int, ...], size: int) -> bytes:
    body = b"".join(_int(1, d) for d in dims) + _int(2, _FLOAT) + _bytes(8, name)
    for key, value in (("location", "in-memory"), ("offset", "0"), ("length", str(size))):
        body += _bytes(13, _bytes(1, key) + _bytes(2, value))
    return _bytes(5, body + _int(14, _EXTERNAL))


def projection_graph(vocabulary: int, width: int) -> bytes:
    """ONNX model bytes: logprobs[n, vocabulary] = log_softmax(x[n, width] @ weight[vocabulary, width]^T)."""
    graph = (
        _node("Gemm", ["x", "weight"], ["logits"], transB=1)
        + _node("LogSoftmax", ["logits"], ["logprobs"], axis=-1)
        + _bytes(2, "hearth-projection")
        + _external_tensor("weight", (vocabulary, width), vocabulary * width * 4)
        + _tensor_info(11, "x", ["rows", width])
        + _tensor_info(12, "logprobs", ["rows", vocabulary])
    )
    return _int(1, _IR_VERSION) + _bytes(2, "hearth") + _bytes(7, graph) + _bytes(8, _int(2, _OPSET))


class Projection:
    """log_softmax(x @ weight.T) for rows of hidden states; `weight` is [vocabulary, width]."""

    def __init__(self, weight: Array, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # a dependency of hearth's (Silero VAD): only a broken install
            raise ModelError(f"onnxruntime does not import ({exc})", "reinstall hearth: `pip install -e .`") from exc
        weight = np.ascontiguousarray(weight, dtype=np.float32)
        self.vocabulary, self.width = (int(n) for n in weight.shape)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        options.add_external_initializers(["weight"], [ort.OrtValue.ortvalue_from_numpy(weight)])
        self._session: Any = ort.InferenceSession(projection_graph(self.vocabulary, self.width), options, providers=["CPUExecutionProvider"])

    def __call__(self, x: Array) -> Array:
        rows = np.ascontiguousarray(x.reshape(-1, self.width), dtype=np.float32)
        out: Array = self._session.run(None, {"x": rows})[0]
        return out.reshape(*x.shape[:-1], self.vocabulary)

