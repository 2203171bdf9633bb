"""Baseline for `gdcli descend "(w-3)**2 + 0.001*w**4" --optimizer adam --steps 1000000 --tol 0
--quiet` (a loss whose minimum is not a float, so that no step lands on a zero gradient): a
plain Python loop over the SymPy-lambdified loss and derivative (math module), Adam as
torch.optim.Adam writes it (beta1 0.9, beta2 0.999, eps 1e-8), from w = 1 with lr 0.1."""

import math

import sympy as sp

w_ = sp.Symbol("w", real=True)
loss_expr = (w_ - 3) ** 2 + sp.Rational(1, 1000) * w_**4
loss_fn = sp.lambdify(w_, loss_expr, "math")
grad_fn = sp.lambdify(w_, sp.diff(loss_expr, w_), "math")
lr, beta1, beta2, eps = 0.1, 0.9, 0.999, 1e-8
w = 1.0
loss, grad = loss_fn(w), grad_fn(w)
m = v = 0.0
for t in range(1, 1_000_001):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    step_size = lr / (1 - beta1**t)
    w = w - step_size * m / (math.sqrt(v) / (1 - beta2**t) ** 0.5 + eps)
    loss, grad = loss_fn(w), grad_fn(w)
print(repr(w), repr(loss))
