"""Numbers: stable forms at |x| = 1000, float64, matrices of 100x100 (correctness
only: the timings are in benchmarks/engine_bench.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from gdcli.compile import verify as compiled
from gdcli.engine import lower


def load(source: str) -> Any:
    compiled.verify(source, numpy=True)
    return compiled.load(source + "\n", {"numpy": np, "abs": abs})["value_and_grad"]


STABLE = [
    # text, value of v, loss, gradient
    ("sum(sigmoid(v))", [1000.0, -1000.0], 1.0, [0.0, 0.0]),
    ("sum(softplus(v))", [1000.0, -1000.0], 1000.0, [1.0, 0.0]),
    ("logsumexp(v)", [1000.0, 1000.0], 1000.0 + math.log(2), [0.5, 0.5]),
    ("logsumexp(v)", [-1000.0, -1000.0], -1000.0 + math.log(2), [0.5, 0.5]),
    ("logsumexp(v)", [1000.0, -1000.0], 1000.0, [1.0, 0.0]),
    ("sum(softmax(v) * [1, 2])", [1000.0, -1000.0], 1.0, [0.0, 0.0]),
    ("sum(softmax(v) * [1, 2])", [-1000.0, -1000.0], 1.5, [-0.25, 0.25]),
    ("-sum([1, 0] * log(softmax(v)))", [1000.0, 999.0], math.log1p(math.exp(-1)), None),
]


@pytest.mark.parametrize(("text", "v", "loss", "grad"), STABLE)
def test_stable_forms_do_not_overflow(
    text: str, v: list[float], loss: float, grad: list[float] | None
) -> None:
    graph = lower(text, {"v": (2,)})
    value, grads = graph.value_and_grad({"v": np.array(v)})
    assert value == pytest.approx(loss, rel=1e-15, abs=1e-300)
    assert np.all(np.isfinite(grads["v"]))
    if grad is not None:
        assert grads["v"] == pytest.approx(grad, rel=1e-15, abs=1e-300)
    # the generated code raises on no overflow and no invalid value
    f = load(graph.source())
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        value2, (g2,) = f(np.array(v))
    assert float(value2) == value and np.array_equal(g2, grads["v"])


def test_sigmoid_slope_keeps_its_precision_far_out() -> None:
    """sigmoid'(u) = sigmoid(u)*sigmoid(-u), never 1 - (a number close to 1)."""
    graph = lower("sigmoid(u)", {"u": ()})
    for u in (30.0, 40.0, -40.0, 700.0):
        _, grads = graph.value_and_grad({"u": u})
        exact = math.exp(-abs(u)) / (1 + math.exp(-abs(u))) ** 2
        assert grads["u"] == pytest.approx(exact, rel=1e-13)


def test_everything_is_float64() -> None:
    graph = lower("sum((W @ x - y)**2) + w**2", {"W": (2, 3), "w": ()}, {"x": (3,), "y": (2,)})
    values = {
        "W": np.ones((2, 3), dtype=np.float32),
        "w": 1,
        "x": [1, 2, 3],
        "y": np.array([1, 2], dtype=np.int64),
    }
    loss, grads = graph.value_and_grad(values)
    assert isinstance(loss, float) and isinstance(grads["w"], float)
    assert grads["W"].dtype == np.float64
    assert all(np.asarray(v).dtype == np.float64 for v in graph.forward(values))


def test_a_100x100_matrix() -> None:
    rng = np.random.default_rng(0)
    W, x, y = rng.normal(size=(100, 100)), rng.normal(size=100), rng.normal(size=100)
    graph = lower("sum((W @ x - y)**2)", {"W": (100, 100)}, {"x": (100,), "y": (100,)})
    loss, grads = graph.value_and_grad({"W": W, "x": x, "y": y})
    r = W @ x - y
    assert loss == pytest.approx(r @ r, rel=1e-13)
    np.testing.assert_allclose(grads["W"], 2 * np.outer(r, x), rtol=1e-13)
    # the generated code does not grow with the matrix: no entry is written out
    small = lower("sum((W @ x - y)**2)", {"W": (2, 3)}, {"x": (3,), "y": (2,)})
    assert graph.source() == small.source()
    assert len(graph.source().splitlines()) < 15


def test_two_layers_of_50() -> None:
    shapes = {"W1": (50, 50), "b1": (50,), "W2": (50, 50), "b2": (50,)}
    graph = lower(
        "mean((tanh(W2 @ tanh(W1 @ x + b1) + b2) - y)**2)", shapes, {"x": (50,), "y": (50,)}
    )
    rng = np.random.default_rng(1)
    values = {n: rng.normal(size=s) / 7 for n, s in shapes.items()}
    values.update(x=rng.normal(size=50), y=rng.normal(size=50))
    _, grads = graph.value_and_grad(values)
    W1, b1, W2, b2, x, y = (values[n] for n in ("W1", "b1", "W2", "b2", "x", "y"))
    h = np.tanh(W1 @ x + b1)
    out = np.tanh(W2 @ h + b2)
    d_out = 2 * (out - y) / 50 * (1 - out**2)
    d_h = W2.T @ d_out * (1 - h**2)
    np.testing.assert_allclose(grads["W2"], np.outer(d_out, h), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grads["W1"], np.outer(d_h, x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grads["b1"], d_h, rtol=1e-12, atol=1e-15)


def test_a_mini_batch_uses_matrix_products() -> None:
    """With a batch, W @ x for every example is one product (x @ transpose(W)) and
    the weight's gradient one more (no loop, no per-example outer products)."""
    graph = lower("sum((W @ x - y)**2)", {"W": (3, 4)}, {"x": (4,), "y": (3,)}, batched=True)
    source = graph.source()
    assert "einsum" not in source and source.count("numpy.matmul(") == 2
    rng = np.random.default_rng(2)
    W, x, y = rng.normal(size=(3, 4)), rng.normal(size=(500, 4)), rng.normal(size=(500, 3))
    loss, grads = graph.value_and_grad({"W": W, "x": x, "y": y})
    r = x @ W.T - y
    assert loss == pytest.approx(np.mean(np.sum(r**2, axis=1)), rel=1e-13)
    np.testing.assert_allclose(grads["W"], 2 * r.T @ x / 500, rtol=1e-12)
