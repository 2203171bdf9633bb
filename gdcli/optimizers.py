"""Update rules of torch.optim, written out next to their formulas, in float64.

Each class follows torch's single-tensor implementation (``torch/optim/<rule>.py``,
``_single_tensor_<rule>``) with ``maximize=False``; every default equals torch's except ``lr``,
which defaults to 0.1 here. A value ``V`` is either a Python float (the scalar descent loop) or
a numpy float64 array of any shape (matrix weights, or a sweep whose params have a leading axis
of N runs and whose ``lr`` is an array broadcastable against them). The formulas use plain
operators so both work; only sqrt, max and "zeros like" need the small dispatching helpers below.

An optimizer is stateful: ``step`` counts ``t`` from 1 on its first call and keeps one buffer
per parameter index, named as torch's state keys; it never mutates its inputs.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, cast

from gdcli import checks
from gdcli.errors import BadInput, BadValue

if TYPE_CHECKING:
    from numpy.typing import NDArray

V: TypeAlias = "float | NDArray[Any]"

DEFAULT_LR = 0.1

__all__ = [
    "DEFAULTS",
    "DEFAULT_LR",
    "OPTIMIZERS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "V",
    "make_optimizer",
    "optimizer_factory",
    "options_of",
]


# --- helpers that work on a float or an ndarray -----------------------------------------------
# numpy is imported only when an array shows up, so the scalar loop never pays for it.


def _is_scalar(x: object) -> bool:
    return isinstance(x, (float, int))


def _sqrt(x: V) -> V:
    if isinstance(x, (float, int)):
        # math.sqrt raises on a negative number where torch returns nan (e.g. RMSprop with alpha>1)
        return math.sqrt(x) if x >= 0 else math.nan
    import numpy as np

    return np.sqrt(x)


def _maximum(a: V, b: V) -> V:
    if isinstance(a, (float, int)) and isinstance(b, (float, int)):
        # torch.maximum propagates nan; Python's max would not
        return math.nan if math.isnan(a) or math.isnan(b) else max(a, b)
    import numpy as np

    return np.maximum(a, b)


def _div(a: V, b: V) -> V:
    """a / b with IEEE results for floats: torch gives inf or nan where Python raises."""
    try:
        return a / b
    except ZeroDivisionError:  # only floats get here (eps=0 and a zero gradient, say)
        assert isinstance(a, (float, int)) and isinstance(b, (float, int))
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _full_like(x: V, value: float) -> V:
    """A fresh buffer shaped like the parameter x (torch: zeros_like / full_like)."""
    if isinstance(x, (float, int)):
        return float(value)
    import numpy as np

    return np.full(np.shape(x), value, dtype=np.float64)


def _copy(x: V) -> V:
    return float(x) if isinstance(x, (float, int)) else x.copy()


# --- validation: torch's rules (gdcli.checks raises BadValue naming the option) ---------------

_number, _non_negative, _beta, _flag = (
    checks.number,
    checks.non_negative,
    checks.below_one,
    checks.flag,
)


def _learning_rate(lr: object) -> V:
    return cast("V", checks.rates("lr", lr))


# --- the update rules --------------------------------------------------------------------------


class Optimizer:
    """One update rule. ``step`` returns the new params; buffers live in ``self._buffers``."""

    name: ClassVar[str]

    def __init__(self, lr: V = DEFAULT_LR) -> None:
        self.lr: V = _learning_rate(lr)
        self.t = 0  # torch's state["step"]: 1 during the first update
        self._buffers: dict[str, list[V]] = {}
        self.record = False  # keep each update's intermediate values (to explain it)
        self.explained: list[dict[str, V]] = []  # per parameter, of the last update

    def step(self, params: Sequence[V], grads: Sequence[V]) -> list[V]:
        """One update of every parameter; returns the new params (the inputs are not changed)."""
        if len(params) != len(grads):
            raise ValueError(f"{len(params)} params but {len(grads)} grads")
        self.t += 1
        if self.record:
            self.explained = []
        pairs = list(enumerate(zip(params, grads, strict=True)))
        if _is_scalar(self.lr) and all(map(_is_scalar, (*params, *grads))):
            return [self._update(i, p, g) for i, (p, g) in pairs]
        import numpy as np

        # like torch, let inf and nan flow through silently; the descent loop checks for them
        with np.errstate(all="ignore"):
            return [self._update(i, p, g) for i, (p, g) in pairs]

    def hyperparameters(self) -> dict[str, float | bool]:
        """The options in force (torch's names), defaults included; lr left out."""
        return {k: getattr(self, k) for k in DEFAULTS[self.name] if k != "lr"}

    def state(self) -> dict[str, list[V]]:
        """The per-parameter buffers under torch's state keys (empty before the first step)."""
        return {key: list(values) for key, values in self._buffers.items()}

    def _update(self, i: int, p: V, g: V) -> V:
        raise NotImplementedError

    def _note(self, **values: V) -> None:
        """The named intermediate values of one parameter's update (when recording)."""
        self.explained.append({"t": float(self.t), "lr": self.lr, **values})

    def _get(self, key: str, i: int, like: V, initial: float = 0.0) -> V:
        """Buffer `key` of parameter i, created as `initial` (shaped like `like`) on first use."""
        values = self._buffers.setdefault(key, [])
        return values[i] if i < len(values) else _full_like(like, initial)

    def _put(self, key: str, i: int, value: V) -> None:
        values = self._buffers.setdefault(key, [])
        if i < len(values):
            values[i] = value
        else:
            values.append(value)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (torch.optim.SGD).

    g = g + weight_decay * p
    if momentum != 0:
        b = g                                    on the first step (no dampening)
        b = momentum * b + (1 - dampening) * g   afterwards
        g = g + momentum * b   if nesterov else   g = b
    p = p - lr * g
    State: momentum_buffer (only when momentum != 0).
    """

    name = "sgd"

    def __init__(
        self,
        lr: V = DEFAULT_LR,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(lr)
        self.momentum = _non_negative("momentum", momentum)
        self.dampening = _number("dampening", dampening)  # torch puts no bound on it
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        self.nesterov = _flag("nesterov", nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise BadValue("nesterov", "requires a momentum > 0 and zero dampening")

    def _update(self, i: int, p: V, g: V) -> V:
        grad = g
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        decayed, previous, buf = g, None, None
        if self.momentum != 0:
            if self.t == 1:
                buf = _copy(g)  # torch starts the buffer at the gradient itself
            else:
                previous = self._get("momentum_buffer", i, p)
                buf = self.momentum * previous
                buf = buf + (1 - self.dampening) * g
            self._put("momentum_buffer", i, buf)
            g = g + self.momentum * buf if self.nesterov else buf
        new = p - self.lr * g
        if self.record:
            extra = {} if buf is None else {"b": buf, "b_before": previous}
            self._note(p=p, g=grad, g_decayed=decayed, step=g, p_new=new, **extra)  # type: ignore[arg-type]
        return new


class Adam(Optimizer):
    """Adam (torch.optim.Adam); weight decay is added to the gradient (L2 penalty).

    g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    v_max = max(v_max, v)                        if amsgrad (and v_max is used below)
    denom = sqrt(v) / sqrt(1 - beta2**t) + eps   (eps after the sqrt and the bias correction)
    p = p - lr / (1 - beta1**t) * m / denom
    State: exp_avg (m), exp_avg_sq (v), max_exp_avg_sq (v_max, only with amsgrad).
    """

    name = "adam"
    decoupled_weight_decay: ClassVar[bool] = False

    def __init__(
        self,
        lr: V = DEFAULT_LR,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(lr)
        self.beta1 = _beta("beta1", beta1)
        self.beta2 = _beta("beta2", beta2)
        self.eps = _non_negative("eps", eps)
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        self.amsgrad = _flag("amsgrad", amsgrad)

    def _update(self, i: int, p: V, g: V) -> V:
        start, grad = p, g
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                p = p * (1 - self.lr * self.weight_decay)  # AdamW: shrink p, leave g alone
            else:
                g = g + self.weight_decay * p
        m_before, v_before = self._get("exp_avg", i, p), self._get("exp_avg_sq", i, p)
        m = self.beta1 * m_before + (1 - self.beta1) * g
        v = self.beta2 * v_before + (1 - self.beta2) * g * g
        self._put("exp_avg", i, m)
        self._put("exp_avg_sq", i, v)
        if self.amsgrad:
            v = _maximum(self._get("max_exp_avg_sq", i, p), v)
            self._put("max_exp_avg_sq", i, v)
        bias_correction1 = 1 - self.beta1**self.t
        bias_correction2 = 1 - self.beta2**self.t
        step_size = self.lr / bias_correction1
        denom = _sqrt(v) / bias_correction2**0.5 + self.eps
        new = p - _div(step_size * m, denom)
        if self.record:
            self._note(
                p=start, g=grad, g_decayed=g, p_decayed=p, m_before=m_before, m=m,
                v_before=v_before, v=v, bc1=bias_correction1, bc2=bias_correction2,
                m_hat=m / bias_correction1, v_hat=v / bias_correction2, p_new=new,
            )  # fmt: skip
        return new


class AdamW(Adam):
    """AdamW (torch.optim.AdamW): Adam with decoupled weight decay, default 0.01.

    p = p * (1 - lr * weight_decay)   first, instead of adding weight_decay * p to g;
    then the Adam update above with the raw gradient. Same state keys as Adam.
    """

    name = "adamw"
    decoupled_weight_decay = True

    def __init__(
        self,
        lr: V = DEFAULT_LR,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(lr, beta1, beta2, eps, weight_decay, amsgrad)


class RMSprop(Optimizer):
    """RMSprop (torch.optim.RMSprop).

    g = g + weight_decay * p
    v = alpha * v + (1 - alpha) * g * g
    if centered: g_avg = alpha * g_avg + (1 - alpha) * g;  avg = sqrt(v - g_avg**2) + eps
    else:        avg = sqrt(v) + eps
    if momentum > 0: b = momentum * b + g / avg;  p = p - lr * b
    else:            p = p - lr * g / avg
    State: square_avg (v), momentum_buffer (b, if momentum > 0), grad_avg (g_avg, if centered).
    """

    name = "rmsprop"

    def __init__(
        self,
        lr: V = DEFAULT_LR,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(lr)
        self.alpha = _non_negative("alpha", alpha)
        self.eps = _non_negative("eps", eps)
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        self.momentum = _non_negative("momentum", momentum)
        self.centered = _flag("centered", centered)

    def _update(self, i: int, p: V, g: V) -> V:
        grad = g
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        v_before = self._get("square_avg", i, p)
        v = self.alpha * v_before + (1 - self.alpha) * g * g
        self._put("square_avg", i, v)
        if self.centered:
            g_avg = self.alpha * self._get("grad_avg", i, p) + (1 - self.alpha) * g
            self._put("grad_avg", i, g_avg)
            v = v - g_avg * g_avg  # an estimate of the variance instead of the second moment
        avg = _sqrt(v) + self.eps
        if self.momentum > 0:
            b_before = self._get("momentum_buffer", i, p)
            buf = self.momentum * b_before + _div(g, avg)
            self._put("momentum_buffer", i, buf)
            new = p - self.lr * buf
            if self.record:
                self._note(p=p, g=grad, g_decayed=g, v_before=v_before, v=v, avg=avg,
                           b_before=b_before, b=buf, p_new=new)  # fmt: skip
            return new
        new = p - _div(self.lr * g, avg)
        if self.record:
            self._note(p=p, g=grad, g_decayed=g, v_before=v_before, v=v, avg=avg, p_new=new)
        return new


class Adagrad(Optimizer):
    """Adagrad (torch.optim.Adagrad).

    g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s = s + g * g          (s starts at initial_accumulator_value)
    p = p - clr * g / (sqrt(s) + eps)
    State: sum (s).
    """

    name = "adagrad"

    def __init__(
        self,
        lr: V = DEFAULT_LR,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(lr)
        self.lr_decay = _non_negative("lr_decay", lr_decay)
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        self.initial_accumulator_value = _non_negative(
            "initial_accumulator_value", initial_accumulator_value
        )
        self.eps = _non_negative("eps", eps)

    def _update(self, i: int, p: V, g: V) -> V:
        grad = g
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        clr = self.lr / (1 + (self.t - 1) * self.lr_decay)
        s_before = self._get("sum", i, p, self.initial_accumulator_value)
        s = s_before + g * g
        self._put("sum", i, s)
        new = p - _div(clr * g, _sqrt(s) + self.eps)
        if self.record:
            self._note(p=p, g=grad, g_decayed=g, clr=clr, s_before=s_before, s=s, p_new=new)
        return new


# --- registry ----------------------------------------------------------------------------------

OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)
}


def _defaults(cls: type[Optimizer]) -> dict[str, float | bool]:
    parameters = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in parameters if p.name != "self"}


# name -> {option: default}, "lr" first; read off the constructors so it cannot drift from them
DEFAULTS: dict[str, dict[str, float | bool]] = {
    name: _defaults(cls) for name, cls in OPTIMIZERS.items()
}


def make_optimizer(name: str, lr: V = DEFAULT_LR, **hyper: float | bool) -> Optimizer:
    """Build optimizer `name` with torch's option names; BadInput on any unusable input."""
    key = name.strip().lower()
    if key not in OPTIMIZERS:
        raise BadValue(
            "optimizer", f"{name!r} is unknown", hint=f"choose one of: {', '.join(OPTIMIZERS)}"
        )
    options = [option for option in DEFAULTS[key] if option != "lr"]
    for option in hyper:
        if option not in options:
            raise BadInput(
                f"optimizer {key!r} has no option {option!r}",
                hint=f"{key} takes: lr, {', '.join(options)}",
            )
    return OPTIMIZERS[key](lr, **hyper)


def optimizer_factory(
    name: str, lr: V = DEFAULT_LR, **hyper: float | bool
) -> Callable[[], Optimizer]:
    """A maker of fresh optimizers (each run owns its state), checked once now."""
    make_optimizer(name, lr, **hyper)
    return lambda: make_optimizer(name, lr, **hyper)


def options_of(name: str) -> list[str]:
    """The options an optimizer takes besides lr (torch's names)."""
    return [option for option in DEFAULTS[name] if option != "lr"]
