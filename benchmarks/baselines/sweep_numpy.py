"""Baseline for `gdcli sweep "(w-3)**2" --lr 1e-4:1.9:10000 --start 0 --steps 1000 --tol 0`:
10,000 learning rates x 1000 steps of plain gradient descent, vectorised with NumPy, with
gdcli's stopping rules (converged: |grad| <= tol; diverged: a non-finite value or
|loss| > 1e12 * max(1, |loss at the start|)); a stopped run is frozen.
argv (optional): the number of learning rates (10,000)."""

import sys

import numpy as np
import sympy as sp

TOL, STEPS = 0.0, 1000
w_ = sp.Symbol("w", real=True)
loss_expr = (w_ - 3) ** 2
f = sp.lambdify(w_, [loss_expr, sp.diff(loss_expr, w_)], "numpy")

lr = np.linspace(1e-4, 1.9, int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
w = np.zeros_like(lr)
loss, grad = f(w)
limit = 1e12 * np.maximum(1.0, np.abs(loss))
active = np.ones(lr.shape, dtype=bool)
converged = np.zeros(lr.shape, dtype=bool)
diverged = np.zeros(lr.shape, dtype=bool)
steps_used = np.full(lr.shape, STEPS)
final_loss = loss.copy()
with np.errstate(all="ignore"):
    for k in range(1, STEPS + 1):
        done = active & (np.abs(grad) <= TOL)
        converged |= done
        steps_used[done] = k - 1
        active &= ~done
        if not active.any():
            break
        w = np.where(active, w - lr * grad, w)
        loss, grad = f(w)
        bad = active & ~(np.isfinite(w) & np.isfinite(loss) & np.isfinite(grad))
        bad |= active & (np.abs(loss) > limit)
        steps_used[bad] = k
        diverged |= bad
        final_loss = np.where(active, loss, final_loss)
        active &= ~bad
    done = active & (np.abs(grad) <= TOL)
    converged |= done
if converged.any():
    best = np.flatnonzero(converged)[np.lexsort((final_loss[converged], steps_used[converged]))[0]]
else:
    best = int(np.nanargmin(np.where(diverged, np.nan, final_loss)))
print(
    f"{float(lr[best])!r} converged={int(converged.sum())} diverged={int(diverged.sum())} "
    f"max_steps={int((~converged & ~diverged).sum())} run_steps={int(steps_used.sum())}"
)
