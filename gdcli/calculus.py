"""Derivatives, difference quotients, one-sided slopes and answer checking.

Exact values come from SymPy (evaluated once, to 30 digits); the difference
quotients are computed in floating point on purpose: their round-off is what
the course's V-curve of error against h shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gdcli.errors import BadInput, NumericalError
from gdcli.expression import Loss

if TYPE_CHECKING:
    import sympy

SCHEMES = ("forward", "backward", "central")
DIGITS = 30  # working precision of exact evaluations
KINK_STEP = "1e-40"  # how far beside a kink the one-sided slopes are evaluated

# The functions whose argument crossing zero makes a kink or a jump.
NONSMOOTH = ("Abs", "Max", "Min", "Heaviside", "sign", "Piecewise")

SUBGRADIENT_NOTE = (
    "at a kink SymPy's derivative takes Heaviside(0) = 1/2 and sign(0) = 0, "
    "so d/dw max(0, w) at w = 0 is 1/2 and d/dw abs(w) at 0 is 0; "
    "descent uses that value as its subgradient"
)


def pick_variable(loss: Loss, wrt: str | None) -> str:
    """`--wrt`, else `w` if present, else the only variable."""
    if wrt is not None:
        if wrt not in loss.variables:
            known = ", ".join(loss.variables) or "none"
            raise BadInput(f"{wrt} is not a variable of {loss.text} (variables: {known})")
        return wrt
    if "w" in loss.variables:
        return "w"
    if len(loss.variables) == 1:
        return loss.variables[0]
    if not loss.variables:
        raise BadInput(f"{loss.text} has no variable to differentiate")
    raise BadInput(
        f"{loss.text} has several variables: {', '.join(loss.variables)}",
        hint=f"choose one with --wrt {loss.variables[0]}",
    )


def require_scalar(loss: Loss, name: str) -> sympy.Symbol:
    if loss.shapes[name]:
        raise BadInput(
            f"{name} is an array; this command works on one number",
            hint="use gdcli grad for vectors and matrices",
        )
    return loss.entries[name][0]


def derivative(loss: Loss, name: str) -> sympy.Expr:
    import sympy as sp

    return sp.diff(loss.expr, require_scalar(loss, name))


def partials(loss: Loss) -> dict[str, list[sympy.Expr]]:
    """One partial derivative per entry of each weight (row-major)."""
    import sympy as sp

    return {name: [sp.diff(loss.expr, s) for s in loss.entries[name]] for name in loss.variables}


def exact(expr: sympy.Expr, point: dict[Any, Any]) -> sympy.Expr:
    """The expression at a point, exactly (no floating point yet)."""
    return expr.xreplace(point)


def to_float(value: Any) -> float | None:
    """A real finite float, or None where the value is undefined, infinite or complex."""
    import sympy as sp

    if isinstance(value, (int, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    try:
        number = sp.N(value, DIGITS)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not number.is_number or number.has(sp.zoo, sp.nan):
        return None
    re, im = number.as_real_imag()
    if im != 0 and abs(float(im)) > 1e-25 * max(1.0, abs(float(re))):
        return None
    try:
        f = float(re)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def value_at(expr: sympy.Expr, point: dict[Any, Any]) -> float | None:
    return to_float(exact(expr, point))


def compile_scalar(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> Callable[..., float]:
    """A fast float function of the symbols (math module), returning nan where the
    expression is undefined or complex and inf where it overflows."""
    import sympy as sp

    raw = sp.lambdify(list(symbols), expr, modules="math", cse=True, dummify=True)
    return guarded(raw)


def guarded(raw: Callable[..., Any]) -> Callable[..., float]:
    def f(*args: float) -> float:
        try:
            y = raw(*args)
        except OverflowError:
            return math.inf
        except (ValueError, ZeroDivisionError, TypeError):
            return math.nan
        if isinstance(y, complex):
            return math.nan
        return float(y)

    return f


# ---------------------------------------------------------------------------
# difference quotients


def h_values(h_max: float, h_min: float) -> list[float]:
    """h_max, h_max/10, ... down to h_min (decimal powers printed exactly)."""
    if not (math.isfinite(h_max) and math.isfinite(h_min)) or h_min <= 0 or h_max <= 0:
        raise BadInput("--h-max and --h-min must be positive numbers")
    if h_min > h_max:
        raise BadInput(f"--h-min {h_min:g} is larger than --h-max {h_max:g}")
    top = math.log10(h_max)
    if abs(top - round(top)) < 1e-12:
        k0 = round(top)
        n = math.floor(k0 - math.log10(h_min) + 1e-9)
        hs = [float(f"1e{k0 - i}") for i in range(n + 1)]
    else:
        hs = []
        h = h_max
        while h >= h_min * (1 - 1e-12):
            hs.append(h)
            h /= 10
    if len(hs) > 400:
        raise BadInput("too many values of h: choose --h-max and --h-min closer together")
    return hs


def quotient(f: Callable[[float], float], w: float, h: float, scheme: str) -> float:
    """The difference quotient of f at w with step h (floating point)."""
    if scheme == "forward":
        return (f(w + h) - f(w)) / h
    if scheme == "backward":
        return (f(w) - f(w - h)) / h
    if scheme == "central":
        return (f(w + h) - f(w - h)) / (2 * h)
    raise BadInput(f"unknown scheme {scheme!r}; choose forward, backward or central")


@dataclass(frozen=True)
class QuotientRow:
    h: float
    quotient: float | None
    abs_error: float | None
    rel_error: float | None


def difference_quotients(
    f: Callable[[float], float],
    w: float,
    reference: float | None,
    hs: Sequence[float],
    scheme: str,
) -> list[QuotientRow]:
    rows = []
    for h in hs:
        q: float | None = quotient(f, w, h, scheme)
        if q is not None and not math.isfinite(q):
            q = None
        abs_err = rel_err = None
        if q is not None and reference is not None:
            abs_err = abs(q - reference)
            rel_err = abs_err / abs(reference) if reference != 0 else None
        rows.append(QuotientRow(h, q, abs_err, rel_err))
    return rows


def best_row(rows: Sequence[QuotientRow]) -> QuotientRow | None:
    scored = [r for r in rows if r.abs_error is not None]
    return min(scored, key=lambda r: r.abs_error or 0.0) if scored else None


# ---------------------------------------------------------------------------
# the slope at a point, honest at kinks


@dataclass(frozen=True)
class SlopeAt:
    derivative: sympy.Expr
    loss: float | None
    slope: float | None  # None where the derivative does not exist
    differentiable: bool
    left: float | None
    right: float | None
    convention: float | None  # what SymPy's derivative gives at the point itself


def _touches_zero(value: Any) -> bool:
    import sympy as sp

    if value == 0:
        return True
    if not getattr(value, "is_number", False):
        return False
    try:
        return bool(abs(sp.N(value, DIGITS)) < sp.Float("1e-25"))
    except (TypeError, ValueError):
        return False


def kink_candidates(expr: sympy.Expr, point: dict[Any, Any]) -> bool:
    """Does a non-smooth piece of expr switch exactly at the point?"""
    import sympy as sp

    for atom in expr.atoms(*(getattr(sp, n) for n in NONSMOOTH)):
        if isinstance(atom, sp.Piecewise):
            gaps = [
                c.lhs - c.rhs for _, c in atom.args if isinstance(c, sp.core.relational.Relational)
            ]
        elif isinstance(atom, (sp.Max, sp.Min)):
            args = atom.args
            gaps = [a - b for i, a in enumerate(args) for b in args[i + 1 :]]
        else:
            gaps = [atom.args[0]]
        if any(_touches_zero(exact(g, point)) for g in gaps):
            return True
    return False


def slope_at(loss: Loss, name: str, at: Any) -> SlopeAt:
    """Loss and slope at `at` (exact), with both one-sided slopes where they differ."""
    import sympy as sp

    w = require_scalar(loss, name)
    d = sp.diff(loss.expr, w)
    point = {w: at}
    value = value_at(loss.expr, point)
    convention = value_at(d, point)
    if value is None:
        raise NumericalError(
            f"l({name}) is not a real number at {name} = {at}",
            hint="the loss is undefined there (a log or root of a negative, a division by zero?)",
        )
    if convention is not None and not kink_candidates(loss.expr, point):
        return SlopeAt(d, value, convention, True, convention, convention, convention)
    step = sp.Rational(KINK_STEP)
    left = value_at(d, {w: at - step})
    right = value_at(d, {w: at + step})
    same = (
        left is not None
        and right is not None
        and abs(left - right) <= 1e-12 * max(1.0, abs(left), abs(right))
    )
    if same and convention is not None:
        return SlopeAt(d, value, convention, True, left, right, convention)
    return SlopeAt(d, value, None, False, left, right, convention)


def scheme_reference(s: SlopeAt, scheme: str) -> float | None:
    """What a scheme's quotients tend to as h -> 0: the slope, or at a kink the
    right slope (forward), the left slope (backward) or their mean (central)."""
    if s.differentiable:
        return s.slope
    if scheme == "forward":
        return s.right
    if scheme == "backward":
        return s.left
    if s.left is None or s.right is None:
        return None
    return (s.left + s.right) / 2


def secant_slope(loss: Loss, name: str, w1: Any, h: Any) -> tuple[float, float, float]:
    """The two-point slope (l(w1 + h) - l(w1)) / h, exactly; returns (l1, l2, slope)."""
    w = require_scalar(loss, name)
    l1 = exact(loss.expr, {w: w1})
    l2 = exact(loss.expr, {w: w1 + h})
    v1, v2, s = to_float(l1), to_float(l2), to_float((l2 - l1) / h)
    if v1 is None or v2 is None or s is None:
        where = name + " = " + str(w1 if v1 is None else w1 + h)
        raise NumericalError(f"l({name}) is not a real number at {where}")
    return v1, v2, s


def second_derivative_at(loss: Loss, name: str, at: Any) -> float | None:
    import sympy as sp

    w = require_scalar(loss, name)
    return value_at(sp.diff(loss.expr, w, 2), {w: at})


# ---------------------------------------------------------------------------
# is ANSWER the derivative?


@dataclass(frozen=True)
class Verdict:
    derivative: sympy.Expr
    equal: bool
    method: str  # "symbolic" or "numeric"
    counterexample: dict[str, Any] | None  # {point, expected, got}
    checked_points: int


CHECK_POINTS = 200
CHECK_TOLERANCE = 1e-7


def check_answer(loss: Loss, name: str, answer: sympy.Expr, seconds: float = 2.0) -> Verdict:
    """Decide whether `answer` is dl/d(name): symbolically if SymPy can, otherwise at
    many points (points where the loss or either side is undefined are skipped, and
    so are the kinks, where conventions such as Heaviside(0) differ)."""
    import sympy as sp

    from gdcli.errors import ResourceLimit

    d = derivative(loss, name)
    try:
        with time_limit(seconds):
            difference = sp.simplify(d - answer)
        if difference == 0:
            return Verdict(d, True, "symbolic", None, 0)
    except ResourceLimit:
        difference = None

    symbols = sorted(loss.expr.free_symbols | answer.free_symbols, key=lambda s: s.name)
    f = compile_scalar(d, symbols)
    g = compile_scalar(answer, symbols)
    loss_at = compile_scalar(loss.expr, symbols)
    checked = 0
    for xs in _check_points(symbols, [d, answer]):
        a, b = f(*xs), g(*xs)
        if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(loss_at(*xs))):
            continue  # no derivative to compare where the loss itself is undefined
        checked += 1
        if abs(a - b) > CHECK_TOLERANCE * max(1.0, abs(a), abs(b)):
            point = {s.name: x for s, x in zip(symbols, xs, strict=True)}
            return Verdict(d, False, "numeric", {"point": point, "expected": a, "got": b}, checked)
        if checked >= CHECK_POINTS:
            break
    if checked == 0:
        raise NumericalError(
            "cannot decide: the derivative and the answer are nowhere both defined "
            "at the points tried"
        )
    return Verdict(d, True, "numeric", None, checked)


def _check_points(symbols: list[Any], exprs: list[Any]) -> Iterator[list[float]]:
    """Readable points first (halves from -3 to 3), then points on both sides of
    every breakpoint (so a kink in the wrong place is found), then random points.
    Points on a kink of either side are skipped: there the conventions of a
    derivative (Heaviside(0), sign(0)) may differ without the answer being wrong."""
    import random

    import sympy as sp

    switches = [
        g
        for e in exprs
        for atom in e.atoms(*(getattr(sp, n) for n in NONSMOOTH))
        for g in _switch_arguments(atom)
    ]
    gaps = [compile_scalar(u, symbols) for u in switches]

    def on_kink(xs: list[float]) -> bool:
        return any(abs(gap(*xs)) <= 1e-12 * max(1.0, *map(abs, xs)) for gap in gaps)

    candidates: list[list[float]] = []
    if len(symbols) == 1:
        candidates += [[k / 2] for k in range(-6, 7)]
        for r in _breakpoints(switches, symbols[0]):
            for offset in (1e-3, 1e-6):
                step = offset * max(1.0, abs(r))
                candidates += [[r - step], [r + step]]
    rng = random.Random(20261126)
    scales = (1.0, 3.0, 10.0, 0.1)
    for k in range(CHECK_POINTS * 5):
        scale = scales[k % len(scales)]
        candidates.append([rng.uniform(-scale, scale) for _ in symbols])
    for xs in candidates:
        if not on_kink(xs):
            yield xs


def _switch_arguments(atom: Any) -> list[Any]:
    """The expressions whose sign switches a non-smooth function's branch."""
    import sympy as sp

    if isinstance(atom, sp.Piecewise):
        return [c.lhs - c.rhs for _, c in atom.args if isinstance(c, sp.core.relational.Relational)]
    if isinstance(atom, (sp.Max, sp.Min)):
        args = atom.args
        return [a - b for i, a in enumerate(args) for b in args[i + 1 :]]
    return [atom.args[0]]


def _breakpoints(switches: list[Any], w: Any) -> list[float]:
    """Real roots of the switching expressions (those SymPy finds quickly)."""
    import sympy as sp

    from gdcli.errors import ResourceLimit

    roots: set[float] = set()
    try:
        with time_limit(1.0):
            for u in switches:
                for r in sp.solve(u, w):
                    value = to_float(r)
                    if value is not None:
                        roots.add(value)
    except (ResourceLimit, NotImplementedError, ValueError, TypeError):
        pass
    return sorted(roots)


class time_limit:
    """Raise ResourceLimit when the block runs longer than `seconds` (main thread only;
    elsewhere it does not limit)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.armed = False

    def _expired(self, signum: int, frame: Any) -> None:
        from gdcli.errors import ResourceLimit

        raise ResourceLimit(f"too slow: gave up after {self.seconds:g} s")

    def __enter__(self) -> time_limit:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            self.previous = signal.signal(signal.SIGALRM, self._expired)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self.armed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.armed:
            import signal

            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
