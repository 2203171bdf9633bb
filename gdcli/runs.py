"""A run of a comparison, read from its text: `OPTIMIZER key=value ...` with the
names descend's options have (`sgd lr=0.01 momentum=0.9 nesterov=true`,
`adam lr=0.1`, `sgd lr=0.1 scheduler=cosine t_max=100`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gdcli.errors import BadInput, BadRun
from gdcli.optimizers import DEFAULT_LR, DEFAULTS, Optimizer, make_optimizer

_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


@dataclass
class RunSpec:
    """One run: its label (the text as given), update rule, lr, options and schedule."""

    label: str
    optimizer: str
    lr: float = DEFAULT_LR
    hyper: dict[str, Any] = field(default_factory=dict)
    scheduler: str | None = None
    schedule: dict[str, Any] = field(default_factory=dict)
    base_lr: float | None = None

    def make_optimizer(self) -> Optimizer:
        return make_optimizer(self.optimizer, self.lr, **self.hyper)

    def schedule_factory(self) -> Callable[[], Any] | None:
        if self.scheduler is None:
            return None
        from gdcli.schedules import make_schedule

        name, base, options = self.scheduler, self.base_lr or self.lr, self.schedule
        return lambda: make_schedule(name, base, **options)


def _value(text: str, kind: type, key: str) -> Any:
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"{key} takes true or false, not {text!r}")
    if kind is int:
        return int(text)
    if kind is tuple:
        return tuple(int(part) for part in text.split(",") if part.strip())
    if kind is str:
        return text
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{key} must be finite")
    from gdcli.parse.syntax import RANGE_HINT, decimal_literal

    try:  # the one rule for every number typed: 1e-330 is not silently 0
        decimal_literal(text.strip())
    except ValueError:
        raise ValueError(f"{key}={text} is out of range: {RANGE_HINT}") from None
    return value


def parse_run(text: str, index: int) -> RunSpec:
    """Read one run's text; BadRun (naming the run) for anything it cannot use."""
    from gdcli.schedules import OPTIONS as SCHEDULE_OPTIONS

    words = text.split()
    if not words:
        raise BadRun(index, text, "is empty", hint="e.g. 'sgd lr=0.01 momentum=0.9'")
    name = words[0].lower()
    if name not in DEFAULTS:
        raise BadRun(index, text, f"unknown optimizer {words[0]!r}",
                     hint=f"choose one of: {', '.join(DEFAULTS)}")  # fmt: skip
    spec = RunSpec(text.strip(), name)
    pairs: dict[str, str] = {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        key = key.strip().lower().replace("-", "_")
        if not eq or not key or not value:
            raise BadRun(index, text, f"cannot read {word!r}: expected key=value")
        if key in pairs:
            raise BadRun(index, text, f"{key} is given twice")
        pairs[key] = value
    try:
        if "scheduler" in pairs:
            spec.scheduler = pairs.pop("scheduler").lower()
            if spec.scheduler not in SCHEDULE_OPTIONS:
                raise ValueError(f"unknown scheduler {spec.scheduler!r}")
        for key, value in pairs.items():
            if key == "lr":
                spec.lr = _value(value, float, key)
            elif key in DEFAULTS[name]:
                kind = bool if isinstance(DEFAULTS[name][key], bool) else float
                spec.hyper[key] = _value(value, kind, key)
            elif key == "base_lr" and spec.scheduler == "cyclic":
                spec.base_lr = _value(value, float, key)
            elif spec.scheduler is not None and key in SCHEDULE_OPTIONS[spec.scheduler]:
                option = SCHEDULE_OPTIONS[spec.scheduler][key]
                spec.schedule[key] = _value(value, option.kind, key)
            else:
                raise ValueError(_unknown(name, spec.scheduler, key))
        spec.make_optimizer()  # checked now: torch's rules, before any run starts
        factory = spec.schedule_factory()
        if factory is not None:
            factory()
    except ValueError as exc:
        raise BadRun(index, text, str(exc)) from None
    except BadInput as exc:
        raise BadRun(index, text, exc.message, exc.hint) from None
    return spec


def _unknown(optimizer: str, scheduler: str | None, key: str) -> str:
    from gdcli.schedules import OPTIONS as SCHEDULE_OPTIONS

    owners = [n for n, d in DEFAULTS.items() if key in d]
    if owners:
        return f"{key} is an option of {', '.join(owners)}, not of {optimizer}"
    if any(key in options for options in SCHEDULE_OPTIONS.values()):
        if scheduler is None:
            return f"{key} is an option of a learning-rate schedule: give scheduler=NAME too"
        return f"{key} is not an option of the {scheduler} schedule"
    return f"unknown option {key!r}"
