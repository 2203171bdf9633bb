"""Curvature for several weights: the Hessian's eigenvalues at a point, and what the
quadratic model there says about the learning rate (Distill, "Why Momentum Really
Works"): plain gradient descent is stable for lr < 2/λmax and fastest at
lr = 2/(λmin + λmax); heavy-ball momentum is fastest at
lr = (2/(√λmin + √λmax))², momentum = ((√κ - 1)/(√κ + 1))², κ = λmax/λmin."""

from __future__ import annotations

import math
from typing import Any


def curvature(hessian: list[list[float]], exact: bool = True) -> dict[str, Any]:
    """Eigenvalues (ascending), condition number, lr_max, lr_best and the momentum
    pair, where they exist (a flat direction or one curving down bounds nothing).
    Eigenvalues within the arithmetic's noise of 0 are 0 (`exact`: the Hessian was
    computed exactly, then rounded; else by differences of the gradient, whose
    noise is larger)."""
    import numpy as np

    raw = [float(v) for v in np.linalg.eigvalsh(np.array(hessian))]
    scale = max((abs(v) for v in raw), default=0.0)
    noise = scale * (1e-12 if exact else 1e-6)
    values = [0.0 if abs(v) <= noise else v for v in raw]
    if not exact:  # four significant digits are all differences can vouch for
        values = [float(f"{v:.4g}") for v in values]
    low, high = values[0], values[-1]
    out: dict[str, Any] = {"eigenvalues": values, "condition": None, "lr_max": None,
                           "lr_best": None, "momentum_best": None}  # fmt: skip
    if high > 0:
        out["lr_max"] = 2 / high
    if low > 0:
        kappa = high / low
        out["condition"] = kappa
        out["lr_best"] = 2 / (low + high)
        root = math.sqrt(kappa)
        out["momentum_best"] = {
            "lr": (2 / (math.sqrt(low) + math.sqrt(high))) ** 2,
            "momentum": ((root - 1) / (root + 1)) ** 2,
        }
    return out


def sentence(info: dict[str, Any], where: str, exact: bool) -> str:
    values = ", ".join(f"{v:.6g}" for v in info["eigenvalues"])
    how = "" if exact else ", by central differences of the gradient,"
    text = f"curvature at {where}: the Hessian's eigenvalues{how} are {values}"
    if info["condition"] is None:
        low = info["eigenvalues"][0]
        if info["lr_max"] is None:
            shape = "is flat or curves down" if low <= 0 else "curves down"
            return text + f"; the loss {shape} in every direction there: no bound on lr."
        what = "a direction is flat (λmin = 0)" if low == 0 else "a direction curves down"
        return (
            text + f"; {what}, so the quadratic model has no best lr; plain gradient "
            f"descent needs lr < 2/λmax = {info['lr_max']:.6g}."
        )
    best = info["momentum_best"]
    return (
        text + f", condition {info['condition']:.4g}; on the quadratic model there, plain "
        f"gradient descent is stable for lr < 2/λmax = {info['lr_max']:.6g} and fastest at "
        f"lr = 2/(λmin + λmax) = {info['lr_best']:.6g}; with momentum the best pair is "
        f"lr = {best['lr']:.6g}, momentum = {best['momentum']:.4g}."
    )
