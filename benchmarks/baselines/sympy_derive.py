"""Baseline for `gdcli derive`: SymPy builds (w-3)**2, differentiates, evaluates at 1."""

import sympy as sp

w = sp.Symbol("w", real=True)
loss = (w - 3) ** 2
derivative = sp.diff(loss, w)
slope = sp.lambdify(w, derivative, "math")
print(derivative, slope(1.0))
