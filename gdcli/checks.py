"""Values of parameters, checked: each helper returns the value in its type or raises
`BadValue(parameter, problem)` (the CLI words the flag). One set of rules for the
update rules' options, the schedules' and any other number a user gives."""

from __future__ import annotations

import math
import sys
from numbers import Integral, Real
from typing import Any


def show(value: object) -> str:
    """A value as a message shows it: 3, 0.5, 'text'."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, Real) and not isinstance(value, bool):
        return repr(float(value))
    return repr(value)


def number(parameter: str, value: object) -> float:
    from gdcli.errors import BadValue

    if isinstance(value, bool) or not isinstance(value, Real):
        raise BadValue(parameter, f"must be a number (got {show(value)})")
    result = float(value)
    if not math.isfinite(result):
        raise BadValue(parameter, f"must be finite (got {show(value)})")
    return result


def positive(parameter: str, value: object) -> float:
    from gdcli.errors import BadValue

    result = number(parameter, value)
    if result <= 0:
        raise BadValue(parameter, f"must be > 0 (got {show(value)})")
    return result


def non_negative(parameter: str, value: object) -> float:
    from gdcli.errors import BadValue

    result = number(parameter, value)
    if result < 0:
        raise BadValue(parameter, f"must be >= 0 (got {show(value)})")
    return result


def below_one(parameter: str, value: object) -> float:
    """A number in [0, 1) (Adam's betas)."""
    from gdcli.errors import BadValue

    result = number(parameter, value)
    if not 0 <= result < 1:
        raise BadValue(parameter, f"must be in [0, 1) (got {show(value)})")
    return result


def whole(parameter: str, value: object, minimum: int) -> int:
    """A whole number >= minimum; an integral float (3.0) is taken as the integer."""
    from gdcli.errors import BadValue

    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise BadValue(parameter, f"must be a whole number (got {show(value)})")
    if value < minimum:
        raise BadValue(parameter, f"must be at least {minimum} (got {show(value)})")
    return int(value)


def flag(parameter: str, value: object) -> bool:
    from gdcli.errors import BadValue

    if not isinstance(value, bool):
        raise BadValue(parameter, f"must be true or false (got {show(value)})")
    return value


def choice(parameter: str, value: object, choices: tuple[str, ...]) -> str:
    from gdcli.errors import BadValue

    if value not in choices:
        raise BadValue(parameter, f"must be one of {', '.join(choices)} (got {show(value)})")
    assert isinstance(value, str)
    return value


def rates(parameter: str, value: object) -> Any:
    """A learning rate >= 0: a number, or a float64 array of them (one per run of a
    sweep; an array implies NumPy is loaded)."""
    from gdcli.errors import BadValue

    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        array = value.astype(numpy.float64)  # a copy, so the caller may reuse its array
        if not numpy.all(numpy.isfinite(array)):
            raise BadValue(parameter, "must be finite (every entry)")
        if numpy.any(array < 0):
            raise BadValue(parameter, f"must be >= 0 (got {float(array.min())!r})")
        return array
    return non_negative(parameter, value)
