"""Losses shared by the engine's tests (id, text, weights, inputs), and the tests
that need no torch: generated source, gradient formulas, node texts, backprop records.

Other engine test modules import LOSSES from here; torch's versions of the same
losses are in test_engine_torch.py.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from gdcli.compile import verify as compiled
from gdcli.engine import lower

B = 7
Shapes = dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class Loss:
    id: str
    text: str
    weights: Shapes
    inputs: Shapes
    kinds: dict[str, str] = field(default_factory=dict)  # how to draw a name's values
    batched: bool = True  # also tested over a batch of examples
    unbatched: bool = True

    def values(self, rng: np.random.Generator, batch: int | None = None) -> dict[str, Any]:
        out = {n: draw(rng, s, self.kinds.get(n, "")) for n, s in self.weights.items()}
        for name, shape in self.inputs.items():
            full = shape if batch is None else (batch, *shape)
            out[name] = draw(rng, full, self.kinds.get(name, ""))
        return out

    def rng(self, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32(self.id.encode()) + salt)


def draw(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> Any:
    """Random values (away from kinks and outside no function's domain)."""
    if kind == "positive":
        return rng.uniform(0.5, 2.0, size=shape)
    if kind == "unit":
        return rng.uniform(-0.9, 0.9, size=shape)
    if kind == "onehot":
        v = np.zeros(shape)
        v[..., 1] = 1.0
        return v
    return rng.normal(size=shape)


def close(ours: Any, theirs: Any, rel: float) -> None:
    """Equal to `rel` relative to the largest entry of `theirs`."""
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(theirs, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    err = float(np.max(np.abs(a - b), initial=0.0))
    assert err <= rel * scale, f"error {err:.3g} at scale {scale:.3g}\n{a}\n{b}"


LOSSES: list[Loss] = [
    Loss(
        "linear",
        "sum((W @ x - y)**2)",
        {"W": (3, 4)},
        {"x": (4,), "y": (3,)},
    ),
    Loss(
        "two-layer",
        "mean((tanh(W2 @ tanh(W1 @ x + b1) + b2) - y)**2)",
        {"W1": (5, 4), "b1": (5,), "W2": (3, 5), "b2": (3,)},
        {"x": (4,), "y": (3,)},
    ),
    Loss(
        "sigmoid",
        "sum((sigmoid(W @ x + b) - y)**2)",
        {"W": (3, 4), "b": (3,)},
        {"x": (4,), "y": (3,)},
    ),
    Loss(
        "relu-max",
        "(dot(v, max(0, W @ x + b)) - y)**2",
        {"W": (5, 4), "b": (5,), "v": (5,)},
        {"x": (4,), "y": ()},
    ),
    Loss(
        "relu",
        "(dot(v, relu(W @ x + b)) - y)**2",
        {"W": (5, 4), "b": (5,), "v": (5,)},
        {"x": (4,), "y": ()},
    ),
    Loss(
        "softmax-cross-entropy",
        "-sum(y * log(softmax(W @ x)))",
        {"W": (3, 4)},
        {"x": (4,), "y": (3,)},
        kinds={"y": "onehot"},
    ),
    Loss(
        "logsumexp",
        "logsumexp(W @ x) - dot(y, W @ x)",
        {"W": (3, 4)},
        {"x": (4,), "y": (3,)},
        kinds={"y": "onehot"},
    ),
    Loss(
        "scalar-times-matrix",
        "sum((a * X - Y)**2) + mean(W * c)",
        {"a": (), "W": (2, 3)},
        {"X": (2, 3), "Y": (2, 3), "c": ()},
    ),
    Loss(
        "vector-plus-matrix-rows",
        "sum(tanh(M + b) * C) + sum((P - transpose([1, 2]) * q)**2)",
        {"b": (4,), "q": ()},
        {"M": (3, 4), "C": (3, 4), "P": (2,)},
    ),
    Loss(
        "column-broadcast",
        "sum((A + c)**2 * C)",
        {"c": (3, 1)},
        {"A": (3, 4), "C": (3, 4)},
    ),
    Loss(
        "outer",
        "sum((outer(u, v) - M)**2)",
        {"u": (3,), "v": (4,)},
        {"M": (3, 4)},
    ),
    Loss(
        "transpose-matmul",
        "sum((transpose(W) @ y - x)**2) + sum((A @ transpose(W))**2) + sum(y @ W)",
        {"W": (3, 4)},
        {"x": (4,), "y": (3,), "A": (2, 4)},
    ),
    Loss(
        "matrix-product",
        "sum(tanh(U @ V))",
        {"U": (3, 2), "V": (2, 4)},
        {},
        batched=False,
    ),
    Loss(
        "dot-linear-regression",
        "(dot(w, x) + c - y)**2",
        {"w": (4,), "c": ()},
        {"x": (4,), "y": ()},
    ),
    Loss(
        "max-of-vector",
        "max(W @ x) - min(v) + max(3*v)",
        {"W": (3, 4), "v": (5,)},
        {"x": (4,)},
    ),
    Loss(
        "abs",
        "sum(abs(W @ x - y))",
        {"W": (3, 4)},
        {"x": (4,), "y": (3,)},
    ),
    Loss(
        "powers",
        "sum(u**3) + 2**w + w**w + sum(u**-1) + w**(1/3) + sum(w**u)",
        {"u": (3,), "w": ()},
        {},
        kinds={"w": "positive", "u": "positive"},
        batched=False,
    ),
    Loss(
        "log-base",
        "sum(log(u, 2)) + log(5, c) + log(w, c)",
        {"u": (3,), "c": (), "w": ()},
        {},
        kinds={"u": "positive", "c": "positive", "w": "positive"},
        batched=False,
    ),
    Loss(
        "functions",
        "sum(sin(u) + cos(u) + tan(u) + asin(u) + acos(u) + atan(u) + sinh(u) + cosh(u))"
        " + sum(exp(v) + ln(v) + log(v) + sqrt(v) + softplus(u) + sigmoid(-u))",
        {"u": (4,), "v": (4,)},
        {},
        kinds={"u": "unit", "v": "positive"},
        batched=False,
    ),
    Loss(
        "elementwise-max-min",
        "sum(max(u, v, 0.5*u + 1) - min(u, 2*v))",
        {"u": (5,), "v": (5,)},
        {},
        batched=False,
    ),
    Loss(
        "division",
        "sum(u / (v**2 + 3)) + w/(1 + w**2)",
        {"u": (3,), "v": (3,), "w": ()},
        {},
        batched=False,
    ),
    Loss(
        "indicators",
        "sum((u > 0) * u**2 + (u <= 0.1)*u + Heaviside(u)*u + sign(u)*u**3 + Heaviside(u, 0.3))",
        {"u": (6,)},
        {},
        batched=False,
    ),
    Loss(
        "list-of-expressions",
        "sum([w, 2*w, w**2] * x) + dot([c, -c], z)",
        {"w": (), "c": ()},
        {"x": (3,), "z": (2,)},
    ),
    Loss(
        "list-of-vectors",
        "sum([u, 2*u] @ v) + sum(transpose([u, v]) @ [1, -1])",
        {"u": (3,), "v": (3,)},
        {},
        batched=False,
    ),
    Loss(
        "constants",
        "sum((W @ x - [1, -2, 0.5])**2) + pi*w**2 + e*w + 1e-3*w**4",
        {"W": (3, 2), "w": ()},
        {"x": (2,)},
    ),
    Loss(
        "shared-subexpression",
        "sum(tanh(W @ x) * tanh(W @ x)) + sum(W * W) - sum(W - W)",
        {"W": (2, 3)},
        {"x": (3,)},
    ),
    Loss(
        "batched-matrix-input",
        "sum((transpose(X) @ w - z)**2) + sum(X * outer(v, z)) + sum(transpose(outer(w, z)) @ X)",
        {"w": (2,), "v": (2,)},
        {"X": (2, 3), "z": (3,)},
        unbatched=False,
    ),
    Loss(
        "per-example-scalar",
        "sum((a*v - t)**2) + a*sum(v) + mean(W @ (a*u))",
        {"v": (3,), "W": (2, 3)},
        {"a": (), "t": (3,), "u": (3,)},
        unbatched=False,
    ),
    Loss(
        "weights-times-weights",
        "sum((W2 @ W1 @ x - y)**2) + dot(x, transpose(W1) @ c)",
        {"W1": (3, 4), "W2": (2, 3), "c": (3,)},
        {"x": (4,), "y": (2,)},
        unbatched=False,
    ),
    Loss(
        "batched-matmul-both-sides",
        "sum(tanh(X @ Y)) + sum(X @ w) + dot(w, transpose(X) @ w)",
        {"w": (3,)},
        {"X": (3, 3), "Y": (3, 2)},
        unbatched=False,
    ),
]
LOSSES += [
    Loss(
        "broadcast-counts",
        "sum(w + x) + sum(v + M) + sum(c + M) + mean(w*M + x*v)",
        {"w": (), "v": (3,), "c": (2, 1)},
        {"x": (), "M": (2, 3)},
    ),
]
UNBATCHED = [c for c in LOSSES if c.unbatched]
BATCHED = [c for c in LOSSES if c.batched]


def both() -> list[tuple[Loss, bool]]:
    return [(c, False) for c in UNBATCHED] + [(c, True) for c in BATCHED]


def ids(cases: list[tuple[Loss, bool]]) -> list[str]:
    return [c.id + ("-batched" if batched else "") for c, batched in cases]


CASES = both()


def values_of(case: Loss, batched: bool, salt: int = 0) -> dict[str, Any]:
    return case.values(case.rng(salt), B if batched else None)


# ---------------------------------------------------------------------------
# the generated source


def load(source: str) -> Any:
    compiled.verify(source, numpy=True)
    return compiled.load(source + "\n", {"numpy": np, "abs": abs})["value_and_grad"]


@pytest.mark.parametrize(("case", "batched"), CASES, ids=ids(CASES))
def test_source_equals_value_and_grad_bit_for_bit(case: Loss, batched: bool) -> None:
    graph = lower(case.text, case.weights, case.inputs, batched=batched)
    source = graph.source()
    f = load(source)
    for salt in range(3):
        values = values_of(case, batched, salt)
        loss, grads = graph.value_and_grad(values)
        with np.errstate(all="ignore"):
            loss2, grads2 = f(*(values[n] for n in graph.arguments))
        assert float(loss2) == loss
        assert len(grads2) == len(case.weights)
        for name, g2 in zip(case.weights, grads2, strict=True):
            assert np.shape(g2) == case.weights[name]
            assert np.array_equal(np.asarray(grads[name]), np.asarray(g2))


@pytest.mark.parametrize(("case", "batched"), CASES, ids=ids(CASES))
def test_source_is_straight_line_numpy(case: Loss, batched: bool) -> None:
    import ast

    source = lower(case.text, case.weights, case.inputs, batched=batched).source()
    tree = ast.parse(source)
    (function,) = tree.body
    assert isinstance(function, ast.FunctionDef) and function.name == "value_and_grad"
    assert len(function.args.args) == len(case.weights) + len(case.inputs)
    for node in ast.walk(tree):
        assert not isinstance(node, (ast.For, ast.While, ast.Subscript, ast.Import, ast.Lambda))
        if isinstance(node, ast.Attribute):
            assert isinstance(node.value, ast.Name) and node.value.id == "numpy"
            assert not node.attr.startswith("_")
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Attribute)


def test_source_passes_inputs_as_arguments() -> None:
    """Input values are arguments, never printed into the source."""
    graph = lower("sum((W @ x - y)**2)", {"W": (2, 3)}, {"x": (3,), "y": (2,)})
    source = graph.source()
    assert source.startswith("def value_and_grad(a0, a1, a2):")
    assert graph.arguments == ("W", "x", "y")
    f = load(source)
    rng = np.random.default_rng(0)
    for _ in range(3):
        W, x, y = rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=2)
        loss, (g,) = f(W, x, y)
        assert np.isclose(loss, np.sum((W @ x - y) ** 2))
        assert np.allclose(g, 2 * np.outer(W @ x - y, x))


def test_gradients_are_fresh_arrays() -> None:
    """A gradient never shares memory with a value passed in or with another gradient."""
    graph = lower(
        "sum(A * x) + sum(B * x) + sum(C)", {"A": (3,), "B": (3,), "C": (2, 2)}, {"x": (3,)}
    )
    values = {"A": np.ones(3), "B": np.ones(3), "C": np.ones((2, 2)), "x": np.arange(3.0)}
    _, grads = graph.value_and_grad(values)
    f = load(graph.source())
    _, grads2 = f(*(values[n] for n in graph.arguments))
    for found in (list(grads.values()), list(grads2)):
        arrays = [*found, *values.values()]
        for i, a in enumerate(found):
            assert a.flags.writeable
            for other in arrays[i + 1 :]:
                assert not np.shares_memory(a, other)
    assert np.array_equal(grads["A"], values["x"]) and np.array_equal(grads["C"], np.ones((2, 2)))


# ---------------------------------------------------------------------------
# gradient formulas


@pytest.mark.parametrize(("case", "batched"), CASES, ids=ids(CASES))
def test_gradient_text_evaluates_to_the_gradient(case: Loss, batched: bool) -> None:
    """Each weight's formula, lowered with the same roles and evaluated through the
    engine, gives the gradient (with a batch: one example's, the mean of them)."""
    from gdcli.engine import evaluate

    graph = lower(case.text, case.weights, case.inputs, batched=batched)
    values = values_of(case, batched, 7)
    _, grads = graph.value_and_grad(values)
    for name, shape in case.weights.items():
        text = graph.gradient_text(name)
        value = np.asarray(evaluate(text, values, case.weights, case.inputs, batched=batched))
        if batched and value.shape == (B, *shape):
            value = value.mean(axis=0)
        assert value.shape == shape, (text, value.shape)
        close(value, grads[name], 1e-9)


def test_gradient_texts_read_like_the_course() -> None:
    g = lower("sum((W @ x - y)**2)", {"W": (2, 3)}, {"x": (3,), "y": (2,)})
    assert g.gradient_text("W") == "2*outer(W @ x - y, x)"
    g = lower("mean((tanh(W @ x) - y)**2)", {"W": (2, 3)}, {"x": (3,), "y": (2,)})
    assert g.gradient_text("W") == "outer((tanh(W @ x) - y)*(1 - tanh(W @ x)**2), x)"
    g = lower("-sum(y * log(softmax(W @ x)))", {"W": (3, 4)}, {"x": (4,), "y": (3,)})
    assert g.gradient_text("W") == "outer(-y + softmax(W @ x)*sum(y), x)"
    g = lower("logsumexp(W @ x) - dot(y, W @ x)", {"W": (3, 4)}, {"x": (4,), "y": (3,)})
    assert g.gradient_text("W") == "outer(softmax(W @ x) - y, x)"
    g = lower("(dot(w, x) + b - y)**2", {"w": (3,), "b": ()}, {"x": (3,), "y": ()})
    assert g.gradient_text("w") == "2*(dot(w, x) + b - y)*x"
    assert g.gradient_text("b") == "2*(dot(w, x) + b - y)"
    g = lower("sum(w + x)", {"w": ()}, {"x": (4,)})
    assert g.gradient_text("w") == "4"  # sum(ones) folded
    g = lower("sum(W)", {"W": (2, 3)}, {})
    assert g.gradient_text("W") == "outer([1, 1], [1, 1, 1])"
    g = lower("w**3 + 0.5*w**2 + 1*w**1", {"w": ()}, {})
    assert g.gradient_text("w") == "3*w**2 + w + 1"
    g = lower("sum(M + b)", {"b": (3,)}, {"M": (2, 3)})
    assert g.gradient_text("b") == "2*[1, 1, 1]"
    g = lower("sum(M * b)", {"b": (3,)}, {"M": (2, 3)})
    assert g.gradient_text("b") == "[1, 1] @ M"
    g = lower("sum(x)", {"w": ()}, {"x": (2,)})
    assert g.gradient_text("w") == "0"


def test_gradient_text_needs_a_weight() -> None:
    from gdcli.errors import BadInput

    g = lower("sum(x*w)", {"w": ()}, {"x": (2,)})
    with pytest.raises(BadInput):
        g.gradient_text("x")


# ---------------------------------------------------------------------------
# node texts, backprop records


@pytest.mark.parametrize(("case", "batched"), CASES, ids=ids(CASES))
def test_node_texts_parse_back_to_the_same_values(case: Loss, batched: bool) -> None:
    from gdcli.parse.syntax import syntax_tree as _syntax_tree

    graph = lower(case.text, case.weights, case.inputs, batched=batched)
    values = values_of(case, batched)
    forward = graph.forward(values)
    assert graph.nodes[-1].id == len(graph.nodes) - 1
    for node in graph.nodes:
        assert all(a < node.id for a in node.args)
        _syntax_tree(node.text)  # the parser's own checks accept it
        sub = lower(node.text, case.weights, case.inputs, batched=batched, scalar=False)
        assert sub.nodes[-1].text == node.text
        expected = np.asarray(forward[node.id])
        got = np.asarray(sub.evaluate(values))
        assert got.shape == expected.shape
        assert np.array_equal(got, expected, equal_nan=True)
        lead = (B,) if node.batched else ()
        assert got.shape == lead + node.shape


@pytest.mark.parametrize(("case", "batched"), CASES, ids=ids(CASES))
def test_backward_records_add_up(case: Loss, batched: bool) -> None:
    """The contributions along a node's edges add up to its adjoint, and the weights'
    adjoints are the gradient."""
    graph = lower(case.text, case.weights, case.inputs, batched=batched)
    values = values_of(case, batched)
    loss, grads = graph.value_and_grad(values)
    record = graph.backward(values)
    assert record.loss == loss
    assert len(record.contributions) == len(graph.edges)
    totals: dict[int, Any] = {}
    for edge, c in zip(graph.edges, record.contributions, strict=True):
        assert np.shape(c) == np.shape(record.values[edge.arg])
        totals[edge.arg] = totals.get(edge.arg, 0) + np.asarray(c)
    variable: list[bool] = []
    for node in graph.nodes:
        variable.append(node.op in ("weight", "input") or any(variable[a] for a in node.args))
        adjoint = record.adjoints[node.id]
        if not variable[-1]:  # a constant
            assert adjoint is None
            continue
        assert adjoint is not None and np.shape(adjoint) == np.shape(record.values[node.id])
        if node.id in totals:
            close(totals[node.id], adjoint, 1e-12)
        if node.op == "weight":
            close(adjoint, grads[node.name], 1e-12)


def test_edges_say_the_local_derivative() -> None:
    g = lower("sum((tanh(W @ x) - y)**2)", {"W": (2, 3)}, {"x": (3,), "y": (2,)})
    by_node = {(g.nodes[e.node].text, g.nodes[e.arg].text): e for e in g.edges}
    tanh = by_node[("tanh(W @ x)", "W @ x")]
    assert tanh.local == "1 - tanh(W @ x)**2"
    assert tanh.rule == "g*(1 - tanh(W @ x)**2)"
    left = by_node[("W @ x", "W")]
    assert left.local is None and left.rule == "outer(g, x)" and left.role == "left of @"
    right = by_node[("W @ x", "x")]
    assert right.local is None and right.rule == "transpose(W) @ g"
    assert right.role == "right of @" and tanh.role == "argument of tanh"
    square = by_node[("(tanh(W @ x) - y)**2", "tanh(W @ x) - y")]
    assert square.local == "2*(tanh(W @ x) - y)"
    assert ("tanh(W @ x) - y", "y") in by_node  # inputs get adjoints too (for display)
    g = lower("sum(w * x)", {"w": ()}, {"x": (3,)})
    (edge,) = [e for e in g.edges if g.nodes[e.arg].text == "w"]
    assert edge.local == "x" and edge.rule == "sum(g*x)" and edge.role == "left of *"
    g = lower("max(w, 2**w, [w, 1] @ [1, 2]) + log(w, 3)", {"w": ()})
    roles = {(g.nodes[e.node].text, e.role) for e in g.edges}
    assert ("2**w", "exponent of **") in roles and ("[w, 1]", "item 1 of the list") in roles
    assert ("max(w, 2**w, [w, 1] @ [1, 2])", "piece 3 of max") in roles
    assert ("log(w, 3)", "argument 1 of log") in roles
