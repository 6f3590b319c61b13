"""ONNX models written as protobuf bytes by hand: the few fields of onnx.proto that hearth's
graphs use, so the `onnx` package is not a dependency of hearth's.

Large weights go in as external initializers handed over from memory when the session is made
(`in_memory`): they are never serialized and never written to disk.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FLOAT = 1  # TensorProto.DataType
INT8 = 3
INT64 = 7
_ELEMENT = {np.dtype(np.float32): FLOAT, np.dtype(np.int8): INT8, np.dtype(np.int64): INT64}
_EXTERNAL = 1  # TensorProto.DataLocation
_ATTR_FLOAT, _ATTR_INT, _ATTR_INTS = 1, 2, 7  # AttributeProto.AttributeType
IR_VERSION = 8
OPSET = 17
MICROSOFT = "com.microsoft"  # onnxruntime's own operators (its quantized matrix product)

Dims = Sequence[int | str]


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative numbers as 64-bit two's complement, as protobuf wants
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


def _attribute(name: str, value: int | float | Sequence[int]) -> bytes:
    body = _bytes(1, name)
    if isinstance(value, bool | int):
        body += _int(3, int(value)) + _int(20, _ATTR_INT)
    elif isinstance(value, float):
        body += _varint(2 << 3 | 5) + struct.pack("<f", value) + _int(20, _ATTR_FLOAT)
    else:
        body += b"".join(_int(8, v) for v in value) + _int(20, _ATTR_INTS)
    return _bytes(5, body)


def node(op: str, inputs: Sequence[str], outputs: Sequence[str], domain: str = "", **attributes: int | float | Sequence[int]) -> bytes:
    """One NodeProto, as the graph's field (repeated `node`)."""
    body = b"".join(_bytes(1, name) for name in inputs) + b"".join(_bytes(2, name) for name in outputs) + _bytes(4, op)
    body += b"".join(_attribute(name, value) for name, value in attributes.items())
    return _bytes(1, body + (_bytes(7, domain) if domain else b""))


def _value_info(field: int, name: str, element: int, dims: Dims) -> bytes:
    shape = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _bytes(2, d)) for d in dims)
    tensor_type = _int(1, element) + _bytes(2, shape)
    return _bytes(field, _bytes(1, name) + _bytes(2, _bytes(1, tensor_type)))


def graph_input(name: str, dims: Dims, element: int = FLOAT) -> bytes:
    return _value_info(11, name, element, dims)


def graph_output(name: str, dims: Dims, element: int = FLOAT) -> bytes:
    return _value_info(12, name, element, dims)


def in_memory(name: str, array: NDArray[np.generic]) -> bytes:
    """An initializer whose data the session is handed from memory (SessionOptions.add_external_initializers)."""
    body = b"".join(_int(1, d) for d in array.shape) + _int(2, _ELEMENT[array.dtype]) + _bytes(8, name)
    for key, value in (("location", "in-memory"), ("offset", "0"), ("length", str(array.nbytes))):
        body += _bytes(13, _bytes(1, key) + _bytes(2, value))
    return _bytes(5, body + _int(14, _EXTERNAL))


def constant(name: str, array: NDArray[np.generic]) -> bytes:
    """A small initializer written into the graph itself (shapes, scalars)."""
    data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    return _bytes(5, b"".join(_int(1, d) for d in array.shape) + _int(2, _ELEMENT[array.dtype]) + _bytes(8, name) + _bytes(9, data))


def model(name: str, graph: bytes) -> bytes:
    """ModelProto bytes around a graph's fields (nodes, initializers, inputs, outputs)."""
    opsets = _bytes(8, _int(2, OPSET)) + _bytes(8, _bytes(1, MICROSOFT) + _int(2, 1))
    return _int(1, IR_VERSION) + _bytes(2, "hearth") + _bytes(7, graph + _bytes(2, name)) + opsets
