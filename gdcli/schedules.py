"""Learning-rate schedules of torch.optim.lr_scheduler, written out next to their formulas.

Each class follows torch's ``get_lr`` (the recursive form where torch uses one, so the values
equal torch's: to the last bit in every case the tests compare), with torch's argument names and defaults; torch's
``T_max`` is spelled ``t_max``. Values are float64: ``base_lr`` is a Python float or a numpy
array (one lr per run of a sweep; every schedule but plateau takes one), like ``lr`` in
``gdcli.optimizers``. A schedule drives one optimizer with one parameter group.

When the lr of update k is used
    A schedule is stateful and one-shot, like torch's. Built before the first update, its ``lr``
    is the lr of update 0; after k calls of ``step`` it is the lr of update k (0-based), the
    lr torch's optimizer uses in its (k+1)-th ``optimizer.step()``, after k calls of
    ``scheduler.step()``. A driver runs::

        schedule = make_schedule("step", 0.1, step_size=30)
        for k in range(steps):
            apply(schedule, optimizer)       # optimizer.lr = schedule.lr (and momentum or beta1)
            params = optimizer.step(params, grads)
            schedule.step(loss)              # loss: the metric of plateau; the others ignore it

    ``preview`` gives the lrs of updates 0 .. steps-1 without an optimizer.

The metric (plateau)
    ``ReduceLROnPlateau.step(metric)`` reads one number per update. gdcli's convention (the
    one of a torch training loop that calls ``scheduler.step(loss)``): the loss at the point
    where update k started, i.e. the loss whose gradient update k used.

Momentum (onecycle, cyclic)
    With ``cycle_momentum`` (torch's default) these schedules also set the momentum of every
    update, inversely to the lr: ``schedule.momentum`` (None when nothing is cycled). As in
    torch it goes to ``beta1`` for an optimizer that has one (Adam, AdamW), else to
    ``momentum`` (SGD, RMSprop); an optimizer with neither (Adagrad) is refused, as torch
    refuses it. Note torch's quirk: SGD built without momentum has ``momentum=0`` among its
    options, so torch does not refuse it but turns momentum on (max_momentum at update 0);
    gdcli does the same. Give ``cycle_momentum=False`` for plain SGD.

Choices that differ from torch (the values of valid runs do not)
    - Options torch validates raise ``BadValue`` here: LinearLR's factors, plateau's
      ``factor < 1``, OneCycleLR's ``total_steps``, ``epochs``, ``steps_per_epoch``,
      ``pct_start`` and ``anneal_strategy``, plateau's and cyclic's modes.
    - Options torch takes without a check, where a bad value crashes later or makes no sense,
      are checked too: ``step_size``, ``t_max``, ``total_iters``, ``step_size_up`` and
      ``step_size_down`` must be at least 1 (torch takes ``total_iters=0`` and then holds
      ``start_factor`` forever); ``gamma``, ``div_factor`` and ``final_div_factor`` must be
      > 0; milestones, ``patience``, ``cooldown``, ``eta_min``, ``min_lr``, ``threshold``,
      ``eps``, ``factor``, ``max_lr`` and the momenta must be >= 0; numbers must be finite.
    - OneCycleLR: like torch, stepping past ``total_steps`` raises (``BadValue`` naming
      ``total_steps``); ``step_limit`` tells a driver the bound before it runs. A
      ``pct_start`` that makes a phase zero steps long (total_steps=10, pct_start=0.1) raises
      ``BadValue`` naming ``pct_start`` where torch divides by zero; a whole ``pct_start``
      (0 or 1) is taken, torch wants a float. ``base_lr`` is not used
      (torch overwrites the optimizer's lr with ``max_lr / div_factor``): ``uses_base_lr``.
    - CyclicLR: ``base_lr`` is the lower bound of the cycle (torch's ``base_lr`` argument,
      which also overwrites the optimizer's lr). No ``scale_fn``/``scale_mode``.
    - No ``last_epoch`` argument (resuming), no per-group lists of values.
    - A schedule keeps its own lr: torch's recursive schedules multiply whatever lr the param
      group holds, so a change made to it from outside would compound; ``apply`` overwrites
      the optimizer's lr before every update instead.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, ClassVar, Literal

from gdcli import checks
from gdcli.errors import BadInput, BadValue
from gdcli.optimizers import DEFAULTS as OPTIMIZER_DEFAULTS
from gdcli.optimizers import Optimizer, V

__all__ = [
    "DEFAULTS",
    "OPTIONS",
    "REQUIRED",
    "SCHEDULES",
    "CosineAnnealingLR",
    "CyclicLR",
    "ExponentialLR",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "Option",
    "ReduceLROnPlateau",
    "Schedule",
    "StepLR",
    "apply",
    "make_schedule",
    "momentum_key",
    "preview",
    "preview_momentum",
]


# validation: torch's rules and a few more, reported as BadValue(parameter, problem)


_show, _number, _positive, _non_negative = (
    checks.show,
    checks.number,
    checks.positive,
    checks.non_negative,
)
_whole, _flag, _choice = checks.whole, checks.flag, checks.choice


def _base_lr(value: object) -> V:
    return typing.cast("V", checks.rates("base_lr", value))


# the schedules


class Schedule:
    """One lr schedule: ``lr`` is the lr of the next update, ``step`` moves on by one update.

    ``last_epoch`` is torch's name for the number of ``step`` calls so far (an update count
    here, not an epoch). Subclasses set their options, then call this constructor, which takes
    torch's initial step: ``lr = get_lr()`` with last_epoch = 0.
    """

    name: ClassVar[str]
    needs_metric: ClassVar[bool] = False  # step(metric) reads the metric (plateau)
    uses_base_lr: ClassVar[bool] = True  # False: the lr comes from the options (onecycle)

    def __init__(self, base_lr: V) -> None:
        self.base_lr: V = _base_lr(base_lr)
        self.lr: V = self.base_lr
        self.momentum: float | None = None  # set by schedules that cycle it
        self.last_epoch = 0
        self.lr = self._get_lr()

    @property
    def step_limit(self) -> int | None:
        """How many times ``step`` may be called (None: without end)."""
        return None

    def step(self, metric: float | None = None) -> None:
        """Move on to the next update (torch: ``scheduler.step()``); only plateau reads
        ``metric``, the others take it so that a driver can call every schedule alike."""
        self.last_epoch += 1
        self.lr = self._get_lr()

    def options(self) -> dict[str, Any]:
        """The options in force (torch's names), defaults included; base_lr left out."""
        return {option: getattr(self, option) for option in OPTIONS[self.name]}

    def _get_lr(self) -> V:
        """The lr of update ``last_epoch``, from ``self.lr``, the lr of the update before."""
        raise NotImplementedError


class StepLR(Schedule):
    """Decay the lr by gamma every step_size updates (torch.optim.lr_scheduler.StepLR).

    lr_0 = base_lr
    lr_k = lr_(k-1) * gamma   if k % step_size == 0,   else lr_(k-1)
    so lr_k = base_lr * gamma ** (k // step_size), up to rounding (torch multiplies each time).
    """

    name = "step"

    def __init__(self, base_lr: V, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _whole("step_size", step_size, 1)
        self.gamma = _positive("gamma", gamma)
        super().__init__(base_lr)

    def _get_lr(self) -> V:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self.lr
        return self.lr * self.gamma


class MultiStepLR(Schedule):
    """Decay the lr by gamma at each milestone (torch.optim.lr_scheduler.MultiStepLR).

    lr_0 = base_lr * gamma ** n_0
    lr_k = lr_(k-1) * gamma ** n_k     n_k: how many times k appears among the milestones
    so lr_k = base_lr * gamma ** (number of milestones <= k). Like torch, the milestones need
    not be sorted, a repeated milestone decays once per repetition, and a milestone 0 decays
    the lr of update 0 already.
    """

    name = "multistep"

    def __init__(self, base_lr: V, milestones: Sequence[int], gamma: float = 0.1) -> None:
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Iterable):
            raise BadValue("milestones", f"must be a list of whole numbers (got {milestones!r})")
        self.milestones = tuple(_whole("milestones", m, 0) for m in milestones)
        self.gamma = _positive("gamma", gamma)
        self._counts = Counter(self.milestones)
        super().__init__(base_lr)

    def _get_lr(self) -> V:
        if self.last_epoch not in self._counts:
            return self.lr
        return self.lr * self.gamma ** self._counts[self.last_epoch]


class ExponentialLR(Schedule):
    """Decay the lr by gamma every update (torch.optim.lr_scheduler.ExponentialLR).

    lr_0 = base_lr
    lr_k = lr_(k-1) * gamma        so lr_k = base_lr * gamma ** k, up to rounding.
    """

    name = "exponential"

    def __init__(self, base_lr: V, gamma: float) -> None:
        self.gamma = _positive("gamma", gamma)
        super().__init__(base_lr)

    def _get_lr(self) -> V:
        if self.last_epoch == 0:
            return self.lr
        return self.lr * self.gamma


class CosineAnnealingLR(Schedule):
    """Cosine annealing from base_lr down to eta_min over t_max updates
    (torch.optim.lr_scheduler.CosineAnnealingLR, whose T_max is t_max here).

    The closed form (SGDR without restarts):
        lr_k = eta_min + (base_lr - eta_min) * (1 + cos(pi * k / t_max)) / 2
    torch computes it recursively, and so does gdcli, to give torch's values:
        lr_0 = base_lr
        lr_k = lr_(k-1) + (base_lr - eta_min) * (1 - cos(pi / t_max)) / 2
                                          if (k - 1 - t_max) % (2 * t_max) == 0 (a trough)
        lr_k = (1 + cos(pi * k / t_max)) / (1 + cos(pi * (k - 1) / t_max))
               * (lr_(k-1) - eta_min) + eta_min                              otherwise
    Past t_max the lr does not stay at eta_min: it climbs back to base_lr at 2 * t_max and
    keeps going round (period 2 * t_max), as in torch.
    """

    name = "cosine"

    def __init__(self, base_lr: V, t_max: int, eta_min: float = 0.0) -> None:
        self.t_max = _whole("t_max", t_max, 1)
        self.eta_min = _non_negative("eta_min", eta_min)
        super().__init__(base_lr)

    def _get_lr(self) -> V:
        k, t_max, eta_min = self.last_epoch, self.t_max, self.eta_min
        if k == 0:
            return self.lr
        if (k - 1 - t_max) % (2 * t_max) == 0:
            return self.lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        return (1 + math.cos(math.pi * k / t_max)) / (1 + math.cos(math.pi * (k - 1) / t_max)) * (
            self.lr - eta_min
        ) + eta_min


class LinearLR(Schedule):
    """Scale the lr by a factor going linearly from start_factor to end_factor over
    total_iters updates, then hold it (torch.optim.lr_scheduler.LinearLR).

    The closed form:
        lr_k = base_lr * (start_factor + (end_factor - start_factor) * min(k, total_iters)
                                         / total_iters)
    torch's recursive form, used here:
        lr_0 = base_lr * start_factor
        lr_k = lr_(k-1) * (1 + (end_factor - start_factor)
                           / (total_iters * start_factor + (k - 1) * (end_factor - start_factor)))
                                                               for 1 <= k <= total_iters
        lr_k = lr_(k-1)                                        for k > total_iters
    """

    name = "linear"

    def __init__(
        self,
        base_lr: V,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
    ) -> None:
        self.start_factor = _number("start_factor", start_factor)
        if not 0 < self.start_factor <= 1:
            raise BadValue("start_factor", f"must be in (0, 1] (got {_show(start_factor)})")
        self.end_factor = _number("end_factor", end_factor)
        if not 0 <= self.end_factor <= 1:
            raise BadValue("end_factor", f"must be in [0, 1] (got {_show(end_factor)})")
        self.total_iters = _whole("total_iters", total_iters, 1)
        super().__init__(base_lr)

    def _get_lr(self) -> V:
        k = self.last_epoch
        if k == 0:
            return self.lr * self.start_factor
        if k > self.total_iters:
            return self.lr
        change = self.end_factor - self.start_factor
        return self.lr * (1.0 + change / (self.total_iters * self.start_factor + (k - 1) * change))


class OneCycleLR(Schedule):
    """The 1cycle policy (torch.optim.lr_scheduler.OneCycleLR): the lr warms up from
    initial_lr to max_lr, then anneals down to min_lr, far below initial_lr.

    initial_lr = max_lr / div_factor        min_lr = initial_lr / final_div_factor
    T = total_steps, or epochs * steps_per_epoch;   p = pct_start
    phases (end steps, each phase starting where the one before ended, the first at 0):
        two phases:   initial_lr -> max_lr until p*T - 1,   max_lr -> min_lr until T - 1
        three_phase:  initial_lr -> max_lr until p*T - 1,   max_lr -> initial_lr until
                      2*p*T - 2,   initial_lr -> min_lr until T - 1
    update k lies in the first phase whose end >= k (else in the last one), and
        pct  = (k - start) / (end - start)
        cos:    lr_k = end_lr + (start_lr - end_lr) / 2 * (cos(pi * pct) + 1)
        linear: lr_k = (end_lr - start_lr) * pct + start_lr
    With cycle_momentum the momentum runs the other way, by the same formula, over
    max_momentum -> base_momentum -> max_momentum (three_phase: then stays at max_momentum).
    base_lr is not used. Like torch, ``step`` may be called total_steps times (the last call,
    after the last update, gives an lr just past the cycle); one more raises.
    """

    name = "onecycle"
    uses_base_lr = False

    def __init__(
        self,
        base_lr: V,
        max_lr: float,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: Literal["cos", "linear"] = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ) -> None:
        self.max_lr = _non_negative("max_lr", max_lr)
        self.epochs = None if epochs is None else _whole("epochs", epochs, 1)
        self.steps_per_epoch = (
            None if steps_per_epoch is None else _whole("steps_per_epoch", steps_per_epoch, 1)
        )
        if total_steps is not None:
            self.total_steps = _whole("total_steps", total_steps, 1)
        elif self.epochs is not None and self.steps_per_epoch is not None:
            self.total_steps = self.epochs * self.steps_per_epoch
        else:
            raise BadValue(
                "total_steps",
                "is required by schedule 'onecycle' (or both epochs and steps_per_epoch)",
            )
        self.pct_start = _number("pct_start", pct_start)
        if not 0 <= self.pct_start <= 1:
            raise BadValue("pct_start", f"must be in [0, 1] (got {_show(pct_start)})")
        self.anneal_strategy = _choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.cycle_momentum = _flag("cycle_momentum", cycle_momentum)
        self.base_momentum = _non_negative("base_momentum", base_momentum)
        self.max_momentum = _non_negative("max_momentum", max_momentum)
        self.div_factor = _positive("div_factor", div_factor)
        self.final_div_factor = _positive("final_div_factor", final_div_factor)
        self.three_phase = _flag("three_phase", three_phase)

        initial_lr = self.max_lr / self.div_factor
        min_lr = initial_lr / self.final_div_factor
        top, bottom = self.max_momentum, self.base_momentum
        total, pct = self.total_steps, self.pct_start
        # (end step, start lr, end lr, start momentum, end momentum), torch's _schedule_phases
        self._phases: list[tuple[float, float, float, float, float]]
        if self.three_phase:
            self._phases = [
                (float(pct * total) - 1, initial_lr, self.max_lr, top, bottom),
                (float(2 * pct * total) - 2, self.max_lr, initial_lr, bottom, top),
                (total - 1, initial_lr, min_lr, top, top),
            ]
        else:
            self._phases = [
                (float(pct * total) - 1, initial_lr, self.max_lr, top, bottom),
                (total - 1, self.max_lr, min_lr, bottom, top),
            ]
        super().__init__(base_lr)

    @property
    def step_limit(self) -> int | None:
        return self.total_steps

    def step(self, metric: float | None = None) -> None:
        if self.last_epoch >= self.total_steps:
            raise BadValue(
                "total_steps",
                f"is {self.total_steps}: the cycle is over and cannot be stepped again "
                "(torch raises too)",
            )
        super().step(metric)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            cos_out = math.cos(math.pi * pct) + 1
            return end + (start - end) / 2.0 * cos_out
        return (end - start) * pct + start

    def _get_lr(self) -> V:
        k = self.last_epoch
        start_step = 0.0
        for i, (end_step, start_lr, end_lr, start_m, end_m) in enumerate(self._phases):
            if k <= end_step or i == len(self._phases) - 1:
                if end_step == start_step:
                    raise BadValue(
                        "pct_start",
                        f"{self.pct_start!r} with {self.total_steps} steps leaves a phase of "
                        "no steps (torch divides by zero here)",
                    )
                pct = (k - start_step) / (end_step - start_step)
                if self.cycle_momentum:
                    self.momentum = self._anneal(start_m, end_m, pct)
                return self._anneal(start_lr, end_lr, pct)
            start_step = end_step
        raise AssertionError("unreachable: the last phase always matches")


class CyclicLR(Schedule):
    """Cyclical learning rates (torch.optim.lr_scheduler.CyclicLR): the lr goes up from
    base_lr to max_lr in step_size_up updates, back down in step_size_down, and again.

    size  = step_size_up + step_size_down          ratio = step_size_up / size
    cycle = floor(1 + k / size)                     x = 1 + k / size - cycle   (0 <= x < 1)
    s     = x / ratio  if x <= ratio  else  (x - 1) / (ratio - 1)      (0 -> 1 -> 0)
    lr_k  = base_lr + (max_lr - base_lr) * s * scale
    scale = 1 (triangular),  1 / 2 ** (cycle - 1) (triangular2),  gamma ** k (exp_range)
    With cycle_momentum: momentum_k = max_momentum - (max_momentum - base_momentum) * s * scale.
    base_lr is the lower bound (torch's base_lr argument, which replaces the optimizer's lr).
    """

    name = "cyclic"

    def __init__(
        self,
        base_lr: V,
        max_lr: float,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
        gamma: float = 1.0,
        cycle_momentum: bool = True,
        base_momentum: float = 0.8,
        max_momentum: float = 0.9,
    ) -> None:
        self.max_lr = _non_negative("max_lr", max_lr)
        self.step_size_up = _whole("step_size_up", step_size_up, 1)
        self.step_size_down = (
            None if step_size_down is None else _whole("step_size_down", step_size_down, 1)
        )
        self.mode = _choice("mode", mode, ("triangular", "triangular2", "exp_range"))
        self.gamma = _positive("gamma", gamma)
        self.cycle_momentum = _flag("cycle_momentum", cycle_momentum)
        self.base_momentum = _non_negative("base_momentum", base_momentum)
        self.max_momentum = _non_negative("max_momentum", max_momentum)
        up = float(self.step_size_up)
        down = float(self.step_size_down) if self.step_size_down is not None else up
        self._total_size = up + down
        self._step_ratio = up / self._total_size
        super().__init__(base_lr)

    def _scale(self, cycle: int) -> float:
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (cycle - 1))
        return self.gamma**self.last_epoch  # exp_range scales by the update count

    def _get_lr(self) -> V:
        cycle = math.floor(1 + self.last_epoch / self._total_size)
        x = 1.0 + self.last_epoch / self._total_size - cycle
        if x <= self._step_ratio:
            scale_factor = x / self._step_ratio
        else:
            scale_factor = (x - 1) / (self._step_ratio - 1)
        scale = self._scale(cycle)
        if self.cycle_momentum:
            height = (self.max_momentum - self.base_momentum) * scale_factor
            self.momentum = self.max_momentum - height * scale
        base_height = (self.max_lr - self.base_lr) * scale_factor
        return self.base_lr + base_height * scale


class ReduceLROnPlateau(Schedule):
    """Reduce the lr when the metric (the loss) stops improving
    (torch.optim.lr_scheduler.ReduceLROnPlateau).

    better(a) = a < best * (1 - threshold)   (mode min, rel)    a < best - threshold  (min, abs)
                a > best * (1 + threshold)   (mode max, rel)    a > best + threshold  (max, abs)
    best starts at +inf (min) or -inf (max). At every step(metric):
        if better(metric): best = metric, bad = 0     else: bad = bad + 1
        if cooldown_counter > 0: cooldown_counter -= 1, bad = 0     (bad steps not counted)
        if bad > patience:
            new = max(lr * factor, min_lr);  lr = new if lr - new > eps (else unchanged)
            cooldown_counter = cooldown, bad = 0
    So with patience p the lr drops after p + 1 steps in a row without improvement, and after
    a drop the next ``cooldown`` steps count for nothing. lr_0 = base_lr.
    """

    name = "plateau"
    needs_metric = True

    def __init__(
        self,
        base_lr: V,
        mode: Literal["min", "max"] = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if isinstance(base_lr, bool) or not isinstance(base_lr, Real):
            raise BadValue("base_lr", "must be one number: plateau follows one run's loss")
        self.mode: str = _choice("mode", mode, ("min", "max"))
        self.factor = _non_negative("factor", factor)
        if self.factor >= 1:
            raise BadValue("factor", f"must be < 1 (got {_show(factor)})")
        self.patience = _whole("patience", patience, 0)
        self.threshold: float = _non_negative("threshold", threshold)
        self.threshold_mode: str = _choice("threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = _whole("cooldown", cooldown, 0)
        self.min_lr = _non_negative("min_lr", min_lr)
        self.eps = _non_negative("eps", eps)
        self.best: float = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        super().__init__(base_lr)

    def _get_lr(self) -> V:
        return self.lr  # the lr changes only in step, with the metric

    def _is_better(self, a: float) -> bool:
        best = self.best
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metric: float | None = None) -> None:
        if metric is None:
            raise BadInput("schedule 'plateau' needs the metric (the loss) at every step")
        if isinstance(metric, bool) or not isinstance(metric, Real):
            raise BadValue("metric", f"must be a number (got {_show(metric)})")
        current = float(metric)  # nan or inf is taken as torch takes it: no improvement
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            old_lr = float(self.lr)
            new_lr = max(old_lr * self.factor, self.min_lr)
            if old_lr - new_lr > self.eps:
                self.lr = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0


# registry: names, options read off the constructors


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # the default of an option a schedule cannot do without


@dataclass(frozen=True)
class Option:
    """One argument of a schedule, read off its constructor: ``kind`` is int, float, bool,
    str (one of ``choices``) or tuple (a list of whole numbers: milestones); ``optional``
    means None is a value (onecycle's total_steps, cyclic's step_size_down)."""

    name: str
    kind: type
    default: Any
    choices: tuple[str, ...] = ()
    optional: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls
    for cls in (
        StepLR,
        MultiStepLR,
        ExponentialLR,
        CosineAnnealingLR,
        LinearLR,
        OneCycleLR,
        CyclicLR,
        ReduceLROnPlateau,
    )
}


def _options(cls: type[Schedule]) -> dict[str, Option]:
    # V's text names numpy only for the type checker; base_lr is left out anyway
    hints = typing.get_type_hints(cls.__init__, globalns={**globals(), "V": float})
    options: dict[str, Option] = {}
    for parameter in list(inspect.signature(cls.__init__).parameters.values())[2:]:
        hint: Any = hints[parameter.name]
        choices: tuple[str, ...] = ()
        optional = False
        if typing.get_origin(hint) in (typing.Union, types.UnionType):  # X | None
            (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            optional = True
        if typing.get_origin(hint) is Literal:
            hint, choices = str, typing.get_args(hint)
        elif typing.get_origin(hint) is Sequence:
            hint = tuple
        empty = parameter.default is inspect.Parameter.empty
        default = REQUIRED if empty else parameter.default
        options[parameter.name] = Option(parameter.name, hint, default, choices, optional)
    return options


# schedule name -> {option: Option}; base_lr, every schedule's first argument, is left out
OPTIONS: dict[str, dict[str, Option]] = {name: _options(cls) for name, cls in SCHEDULES.items()}

# schedule name -> {option: default}, for the options that have a default
DEFAULTS: dict[str, dict[str, Any]] = {
    name: {key: option.default for key, option in options.items() if not option.required}
    for name, options in OPTIONS.items()
}


def make_schedule(name: str, base_lr: V, **options: Any) -> Schedule:
    """Build schedule `name` with torch's option names. An option given as None counts as not
    given. BadInput for an unknown name or option, BadValue naming the parameter for a
    missing or bad value."""
    key = name.strip().lower()
    if key not in SCHEDULES:
        raise BadInput(f"unknown schedule {name!r}", hint=f"choose one of: {', '.join(SCHEDULES)}")
    known = OPTIONS[key]
    for option in options:
        if option not in known:
            owners = [other for other, opts in OPTIONS.items() if option in opts]
            where = f" ({option} belongs to: {', '.join(owners)})" if owners else ""
            raise BadInput(
                f"schedule {key!r} has no option {option!r}{where}",
                hint=f"{key} takes: {', '.join(known) or 'no options'}",
            )
    given = {option: value for option, value in options.items() if value is not None}
    for required in known.values():
        if required.required and required.name not in given:
            raise BadValue(required.name, f"is required by schedule {key!r}")
    return SCHEDULES[key](base_lr, **given)


def _run(
    name: str, base_lr: float, steps: int, metrics: Sequence[float] | None, options: dict[str, Any]
) -> tuple[list[float], list[float] | None]:
    steps = _whole("steps", steps, 1)
    if isinstance(base_lr, bool) or not isinstance(base_lr, Real):
        raise BadValue("base_lr", f"must be one number (got {_show(base_lr)})")
    schedule = make_schedule(name, base_lr, **options)
    if schedule.needs_metric:
        if metrics is None:
            raise BadValue("metrics", f"are required by schedule {schedule.name!r}")
        if len(metrics) < steps - 1:
            raise BadValue("metrics", f"must give at least {steps - 1} values (got {len(metrics)})")
    limit = schedule.step_limit
    if limit is not None and steps - 1 > limit:
        raise BadValue(
            "steps",
            f"must be at most {limit + 1} with total_steps={limit} (got {steps})",
        )
    lrs = [float(schedule.lr)]
    momenta = None if schedule.momentum is None else [schedule.momentum]
    for k in range(steps - 1):
        schedule.step(None if metrics is None else metrics[k])
        lrs.append(float(schedule.lr))
        if momenta is not None:
            assert schedule.momentum is not None
            momenta.append(schedule.momentum)
    return lrs, momenta


def preview(
    name: str,
    base_lr: float,
    steps: int,
    metrics: Sequence[float] | None = None,
    **options: Any,
) -> list[float]:
    """The lrs of updates 0 .. steps-1 of schedule `name`. Plateau needs ``metrics``: the
    metric given to step() after update k is metrics[k] (steps - 1 values at least)."""
    return _run(name, base_lr, steps, metrics, options)[0]


def preview_momentum(
    name: str,
    base_lr: float,
    steps: int,
    metrics: Sequence[float] | None = None,
    **options: Any,
) -> list[float] | None:
    """The momentum (or beta1) of updates 0 .. steps-1, None if the schedule does not cycle it."""
    return _run(name, base_lr, steps, metrics, options)[1]


# driving an optimizer of gdcli.optimizers


def momentum_key(schedule: Schedule, optimizer: Optimizer) -> str | None:
    """Which option of the optimizer the schedule's momentum goes to: torch's rule, ``beta1``
    if the optimizer has betas, else ``momentum``; None if the schedule cycles none. BadValue
    naming cycle_momentum if the optimizer has neither (torch raises too)."""
    if schedule.momentum is None:
        return None
    options = OPTIMIZER_DEFAULTS[optimizer.name]
    if "beta1" in options:
        return "beta1"
    if "momentum" in options:
        return "momentum"
    raise BadValue(
        "cycle_momentum",
        f"must be false with optimizer {optimizer.name!r}, which has no momentum or beta1 "
        "to cycle (torch raises too)",
    )


def apply(schedule: Schedule, optimizer: Optimizer) -> None:
    """Give the optimizer the schedule's values for its next update: its lr, and its momentum
    or beta1 when the schedule cycles it (torch: param_group["lr"], "momentum", "betas")."""
    key = momentum_key(schedule, optimizer)
    optimizer.lr = schedule.lr
    if key is not None:
        setattr(optimizer, key, schedule.momentum)
