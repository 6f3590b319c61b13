"""The vocabulary projection in onnxruntime: the hand-written ONNX graph computes a log-softmax of
x @ W^T, to float32 rounding, for any batch shape, and does not depend on the caller's copy."""

from __future__ import annotations

import numpy as np

from assistant.asr.projection import Projection, projection_graph


def _reference(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    logits = (x.astype(np.float64) @ weight.T.astype(np.float64))
    peak = logits.max(-1, keepdims=True)
    return logits - (np.log(np.exp(logits - peak).sum(-1, keepdims=True)) + peak)


def test_the_projection_is_a_log_softmax_of_the_matrix_product_for_any_batch_shape() -> None:
    rng = np.random.default_rng(7)
    weight = rng.normal(0.0, 0.2, (3001, 48)).astype(np.float32)
    projection = Projection(weight, threads=1)
    for shape in [(1, 48), (5, 48), (4, 1, 48), (2, 3, 48)]:
        x = rng.normal(0.0, 4.0, shape).astype(np.float32)
        got = projection(x)
        assert got.shape == shape[:-1] + (3001,) and got.dtype == np.float32
        assert np.abs(got - _reference(x, weight)).max() < 1e-4
        assert np.allclose(np.exp(got).sum(-1), 1.0, atol=1e-4)


def test_the_weights_are_handed_over_not_shared() -> None:
    # The decoder frees its float32 copy once the session holds the weights.
    rng = np.random.default_rng(3)
    weight = rng.normal(0.0, 0.2, (700, 16)).astype(np.float32)
    projection = Projection(weight, threads=1)
    x = rng.normal(0.0, 3.0, (2, 16)).astype(np.float32)
    before = projection(x)
    weight[:] = 0.0
    assert np.array_equal(projection(x), before)


def test_the_graph_bytes_name_the_shapes_and_carry_no_weights() -> None:
    graph = projection_graph(51864, 384)
    assert len(graph) < 1000  # the 80 MB matrix is an external initializer, never serialized
    assert b"Gemm" in graph and b"LogSoftmax" in graph and b"in-memory" in graph
