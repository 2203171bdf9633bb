"""The engine against SymPy and gdcli's own parser.

* Every element-wise rule: its derivative text parses with gdcli's parser and is
  SymPy's derivative; its numbers are SymPy's at sample points (kinks included).
* Losses of scalar weights: the gradient equals SymPy's exact derivative.
* Small matrix losses: the loss and every partial equal those of the parser's
  entry-by-entry SymPy expression (same semantics: broadcasting, @, max(v), lists).
* Kinks: the engine's subgradient is the one gdcli's scalar path takes.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import sympy as sp

from gdcli.calculus import gradient, printable
from gdcli.engine import lower
from gdcli.engine.lowering import FUNCTIONS, UNARY_OPS
from gdcli.parse.expression import FUNCTION_NAMES, _functions, parse_loss

REL = 1e-12


def exact_float(expr: Any) -> float:
    return float(sp.N(expr, 40))


def rational(x: float) -> sp.Rational:
    return sp.Rational(Fraction(x))


def assert_close(ours: float, theirs: float, rel: float = REL) -> None:
    assert math.isclose(ours, theirs, rel_tol=rel, abs_tol=rel), (ours, theirs)


# ---------------------------------------------------------------------------
# the rules, one function at a time

DOMAIN = {
    "asin": (-0.9, 0.9),
    "acos": (-0.9, 0.9),
    "log": (0.2, 3.0),
    "ln": (0.2, 3.0),
    "sqrt": (0.2, 3.0),
    "tan": (-1.2, 1.2),
}


def test_the_engine_knows_the_parsers_functions_with_the_same_arities() -> None:
    parser = _functions()
    assert set(FUNCTION_NAMES) <= set(FUNCTIONS)
    for name, (lo, hi, _) in parser.items():
        assert FUNCTIONS[name] == (lo, hi), name
    assert set(FUNCTIONS) == set(parser)  # outer, softmax, logsumexp in both


@pytest.mark.parametrize("fn", sorted(UNARY_OPS))
def test_local_derivative_text_is_sympys(fn: str) -> None:
    """d f(u)/du as the engine writes it parses with gdcli's parser and is SymPy's
    derivative of the parser's f(u) (DiracDelta read as 0, as gdcli does)."""
    (edge,) = lower(f"{fn}(u)", {"u": ()}).edges
    assert edge.local is not None
    ours = parse_loss(edge.local).expr
    parsed = parse_loss(f"{fn}(u)")
    (symbol,) = parsed.symbols()
    theirs = printable(sp.diff(parsed.expr, symbol))
    assert ours.free_symbols <= {symbol}
    rng = np.random.default_rng(len(fn))
    lo, hi = DOMAIN.get(fn, (-2.0, 2.0))
    for point in rng.uniform(lo, hi, size=5):
        at = {symbol: rational(float(point))}
        assert_close(exact_float(ours.xreplace(at)), exact_float(theirs.xreplace(at)))
    assert sp.simplify(ours - theirs) == 0, (edge.local, theirs)


@pytest.mark.parametrize("fn", sorted(UNARY_OPS))
def test_function_and_its_slope_numbers_are_sympys(fn: str) -> None:
    graph = lower(f"{fn}(u)", {"u": ()})
    parsed = parse_loss(f"{fn}(u)")
    (symbol,) = parsed.symbols()
    slope = printable(sp.diff(parsed.expr, symbol))
    rng = np.random.default_rng(len(fn) + 1)
    lo, hi = DOMAIN.get(fn, (-2.0, 2.0))
    for point in [*rng.uniform(lo, hi, size=8), 0.5]:
        at = {symbol: rational(float(point))}
        value, grads = graph.value_and_grad({"u": point})
        assert_close(value, exact_float(parsed.expr.xreplace(at)))
        assert_close(grads["u"], exact_float(slope.xreplace(at)))


KINKS = [
    # text, point, slope (SymPy's convention: Heaviside(0) = 1/2, sign(0) = 0)
    ("max(0, w)", 0.0, 0.5),
    ("relu(w)", 0.0, 0.5),
    ("max(0, 4*w + 2)", -0.5, 2.0),
    ("abs(w)", 0.0, 0.0),
    ("sign(w)", 0.0, 0.0),
    ("Heaviside(w)", 0.0, 0.0),
    ("(w > 0)*w", 0.0, 0.0),
    ("max(w, 1 - w)", 0.5, 0.0),
    ("max(w, 2*w)", 0.0, 1.5),
    ("min(w, 2*w)", 0.0, 1.5),
    ("max(w, w)", 1.0, 1.0),
    ("max(w, 0, -w)", 0.0, 0.0),
]


@pytest.mark.parametrize(("text", "point", "slope"), KINKS)
def test_kinks_follow_gdcli_conventions(text: str, point: float, slope: float) -> None:
    graph = lower(text, {"w": ()})
    _, grads = graph.value_and_grad({"w": point})
    assert grads["w"] == slope
    loss = parse_loss(text)
    (symbol,) = loss.symbols()
    (exact,) = gradient(loss.expr, [symbol])
    assert exact_float(printable(exact).xreplace({symbol: rational(point)})) == slope
    # the formula says the same
    formula = graph.gradient_text("w")
    assert lower(formula, {"w": ()}, scalar=False).evaluate({"w": point}) == slope


def test_ties_in_max_of_a_vector_share_the_slope_as_sympy_does() -> None:
    """max(v): the winner takes the slope; k tied winners take (1/2)**(k-1) each,
    which is what d Max(v1, v2, ...) = prod Heaviside(v_i - v_j) gives."""
    for values in ([3.0, 1.0, 2.0], [3.0, 3.0, 1.0], [2.0, 2.0, 2.0], [1.0, 5.0, 5.0]):
        graph = lower("max(v) + min(v)", {"v": (3,)})
        _, grads = graph.value_and_grad({"v": np.array(values)})
        loss = parse_loss("max(v) + min(v)", {"v": (3,)})
        at = {s: rational(x) for s, x in zip(loss.symbols(), values, strict=True)}
        exact = [
            exact_float(printable(d).xreplace(at)) for d in gradient(loss.expr, loss.symbols())
        ]
        assert list(grads["v"]) == exact, values
        text = graph.gradient_text("v")
        formula = lower(text, {"v": (3,)}, scalar=False).evaluate({"v": np.array(values)})
        assert list(formula) == exact, (values, text)


# ---------------------------------------------------------------------------
# losses of scalar weights: SymPy's exact derivative

SCALAR_LOSSES = [
    "(w - 3)**2",
    "w**3 - 2*w**2 + w/7 - 1/w",
    "sin(w)*cos(b) + tan(w/3) + exp(-w**2) + log(w**2 + 1) + ln(1 + b**2)",
    "sqrt(w**2 + b**2) + atan(w*b) + asin(w/4) + acos(b/5) + sinh(w) + cosh(b)/2",
    "tanh(w*b) + sigmoid(3*w - b) + softplus(w - 2*b) + 2**w + w**b",
    "log(w**2 + 2, 3) + log(7, b**2 + 1) + log(w**2 + 1, b**2 + 2)",
    "max(w, b, 1 - w) - min(w**2, b) + abs(w - b) + relu(b - 0.1)",
    "(w*x + b - y)**2 + pi*w - e*b",
    "w**(1/3)*b**-2 + w**0.5 + (w + b)**(-1/2)",
    "dot([w, b], [3, -2]) + sum([w, b, w*b]**2)",
]


@pytest.mark.parametrize("text", SCALAR_LOSSES)
def test_scalar_weights_match_sympys_exact_derivative(text: str) -> None:
    inputs = {"x": (), "y": ()} if "x" in text else {}
    weights = {n: () for n in ("w", "b") if n in text}
    graph = lower(text, weights, inputs)
    constants = {"x": sp.Rational(3, 2), "y": sp.Rational(-1, 3)} if inputs else {}
    loss = parse_loss(text, {}, constants)
    symbols = {str(s): s for s in loss.symbols()}
    partials = dict(zip(symbols, gradient(loss.expr, list(symbols.values())), strict=True))
    rng = np.random.default_rng(len(text))
    for _ in range(5):
        point = {n: float(rng.uniform(0.6, 1.9)) for n in weights}
        values = {**point, **({"x": 1.5, "y": -1 / 3} if inputs else {})}
        value, grads = graph.value_and_grad(values)
        at = {symbols[n]: rational(v) for n, v in point.items()}
        assert_close(value, exact_float(loss.expr.xreplace(at)))
        for n in weights:
            assert_close(grads[n], exact_float(printable(partials[n]).xreplace(at)))


# ---------------------------------------------------------------------------
# small matrices: the parser's entry-by-entry expansion

MATRIX_LOSSES = [
    "sum((W @ x - y)**2)",
    "mean(tanh(W @ x)) + sum(transpose(W) @ y)",
    "max(W @ x) + min(x * W)",
    "sum(W * x) + sum(W * [[1], [2]]) + sum(W + [1, 2, 3])",
    "dot(y, W @ x) + dot(x, x)*sum(W)",
    "sum(max(W, 0.5)) + sum(min(W, x, 0.1))",
    "sum(abs(W - 1)) + sum(sign(W)*W**3)",
    "sum(sqrt(W*W + 1)) / sum(x**2)",
    "sum([[1, 2, 3], [4, 5, 6]] * W) + sum(log(W*W + 1, 2))",
    "sum(sigmoid(W @ x) + softplus(W @ x) + relu(W @ x - y))",
    "sum((W @ x > 0) * (W @ x)) + sum(Heaviside(W)*W)",
    "sum([x, 2*x] * W) + sum(transpose([y, y, y]) * W)",
    "sum(W @ transpose(W)) + sum(transpose(W) @ W @ x)",
    "sum(exp(-W**2) / (1 + x**2))",
]


@pytest.mark.parametrize("text", MATRIX_LOSSES)
def test_matrix_losses_match_the_parser(text: str) -> None:
    rng = np.random.default_rng(len(text))
    W = rng.normal(size=(2, 3))
    x = rng.normal(size=3)
    y = rng.normal(size=2)
    graph = lower(text, {"W": (2, 3)}, {"x": (3,), "y": (2,)})
    value, grads = graph.value_and_grad({"W": W, "x": x, "y": y})

    def exact_array(a: Any) -> Any:
        out = np.empty(a.shape, dtype=object)
        for idx, v in np.ndenumerate(a):
            out[idx] = rational(float(v))
        return out

    loss = parse_loss(text, {"W": (2, 3)}, {"x": exact_array(x), "y": exact_array(y)})
    symbols = loss.symbols()
    at = {s: rational(float(v)) for s, v in zip(symbols, W.flat, strict=True)}
    assert_close(value, exact_float(loss.expr.xreplace(at)))
    partials = gradient(loss.expr, symbols)
    expected = np.array([exact_float(printable(d).xreplace(at)) for d in partials])
    np.testing.assert_allclose(grads["W"].ravel(), expected, rtol=1e-11, atol=1e-12)
