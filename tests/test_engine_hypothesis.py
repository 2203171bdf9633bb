"""Random expressions (hypothesis).

* Any expression over the allowed syntax, with names of several shapes, lowers or
  raises a gdcli error, nothing else; when it lowers to a number, the gradient,
  the generated source (bit for bit) and the gradient formulas agree.
* Expressions of scalar weights: the engine's loss and gradient are those of the
  parser's SymPy expression.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdcli.calculus import gradient, printable
from gdcli.compile import verify as compiled
from gdcli.engine import evaluate, lower
from gdcli.errors import GdcliError, ShapeError
from gdcli.parse.expression import parse_loss

WEIGHTS = {"w": (), "v": (3,), "W": (2, 3)}
INPUTS = {"s": (), "x": (3,)}
NAMES = [*WEIGHTS, *INPUTS, "pi", "e"]
UNARY = (
    "sin cos tan asin acos atan sinh cosh tanh exp log ln sqrt abs sign Heaviside "
    "sigmoid relu softplus sum mean transpose softmax logsumexp"
).split()
BINARY = ["+", "-", "*", "/", "**", "@"]
NUMBERS = ["0", "1", "2", "3", "0.5", "1.5", "10", "1e-3"]


def expressions(
    names: list[str], functions: list[str], binary: list[str], arrays: bool = True
) -> Any:
    leaves = st.sampled_from(names + NUMBERS)
    if arrays:
        leaves |= st.sampled_from(["[1, 2, 3]", "[[1, 2, 3], [4, 5, 6]]"])

    def extend(inner: Any) -> Any:
        unary = st.tuples(st.sampled_from(["-", "+"]), inner).map(lambda t: f"{t[0]}{t[1]}")
        op = st.tuples(inner, st.sampled_from(binary), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        cmp = st.tuples(inner, st.sampled_from(["<", ">", "<=", ">="]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        call = st.tuples(st.sampled_from(functions), inner).map(lambda t: f"{t[0]}({t[1]})")
        pair = st.tuples(
            st.sampled_from(["max", "min", "log", "Heaviside", "dot", "outer"]), inner, inner
        ).map(lambda t: f"{t[0]}({t[1]}, {t[2]})")
        many = st.tuples(
            st.sampled_from(["max", "min"]), st.lists(inner, min_size=3, max_size=4)
        ).map(lambda t: f"{t[0]}({', '.join(t[1])})")
        listed = st.lists(inner, min_size=1, max_size=3).map(lambda t: f"[{', '.join(t)}]")
        if not arrays:  # numbers only, and no indicators (a jump at a rounding)
            pair = st.tuples(st.sampled_from(["max", "min", "log"]), inner, inner).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            )
            return unary | op | call | pair
        return unary | op | cmp | call | pair | many | listed

    return st.recursive(leaves, extend, max_leaves=8)


ANY = st.one_of(
    expressions(NAMES, UNARY, BINARY),
    expressions(NAMES, UNARY, BINARY).map(lambda t: f"sum({t})"),
    expressions(["w", "s", "pi", "x", "v"], UNARY, BINARY).map(lambda t: f"mean({t})"),
)
NOISE = st.sampled_from(["", " % 2", "[0]", ".T", " if w else 1", ", 1", "(", ")", "foo(w)"])


def point(rng: np.random.Generator, batched: bool) -> dict[str, Any]:
    values: dict[str, Any] = {n: rng.normal(size=s) for n, s in WEIGHTS.items()}
    for n, s in INPUTS.items():
        values[n] = rng.normal(size=(4, *s) if batched else s)
    return values


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ANY, noise=NOISE, batched=st.booleans(), seed=st.integers(0, 2**16))
def test_random_expressions_lower_or_raise_gdcli_errors(
    text: str, noise: str, batched: bool, seed: int
) -> None:
    source = text + noise
    try:
        graph = lower(source, WEIGHTS, INPUTS, batched=batched)
    except GdcliError:
        return
    values = point(np.random.default_rng(seed), batched)
    loss, grads = graph.value_and_grad(values)
    for name, shape in WEIGHTS.items():
        assert np.shape(grads[name]) == shape
    f = compiled.load(graph.source() + "\n", {"numpy": np})["value_and_grad"]
    compiled.verify(graph.source(), numpy=True)
    with np.errstate(all="ignore"):
        loss2, grads2 = f(*(values[n] for n in graph.arguments))
    assert np.array_equal(loss, float(loss2), equal_nan=True)
    for name, g2 in zip(WEIGHTS, grads2, strict=True):
        assert np.array_equal(grads[name], g2, equal_nan=True)
    for node in graph.nodes:  # every node's text parses back
        lower(node.text, WEIGHTS, INPUTS, batched=batched, scalar=False)
    record = graph.backward(values)  # the backprop records, their texts
    assert len(record.contributions) == len(graph.edges)
    finite = math.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads.values())
    for name, shape in WEIGHTS.items():
        try:
            formula = graph.gradient_text(name)
        except ShapeError:  # arrays of three axes have no matrix formula
            continue
        if not finite:
            continue
        try:
            with np.errstate(all="ignore"):
                value = np.asarray(evaluate(formula, values, WEIGHTS, INPUTS, batched=batched))
        except GdcliError as exc:  # pragma: no cover - shown on failure
            raise AssertionError(f"{formula!r} does not lower: {exc}") from exc
        if batched and value.shape == (4, *shape):
            value = value.mean(axis=0)
        assert value.shape == shape, formula
        if np.all(np.isfinite(value)) and np.max(np.abs(grads[name]), initial=0) < 1e8:
            scale = max(1.0, float(np.max(np.abs(grads[name]), initial=0)))
            assert np.max(np.abs(value - grads[name]), initial=0) <= 1e-7 * scale, formula


SCALAR_FUNCTIONS = "sin cos tan atan sinh cosh tanh exp abs sigmoid relu softplus".split()
SCALARS = expressions(["w", "b", "pi", "e"], SCALAR_FUNCTIONS, ["+", "-", "*", "/", "**"], False)
# Points where no two pieces of a max tie by accident (SymPy also simplifies
# max(b, min(b, w)) to b, whose slope differs from the engine's at w = b only).
WS = st.integers(-2000, 2000).filter(bool).map(lambda k: k * math.sqrt(2) / 1000)
BS = st.integers(-2000, 2000).filter(bool).map(lambda k: k * math.sqrt(3) / 1000)


def exact(expr: Any, at: dict[Any, Any]) -> complex:
    """SymPy's value, or nan where SymPy cannot compare (Max of nan) or evaluate."""
    try:
        return complex(sp.N(expr.xreplace(at), 30))
    except (ValueError, TypeError):
        return complex(math.nan)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=SCALARS, w=WS, b=BS)
def test_scalar_expressions_match_the_parser(text: str, w: float, b: float) -> None:
    """Where both are finite, the engine's numbers are those of SymPy's expression
    (max and min of two pieces only: SymPy merges pieces it can tell are equal, so
    three identical pieces tied count once there; see the test below)."""
    try:
        loss = parse_loss(text, {})
    except GdcliError:
        return
    except (ValueError, TypeError):  # the parser's own failures, e.g. max(w, log(pi, 1))
        return
    weights = dict.fromkeys(("w", "b"), ())
    graph = lower(text, weights)
    value, grads = graph.value_and_grad({"w": w, "b": b})
    symbols = {s.name: s for s in loss.symbols()}
    at = {s: sp.Rational(Fraction(w if n == "w" else b)) for n, s in symbols.items()}
    expected = exact(loss.expr, at)
    if math.isfinite(value) and abs(expected) < 1e8 and expected.imag == 0:
        assert math.isclose(value, expected.real, rel_tol=1e-9, abs_tol=1e-9), (value, expected)
    try:
        partials = dict(zip(symbols, gradient(loss.expr, list(symbols.values())), strict=True))
    except (ValueError, TypeError):  # SymPy refuses Heaviside of a complex value
        return
    for n in weights:
        got = grads[n]
        want = exact(printable(partials[n]), at) if n in partials else 0j
        if math.isfinite(got) and abs(want) < 1e8 and want.imag == 0 and math.isfinite(want.real):
            assert math.isclose(got, want.real, rel_tol=1e-8, abs_tol=1e-8), (n, got, want)


@pytest.mark.parametrize(
    ("text", "slope"),
    [("max(w, max(w, b))", 0.5), ("max(0, 0.0, w)", 0.5), ("min(w, min(b, w), w)", 0.5)],
)
def test_max_pieces_are_merged_as_sympy_merges_them(text: str, slope: float) -> None:
    """Nested max(...) flattened and repeated pieces once, as in SymPy's Max: at the
    tie w = b = 0 the slope is SymPy's."""
    assert lower(text, {"w": (), "b": ()}).value_and_grad({"w": 0.0, "b": 0.0})[1]["w"] == slope
    loss = parse_loss(text, {})
    w = next(s for s in loss.symbols() if s.name == "w")
    (d,) = gradient(loss.expr, [w])
    assert exact(printable(d), dict.fromkeys(loss.symbols(), 0)) == slope


def test_pieces_equal_only_in_value_are_not_merged() -> None:
    """The one difference left (documented): SymPy also merges pieces it can tell
    are equal (w, 1*w and w + 0 are all w: the slope is 1); the engine merges pieces
    of the same text, so three tied pieces share 3/4."""
    assert lower("max(w, 1*w, w + 0)", {"w": ()}).value_and_grad({"w": 1.0})[1]["w"] == 0.75
