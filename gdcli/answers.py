"""Is ANSWER the derivative? Homework answers, checked to the last digit.

Right means right. Without a tolerance an answer is correct only when it equals
the derivative wherever both are defined, apart from the kinks themselves (where
conventions such as Heaviside(0) = 1/2 differ without the answer being wrong).
With a tolerance (`rtol`, `atol`) it is correct when
|answer - derivative| <= atol + rtol * |derivative| at every point.

How it is decided:

1. SymPy's own arithmetic: when derivative - answer is 0 as SymPy writes it (or
   once expanded, within a small share of the budget), they are one function.
2. Otherwise both sides are compared at points: readable ones, points on both sides
   of every breakpoint of the loss, the derivative and the answer (and one inside
   each piece between neighbouring breakpoints, so that a kink put a hair away
   from where it belongs is found), and random ones. Floating point only screens:
   a point where the floats disagree is a counterexample only when exact
   arithmetic (SymPy, to 100 digits) says they differ, so round-off beside a kink
   never rejects a right answer; and agreement in floats is confirmed exactly in
   every piece between breakpoints, so an answer off by 1e-20 is wrong. Points
   where the loss or the derivative is undefined are skipped; an answer that is
   undefined where the derivative is defined (beyond isolated points) is wrong.
3. An answer is never accepted for lack of time: when the exact confirmations do
   not finish within the budget, the verdict is `Undecided` (neither).

Vector and matrix answers (a gradient in matrix form, `2*outer(W @ x - y, x)`) are
evaluated by the array engine and compared entry by entry with the gradient of
its reverse pass, then confirmed exactly entry by entry (SymPy) where the arrays
are small enough; an answer of the transposed shape is called so.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gdcli import calculus
from gdcli.budget import time_limit
from gdcli.errors import (
    BadInput,
    BadValue,
    GdcliError,
    MissingValue,
    NumericalError,
    ResourceLimit,
    ShapeError,
    Undecided,
)
from gdcli.limits import DIGITS, EXACT_ENTRIES, EXACT_SECONDS
from gdcli.params import Shape, entries, entry_labels, nested, shape_text
from gdcli.parse.printing import gdcli_text

if TYPE_CHECKING:
    from gdcli.parse.expression import Loss
    from gdcli.problem import Problem

CHECK_POINTS = 200  # points compared (in floating point) before an answer is called right
EXACT_POINTS = 24  # at most this many of them are confirmed exactly
MIN_EXACT = 3  # at least this many exact confirmations (or every point compared, if fewer)
FLOAT_AGREE = 1e-9  # floats closer than this (relative) need no exact look at once
FLOAT_FLOOR = 1e-12  # nor floats closer than this: round-off of an unsimplified 0
SYMBOLIC_SECONDS = 0.2  # CPU seconds for SymPy to expand derivative - answer
SOLVE_SECONDS = 0.5  # CPU seconds for SymPy to find the breakpoints exactly
MAXN = 120  # digits evalf may work with to tell a difference from 0
SIDE_DIGITS = 50  # two sides that agree to this many digits are equal (when evalf gives up)
MAX_BREAKPOINTS = 40
ARRAY_POINTS = 40  # random points for a vector or matrix answer
SEED = 20261126  # the checker's points are the same at every call

# statuses of one comparison at one point
EQUAL, DIFFER, UNDEFINED, SKIP, UNKNOWN = "equal", "differ", "undefined", "skip", "unknown"


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 0.0
    atol: float = 0.0

    @property
    def exact(self) -> bool:
        return self.rtol == 0 and self.atol == 0

    def bound(self, expected: float) -> float:
        return self.atol + self.rtol * abs(expected)


def tolerance(rtol: float, atol: float) -> Tolerance:
    """Tolerances as given: each a number >= 0 (0, the default, is exact)."""
    for parameter, value in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise BadValue(parameter, f"must be a number >= 0 (got {value})")
    return Tolerance(float(rtol), float(atol))


@dataclass(frozen=True)
class Mismatch:
    """A counterexample: where, what the derivative is, what the answer gives (texts
    with as many digits as it takes to tell them apart) and their difference."""

    point: dict[str, Any]  # name -> float or nested lists (JSON-ready)
    point_text: str
    expected: float | None
    got: float | None  # None: the answer is undefined (or not real) there
    expected_text: str
    got_text: str
    difference: float | None  # got - expected
    difference_text: str
    entry: str | None = None  # W[2,1] for a vector or matrix answer

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "point": self.point,
            "expected": self.expected,
            "got": self.got,
            "difference": self.difference,
            "expected_text": self.expected_text,
            "got_text": self.got_text,
            "difference_text": self.difference_text,
        }
        if self.entry is not None:
            out["entry"] = self.entry
        return out


@dataclass(frozen=True)
class Verdict:
    """The decision. `method`: `symbolic` (SymPy shows the difference is 0),
    `numeric` (compared at `checked` points, `exact` of them exactly), `float64`
    (arrays too large for exact arithmetic: compared in floating point only),
    `point` (at one given point), `value` (a number), `shape` (the answer's shape
    is not the gradient's)."""

    derivative: str  # what the answer is compared with, as text that parses back
    equal: bool
    method: str
    counterexample: Mismatch | None = None
    checked: int = 0
    exact: int = 0
    hint: str | None = None  # "transposed": the answer is the gradient transposed
    shapes: tuple[Shape, Shape] | None = None  # (the gradient's, the answer's) when they differ
    tolerance: Tolerance = field(default_factory=Tolerance)


# ---------------------------------------------------------------------------
# exact arithmetic at one point


@dataclass(frozen=True)
class Compared:
    state: str  # EQUAL, DIFFER, UNDEFINED (the answer), SKIP, UNKNOWN (too slow)
    expected: Any = None  # SymPy numbers, exact
    got: Any = None


def _number(value: Any) -> Any:
    """A real number (a SymPy Float to DIGITS digits), or None where the value is
    undefined, infinite or not real."""
    import sympy as sp

    if isinstance(value, float):
        value = sp.Float(value) if math.isfinite(value) else sp.nan
    elif isinstance(value, int):
        value = sp.Integer(value)
    if not value.is_number or value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    try:
        number = sp.N(value, DIGITS)
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
        return None
    if not number.is_number or number.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    re, im = number.as_real_imag()
    if im != 0 and abs(im) > sp.Float("1e-25") * max(1, abs(re)):
        return None
    if not re.is_finite:
        return None
    return re


def _gap(expected: Any, got: Any) -> Any:
    """got - expected, exactly: SymPy's 0 when they are equal (to MAXN digits), None
    when it cannot be told.

    evalf in strict mode either gives the difference to DIGITS digits or gives up:
    when it is 0, and also when a part of one side cancels beyond MAXN digits
    (1 - 1/(exp(-1001) + 1)) though the whole does not. Then each side is evaluated
    on its own, to SIDE_DIGITS digits: two numbers that agree that far are equal."""
    import sympy as sp
    from sympy.core.evalf import PrecisionExhausted

    difference = got - expected
    if difference == 0:
        return sp.S.Zero
    try:
        value = sp.N(difference, DIGITS, strict=True, maxn=MAXN)
    except PrecisionExhausted:
        e, g = _side(expected), _side(got)
        if e is None or g is None:
            return None
        gap = g - e
        if abs(gap) <= sp.Float(10) ** -SIDE_DIGITS * max(abs(e), abs(g)):
            return sp.S.Zero
        return gap
    re, _ = value.as_real_imag()
    return re


def _side(value: Any) -> Any:
    """One side to SIDE_DIGITS digits: strict where evalf can (every digit right);
    else its values at two precisions, when they agree that far (a part that cancels
    may be far below the whole: 1 + (1 - 1/(exp(-1001) + 1))); else 0 when both are 0
    to more than MAXN / 2 digits (an unsimplified zero, such as
    2 sin(1)**2 - 2 cos(1)**2 + 2 cos(2)); else None (it cannot be told)."""
    import sympy as sp
    from sympy.core.evalf import PrecisionExhausted

    try:
        return sp.N(value, SIDE_DIGITS + 10, strict=True, maxn=MAXN).as_real_imag()[0]
    except PrecisionExhausted:
        pass
    low = sp.N(value, SIDE_DIGITS + 10).as_real_imag()[0]
    high = sp.N(value, 2 * SIDE_DIGITS + 20).as_real_imag()[0]
    size = max(abs(low), abs(high))
    if abs(high - low) <= sp.Float(10) ** -SIDE_DIGITS * size:
        return high
    if size < sp.Float(10) ** -(MAXN // 2):
        return sp.S.Zero
    return None


def _within(gap: Any, expected: Any, tol: Tolerance) -> bool:
    if gap == 0:
        return True
    if tol.exact:
        return False
    # the tolerances as typed (1e-6 is 1/10**6, not the float nearest to it)
    return bool(abs(gap) <= _rational(tol.atol) + _rational(tol.rtol) * abs(expected))


def compare_exactly(expected: Any, got: Any, tol: Tolerance) -> Compared:
    """Two exact numbers (SymPy expressions without symbols), compared."""
    try:
        with time_limit(EXACT_SECONDS):
            e = _number(expected)
            if e is None:
                return Compared(SKIP)
            g = _number(got)
            if g is None:
                return Compared(UNDEFINED, expected)
            gap = _gap(expected, got)
            if gap is None:
                return Compared(UNKNOWN)
            return Compared(EQUAL if _within(gap, e, tol) else DIFFER, expected, got)
    except ResourceLimit:
        return Compared(UNKNOWN)


# ---------------------------------------------------------------------------
# texts: as many digits as it takes


def _mpf(value: Any, digits: int) -> Any:
    import mpmath
    import sympy as sp

    number = sp.N(value, digits)
    re, _ = number.as_real_imag()
    return mpmath.mpf(sp.Float(re, digits)._mpf_)


def _tidy(text: str) -> str:
    """mpmath's `1.0e-40` and `12.0` as people write them: `1e-40`, `12`."""
    mantissa, e, exponent = text.partition("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    return mantissa + (e + exponent.lstrip("+") if e else "")


def distinct_texts(expected: Any, got: Any) -> tuple[str, str, str]:
    """The two exact numbers written with the fewest significant digits (at least 6)
    that tell them apart, and their difference (got - expected) to 4 digits."""
    import mpmath
    import sympy as sp

    gap = _gap(expected, got)
    if gap is None:  # (only after a DIFFER, which needs a gap; kept safe all the same)
        gap = sp.N(got - expected, DIGITS)
    with mpmath.workdps(MAXN + 20):
        e, g = _mpf(expected, MAXN), _mpf(got, MAXN)
        d = _mpf(gap, 30) if gap != 0 else mpmath.mpf(0)
        digits = 6
        if gap != 0:
            size = max(abs(e), abs(g))
            if size > 0:
                digits = max(6, int(mpmath.ceil(mpmath.log10(size / abs(d)))) + 2)
        digits = min(digits, MAXN)
        while True:
            a = mpmath.nstr(e, digits, strip_zeros=True)
            b = mpmath.nstr(g, digits, strip_zeros=True)
            if a != b or digits >= MAXN:
                break
            digits = min(MAXN, digits + 4)
        return _tidy(a), _tidy(b), _tidy(mpmath.nstr(d, 4, strip_zeros=True))


def distinct_float_texts(expected: float, got: float) -> tuple[str, str, str]:
    """As `distinct_texts`, for two floats."""
    for digits in range(6, 18):
        a, b = f"{expected:.{digits}g}", f"{got:.{digits}g}"
        if a != b:
            break
    return a, b, f"{got - expected:.4g}"


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def _show_point(value: Any) -> str:
    """A coordinate of a point for a sentence: its shortest float form (`1`, `0.5`,
    `5e-08`; a point that is no short decimal, such as -2/3 + 1e-6, to 17 digits)."""
    f = _float(value)
    if f is None:
        return str(value)
    text = repr(f)
    return text[:-2] if text.endswith(".0") else text


def _mismatch(
    point: dict[str, Any], point_text: str, c: Compared, entry: str | None = None
) -> Mismatch:
    expected = _number(c.expected)
    if c.state == UNDEFINED:
        text = _digits(expected)
        return Mismatch(point, point_text, _float(expected), None, text, "undefined", None, "")
    got = _number(c.got)
    a, b, d = distinct_texts(c.expected, c.got)
    return Mismatch(
        point, point_text, _float(expected), _float(got), a, b, _float(got - expected), d, entry
    )


def _digits(value: Any) -> str:
    import mpmath

    with mpmath.workdps(40):
        return _tidy(str(mpmath.nstr(_mpf(value, 30), 10, strip_zeros=True)))


# ---------------------------------------------------------------------------
# where to look


def switches(exprs: Sequence[Any]) -> list[Any]:
    """The expressions whose sign switches a non-smooth piece of any of `exprs`."""
    found: list[Any] = []
    for e in exprs:
        for atom in e.atoms(*calculus.nonsmooth_types()):
            for g in calculus.switch_arguments(atom):
                if g.free_symbols and g not in found:
                    found.append(g)
    return found


def _rational(x: float) -> Any:
    """A float as the exact decimal it prints as (0.1 is 1/10)."""
    import sympy as sp

    return sp.Rational(repr(float(x)))


def _sign_changes(f: Callable[[float], float]) -> list[float]:
    """Where f changes sign on a grid from -1000 to 1000 (finer near 0), each found
    to the last bit by bisection."""
    near = [s * 10.0**k for k in range(-12, 0) for s in (-1.0, 1.0)]
    grid = sorted(
        {*near, *(k / 20 for k in range(-240, 241)), *(float(k) for k in range(-1000, 1001, 10))}
    )
    values = [f(x) for x in grid]
    roots: list[float] = []
    for k in range(len(grid) - 1):
        a, fa, b, fb = grid[k], values[k], grid[k + 1], values[k + 1]
        if not (math.isfinite(fa) and math.isfinite(fb)):
            continue
        if fa == 0:
            roots.append(a)
        elif fa * fb < 0:
            lo, hi, flo = a, b, fa
            for _ in range(80):
                mid = (lo + hi) / 2
                if mid in (lo, hi):
                    break
                fm = f(mid)
                if not math.isfinite(fm):
                    break
                if (fm < 0) == (flo < 0):
                    lo, flo = mid, fm
                else:
                    hi = mid
            roots.append(lo if abs(f(lo)) <= abs(f(hi)) else hi)
    return roots


def breakpoints(exprs: Sequence[Any], symbol: Any) -> list[tuple[float, Any]]:
    """The real points where an expression of one variable switches sign: SymPy's
    exact roots (within a share of the budget) and the sign changes on a grid.
    Sorted (float, exact value or None)."""
    found: dict[float, Any] = {}
    for u in exprs:
        for value, exact in _roots(u, symbol):
            near = next((v for v in found if _same(value, v)), None)
            if near is None:
                found[value] = exact
            elif found[near] is None and exact is not None:
                del found[near]
                found[value] = exact
    nearest = sorted(found.items(), key=lambda item: abs(item[0]))[:MAX_BREAKPOINTS]
    return sorted(nearest)  # the ones nearest 0 (sin(w) has hundreds on the grid)


@functools.lru_cache(maxsize=1024)  # a batch asks again about the same loss's switches
def _roots(u: Any, symbol: Any) -> tuple[tuple[float, Any], ...]:
    import sympy as sp

    found: dict[float, Any] = {}
    if u.has(symbol):
        try:
            with time_limit(SOLVE_SECONDS):
                for r in sp.solve(u, symbol):
                    value = calculus.to_float(r)
                    if value is not None:
                        found[value] = r if isinstance(r, sp.Rational) else None
        except (ResourceLimit, NotImplementedError, ValueError, TypeError, AttributeError):
            pass
        for value in _sign_changes(calculus.compile_scalar(u, [symbol])):
            if not any(_same(value, v) for v in found):
                found[value] = None
    return tuple(sorted(found.items()))


def _same(a: float, b: float) -> bool:
    """One breakpoint found twice (by SymPy and on the grid): equal to 12 digits.
    Relative only: 0 and 1e-12 are two breakpoints."""
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b))


@dataclass(frozen=True)
class Probe:
    values: tuple[Any, ...]  # exact (SymPy Rationals), one per symbol
    piece: str | None = None  # confirmed exactly: a representative of its piece


def _readable(n: int) -> list[tuple[Any, ...]]:
    import sympy as sp

    halves = [sp.Rational(k, 2) for k in (2, -2, 1, -1, 4, -4, 3, -3, 0, 5, -5, 6, -6)]
    if n == 1:
        return [(h,) for h in halves]
    return [tuple(halves[(k + 5 * i) % len(halves)] for i in range(n)) for k in range(len(halves))]


def _random_point(rng: random.Random, n: int, k: int) -> tuple[Any, ...]:
    import sympy as sp

    scales = (1, 3, 10, sp.Rational(1, 10), 1, 100, sp.Rational(1, 1000), 3)
    scale = scales[k % len(scales)]
    return tuple(sp.Rational(rng.randint(-9999, 9999), 10000) * scale for _ in range(n))


def _line_probes(
    cut: Sequence[tuple[float, Any]], base: tuple[Any, ...], index: int, tag: str
) -> list[Probe]:
    """Points along one coordinate: inside every piece between breakpoints (each a
    representative), and on both sides of each, close in."""
    import sympy as sp

    def at(x: Any, piece: str | None = None) -> Probe:
        values = list(base)
        values[index] = x
        return Probe(tuple(values), piece)

    exact = [r if r is not None else _rational(v) for v, r in cut]
    out: list[Probe] = []
    if not exact:
        return out
    out.append(at(exact[0] - 1, f"{tag}<{exact[0]}"))
    for a, b in zip(exact, exact[1:], strict=False):
        out.append(at((a + b) / 2, f"{tag}:{a}"))
    out.append(at(exact[-1] + 1, f"{tag}>{exact[-1]}"))
    for k, r in enumerate(exact):
        left = exact[k] - exact[k - 1] if k else None
        right = exact[k + 1] - exact[k] if k + 1 < len(exact) else None
        step = _rational(1e-3 * max(1.0, abs(float(r))))
        for gap, side in ((left, -1), (right, 1)):
            delta = step if gap is None else min(step, gap / 4)
            for shrink in (1, sp.Rational(1, 1000)):
                out.append(at(r + side * delta * shrink))
    # the pieces first, then close in; nearest 0 first: a counterexample is where people look
    return sorted(out, key=lambda p: (p.piece is None, abs(p.values[index])))


def probes(symbols: Sequence[Any], cuts: Sequence[Any]) -> Iterator[Probe]:
    """The points to compare at, most telling first: readable points, the pieces
    between breakpoints (along every coordinate, through a few base points), then
    random points."""
    n = len(symbols)
    readable = _readable(n)
    for k, values in enumerate(readable):
        yield Probe(values, f"readable {k}" if k < 2 else None)
    rng = random.Random(SEED)
    bases = [readable[0]] + [_random_point(rng, n, 0) for _ in range(2 if n > 1 else 0)]
    for b, base in enumerate(bases):
        for i, s in enumerate(symbols):
            along = [
                _substituted(u, {t: v for t, v in zip(symbols, base, strict=True) if t is not s})
                for u in cuts
            ]
            along = [u for u in along if u is not None and u.has(s)]
            if along:
                yield from _line_probes(breakpoints(along, s), base, i, f"{b}/{s}")
    for k in range(CHECK_POINTS * 5):
        yield Probe(_random_point(rng, n, k), f"random {k}" if k < 2 else None)


def _on_kink(
    cuts: Sequence[Any],
    funcs: Sequence[Callable[..., float]],
    symbols: Sequence[Any],
    point: Probe,
    xs: list[float],
) -> bool:
    """Is the point exactly on a switch of a non-smooth piece? (A float filter first,
    then exact arithmetic; when it cannot tell, the point is left out.)"""
    scale = max([1.0, *map(abs, xs)])  # no weights left (w - w + 1): 1
    for u, f in zip(cuts, funcs, strict=True):
        value = f(*xs)
        if math.isfinite(value) and abs(value) > 1e-9 * scale:
            continue
        try:
            with time_limit(EXACT_SECONDS):
                exact = u.xreplace(dict(zip(symbols, point.values, strict=True)))
                zero = exact.is_zero if exact.is_zero is not None else _number(exact) == 0
        except (ResourceLimit, TypeError, ValueError):
            return True
        if zero or not math.isfinite(value) and _number(exact) is None:
            return True
    return False


# ---------------------------------------------------------------------------
# scalar answers


def check_derivative(loss: Loss, name: str, answer: Any, tol: Tolerance = Tolerance()) -> Verdict:
    """Is `answer` (a SymPy expression) dl/d`name` everywhere? (See the module doc.)"""
    import sympy as sp

    d = calculus.derivative(loss, name)
    difference = d - answer
    if difference == 0:
        return Verdict(gdcli_text(d), True, "symbolic", tolerance=tol)
    try:
        with time_limit(SYMBOLIC_SECONDS):
            if sp.expand(difference) == 0:
                return Verdict(gdcli_text(d), True, "symbolic", tolerance=tol)
    except ResourceLimit:
        pass  # not shown symbolically: the points decide
    symbols = sorted(
        loss.expr.free_symbols | answer.free_symbols | d.free_symbols, key=lambda s: s.name
    )
    return _search(loss.expr, d, answer, symbols, tol)


def _search(loss: Any, d: Any, answer: Any, symbols: list[Any], tol: Tolerance) -> Verdict:
    cuts = switches([loss, d, answer])
    f_loss = calculus.compile_scalar(loss, symbols)
    f_d = calculus.compile_scalar(d, symbols)
    f_a = calculus.compile_scalar(answer, symbols)
    f_cuts = [calculus.compile_scalar(u, symbols) for u in cuts]
    checked = exact = unresolved = 0
    agreed: list[Probe] = []

    def subs(p: Probe) -> dict[Any, Any]:
        return dict(zip(symbols, p.values, strict=True))

    def wrong(p: Probe, c: Compared) -> Verdict:
        point = {s.name: float(v) for s, v in zip(symbols, p.values, strict=True)}
        text = ", ".join(
            f"{s.name} = {_show_point(v)}" for s, v in zip(symbols, p.values, strict=True)
        )
        return Verdict(
            gdcli_text(d),
            False,
            "numeric",
            _mismatch(point, text, c),
            checked,
            exact,
            tolerance=tol,
        )

    for p in probes(symbols, cuts):
        xs = [float(v) for v in p.values]
        lv = f_loss(*xs)  # nan: undefined here; inf: beyond floats, but defined
        if math.isnan(lv) or _on_kink(cuts, f_cuts, symbols, p, xs):
            continue
        dv = f_d(*xs)
        if math.isnan(dv):
            continue  # no derivative here (or none a float can hold)
        av = f_a(*xs)
        if math.isfinite(lv) and math.isfinite(dv) and math.isfinite(av) and _close(dv, av, tol):
            agreed.append(p)
            checked += 1
        else:
            c = _compare_at(d, answer, subs(p), tol)
            if c.state == EQUAL:
                checked += 1
                exact += 1
            elif c.state == DIFFER or (
                c.state == UNDEFINED and _undefined_around(answer, symbols, p)
            ):
                checked += 1
                return wrong(p, c)
            elif c.state == UNKNOWN:
                unresolved += 1  # the floats differ here, and exact arithmetic could not say
        if checked >= CHECK_POINTS:
            break
    if unresolved and not checked:
        raise Undecided(checked, exact)
    if not checked:
        raise NumericalError(
            "cannot decide: the derivative and the answer are nowhere both defined "
            "at the points tried"
        )
    chosen = [p for p in agreed if p.piece is not None][:EXACT_POINTS]
    if len(chosen) < MIN_EXACT:
        chosen += [p for p in agreed if p.piece is None][: MIN_EXACT - len(chosen)]
    confirmed = 0
    for p in chosen:
        c = _compare_at(d, answer, subs(p), tol)
        if c.state == EQUAL:
            confirmed += 1
        elif c.state == DIFFER or (c.state == UNDEFINED and _undefined_around(answer, symbols, p)):
            return wrong(p, c)
    exact += confirmed
    if unresolved or confirmed < min(MIN_EXACT, len(chosen)):
        raise Undecided(checked, exact)
    return Verdict(gdcli_text(d), True, "numeric", None, checked, exact, tolerance=tol)


def _substituted(expr: Any, subs: Mapping[Any, Any]) -> Any:
    """`expr` at a point; None where SymPy refuses to build it, the point being outside
    its domain (Heaviside of a complex number raises: max(log(w), 0) at w = -1)."""
    try:
        return expr.xreplace(subs)
    except (ValueError, TypeError):
        return None


def _compare_at(d: Any, answer: Any, subs: Mapping[Any, Any], tol: Tolerance) -> Compared:
    try:
        with time_limit(EXACT_SECONDS):
            expected, got = _substituted(d, subs), _substituted(answer, subs)
    except ResourceLimit:
        return Compared(UNKNOWN)
    import sympy as sp

    undefined = sp.nan  # what compare_exactly makes of a value that is not a real number
    return compare_exactly(
        undefined if expected is None else expected, undefined if got is None else got, tol
    )


def _real_at(expr: Any, subs: Mapping[Any, Any]) -> bool:
    """Is `expr` a real number at the point? (True when it cannot tell in time: the
    comparison that follows then decides.)"""
    try:
        with time_limit(EXACT_SECONDS):
            value = _substituted(expr, subs)
            return value is not None and _number(value) is not None
    except ResourceLimit:
        return True


def _undefined_around(answer: Any, symbols: Sequence[Any], p: Probe) -> bool:
    """Is the answer undefined beside the point too (not just at an isolated point,
    such as 2*(w**2 - 1)/(w + 1) at w = -1)?"""
    import sympy as sp

    for side in (-1, 1):
        moved = [v + side * sp.Rational(1, 10**6) * max(1, abs(v)) for v in p.values]
        try:
            with time_limit(EXACT_SECONDS):
                value = _substituted(answer, dict(zip(symbols, moved, strict=True)))
                if value is not None and _number(value) is not None:
                    return False
        except ResourceLimit:
            return False
    return True


def _close(expected: float, got: float, tol: Tolerance) -> bool:
    """Do two floats agree (before any exact look)?"""
    gap = abs(expected - got)
    if tol.exact:  # (exact arithmetic confirms agreement later, at chosen points)
        return gap <= FLOAT_AGREE * max(abs(expected), abs(got)) or gap <= FLOAT_FLOOR
    return gap <= 0.5 * tol.bound(expected)


# ---------------------------------------------------------------------------
# at one point, and values


def check_at(
    loss: Loss, name: str, answer: Any, point: Mapping[Any, Any], tol: Tolerance = Tolerance()
) -> Verdict:
    """Is `answer` (a number or an expression of the weights) dl/d`name` at `point`
    (entry symbol -> exact value)?"""
    d = calculus.derivative(loss, name)
    here = dict(point)
    if calculus.kink_candidates(loss.expr, here):
        raise NumericalError(
            f"the derivative does not exist at this point: {loss.text} has a kink there",
            hint="ask for the derivative at another point",
        )
    text = ", ".join(f"{s.name} = {v}" for s, v in point.items())
    if not _real_at(loss.expr, here):  # no loss there, so no slope (as derive says)
        raise NumericalError(f"{loss.text} is not a real number at {text}")
    c = _compare_at(d, answer, here, tol)
    data = {s.name: _float(v) for s, v in point.items()}
    if c.state == SKIP:
        raise NumericalError(f"the derivative of {loss.text} is not a real number at {text}")
    if c.state == UNKNOWN:
        raise Undecided(1, 0)
    if c.state == EQUAL:
        return Verdict(gdcli_text(d), True, "point", None, 1, 1, tolerance=tol)
    return Verdict(gdcli_text(d), False, "point", _mismatch(data, text, c), 1, 1, tolerance=tol)


def check_value(expected: Any, got: Any, tol: Tolerance = Tolerance()) -> Verdict:
    """Is the number `got` the number `expected` (both exact SymPy values)?"""
    c = compare_exactly(expected, got, tol)
    if c.state == SKIP:
        raise NumericalError("the expected value is not a real number")
    if c.state == UNKNOWN:
        raise Undecided(1, 0)
    if c.state == EQUAL:
        return Verdict(str(expected), True, "value", None, 1, 1, tolerance=tol)
    return Verdict(str(expected), False, "value", _mismatch({}, "", c), 1, 1, tolerance=tol)


# ---------------------------------------------------------------------------
# vector and matrix answers


def check_gradient(
    problem: Problem,
    name: str,
    answer_text: str,
    tol: Tolerance = Tolerance(),
    at: Mapping[str, Any] | None = None,
) -> Verdict:
    """Is the array expression `answer_text` the gradient of the loss with respect to
    the weight `name` (the shape of W), for every value of the weights (or, with
    `at`, at that point: weight -> exact value)? Inputs keep their values."""
    import numpy as np

    from gdcli.engine import lower

    weights, inputs = problem.weights, problem.input_shapes
    graph = lower(problem.text, weights, inputs)
    try:
        answer = lower(answer_text, weights, inputs, scalar=False)
    except MissingValue as exc:
        raise BadInput(f"ANSWER uses {exc.name}, which is not a name of {problem.text}") from None
    except GdcliError as exc:
        exc.message = "ANSWER: " + exc.message
        raise
    formula = graph.gradient_text(name)
    target: Shape = tuple(weights[name])
    got_shape: Shape = tuple(answer.loss.shape)
    if got_shape not in (target, ()):
        hint = "transposed" if got_shape == target[::-1] else None
        return Verdict(
            formula, False, "shape", hint=hint, shapes=(target, got_shape), tolerance=tol
        )

    fixed = problem.input_floats()
    exact = _ExactGradient.build(problem, name, answer_text)
    labels = entry_labels(name, target)
    method = "float64" if exact is None else ("numeric" if at is None else "point")
    checked = confirmed = 0
    agreed: list[dict[str, Any]] = []
    transposed = _square(target)  # the answer is the gradient transposed, at every point

    def wrong(values: Mapping[str, Any], k: int, c: Compared) -> Verdict:
        m = _mismatch(_array_json(values), _array_text(values), c, labels[k])
        return Verdict(formula, False, method, m, checked, confirmed, tolerance=tol)

    for values in _array_points(problem, at):
        floats = {n: _array_float(v) for n, v in values.items()}
        floats.update(fixed)
        loss, grads = graph.value_and_grad(floats)
        g = np.broadcast_to(np.asarray(grads[name], dtype=float), target)
        a = np.broadcast_to(np.asarray(answer.evaluate(floats), dtype=float), target)
        if not (math.isfinite(loss) and np.all(np.isfinite(g))):
            continue
        if _array_kink(graph, answer, floats):
            if at is not None:
                raise NumericalError(
                    "the gradient does not exist at this point: the loss has a kink there",
                    hint="ask for the gradient at another point",
                )
            continue
        if transposed:
            transposed = bool(np.allclose(a, g.T, rtol=1e-9, atol=1e-300))
        for k, (ge, ae) in enumerate(zip(g.flat, a.flat, strict=True)):
            if math.isfinite(ae) and _close(float(ge), float(ae), tol):
                continue
            if exact is not None:
                c = exact.compare(values, k, tol)
                if c.state == EQUAL:
                    confirmed += 1
                elif c.state in (DIFFER, UNDEFINED):
                    verdict = wrong(values, k, c)
                    return _with_hint(verdict, transposed)
                continue
            noise = Tolerance(1e-7, 1e-300) if tol.exact else tol
            if math.isfinite(ae) and _close(float(ge), float(ae), noise):
                continue  # within float round-off, and nothing exact to tell them apart
            c = Compared(DIFFER if math.isfinite(ae) else UNDEFINED, float(ge), float(ae))
            return _with_hint(wrong(values, k, c), transposed)
        checked += 1
        agreed.append(values)
    if not checked:
        raise NumericalError(
            "cannot decide: the gradient and the answer are nowhere both defined "
            "at the points tried"
        )
    if exact is None:
        return Verdict(formula, True, method, None, checked, 0, tolerance=tol)
    done = 0
    smooth = [values for values in agreed if not exact.on_kink(values)]
    if at is not None and not smooth:
        raise NumericalError(
            "the gradient does not exist at this point: the loss has a kink there",
            hint="ask for the gradient at another point",
        )
    for values in smooth[:MIN_EXACT]:  # every entry, exactly, at a few points
        complete = True
        for k in range(len(labels)):
            c = exact.compare(values, k, tol)
            if c.state == EQUAL:
                confirmed += 1
            elif c.state in (DIFFER, UNDEFINED):
                return wrong(values, k, c)
            else:
                complete = False
        done += complete
    if done < min(MIN_EXACT, len(smooth)):
        raise Undecided(checked, confirmed)
    return Verdict(formula, True, method, None, checked, confirmed, tolerance=tol)


def _with_hint(verdict: Verdict, transposed: bool) -> Verdict:
    if not transposed:
        return verdict
    return Verdict(
        verdict.derivative,
        False,
        verdict.method,
        verdict.counterexample,
        verdict.checked,
        verdict.exact,
        "transposed",
        None,
        verdict.tolerance,
    )


def _square(shape: Shape) -> bool:
    return len(shape) == 2 and shape[0] == shape[1]


def _array_float(value: Any) -> Any:
    import numpy as np

    if hasattr(value, "shape"):
        return np.array([float(v) for v in value.flat], dtype=float).reshape(value.shape)
    return float(value)


def _array_json(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        n: nested([float(x) for x in entries(v)], tuple(getattr(v, "shape", ())))
        for n, v in values.items()
    }


def _array_text(values: Mapping[str, Any]) -> str:
    def show(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(show(x) for x in v) + "]"
        return _show_point(v)

    return ", ".join(f"{n} = {show(v)}" for n, v in _array_json(values).items())


def _array_kink(graph: Any, answer: Any, values: Mapping[str, Any]) -> bool:
    from gdcli.engine.kinks import on_a_kink

    return on_a_kink(graph, graph.forward(values)) or on_a_kink(answer, answer.forward(values))


def _array_points(problem: Problem, at: Mapping[str, Any] | None) -> Iterator[dict[str, Any]]:
    """Exact values of every weight: the point given, or random points at several
    scales (small ones put pre-activations near their kinks)."""
    import numpy as np
    import sympy as sp

    if at is not None:
        yield dict(at)
        return
    rng = random.Random(SEED)
    scales = [1, 1, sp.Rational(1, 10), 2, 1, sp.Rational(1, 100), 1, sp.Rational(1, 10**4)]
    scales += [sp.Rational(1, 10**6), 1, sp.Rational(1, 10**8), 3]
    for k in range(ARRAY_POINTS):
        scale = scales[k % len(scales)]
        point: dict[str, Any] = {}
        for n, shape in problem.weights.items():
            draw = [
                sp.Rational(rng.randint(-20, 20), 10) * scale
                for _ in range(max(1, math.prod(shape)))
            ]
            if shape:
                array = np.empty(shape, dtype=object)
                for i, v in enumerate(draw):
                    array.flat[i] = v
                point[n] = array
            else:
                point[n] = draw[0]
        yield point


@dataclass
class _ExactGradient:
    """The gradient's entries and the answer's, as SymPy expressions (small arrays)."""

    symbols: dict[str, list[Any]]  # weight -> its entry symbols
    partials: list[Any]
    answer: list[Any]
    cuts: list[Any]  # the switches of the loss's and the answer's non-smooth pieces

    @staticmethod
    def build(problem: Problem, name: str, answer_text: str) -> _ExactGradient | None:
        from gdcli.parse.expression import parse_array
        from gdcli.problem import to_sympy

        size = sum(math.prod(s) for s in problem.weights.values())
        if size > EXACT_ENTRIES:
            return None
        try:
            with time_limit(1.0):
                loss = problem.loss
                partials = calculus.partials(loss)[name]
                constants = {n: to_sympy(v) for n, v in problem.inputs.items()}
                value = parse_array(answer_text, problem.weights, constants)
                shape = tuple(problem.weights[name])
                if not hasattr(value, "shape"):
                    answer = [value] * math.prod(shape)
                elif tuple(value.shape) == shape:
                    answer = list(value.flat)
                else:
                    return None
        except (ResourceLimit, ShapeError):
            return None
        symbols = {n: list(loss.entries[n]) for n in loss.variables}
        cuts = switches([loss.expr, *answer])
        return _ExactGradient(symbols, partials, answer, cuts)

    def _subs(self, values: Mapping[str, Any]) -> dict[Any, Any]:
        subs: dict[Any, Any] = {}
        for n, syms in self.symbols.items():
            subs.update(zip(syms, entries(values[n]), strict=True))
        return subs

    def on_kink(self, values: Mapping[str, Any]) -> bool:
        """Is the point exactly on a switch (W @ x exactly 0 where the floats say
        5.5e-17)? There conventions differ, as at a scalar kink."""
        subs = self._subs(values)
        try:
            with time_limit(EXACT_SECONDS):
                return any(u.xreplace(subs) == 0 for u in self.cuts)
        except (ResourceLimit, TypeError, ValueError):
            return True  # cannot tell: leave the point out

    def compare(self, values: Mapping[str, Any], k: int, tol: Tolerance) -> Compared:
        if self.on_kink(values):
            return Compared(SKIP)
        return _compare_at(self.partials[k], self.answer[k], self._subs(values), tol)


__all__ = [
    "Mismatch",
    "Tolerance",
    "Verdict",
    "check_at",
    "check_derivative",
    "check_gradient",
    "check_value",
    "distinct_float_texts",
    "distinct_texts",
    "shape_text",
    "tolerance",
]
