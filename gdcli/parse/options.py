"""Option values as text -> data: assignments (`x=1,y=-2`), shapes (`2x3`), grids
(`A:B:N` or a list), ranges (`A:B`). Errors name the parameter, not a flag.

Numbers are read exactly: plain decimals by the quick reader (no SymPy), anything
else (`pi/4`, `-2/3`, `sqrt(2)`) by the full parser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from gdcli.errors import BadValue, ParseError, ResourceLimit, TooLarge
from gdcli.limits import MAX_ENTRIES, MAX_RUNS
from gdcli.params import Shape
from gdcli.parse.quick import quick_value
from gdcli.parse.syntax import quote


def show_value(value: Any) -> str:
    """An exact value for a message: as gdcli reads it (-2/3, pi/4, exp(1)), or in short
    scientific form when that would be long (10**300 has 301 digits)."""
    from gdcli.parse.printing import value_text

    text = value_text(value)
    if len(text) <= 24:
        return text
    try:
        return f"{float(value):.6g}"
    except (TypeError, ValueError, OverflowError):
        return text[:21] + "..."


def finite_float(value: Any, parameter: str) -> float:
    """An exact value as a float; a value beyond the float range is bad input."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    except (TypeError, ValueError):
        raise BadValue(parameter, "must be a number") from None
    if not math.isfinite(number):
        raise BadValue(parameter, "is beyond the range of a float (about ±1.8e308)")
    return number


def split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets and parentheses."""
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def is_assignment(text: str) -> bool:
    """Does the text name what it gives (`x=1`), rather than give a bare value?"""
    name, eq, _ = text.partition("=")
    return bool(eq) and name.strip().isidentifier()


def parse_assignments(text: str) -> dict[str, str]:
    """Split `x=1,y=-2` or `W=[[1,2],[3,4]]` into names and value texts."""
    out: dict[str, str] = {}
    for part in split_top_level(text):
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier() or not value.strip():
            raise ParseError(
                f"cannot read {quote(part.strip())}: expected NAME=VALUE", hint="e.g. x=1,y=-2"
            )
        if name in out:
            raise ParseError(f"{name} is given twice")
        out[name] = value.strip()
    return out


def parse_shape(text: str) -> Shape:
    """`2x3` -> (2, 3); `3` -> (3,)."""
    pieces = text.lower().replace("*", "x").split("x")
    try:
        shape = tuple(int(p) for p in pieces)
    except ValueError:
        raise ParseError(f"cannot read shape {quote(text)}", hint="e.g. 2x3 or 3") from None
    if not shape or any(n < 1 for n in shape) or len(shape) > 2:
        raise ParseError(f"bad shape {quote(text)}: one or two positive sizes, like 3 or 2x3")
    if math.prod(shape) > MAX_ENTRIES:
        raise ResourceLimit(f"shape {text} too large (at most {MAX_ENTRIES} entries)")
    return shape


def parse_shapes(specs: list[str] | tuple[str, ...]) -> dict[str, Shape]:
    """`W=2x3`, `v=3` (repeatable) -> {"W": (2, 3), "v": (3,)}."""
    return {
        name: parse_shape(shape_text)
        for spec in specs
        for name, shape_text in parse_assignments(spec).items()
    }


def exact_number(text: str, parameter: str) -> Any:
    """One number, exactly: a Fraction for plain decimals, else SymPy's exact value."""
    value: Any = quick_value(text)
    if value is None:
        from gdcli.parse.expression import parse_value

        value = parse_value(text)
    if isinstance(value, list) or hasattr(value, "shape"):
        raise BadValue(parameter, f"takes numbers, not a vector or matrix ({text.strip()!r})")
    return value


def is_grid(text: str) -> bool:
    """A list of values (`-2,0,2`) or a range `A:B:N`, rather than one point."""
    return "=" not in text and (":" in text or "," in text)


def parse_grid(text: str, parameter: str, log: bool = False) -> Sequence[float]:
    """`A:B:N` (N values from A to B, both included; logarithmic with `log`) or a
    comma list `0.01,0.1,1`. Values are exact until the last rounding, so 0.05:1.95:39
    contains 1.0 and 0.3 exactly as typed. A range is an array of doubles (a million
    values take 8 MB, not the 32 MB of a list of floats)."""
    if ":" in text:
        from array import array

        parts = text.split(":")
        if len(parts) != 3:
            raise BadValue(parameter, f"cannot be read from {text!r}", hint="e.g. 0.01:1:20")
        a, b = exact_number(parts[0], parameter), exact_number(parts[1], parameter)
        try:
            n = int(parts[2])
        except ValueError:
            raise BadValue(parameter, f"{text}: N must be a whole number") from None
        if n < 1:
            raise BadValue(parameter, f"{text}: N must be at least 1")
        if n > MAX_RUNS:
            raise TooLarge(parameter, f"{text}: N is at most {MAX_RUNS}")
        fa, fb = finite_float(a, parameter), finite_float(b, parameter)
        if n == 1:
            return [fa]
        if log:
            if not (a > 0 and b > 0):
                raise BadValue(parameter, f"{text}: a logarithmic grid needs positive ends")
            la, lb = math.log(fa), math.log(fb)
            values = array("d", (math.exp(la + (lb - la) * k / (n - 1)) for k in range(n)))
            values[0], values[-1] = fa, fb
            return values
        # (a * (n-1-k) + b * k) / (n-1), exactly, then rounded once (int / int is)
        from fractions import Fraction

        if isinstance(a, Fraction) and isinstance(b, Fraction):
            pa, pb = a.numerator * b.denominator, b.numerator * a.denominator
            q = a.denominator * b.denominator * (n - 1)
            return array("d", ((pa * (n - 1 - k) + pb * k) / q for k in range(n)))
        return array(
            "d", (finite_float((a * (n - 1 - k) + b * k) / (n - 1), parameter) for k in range(n))
        )
    if log:
        raise BadValue(parameter, "is a list: a logarithmic grid needs a range A:B:N")
    listed = [
        finite_float(exact_number(part, parameter), parameter)
        for part in text.split(",")
        if part.strip()
    ]
    if not listed:
        raise BadValue(parameter, "needs at least one value")
    return listed


def parse_range(text: str, parameter: str) -> tuple[float, float]:
    """`A:B` with A < B, as floats."""
    lo_text, colon, hi_text = text.partition(":")
    if not colon:
        raise BadValue(parameter, f"cannot be read from {text!r}", hint="e.g. -2:5")
    lo, hi = (finite_float(exact_number(t, parameter), parameter) for t in (lo_text, hi_text))
    if not lo < hi:
        raise BadValue(parameter, f"{text}: the start must be below the end")
    if not math.isfinite(hi - lo):
        raise BadValue(
            parameter, f"{text.strip()} is too wide to sample (its width overflows a float)"
        )
    return lo, hi
