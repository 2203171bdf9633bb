"""Every expression gdcli prints parses back (issue 13, item 9).

The derivatives of `derive` and `check`, the partials and matrix formulas of `grad`,
the local derivatives and rules of `backprop` and the expressions in the notes are
read back by gdcli's own parser (and, for derivatives and partials, by SymPy's
`sympify`, the JSON contract), and the expression read back has the value of SymPy's
own derivative of the loss (written here in SymPy, independently of gdcli) at points
away from the kinks. The LaTeX uses the course's notation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import sympy as sp
from helpers import json_output, strict_json

from gdcli.engine import lower
from gdcli.latex import latex
from gdcli.parse.expression import parse_loss
from gdcli.parse.printing import gdcli_text

w = sp.Symbol("w", real=True)
x, y = sp.symbols("x y", real=True)

# the loss as gdcli reads it, the same loss written in SymPy, and the points where the
# two derivatives are compared (away from kinks, inside the domain)
POINTS = ["-2.3", "-0.7", "0.4", "1.3", "2.9"]
POSITIVE = ["0.4", "1.3", "2.9", "0.15"]
LOSSES: list[tuple[str, Any, list[str]]] = [
    ("(w - 3)**2", (w - 3) ** 2, POINTS),
    ("w**3 - 2*w", w**3 - 2 * w, POINTS),
    ("sin(w)*cos(w)", sp.sin(w) * sp.cos(w), POINTS),
    ("exp(-w**2)", sp.exp(-(w**2)), POINTS),
    ("log(1 + w**2)", sp.log(1 + w**2), POINTS),
    ("sqrt(w**2 + 1)", sp.sqrt(w**2 + 1), POINTS),
    ("tanh(w)", sp.tanh(w), POINTS),
    ("sigmoid(w)", 1 / (1 + sp.exp(-w)), POINTS),
    ("softplus(w)", sp.log(1 + sp.exp(w)), POINTS),
    ("relu(w)**2", sp.Max(0, w) ** 2, POINTS),
    ("max(0, 2*w)", sp.Max(0, 2 * w), POINTS),
    ("max(0, 3*w+2)", sp.Max(0, 3 * w + 2), POINTS),
    ("abs(w)**3", sp.Abs(w) ** 3, POINTS),
    ("min(w, 1)**2", sp.Min(w, 1) ** 2, POINTS),
    ("(w > 0)*w**2", sp.Piecewise((w**2, w > 0), (0, True)), POINTS),
    ("(w >= 1)*w", sp.Piecewise((w, w >= 1), (0, True)), POINTS),
    ("(3*w + 2 > 0)*w**2", sp.Piecewise((w**2, 3 * w + 2 > 0), (0, True)), POINTS),
    ("Heaviside(w - 1)*w**2", sp.Heaviside(w - 1) * w**2, POINTS),
    ("sign(w)*w**2", sp.sign(w) * w**2, POINTS),
    ("atan(w)", sp.atan(w), POINTS),
    ("asin(w/3)", sp.asin(w / 3), POINTS),
    ("acos(w/3)", sp.acos(w / 3), POINTS),
    ("cosh(w) + sinh(w)", sp.cosh(w) + sp.sinh(w), POINTS),
    ("tan(pi/2 - w)", 1 / sp.tan(w), ["-0.7", "0.4", "1.3", "2.9"]),
    ("e*w", sp.E * w, POINTS),
    ("e^w", sp.exp(w), POINTS),
    ("ln(w)", sp.log(w), POSITIVE),
    ("log(w, 2)", sp.log(w) / sp.log(2), POSITIVE),
    ("w**w", w**w, POSITIVE),
    ("abs(log(w))", sp.Abs(sp.log(w)), POSITIVE),
    ("sin(abs(log(w)))", sp.sin(sp.Abs(sp.log(w))), POSITIVE),
    ("sin(abs(w - 1))", sp.sin(sp.Abs(w - 1)), POINTS),
    ("max(w, w**2, 1)", sp.Max(w, w**2, 1), POINTS),
    ("1/(1 + abs(w))", 1 / (1 + sp.Abs(w)), POINTS),
    ("exp(relu(w))", sp.exp(sp.Max(0, w)), POINTS),
    ("relu(relu(w) - 1)", sp.Max(0, sp.Max(0, w) - 1), POINTS),
    ("sin(sign(w))*w", sp.sin(sp.sign(w)) * w, POINTS),
    ("exp((w > 0)*w)", sp.exp(sp.Piecewise((w, w > 0), (0, True))), POINTS),
    ("sqrt(max(0, w))", sp.sqrt(sp.Max(0, w)), POSITIVE),
    ("max(0, w)**w", sp.Max(0, w) ** w, POSITIVE),
]


def value(expr: Any, at: str, symbol: Any = w) -> float:
    """expr at the point, to 30 digits (a DiracDelta away from 0 is 0)."""
    exact = expr.subs(symbol, sp.Rational(at)).doit()
    return float(sp.N(exact, 30))


def reference(loss: Any, at: str) -> float:
    return value(sp.diff(loss, w), at)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize(("text", "loss", "points"), LOSSES, ids=[t for t, _, _ in LOSSES])
def test_derive_derivative_parses_back_to_sympys_derivative(run, text, loss, points):
    data = json_output(run(["derive", text, "--at", points[0], "-f", "json"]))
    printed = data["derivative"]
    ours = parse_loss(printed).expr  # gdcli reads it back
    theirs = sp.sympify(printed, locals={"w": w})  # and so does SymPy
    for at in points:
        expected = reference(loss, at)
        assert close(value(ours, at), expected), (printed, at)
        assert close(value(theirs, at), expected), (printed, at)


@pytest.mark.parametrize(
    ("text", "loss", "points"), LOSSES[::3], ids=[t for t, _, _ in LOSSES[::3]]
)
def test_check_derivative_parses_back_and_is_accepted_as_the_answer(run, text, loss, points):
    """The derivative check prints is itself a right answer for check."""
    data = json_output(run(["check", text, "0", "-f", "json"]), code=1)
    printed = data["derivative"]
    for at in points:
        assert close(value(parse_loss(printed).expr, at), reference(loss, at)), printed
    r = run(["check", text, printed, "-q"])
    assert (r.code, r.out) == (0, "correct\n"), (printed, r.err)


def test_a_wrong_answers_derivative_parses_back(run):
    """check's derivative (JSON) is gdcli's text, and it gives the counterexample's
    expected value when read back."""
    r = run(["check", "max(0, w)**2", "w", "-f", "json"])
    assert r.code == 1
    data = strict_json(r.out)
    printed = data["derivative"]
    assert printed == "2*Heaviside(w)*Max(0, w)"
    ce = data["counterexample"]
    at = str(ce["point"]["w"])
    assert close(value(parse_loss(printed).expr, at), ce["expected"])
    assert f"dl/dw is {ce['expected_text']}" in data["reason"]


SEVERAL = [
    ("(x-1)**2 + 10*(y+2)**2", (x - 1) ** 2 + 10 * (y + 2) ** 2),
    ("max(0, x*y - 1) + abs(x - y)", sp.Max(0, x * y - 1) + sp.Abs(x - y)),
    ("(x*y > 0)*x**2 + e*y", sp.Piecewise((x**2, x * y > 0), (0, True)) + sp.E * y),
    ("relu(x)**2*sigmoid(y)", sp.Max(0, x) ** 2 / (1 + sp.exp(-y))),
]


@pytest.mark.parametrize(("text", "loss"), SEVERAL, ids=[t for t, _ in SEVERAL])
def test_grad_partials_parse_back(run, text, loss):
    data = json_output(run(["grad", text, "--at", "x=1.5,y=-0.5", "-f", "json"]))
    for name, symbol in (("x", x), ("y", y)):
        printed = data["partials"][name]
        back = parse_loss(printed).expr
        for point in ((1.5, -0.5), (-0.7, 2.3), (0.3, 0.9)):
            at = {x: sp.Rational(str(point[0])), y: sp.Rational(str(point[1]))}
            expected = float(sp.N(sp.diff(loss, symbol).subs(at).doit(), 30))
            assert close(float(sp.N(back.subs(at), 30)), expected), (printed, point)
            read = sp.sympify(printed, locals={"x": x, "y": y})
            assert close(float(sp.N(read.subs(at), 30)), expected), (printed, point)


MATRIX = [
    ("sum((W @ x - y)**2)", ["--set", "x=[1,2]", "--set", "y=[3,4]"]),
    ("sum(relu(W @ x)**2) + sum(abs(W))", ["--set", "x=[1,-2]", "--set", "y=[0,0]"]),
    ("mean((tanh(W @ x) - y)**2)", ["--set", "x=[0.5,-1]", "--set", "y=[0,1]"]),
    ("-sum(y * log(softmax(W @ x)))", ["--set", "x=[1,2]", "--set", "y=[0,1]"]),
    ("sum(e^(W @ x)) + sum((W > 0)*W)", ["--set", "x=[1,2]", "--set", "y=[0,0]"]),
]
POINT = "W=[[0.3,-0.2],[0.1,0.4]]"


@pytest.mark.parametrize(("text", "inputs"), MATRIX, ids=[t for t, _ in MATRIX])
def test_grad_partials_and_formula_parse_back(run, text, inputs):
    data = json_output(run(["grad", text, *inputs, "--at", POINT, "-f", "json"]))
    gradient = np.array(data["gradient"]["W"])
    values = {
        f"W_{i + 1}_{j + 1}": v for (i, j), v in np.ndenumerate(np.array([[0.3, -0.2], [0.1, 0.4]]))
    }
    xs = np.array(eval(inputs[1].split("=")[1]), dtype=float)  # noqa: S307 (the test's own literal)
    ys = np.array(eval(inputs[3].split("=")[1]), dtype=float)  # noqa: S307
    constants = {"x": to_sympy(xs), "y": to_sympy(ys)}
    # each partial, in the symbols W_i_j, read back by gdcli and by SymPy
    for (i, j), printed in np.ndenumerate(np.array(data["partials"]["W"], dtype=object)):
        for read in (parse_loss(printed, {}, constants).expr, sp.sympify(printed)):
            at = {s: sp.Rational(str(values[s.name])) for s in read.free_symbols}
            assert close(float(sp.N(read.subs(at), 30)), gradient[i, j]), printed
    # the gradient in matrix form, read back by gdcli: sum(formula * R) for a random R
    formula = data["formula"]["W"]
    r = np.array([[0.7, -1.3], [2.1, 0.4]])
    probe = parse_loss(f"sum(({formula}) * R)", {"W": (2, 2)}, {**constants, "R": to_sympy(r)})
    at = {s: sp.Rational(str(values[s.name])) for s in probe.expr.free_symbols}
    assert close(float(sp.N(probe.expr.subs(at), 30)), float(np.sum(gradient * r))), formula


def to_sympy(a: np.ndarray) -> np.ndarray:
    out = np.empty(a.shape, dtype=object)
    for idx, v in np.ndenumerate(a):
        out[idx] = sp.Rational(str(v))
    return out


BACKPROP = [
    ["backprop", "(w*x - y)**2", "--set", "x=3", "--set", "y=1", "--at", "2"],
    ["backprop", "max(0, w)**2 + e^w + abs(w - 1)", "--at", "0.5"],
    [
        "backprop", "mean((yhat - y)**2)", "--let", "z=W1@x+b1", "--let", "h=tanh(z)",
        "--let", "yhat=sigmoid(W2@h+b2)", "--set", "x=[1,2]", "--set", "y=[1]",
        "--at", "W1=0.1,b1=0,W2=0.2,b2=0", "--shape", "W1=3x2", "--shape", "b1=3",
        "--shape", "W2=1x3", "--shape", "b2=1",
    ],
    [
        "backprop", "-sum(t*log(p))", "--let", "h=relu(W1@x)", "--let", "p=softmax(W2@h)",
        "--set", "x=[1,-1]", "--set", "t=[0,1]", "--at", "W1=[[1,0.5],[-0.5,1]],W2=[[1,-1],[0.5,0.5]]",
    ],
]  # fmt: skip


@pytest.mark.parametrize("args", BACKPROP, ids=["scalar", "kinks", "layers", "softmax"])
def test_backprop_formulas_parse_back(run, args):
    """Every node's operation, every local derivative and every rule (in g, the
    upstream gradient) is text gdcli's array engine reads, in the nodes' names."""
    data = json_output(run([*args, "-f", "json"]))
    shapes = {n["name"]: n["shape"] for n in data["nodes"]}
    by_name = {n["name"]: n for n in data["nodes"]}
    for edge in data["edges"]:
        names = {**shapes, "g": by_name[edge["to"]]["shape"]}
        for text in (edge["local"], edge["rule"]):
            if text is not None:  # softmax's Jacobian is written as a rule only
                lower(text, {}, names, scalar=False)
    for node in data["nodes"]:
        lower(node["expr"], {}, shapes, scalar=False)
        weights = {n: s for n, s in shapes.items() if by_name[n]["kind"] == "weight"}
        inputs = {n: s for n, s in shapes.items() if by_name[n]["kind"] == "input"}
        lower(node["text"], weights, inputs, scalar=False)


def test_relus_derivative_in_latex_is_the_courses():
    """Not SymPy's \\theta: the indicator 1[w > 0] the course writes."""
    data_loss = parse_loss("relu(w)")
    d = sp.diff(data_loss.expr, data_loss.entries["w"][0])
    text = latex(d)
    assert text == "\\mathbf{1}\\left[w > 0\\right]"
    assert "theta" not in text


def test_derive_latex_key(run):
    data = json_output(run(["derive", "max(0, 3*w+2)", "--latex", "-f", "json"]))
    assert data["latex"] == (
        "l(w) = \\max\\left(0, 3 w + 2\\right),\\ "
        "\\frac{dl}{dw} = 3 \\mathbf{1}\\left[3 w + 2 > 0\\right]"
    )
    data = json_output(run(["derive", "x*y**2", "--wrt", "y", "--at", "x=1,y=2", "--latex",
                            "-f", "json"]))  # fmt: skip
    assert data["latex"] == "l(x, y) = x y^{2},\\ \\frac{\\partial l}{\\partial y} = 2 x y"


PRINTED = [
    (sp.Max(0, w), "Max(0, w)"),
    (sp.Min(1, w), "Min(1, w)"),
    (sp.Abs(w - 1), "abs(w - 1)"),
    (sp.E * w, "exp(1)*w"),
    (sp.cot(w), "(1/tan(w))"),
    (sp.sech(w) ** 2, "(1/cosh(w))**2"),
    (sp.Piecewise((1, w > 0), (0, True)), "Heaviside(w, 0)"),
    (sp.Piecewise((1, w >= 2), (0, True)), "Heaviside(w - 2, 1)"),
    (sp.Piecewise((1, w < 2), (0, True)), "Heaviside(2 - w, 0)"),
    (sp.Piecewise((3, w <= 2), (0, True)), "(3*Heaviside(2 - w, 1))"),
    (sp.Heaviside(w), "Heaviside(w)"),
    (sp.Heaviside(w, 0), "Heaviside(w, 0)"),
    (sp.Piecewise((w, w > 1), (w**2, w < -1), (0, True)), None),
    (sp.Piecewise((1, sp.And(w > 0, w < 1)), (0, True)), None),
    (sp.Piecewise((1, sp.Or(w > 2, w < 1)), (0, True)), None),
    (sp.Piecewise((1, sp.Eq(w, 1)), (0, True)), None),
    (sp.Piecewise((1, sp.Ne(w, 1)), (0, True)), None),
]


@pytest.mark.parametrize(("expr", "text"), PRINTED, ids=[str(e) for e, _ in PRINTED])
def test_the_printer_writes_what_both_parsers_read(expr, text):
    printed = gdcli_text(expr)
    if text is not None:
        assert printed == text
    ours = parse_loss(printed).expr
    theirs = sp.sympify(printed, locals={"w": w})
    for at in ["-2.5", "-1", "-0.5", "0", "0.5", "1", "2", "3"]:  # the boundaries included
        if not expr.subs(w, sp.Rational(at)).is_finite:
            continue  # cot(0)
        expected = value(expr, at)
        assert close(value(ours, at), expected), (printed, at)
        assert close(value(theirs, at), expected), (printed, at)


@pytest.mark.parametrize(
    "text", ["Max(0, w)**2", "Min(w, 1)", "Abs(w - 3)", "2*Heaviside(w)*Max(0, w)"]
)
def test_sympys_spellings_are_read(run, text):
    """What SymPy writes (and what gdcli wrote before) is read as gdcli's max/min/abs."""
    r = run(["derive", text, "--at", "2", "-q"])
    assert r.code == 0, r.err


def test_a_name_sympy_reads_as_a_function_is_still_refused_as_a_weight(run):
    r = run(["derive", "Max**3", "--at", "2"])
    assert r.code == 2 and "name 'Max' is reserved" in r.err


@pytest.mark.parametrize(("at", "written"), [("e", "exp(1)"), ("pi/4", "pi/4"), ("-2/3", "-2/3")])
def test_the_point_is_written_as_gdcli_reads_it(run, at, written):
    """An exact point in JSON, the table and the notes: `e` is exp(1), never SymPy's E
    (a name gdcli refuses)."""
    loss = "abs(w - e) + abs(w - pi/4) + abs(w + 2/3)"
    data = json_output(run(["derive", loss, "--at", at, "-f", "json"]))
    assert data["at_exact"] == written
    assert f"not differentiable at w = {written}:" in run(["derive", loss, "--at", at]).err
    again = json_output(run(["derive", "w**2", "--at", data["at_exact"], "-f", "json"]))
    assert again["at"] == data["at"]
