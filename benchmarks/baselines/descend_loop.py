"""Baseline for `gdcli descend --steps 1000000 --tol 0 --quiet`: a plain Python loop
over SymPy-lambdified loss and derivative (math module), from w = 1 with lr 0.1."""

import sympy as sp

w_ = sp.Symbol("w", real=True)
loss_expr = (w_ - 3) ** 2
l = sp.lambdify(w_, loss_expr, "math")  # noqa: E741
g = sp.lambdify(w_, sp.diff(loss_expr, w_), "math")
w = 1.0
loss = l(w)
for _ in range(1_000_000):
    w = w - 0.1 * g(w)
    loss = l(w)
print(repr(w), repr(loss))
