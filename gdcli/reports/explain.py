"""An update written out with its numbers, in the update rule's own formula.

The optimizer records the intermediate values of each update (m, v, the bias
corrections, ...); here they become the lines a student checks by hand, e.g. for
Adam's first step: m = 0.9·0 + 0.1·(-4) = -0.4, ..., w = 1 - 0.1·(-4)/(√16 + 1e-08)
= 1.1 — which shows why Adam's first step is about lr·sign(g).
"""

from __future__ import annotations

import math
from typing import Any


def _n(x: Any) -> str:
    """A number in a formula: short, negative ones in parentheses."""
    value = float(x)
    if math.isnan(value):
        return "nan"
    text = f"{value:.6g}"
    return f"({text})" if value < 0 else text


def _r(x: Any) -> str:
    """A result: short, as it is."""
    return f"{float(x):.6g}"


def _sq(g: str) -> str:
    return f"({g})²" if "/" in g else f"{g}²"


def explain(optimizer: str, hyper: dict[str, Any], name: str, v: dict[str, Any]) -> list[str]:
    """The lines of one update of weight `name` (scalar) from the recorded values."""
    if optimizer == "sgd":
        return _sgd(hyper, name, v)
    if optimizer in ("adam", "adamw"):
        return _adam(optimizer, hyper, name, v)
    if optimizer == "rmsprop":
        return _rmsprop(hyper, name, v)
    if optimizer == "adagrad":
        return _adagrad(hyper, name, v)
    return []


def _decay(hyper: dict[str, Any], name: str, v: dict[str, Any]) -> list[str]:
    wd = hyper.get("weight_decay", 0)
    if not wd:
        return []
    return [
        f"g = dl/d{name} + weight_decay·{name} = {_n(v['g'])} + {_n(wd)}·{_n(v['p'])} "
        f"= {_r(v['g_decayed'])}"
    ]


def _sgd(hyper: dict[str, Any], name: str, v: dict[str, Any]) -> list[str]:
    lines = _decay(hyper, name, v)
    g = "g" if hyper.get("weight_decay") else f"dl/d{name}"
    m = hyper.get("momentum", 0)
    if not m:
        return [*lines, f"{name} = {name} - lr·{g} = {_n(v['p'])} - {_n(v['lr'])}·"
                        f"{_n(v['g_decayed'])} = {_r(v['p_new'])}"]  # fmt: skip
    if v.get("b_before") is None:
        lines.append(f"b = {g} = {_r(v['b'])} (the momentum buffer starts at the first slope)")
    else:
        d = hyper.get("dampening", 0)
        lines.append(
            f"b = momentum·b + (1 - dampening)·{g} = {_n(m)}·{_n(v['b_before'])} + "
            f"{_n(1 - d)}·{_n(v['g_decayed'])} = {_r(v['b'])}"
        )
    if hyper.get("nesterov"):
        lines.append(
            f"step = {g} + momentum·b = {_n(v['g_decayed'])} + {_n(m)}·{_n(v['b'])} "
            f"= {_r(v['step'])} (Nesterov looks ahead)"
        )
        used = "step"
    else:
        used = "b"
    lines.append(
        f"{name} = {name} - lr·{used} = {_n(v['p'])} - {_n(v['lr'])}·{_n(v['step'])} "
        f"= {_r(v['p_new'])}"
    )
    return lines


def _adam(optimizer: str, hyper: dict[str, Any], name: str, v: dict[str, Any]) -> list[str]:
    b1, b2, eps, t = hyper["beta1"], hyper["beta2"], hyper["eps"], int(v["t"])
    lines: list[str] = []
    g = f"dl/d{name}"
    if optimizer == "adamw" and hyper.get("weight_decay"):
        lines.append(
            f"{name} = {name}·(1 - lr·weight_decay) = {_n(v['p'])}·(1 - {_n(v['lr'])}·"
            f"{_n(hyper['weight_decay'])}) = {_r(v['p_decayed'])} (decoupled weight decay)"
        )
    elif hyper.get("weight_decay"):
        lines += _decay(hyper, name, v)
        g = "g"
    lines += [
        f"m = beta1·m + (1 - beta1)·{g} = {_n(b1)}·{_n(v['m_before'])} + {_n(1 - b1)}·"
        f"{_n(v['g_decayed'])} = {_r(v['m'])}",
        f"v = beta2·v + (1 - beta2)·{_sq(g)} = {_n(b2)}·{_n(v['v_before'])} + {_n(1 - b2)}·"
        f"{_n(v['g_decayed'])}² = {_r(v['v'])}"
        + (" (amsgrad keeps the largest v)" if hyper.get("amsgrad") else ""),
        f"m̂ = m/(1 - beta1^{t}) = {_n(v['m'])}/{_n(v['bc1'])} = {_r(v['m_hat'])}",
        f"v̂ = v/(1 - beta2^{t}) = {_n(v['v'])}/{_n(v['bc2'])} = {_r(v['v_hat'])}",
        f"{name} = {name} - lr·m̂/(√v̂ + eps) = {_n(v['p_decayed'])} - {_n(v['lr'])}·"
        f"{_n(v['m_hat'])}/(√{_n(v['v_hat'])} + {eps:g}) = {_r(v['p_new'])}",
    ]
    return lines


def _rmsprop(hyper: dict[str, Any], name: str, v: dict[str, Any]) -> list[str]:
    alpha, eps, m = hyper["alpha"], hyper["eps"], hyper.get("momentum", 0)
    lines = _decay(hyper, name, v)
    g = "g" if hyper.get("weight_decay") else f"dl/d{name}"
    lines.append(
        f"v = alpha·v + (1 - alpha)·{_sq(g)} = {_n(alpha)}·{_n(v['v_before'])} + "
        f"{_n(1 - alpha)}·{_n(v['g_decayed'])}² = {_r(v['v'])}"
    )
    root = "√(v - g_avg²)" if hyper.get("centered") else "√v"
    if m:
        lines += [
            f"b = momentum·b + {g}/({root} + eps) = {_n(m)}·{_n(v['b_before'])} + "
            f"{_n(v['g_decayed'])}/{_n(v['avg'])} = {_r(v['b'])}",
            f"{name} = {name} - lr·b = {_n(v['p'])} - {_n(v['lr'])}·{_n(v['b'])} "
            f"= {_r(v['p_new'])}",
        ]
    else:
        lines.append(
            f"{name} = {name} - lr·{g}/({root} + eps) = {_n(v['p'])} - {_n(v['lr'])}·"
            f"{_n(v['g_decayed'])}/{_n(v['avg'])} = {_r(v['p_new'])}"
        )
    del eps
    return lines


def _adagrad(hyper: dict[str, Any], name: str, v: dict[str, Any]) -> list[str]:
    lines = _decay(hyper, name, v)
    g = "g" if hyper.get("weight_decay") else f"dl/d{name}"
    lines.append(f"s = s + {_sq(g)} = {_n(v['s_before'])} + {_n(v['g_decayed'])}² = {_r(v['s'])}")
    if hyper.get("lr_decay"):
        lines.append(
            f"lr' = lr/(1 + (t - 1)·lr_decay) = {_n(v['lr'])}/(1 + {int(v['t']) - 1}·"
            f"{_n(hyper['lr_decay'])}) = {_r(v['clr'])}"
        )
        rate = "lr'"
    else:
        rate = "lr"
    lines.append(
        f"{name} = {name} - {rate}·{g}/(√s + eps) = {_n(v['p'])} - {_n(v['clr'])}·"
        f"{_n(v['g_decayed'])}/(√{_n(v['s'])} + {hyper['eps']:g}) = {_r(v['p_new'])}"
    )
    return lines
