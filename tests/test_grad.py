"""`gdcli grad` (and `descend` on matrix weights) against independent references.

Every expected gradient comes from a closed form written here with NumPy, from torch
autograd (skipped without torch) or from central differences of a NumPy loss; partials
are parsed back with SymPy and compared symbolically or as functions. Nothing is compared
with an earlier gdcli output.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import sympy as sp
from helpers import error_lines, json_output, strict_json

GRAD_KEYS = {"expression", "variables", "at", "loss", "gradient"}  # partials: at most 64 entries


# --- helpers -------------------------------------------------------------------------------------


def grad_json(run: Callable[..., Any], *args: str) -> dict[str, Any]:
    data = json_output(run(["grad", *args, "--format", "json"]))
    assert GRAD_KEYS <= set(data), data.keys()
    return data


def text(value: Any) -> str:
    """A NumPy array or number as gdcli option text, exact in float round-trip form."""
    return json.dumps(np.asarray(value, dtype=float).tolist()).replace(" ", "")


def shape_pattern(shape: tuple[int, ...]) -> str:
    """A shape as an error message may write it: 2x3, 2×3, (2, 3), [2, 3] or 3 / (3,)."""
    if len(shape) == 1:
        return rf"(?<![\d.x×])\(?{shape[0]},?\)?(?![\d.x×])"
    a, b = shape
    return rf"(?<![\d.])({a}\s*[x×]\s*{b}|[(\[]{a},\s*{b}[)\]])(?![\d.])"


def assert_shape_error(r: Any, *shapes: tuple[int, ...]) -> None:
    assert r.code == 2, (r.code, r.out, r.err)
    lines = error_lines(r.err)
    assert len(lines) == 1, r.err
    assert "Traceback" not in r.err
    other = [
        ln for ln in r.err.splitlines() if ln and not ln.startswith(("gdcli: error:", "hint:"))
    ]
    assert not other, r.err
    for shape in shapes:
        assert re.search(shape_pattern(shape), lines[0]), (shape, lines[0])
    assert r.out == ""


def central_difference(
    f: Callable[[dict[str, np.ndarray]], float], point: dict[str, np.ndarray], h: float = 1e-6
) -> dict[str, np.ndarray]:
    out = {}
    for name, value in point.items():
        value = np.asarray(value, dtype=float)
        g = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus = {k: np.array(v, dtype=float) for k, v in point.items()}
            minus = {k: np.array(v, dtype=float) for k, v in point.items()}
            plus[name][idx] += h
            minus[name][idx] -= h
            g[idx] = (f(plus) - f(minus)) / (2 * h)
        out[name] = g
    return out


def entry_symbol(name: str, shape: tuple[int, ...], idx: tuple[int, ...]) -> sp.Symbol:
    """The README's naming: W[i,j] is W_i_j, v[i] is v_i (1-based)."""
    if not shape:
        return sp.Symbol(name)
    return sp.Symbol(name + "_" + "_".join(str(i + 1) for i in idx))


def substitution(point: dict[str, np.ndarray]) -> dict[sp.Symbol, float]:
    out = {}
    for name, value in point.items():
        value = np.asarray(value, dtype=float)
        for idx in np.ndindex(value.shape):
            out[entry_symbol(name, value.shape, idx)] = float(value[idx])
    return out


def sigmoid(z: Any) -> Any:
    return 1 / (1 + np.exp(-z))


# --- the two-weight example of the README --------------------------------------------------------


def test_two_weights_gradient_and_partials(run):
    data = grad_json(run, "(x-1)**2 + 10*(y+2)**2", "--at", "x=0,y=0")
    assert data["gradient"] == {"x": -2.0, "y": 40.0}
    assert data["loss"] == 41.0
    assert sorted(data["variables"]) == ["x", "y"]
    x, y = sp.symbols("x y")
    assert sp.simplify(sp.sympify(data["partials"]["x"]) - (2 * x - 2)) == 0
    assert sp.simplify(sp.sympify(data["partials"]["y"]) - (20 * y + 40)) == 0


@pytest.mark.parametrize(
    ("x0", "y0"), [(0.5, -1.0), (3.0, 2.0), (-1.25, -2.0)], ids=["a", "b", "at-minimum-in-y"]
)
def test_two_weights_at_other_points(run, x0, y0):
    data = grad_json(run, "(x-1)**2 + 10*(y+2)**2", "--at", f"x={x0},y={y0}")
    assert data["gradient"]["x"] == pytest.approx(2 * (x0 - 1), rel=1e-12, abs=1e-12)
    assert data["gradient"]["y"] == pytest.approx(20 * (y0 + 2), rel=1e-12, abs=1e-12)
    assert data["loss"] == pytest.approx((x0 - 1) ** 2 + 10 * (y0 + 2) ** 2, rel=1e-12)


def test_exact_point_values(run):
    """--at values are exact: at x = 1/3, y = -2/3 the gradient is (-4/3, 80/3), rounded once."""
    data = grad_json(run, "(x-1)**2 + 10*(y+2)**2", "--at", "x=1/3,y=-2/3")
    assert math.isclose(data["gradient"]["x"], -4 / 3, rel_tol=1e-15)
    assert math.isclose(data["gradient"]["y"], 80 / 3, rel_tol=1e-15)


def test_two_weights_csv(run):
    r = run(["grad", "(x-1)**2 + 10*(y+2)**2", "--at", "x=0,y=0", "--format", "csv"])
    assert r.code == 0, r.err
    rows = list(csv.reader(io.StringIO(r.out)))
    assert rows[0] == ["variable", "partial", "value"]
    assert all(len(row) == 3 for row in rows)
    body = {row[0]: row for row in rows[1:]}
    assert set(body) == {"x", "y"}
    assert float(body["x"][2]) == -2.0 and float(body["y"][2]) == 40.0
    x, y = sp.symbols("x y")
    assert sp.simplify(sp.sympify(body["x"][1]) - (2 * x - 2)) == 0
    assert sp.simplify(sp.sympify(body["y"][1]) - (20 * y + 40)) == 0


def test_two_weights_quiet(run):
    r = run(["grad", "(x-1)**2 + 10*(y+2)**2", "--at", "x=0,y=0", "--quiet"])
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == 1
    assert [float(v) for v in lines[0].split()] == [-2.0, 40.0]


# --- vector and matrix losses: closed forms, torch, central differences -------------------------


@dataclass
class Case:
    """A loss written three times: gdcli text, NumPy (loss, closed-form gradient) and torch."""

    id: str
    text: str
    weights: dict[str, np.ndarray]
    consts: dict[str, Any]
    loss: Callable[..., float]  # NumPy: (**weights, **consts) -> float
    closed: Callable[..., dict[str, np.ndarray]]  # NumPy closed form of the gradient
    torch_loss: Callable[..., Any]  # (torch, **weights, **consts) -> tensor
    extra: list[str] = field(default_factory=list)


RNG = np.random.default_rng(20240611)
W23 = np.round(RNG.normal(size=(2, 3)), 6)
X3 = np.array([1.0, -2.0, 0.5])
Y2 = np.array([0.3, -1.0])
V3 = np.round(RNG.normal(size=3), 6)
B2 = np.array([0.25, -0.75])
SIGNS = np.array([1.0, -1.0])


def _sq(W, x, y):
    return float(np.sum((W @ x - y) ** 2))


CASES = [
    Case(
        "squared-error",
        "sum((W @ x - y)**2)",
        {"W": W23},
        {"x": X3, "y": Y2},
        lambda W, x, y: _sq(W, x, y),
        lambda W, x, y: {"W": 2 * np.outer(W @ x - y, x)},
        lambda t, W, x, y: ((W @ x - y) ** 2).sum(),
    ),
    Case(
        "mean-squared-error",
        "mean((W @ x - y)**2)",
        {"W": W23},
        {"x": X3, "y": Y2},
        lambda W, x, y: float(np.mean((W @ x - y) ** 2)),
        lambda W, x, y: {"W": 2 * np.outer(W @ x - y, x) / len(y)},
        lambda t, W, x, y: ((W @ x - y) ** 2).mean(),
    ),
    Case(
        "tanh-layer",
        "sum((tanh(W @ x) - y)**2)",
        {"W": W23},
        {"x": X3, "y": Y2},
        lambda W, x, y: float(np.sum((np.tanh(W @ x) - y) ** 2)),
        lambda W, x, y: {"W": np.outer(2 * (np.tanh(W @ x) - y) * (1 - np.tanh(W @ x) ** 2), x)},
        lambda t, W, x, y: ((t.tanh(W @ x) - y) ** 2).sum(),
    ),
    Case(
        # d/dW of log(1 + exp(-y z)), z = W x: -y sigmoid(-y z) x^T, by hand
        "logistic-matrix",
        "sum(log(1 + exp(-y * (W @ x))))",
        {"W": W23},
        {"x": X3, "y": SIGNS},
        lambda W, x, y: float(np.sum(np.log1p(np.exp(-y * (W @ x))))),
        lambda W, x, y: {"W": np.outer(-y * sigmoid(-y * (W @ x)), x)},
        lambda t, W, x, y: t.log(1 + t.exp(-y * (W @ x))).sum(),
    ),
    Case(
        "logistic-vector",
        "log(1 + exp(-y * dot(v, x)))",
        {"v": V3},
        {"x": X3, "y": -1.0},
        lambda v, x, y: float(np.log1p(np.exp(-y * np.dot(v, x)))),
        lambda v, x, y: {"v": -y * sigmoid(-y * np.dot(v, x)) * x},
        lambda t, v, x, y: t.log(1 + t.exp(-y * t.dot(v, x))),
    ),
    Case(
        "logistic-vector-sum",
        "sum(log(1 + exp(-y * (v @ x))))",
        {"v": V3},
        {"x": X3, "y": 1.0},
        lambda v, x, y: float(np.log1p(np.exp(-y * (v @ x)))),
        lambda v, x, y: {"v": -y * sigmoid(-y * (v @ x)) * x},
        lambda t, v, x, y: t.log(1 + t.exp(-y * (v @ x))).sum(),
    ),
    Case(
        "bias-vector",
        "sum((W @ x + b - y)**2)",
        {"W": W23, "b": B2},
        {"x": X3, "y": Y2},
        lambda W, b, x, y: float(np.sum((W @ x + b - y) ** 2)),
        lambda W, b, x, y: {
            "W": 2 * np.outer(W @ x + b - y, x),
            "b": 2 * (W @ x + b - y),
        },
        lambda t, W, b, x, y: ((W @ x + b - y) ** 2).sum(),
    ),
    Case(
        "tanh-layer-with-bias",
        "mean((tanh(W @ x + b) - y)**2)",
        {"W": W23, "b": B2},
        {"x": X3, "y": Y2},
        lambda W, b, x, y: float(np.mean((np.tanh(W @ x + b) - y) ** 2)),
        lambda W, b, x, y: {
            "W": np.outer((np.tanh(W @ x + b) - y) * (1 - np.tanh(W @ x + b) ** 2), x),
            "b": (np.tanh(W @ x + b) - y) * (1 - np.tanh(W @ x + b) ** 2),
        },
        lambda t, W, b, x, y: ((t.tanh(W @ x + b) - y) ** 2).mean(),
    ),
    Case(
        "dot",
        "dot(v, x)",
        {"v": V3},
        {"x": X3},
        lambda v, x: float(np.dot(v, x)),
        lambda v, x: {"v": x.copy()},
        lambda t, v, x: t.dot(v, x),
    ),
    Case(
        "transpose",
        "sum((transpose(W) @ y - x)**2)",
        {"W": W23},
        {"x": X3, "y": Y2},
        lambda W, x, y: float(np.sum((W.T @ y - x) ** 2)),
        lambda W, x, y: {"W": 2 * np.outer(y, W.T @ y - x)},
        lambda t, W, x, y: ((W.T @ y - x) ** 2).sum(),
    ),
    Case(
        "transpose-linear",
        "sum(transpose(W) @ y)",
        {"W": W23},
        {"y": Y2},
        lambda W, y: float(np.sum(W.T @ y)),
        lambda W, y: {"W": np.outer(y, np.ones(W.shape[1]))},
        lambda t, W, y: (W.T @ y).sum(),
    ),
    Case(
        "vector-weight-mse",
        "mean((v * x - 1)**2)",
        {"v": V3},
        {"x": X3},
        lambda v, x: float(np.mean((v * x - 1) ** 2)),
        lambda v, x: {"v": 2 * (v * x - 1) * x / len(x)},
        lambda t, v, x: ((v * x - 1) ** 2).mean(),
    ),
]


def case_args(case: Case, point: dict[str, np.ndarray] | None = None) -> list[str]:
    point = case.weights if point is None else point
    args = [case.text, "--at", ",".join(f"{k}={text(v)}" for k, v in point.items())]
    for k, v in case.consts.items():
        args += ["--set", f"{k}={text(v)}"]
    return args + case.extra


def assert_close_arrays(got: Any, expected: Any, tol: float = 1e-9) -> None:
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert np.allclose(got, expected, rtol=tol, atol=tol), (got, expected)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gradient_matches_closed_form(run, case):
    data = grad_json(run, *case_args(case))
    expected = case.closed(**case.weights, **case.consts)
    assert set(data["gradient"]) == set(case.weights)
    for name, value in case.weights.items():
        assert np.asarray(data["gradient"][name]).shape == value.shape  # nested lists
        assert np.asarray(data["at"][name]).shape == value.shape
        assert_close_arrays(data["gradient"][name], expected[name])
        assert_close_arrays(data["at"][name], value, 0)
    assert math.isclose(data["loss"], case.loss(**case.weights, **case.consts), rel_tol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gradient_matches_central_differences(run, case):
    data = grad_json(run, *case_args(case))

    def f(point: dict[str, np.ndarray]) -> float:
        return case.loss(**point, **case.consts)

    numeric = central_difference(f, case.weights)
    for name in case.weights:
        assert_close_arrays(data["gradient"][name], numeric[name], 1e-6)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gradient_matches_torch_autograd(run, case):
    torch = pytest.importorskip("torch")
    data = grad_json(run, *case_args(case))
    params = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in case.weights.items()
    }
    consts = {
        k: torch.tensor(v, dtype=torch.float64) if np.ndim(v) else float(v)
        for k, v in case.consts.items()
    }
    loss = case.torch_loss(torch, **params, **consts)
    loss.backward()
    for name, p in params.items():
        assert_close_arrays(data["gradient"][name], p.grad.numpy())
    assert math.isclose(data["loss"], loss.item(), rel_tol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_partials_parse_back_and_are_the_gradient_function(run, case):
    """Each partial is SymPy text in the W_i_j symbols, with W's shape; evaluated at a
    second point it gives the closed-form gradient there too."""
    data = grad_json(run, *case_args(case))
    other = {
        k: v + 0.125 * (np.arange(v.size).reshape(v.shape) % 3 - 1) for k, v in case.weights.items()
    }
    expected_here = case.closed(**case.weights, **case.consts)
    expected_there = case.closed(**other, **case.consts)
    here, there = substitution(case.weights), substitution(other)
    for name, value in case.weights.items():
        partials = np.array(data["partials"][name], dtype=object)
        assert partials.shape == value.shape
        for idx in np.ndindex(value.shape):
            expr = sp.sympify(partials[idx])
            assert expr.free_symbols <= set(here), expr.free_symbols
            assert float(expr.subs(here)) == pytest.approx(
                expected_here[name][idx], rel=1e-9, abs=1e-12
            )
            assert float(expr.subs(there)) == pytest.approx(
                expected_there[name][idx], rel=1e-9, abs=1e-12
            )


def test_squared_error_partials_symbolically(run):
    """For the squared error the partials equal SymPy's own derivative of the same loss
    written with a SymPy matrix of symbols W_i_j."""
    data = grad_json(run, *case_args(CASES[0]))
    W = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"W_{i + 1}_{j + 1}"))
    x = sp.Matrix([sp.nsimplify(v) for v in X3])
    y = sp.Matrix([sp.nsimplify(v) for v in Y2])
    loss = sum(e**2 for e in (W * x - y))
    for i in range(2):
        for j in range(3):
            got = sp.sympify(data["partials"]["W"][i][j], rational=True)
            assert sp.simplify(got - sp.diff(loss, W[i, j])) == 0


def test_scalar_broadcast_with_shape(run):
    """--at W=0 --shape W=2x3: a 2x3 zero matrix; gradient -2 y x^T."""
    data = grad_json(
        run,
        "sum((W @ x - y)**2)",
        "--at",
        "W=0",
        "--shape",
        "W=2x3",
        "--set",
        f"x={text(X3)}",
        "--set",
        f"y={text(Y2)}",
    )
    assert data["at"]["W"] == [[0.0] * 3, [0.0] * 3]
    assert_close_arrays(data["gradient"]["W"], 2 * np.outer(-Y2, X3))
    assert math.isclose(data["loss"], float(Y2 @ Y2), rel_tol=1e-12)


def test_scalar_broadcast_nonzero_and_vector_shape(run):
    data = grad_json(
        run, "sum((W @ x + b)**2)", "--at", "W=0.5,b=-1", "--shape", "W=2x3", "--shape", "b=2",
        "--set", f"x={text(X3)}",
    )  # fmt: skip
    W = np.full((2, 3), 0.5)
    b = np.full(2, -1.0)
    r = W @ X3 + b
    assert_close_arrays(data["gradient"]["W"], 2 * np.outer(r, X3))
    assert_close_arrays(data["gradient"]["b"], 2 * r)
    assert np.asarray(data["gradient"]["b"]).shape == (2,)


def test_large_matrix_uses_same_closed_form(run):
    """More than 64 entries (a faster evaluation path): still 2 (Wx - y) x^T, shape 9x10."""
    rng = np.random.default_rng(7)
    W, x, y = rng.normal(size=(9, 10)), rng.normal(size=10), rng.normal(size=9)
    data = grad_json(
        run, "sum((W @ x - y)**2)", "--at", f"W={text(W)}", "--set", f"x={text(x)}",
        "--set", f"y={text(y)}",
    )  # fmt: skip
    assert np.asarray(data["gradient"]["W"]).shape == (9, 10)
    assert_close_arrays(data["gradient"]["W"], 2 * np.outer(W @ x - y, x))
    assert math.isclose(data["loss"], _sq(W, x, y), rel_tol=1e-12)
    # 90 entries: no partials one by one, the matrix form instead
    assert "partials" not in data and data["formula"] == {"W": "2*outer(W @ x - y, x)"}


def test_matrix_times_matrix(run):
    A = np.array([[1.0, -0.5, 2.0], [0.25, 1.5, -1.0]])
    B = np.array([[0.5, 1.0], [-1.0, 0.75], [2.0, -0.25]])
    data = grad_json(run, "sum((A @ B)**2)", "--at", f"A={text(A)}", "--set", f"B={text(B)}")
    assert_close_arrays(data["gradient"]["A"], 2 * (A @ B) @ B.T)


def test_matrix_csv_names_entries_row_major(run):
    case = CASES[0]
    r = run(["grad", *case_args(case), "--format", "csv"])
    assert r.code == 0, r.err
    rows = list(csv.reader(io.StringIO(r.out)))
    assert rows[0] == ["variable", "partial", "value"]
    assert all(len(row) == 3 for row in rows), rows
    assert [row[0] for row in rows[1:]] == [f"W[{i},{j}]" for i in (1, 2) for j in (1, 2, 3)]
    expected = case.closed(**case.weights, **case.consts)["W"].ravel()
    assert np.allclose([float(row[2]) for row in rows[1:]], expected, rtol=1e-9, atol=1e-12)
    point = substitution(case.weights)
    for row, e in zip(rows[1:], expected, strict=True):
        assert float(sp.sympify(row[1]).subs(point)) == pytest.approx(e, rel=1e-9, abs=1e-12)


def test_vector_csv_names_entries(run):
    case = next(c for c in CASES if c.id == "dot")
    r = run(["grad", *case_args(case), "--format", "csv"])
    assert r.code == 0, r.err
    rows = list(csv.reader(io.StringIO(r.out)))
    assert rows[0] == ["variable", "partial", "value"]
    assert [row[0] for row in rows[1:]] == ["v[1]", "v[2]", "v[3]"]
    assert [float(row[2]) for row in rows[1:]] == pytest.approx(list(X3), rel=1e-15)


@pytest.mark.parametrize("case", [CASES[0], CASES[3]], ids=["squared-error", "logistic"])
def test_matrix_quiet_prints_entries_on_one_line(run, case):
    r = run(["grad", *case_args(case), "--quiet"])
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == 1, r.out
    values = [float(v) for v in lines[0].split()]
    expected = case.closed(**case.weights, **case.consts)["W"].ravel()
    assert np.allclose(values, expected, rtol=1e-9, atol=1e-12)


def test_plain_has_header_and_no_escapes(run):
    r = run(["grad", *case_args(CASES[0]), "--format", "plain"])
    assert r.code == 0, r.err
    assert "\x1b" not in r.out
    lines = r.out.splitlines()
    assert lines[0].split("\t") == ["variable", "partial", "value"]
    assert lines[1].split("\t")[0] == "W[1,1]"


# --- shapes that do not fit: exit 2, one line naming both shapes ---------------------------------


def test_matmul_inner_sizes_mismatch(run):
    r = run(["grad", "sum((W @ x)**2)", "--at", "W=0", "--shape", "W=2x2", "--set", "x=[1,2,3]"])
    assert_shape_error(r, (2, 2), (3,))


def test_value_shape_disagrees_with_declared_shape(run):
    r = run(
        ["grad", "sum((W @ x)**2)", "--at", "W=[[1,2,3]]", "--shape", "W=2x2", "--set", "x=[1,2]"]
    )
    assert_shape_error(r, (1, 3), (2, 2))


def test_elementwise_lengths_mismatch(run):
    r = run(["grad", "sum((v + x)**2)", "--at", "v=[1,2]", "--set", "x=[1,2,3]"])
    assert_shape_error(r, (2,), (3,))


def test_elementwise_mismatch_with_broadcast_scalar(run):
    r = run(["grad", "sum(v * x)", "--at", "v=0", "--shape", "v=2", "--set", "x=[1,2,3]"])
    assert_shape_error(r, (2,), (3,))


def test_dot_lengths_mismatch(run):
    r = run(["grad", "dot(v, x)", "--at", "v=[1,1]", "--set", "x=[1,2,3]"])
    assert_shape_error(r, (2,), (3,))


def test_matrix_value_mismatch_with_vector(run):
    r = run(["grad", "sum(W @ x)", "--at", "W=[[1,2],[3,4]]", "--set", "x=[1,2,3]"])
    assert_shape_error(r, (2, 2), (3,))


def test_ragged_matrix_is_bad_input(run):
    r = run(["grad", "sum(W)", "--at", "W=[[1,2],[3]]"])
    assert r.code == 2
    assert len(error_lines(r.err)) == 1 and "Traceback" not in r.err


def test_undefined_gradient_is_numerical_failure(run):
    r = run(["grad", "sum(log(v))", "--at", "v=[1,-1]"])
    assert r.code == 3, (r.code, r.err)
    assert len(error_lines(r.err)) == 1 and "Traceback" not in r.err


# --- descend on a matrix weight: a hand-written loop and torch.optim.SGD -------------------------

DESCEND_ARGS = [
    "descend",
    "sum((W @ x - y)**2)",
    "--set",
    f"x={text(X3)}",
    "--set",
    f"y={text(Y2)}",
    "--start",
    "W=0",
    "--shape",
    "W=2x3",
    "--steps",
    "15",
]


def numpy_sgd(lr: float, steps: int, momentum: float = 0.0, nesterov: bool = False) -> list[Any]:
    """torch.optim.SGD's documented rule, by hand, on l(W) = |W x - y|^2 from W = 0."""
    W = np.zeros((2, 3))
    buf = None
    out = []
    for _ in range(steps + 1):
        g = 2 * np.outer(W @ X3 - Y2, X3)
        out.append((W.copy(), _sq(W, X3, Y2), g))
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + g
            g = g + momentum * buf if nesterov else buf
        W = W - lr * g
    return out


@pytest.mark.parametrize(
    ("flags", "momentum", "nesterov"),
    [
        ([], 0.0, False),
        (["--momentum", "0.9"], 0.9, False),
        (["--momentum", "0.5", "--nesterov"], 0.5, True),
    ],
    ids=["sgd", "momentum", "nesterov"],
)
def test_descend_matrix_matches_hand_loop(run, flags, momentum, nesterov):
    r = run([*DESCEND_ARGS, "--lr", "0.02", *flags, "--format", "json"])
    assert r.code == 0, r.err
    data = strict_json(r.out)
    expected = numpy_sgd(0.02, 15, momentum, nesterov)
    assert len(data["steps"]) == 16
    for record, (W, loss, g) in zip(data["steps"], expected, strict=True):
        assert np.asarray(record["params"]["W"]).shape == (2, 3)
        assert np.asarray(record["grad"]["W"]).shape == (2, 3)
        assert np.allclose(record["params"]["W"], W, rtol=1e-12, atol=1e-14)
        assert np.allclose(record["grad"]["W"], g, rtol=1e-11, atol=1e-13)
        assert math.isclose(record["loss"], loss, rel_tol=1e-11, abs_tol=1e-15)


@pytest.mark.parametrize(
    ("flags", "kwargs"),
    [
        ([], {}),
        (["--momentum", "0.9"], {"momentum": 0.9}),
        (["--momentum", "0.9", "--dampening", "0.1"], {"momentum": 0.9, "dampening": 0.1}),
    ],
    ids=["sgd", "momentum", "dampening"],
)
def test_descend_matrix_matches_torch_sgd(run, flags, kwargs):
    torch = pytest.importorskip("torch")
    r = run([*DESCEND_ARGS, "--lr", "0.02", *flags, "--format", "json"])
    assert r.code == 0, r.err
    data = strict_json(r.out)
    W = torch.zeros((2, 3), dtype=torch.float64, requires_grad=True)
    x, y = torch.tensor(X3), torch.tensor(Y2)
    opt = torch.optim.SGD([W], lr=0.02, foreach=False, **kwargs)
    for record in data["steps"]:
        opt.zero_grad()
        loss = ((W @ x - y) ** 2).sum()
        loss.backward()
        assert np.allclose(record["params"]["W"], W.detach().numpy(), rtol=1e-12, atol=1e-14)
        assert np.allclose(record["grad"]["W"], W.grad.numpy(), rtol=1e-11, atol=1e-13)
        assert math.isclose(record["loss"], loss.item(), rel_tol=1e-11, abs_tol=1e-15)
        opt.step()
    final = data["final"]
    assert np.allclose(final["params"]["W"], data["steps"][-1]["params"]["W"], rtol=0, atol=0)


def test_descend_matrix_csv_names_every_entry(run):
    r = run([*DESCEND_ARGS, "--lr", "0.02", "--format", "csv"])
    assert r.code == 0, r.err
    rows = list(csv.reader(io.StringIO(r.out)))
    entries = [f"W[{i},{j}]" for i in (1, 2) for j in (1, 2, 3)]
    assert rows[0] == [
        "step", *entries, "loss", *(f"grad_{e}" for e in entries), *(f"update_{e}" for e in entries)
    ]  # fmt: skip
    assert all(len(row) == len(rows[0]) for row in rows)
    expected = numpy_sgd(0.02, 15)
    assert len(rows) == 1 + len(expected)
    for k, (row, (W, loss, g)) in enumerate(zip(rows[1:], expected, strict=True)):
        values = [float(v) for v in row[:14]]
        assert np.allclose(values[1:7], W.ravel(), rtol=1e-12, atol=1e-14)
        assert math.isclose(values[7], loss, rel_tol=1e-11, abs_tol=1e-15)
        assert np.allclose(values[8:14], g.ravel(), rtol=1e-11, atol=1e-13)
        if k + 1 < len(expected):  # the next update: -lr * the gradient
            assert np.allclose([float(v) for v in row[14:]], -0.02 * g.ravel(), rtol=1e-9)


def test_descend_matrix_explicit_start(run):
    W0 = np.array([[0.5, -0.25, 0.0], [1.0, 0.125, -0.5]])
    r = run(
        ["descend", "sum((W @ x - y)**2)", "--set", f"x={text(X3)}", "--set", f"y={text(Y2)}",
         "--start", f"W={text(W0)}", "--lr", "0.01", "--steps", "5", "--format", "json"]
    )  # fmt: skip
    assert r.code == 0, r.err
    data = strict_json(r.out)
    W = W0.copy()
    for record in data["steps"]:
        assert np.allclose(record["params"]["W"], W, rtol=1e-12, atol=1e-14)
        W = W - 0.01 * 2 * np.outer(W @ X3 - Y2, X3)


@pytest.mark.parametrize(
    ("flags", "cls", "kwargs"),
    [
        (["--optimizer", "adam"], "Adam", {}),
        (["--optimizer", "adamw", "--weight-decay", "0.05"], "AdamW", {"weight_decay": 0.05}),
        (
            ["--optimizer", "rmsprop", "--centered", "--momentum", "0.5"],
            "RMSprop",
            {"centered": True, "momentum": 0.5},
        ),
        (["--optimizer", "adagrad"], "Adagrad", {}),
    ],
    ids=["adam", "adamw", "rmsprop", "adagrad"],
)
def test_descend_tanh_layer_matches_torch_optimizers(run, flags, cls, kwargs):
    torch = pytest.importorskip("torch")
    W0 = np.array([[0.1, 0.2, -0.3], [0.5, 0.0, 0.1]])
    r = run(
        ["descend", "sum((tanh(W @ x) - y)**2)", "--set", f"x={text(X3)}", "--set", f"y={text(Y2)}",
         "--start", f"W={text(W0)}", "--lr", "0.05", "--steps", "30", *flags, "--format", "json"]
    )  # fmt: skip
    assert r.code == 0, r.err
    data = strict_json(r.out)
    W = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    x, y = torch.tensor(X3), torch.tensor(Y2)
    opt = getattr(torch.optim, cls)([W], lr=0.05, foreach=False, **kwargs)
    for record in data["steps"]:
        opt.zero_grad()
        loss = ((torch.tanh(W @ x) - y) ** 2).sum()
        loss.backward()
        assert np.allclose(record["params"]["W"], W.detach().numpy(), rtol=1e-12, atol=1e-14)
        assert np.allclose(record["grad"]["W"], W.grad.numpy(), rtol=1e-10, atol=1e-13)
        opt.step()
