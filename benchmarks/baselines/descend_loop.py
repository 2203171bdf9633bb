"""Baseline for `gdcli descend "(w-3)**2" --steps 1000000 --tol 0 --quiet`: a plain Python
loop over the SymPy-lambdified loss and derivative (math module), from w = 1 with lr 0.1."""

import sympy as sp

w_ = sp.Symbol("w", real=True)
loss_expr = (w_ - 3) ** 2
loss_fn = sp.lambdify(w_, loss_expr, "math")
grad_fn = sp.lambdify(w_, sp.diff(loss_expr, w_), "math")
w = 1.0
loss = loss_fn(w)
for _ in range(1_000_000):
    w = w - 0.1 * grad_fn(w)
    loss = loss_fn(w)
print(repr(w), repr(loss))
