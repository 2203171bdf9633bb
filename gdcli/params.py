"""Parameters as the descent loop carries them, and their entries.

A point holds one value per weight: a float for a scalar weight, an ndarray for a
vector or matrix (an object array of exact SymPy numbers while parsing). Entries
are row-major and numbered from 1 for people (`W[1,2]`), as the course writes W_ij.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

Shape = tuple[int, ...]
Params = list[Any]  # float | numpy.ndarray, one per weight


def entries(value: Any) -> list[Any]:
    """The entries of a number (itself) or of an array (row-major)."""
    return list(value.flat) if hasattr(value, "shape") and hasattr(value, "flat") else [value]


def flatten(params: Sequence[Any]) -> list[float]:
    """A point as one flat list of floats (the order of the compiled functions' arguments)."""
    out: list[float] = []
    for p in params:
        if isinstance(p, float):
            out.append(p)
        else:
            out.extend(float(v) for v in entries(p))
    return out


def unflatten(flat: Sequence[float], shapes: Sequence[Shape]) -> Params:
    """Flat floats back into one value per weight (a float, or a float64 array)."""
    out: Params = []
    k = 0
    for shape in shapes:
        if not shape:
            out.append(float(flat[k]))
            k += 1
        else:
            import numpy as np

            size = math.prod(shape)
            out.append(np.array(flat[k : k + size], dtype=float).reshape(shape))
            k += size
    return out


def nested(values: Sequence[Any], shape: Shape) -> Any:
    """Flat row-major values -> a number (shape ()) or nested lists of that shape."""
    if not shape:
        return values[0]
    if len(shape) == 1:
        return list(values)
    step = math.prod(shape[1:])
    return [nested(values[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def json_value(p: Any) -> Any:
    """A parameter for JSON: a float, or nested lists."""
    return p if isinstance(p, float) else p.tolist()


def entry_labels(name: str, shape: Shape) -> list[str]:
    """Display names of a weight's entries: `w`, or `W[1,2]` (1-based)."""
    if not shape:
        return [name]
    return [
        f"{name}[{','.join(str(i + 1) for i in idx)}]"
        for idx in itertools.product(*(range(n) for n in shape))
    ]


def shape_text(shape: Shape) -> str:
    """`2x3`, `3`, or `a number`."""
    return "x".join(str(n) for n in shape) if shape else "a number"
