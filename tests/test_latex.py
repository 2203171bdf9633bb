"""LaTeX for write-ups (issue 15, item 6): `--latex` gives the loss and its derivative
as one line, grad's gradient as a bmatrix, check --batch a column; `--quiet --latex`
prints just the LaTeX line. Expected lines are written by hand."""

from __future__ import annotations

import pytest
from helpers import json_output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["derive", "w**3"], r"l(w) = w^{3},\ \frac{dl}{dw} = 3 w^{2}"),
        (["derive", "max(0, 3*w+2)"],
         r"l(w) = \max\left(0, 3 w + 2\right),\ \frac{dl}{dw} = 3 \mathbf{1}\left[3 w + 2 > 0\right]"),
        (["derive", "sigmoid(w)"],
         r"l(w) = \sigma\left(w\right),\ \frac{dl}{dw} = \frac{e^{- w}}{\left(1 + e^{- w}\right)^{2}}"),
        (["derive", "x**2*y", "--wrt", "x", "--at", "x=1,y=2"],
         r"l(x, y) = x^{2} y,\ \frac{\partial l}{\partial x} = 2 x y"),
    ],
)  # fmt: skip
def test_derive_latex_line(run, args, line):
    r = run([*args, "--latex", "--quiet"])
    assert (r.code, r.out) == (0, line + "\n"), r.err
    assert json_output(run([*args, "--latex", "-f", "json"]))["latex"] == line


def test_derive_latex_in_the_table(run):
    r = run(["derive", "w**3", "--latex", "-f", "plain"])
    assert "latex\tl(w) = w^{3},\\ \\frac{dl}{dw} = 3 w^{2}" in r.out


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["grad", "(x-1)**2 + 10*(y+2)**2", "--at", "x=0,y=0"],
         r"\nabla l(x, y) = \begin{bmatrix} 2 x - 2 \\ 20 y + 40 \end{bmatrix} = "
         r"\begin{bmatrix} -2 \\ 40 \end{bmatrix}"),
        (["grad", "sum(W*W)", "--at", "W=[[1,2],[3,4]]", "--shape", "W=2x2"],
         r"\frac{\partial l}{\partial W} = \begin{bmatrix} 2 W_{1,1} & 2 W_{1,2} \\ 2 W_{2,1} & "
         r"2 W_{2,2} \end{bmatrix} = \begin{bmatrix} 2 & 4 \\ 6 & 8 \end{bmatrix}"),
        (["grad", "sum(v*v) + b**2", "--at", "v=[1,2,3],b=0.5"],
         r"\frac{\partial l}{\partial b} = 2 b = 1,\quad \frac{\partial l}{\partial v} = "
         r"\begin{bmatrix} 2 v_{1} \\ 2 v_{2} \\ 2 v_{3} \end{bmatrix} = "
         r"\begin{bmatrix} 2 \\ 4 \\ 6 \end{bmatrix}"),
        (["grad", "sum(W)", "--at", "W=0", "--shape", "W=10x10"],
         r"\frac{\partial l}{\partial W} = \begin{bmatrix} "
         + r" \\ ".join([" & ".join(["1"] * 10)] * 10) + r" \end{bmatrix}"),
    ],
)  # fmt: skip
def test_grad_bmatrix(run, args, line):
    r = run([*args, "--latex", "--quiet"])
    assert (r.code, r.out) == (0, line + "\n"), r.err


def test_check_latex(run):
    r = run(["check", "w**2", "2*w", "--latex", "--quiet"])
    assert (r.code, r.out) == (0, "l(w) = w^{2},\\ \\frac{dl}{dw} = 2 w\n")
    wrong = run(["check", "w**2", "3*w", "--latex", "--quiet"])
    # the line is the true derivative's, whatever the answer: a write-up never shows a wrong one
    assert (wrong.code, wrong.out) == (1, "l(w) = w^{2},\\ \\frac{dl}{dw} = 2 w\n")


def test_a_matrix_answer_is_written_as_typed(run):
    options = ["--wrt", "W", "--shape", "W=2x3", "--set", "x=[1,2,3]", "--set", "y=[0,1]"]
    r = run(["check", "sum((W @ x - y)**2)", "2*outer(W @ x - y, x)", *options, "--latex", "-q"])
    assert (r.code, r.out) == (
        0,
        "\\frac{\\partial l}{\\partial W} = \\texttt{2*outer(W @ x - y, x)}\n",
    )
