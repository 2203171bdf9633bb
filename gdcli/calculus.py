"""Derivatives, difference quotients and one-sided slopes (answers are checked in
`gdcli.answers`).

Exact values come from SymPy (evaluated once, to 30 digits); the difference
quotients are computed in floating point on purpose: their round-off is what
the course's V-curve of error against h shows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from gdcli.budget import time_limit
from gdcli.errors import (
    BadInput,
    BadValue,
    NameRole,
    NotComputed,
    NumericalError,
    ResourceLimit,
    TooSlow,
)
from gdcli.limits import (
    DIGITS,
    EXACT_SECONDS,
    LIMIT_SECONDS,
    MAX_H_VALUES,
    MAXN,
    RELIABLE_BITS,
    SUBSTITUTE_SECONDS,
)
from gdcli.parse.expression import Loss
from gdcli.parse.options import show_value

if TYPE_CHECKING:
    import sympy

SCHEMES = ("forward", "backward", "central")
KINK_STEPS = ("1e-40", "1e-30")  # how far beside a kink the one-sided slopes are evaluated

# The functions whose argument crossing zero makes a kink or a jump.
NONSMOOTH = ("Abs", "Max", "Min", "Heaviside", "sign", "Piecewise")


def nonsmooth_types() -> tuple[type, ...]:
    """SymPy's classes of the functions with a kink or a jump (NONSMOOTH)."""
    import sympy as sp

    return tuple(getattr(sp, n) for n in NONSMOOTH)


def has_kink(expr: sympy.Expr) -> bool:
    """Does the expression hold a function with a kink or a jump?"""
    return bool(expr.atoms(*nonsmooth_types()))


def require_scalar(loss: Loss, name: str) -> sympy.Symbol:
    if loss.shapes[name]:
        raise NameRole(name, "array", loss.text)
    return loss.entries[name][0]


def derivative(loss: Loss, name: str) -> sympy.Expr:
    return partial(loss.expr, require_scalar(loss, name))


def partials(loss: Loss) -> dict[str, list[sympy.Expr]]:
    """One partial derivative per entry of each weight (row-major)."""
    flat = gradient(loss.expr, loss.symbols())
    out, k = {}, 0
    for name in loss.variables:
        size = len(loss.entries[name])
        out[name], k = flat[k : k + size], k + size
    return out


def gradient(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
    """The partial derivative for each symbol. The terms of a sum are sorted by the
    symbols they hold once, so each partial visits only its own terms (a loss over a
    50x50 W is 2500 terms, and 2500 partials)."""
    import sympy as sp

    if not isinstance(expr, sp.Add):
        return [partial(expr, s) for s in symbols]
    holding: dict[Any, list[Any]] = {}
    for term in expr.args:
        for s in term.free_symbols:
            holding.setdefault(s, []).append(term)
    return [sp.Add(*(partial(t, s) for t in holding.get(s, ()))) for s in symbols]


def partial(expr: sympy.Expr, symbol: sympy.Symbol) -> sympy.Expr:
    """d expr / d symbol. A sum is differentiated term by term, skipping the terms
    without the symbol (the other entries of W, held constant): for a matrix loss
    most terms, and SymPy would otherwise build a zero for each of them."""
    import sympy as sp

    if not expr.has(symbol):
        return sp.S.Zero
    if isinstance(expr, sp.Add):
        return sp.Add(*(partial(t, symbol) for t in expr.args if t.has(symbol)))
    if isinstance(expr, sp.Mul):  # the product rule, over the factors that hold the symbol
        factors = expr.args
        return sp.Add(
            *(
                sp.Mul(*factors[:k], partial(f, symbol), *factors[k + 1 :])
                for k, f in enumerate(factors)
                if f.has(symbol)
            )
        )
    if isinstance(expr, (sp.Max, sp.Min)):
        # the slope of the piece that wins: d max(a, b, ...) = a' * H(a - b) * ... + ...
        # (for two pieces exactly SymPy's own; for more, SymPy nests Max inside its
        # Heavisides, and the expression grows past any budget)
        sign = 1 if isinstance(expr, sp.Max) else -1
        pieces = expr.args
        return sp.Add(
            *(
                partial(a, symbol)
                * sp.Mul(*(sp.Heaviside(sign * (a - b)) for b in pieces if b is not a))
                for a in pieces
                if a.has(symbol)
            )
        )
    if isinstance(expr, sp.Abs):
        # |u|' = sign(u) u' for a real u (SymPy's own asks whether u may be complex)
        (u,) = expr.args
        return sp.sign(u) * partial(u, symbol)
    if isinstance(expr, (sp.sign, sp.Heaviside)):
        return sp.S.Zero  # flat on both sides of the jump (the subgradient gdcli takes on it)
    if isinstance(expr, sp.Pow) and not expr.exp.has(symbol):
        # the power rule by hand: SymPy's own is far slower on long sums (it asks
        # about the base's sign for the log term that a constant exponent never has)
        base, n = expr.args
        return n * base ** (n - 1) * partial(base, symbol)
    if isinstance(expr, sp.Function) and len(expr.args) == 1:
        # the chain rule f(u)' = f'(u) u', u' by the rules above: SymPy's own would
        # write |u|' with re() and im() where u might be complex (abs(log(w)) inside
        # sin), and a step's with DiracDelta, neither of which gdcli can read back
        (u,) = expr.args
        t, outer = _outer_derivative(expr.func)
        return outer.xreplace({t: u}) * partial(u, symbol)
    # The chain rule by hand for the rest too, so that what lies inside goes through
    # the rules above: SymPy's own would meet Heaviside(x, h0) with a weight in h0 and
    # leave an unevaluated Derivative, which nothing can print or evaluate.
    if isinstance(expr, sp.Pow):  # the weight in the exponent
        base, n = expr.args
        return expr * (partial(n, symbol) * sp.log(base) + partial(base, symbol) * n / base)
    if isinstance(expr, sp.Function) and not isinstance(expr, sp.Piecewise):
        try:
            return sp.Add(
                *(
                    expr.fdiff(k) * partial(a, symbol)
                    for k, a in enumerate(expr.args, start=1)
                    if a.has(symbol)
                )
            )
        except sp.ArgumentIndexError:
            pass
    # a jump's derivative is 0 on both sides of it (the rule for a step above)
    return sp.diff(expr, symbol).replace(sp.DiracDelta, lambda *args: sp.S.Zero)


@functools.cache
def _outer_derivative(func: Any) -> tuple[Any, Any]:
    """f'(t) for a function f of one real argument t."""
    import sympy as sp

    t = sp.Dummy("t", real=True)
    return t, sp.diff(func(t), t)


def exact(expr: sympy.Expr, point: dict[Any, Any]) -> sympy.Expr:
    """The expression at a point, exactly (no floating point yet)."""
    return expr.xreplace(point)


def _number(value: Any) -> Any:
    """A SymPy value evaluated to DIGITS correct digits (working precision up to MAXN
    bits, so that cancellation near a saturated tanh or a sigmoid's tail keeps its
    digits); None where undefined, infinite or complex. NotComputed where even that
    precision leaves fewer than a float's digits known."""
    import sympy as sp

    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    try:
        number = sp.N(value, DIGITS, maxn=MAXN)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return _real(number)


def _real(number: Any) -> Any:
    import sympy as sp

    if not number.is_number or number.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    re, im = number.as_real_imag()
    if im != 0 and abs(im) > 1e-25 * max(1, abs(re)):
        return None
    if isinstance(re, sp.Float) and re._prec < RELIABLE_BITS:
        if re == 0 or abs(re) < sp.Float("1e-330"):  # zero to every digit evalf could see
            return sp.S.Zero
        raise NotComputed("a value could not be computed to a float's precision")
    return re


def to_float(value: Any) -> float | None:
    """A real finite float, correctly rounded, or None where the value is undefined,
    infinite, complex or beyond the range of floats."""
    if isinstance(value, (int, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    number = _number(value)
    if number is None:
        return None
    try:
        f = float(number)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def value_at(expr: sympy.Expr, point: dict[Any, Any]) -> float:
    """expr at the point, correctly rounded to a float: evaluated by SymPy to DIGITS
    correct digits (numerically at the point, so that no huge exact number, w**w at
    1e20, is built; and never a float first: exp(710) overflowing inside softplus
    must not make softplus(710) overflow). ±inf where the value lies beyond the range
    of floats, nan where it is undefined or complex; NotComputed (exit 4) where its
    digits cannot be known within the time for one exact evaluation."""
    import sympy as sp

    try:
        with time_limit(EXACT_SECONDS):
            try:
                # exactly first: a part that is exactly 0 at the point (the argument of
                # max or abs at a kink, w - 1 under a root) is 0, not 0.e-39711
                with time_limit(SUBSTITUTE_SECONDS):
                    exact_value = expr.xreplace(point)
                number = sp.N(exact_value, DIGITS, maxn=MAXN)
            except TooSlow:  # a huge exact number (w**w at 1e20): numerically instead
                number = sp.N(expr, DIGITS, subs=point, maxn=MAXN)
            real = _real(number)
    except (OverflowError, RecursionError):  # SymPy cannot evaluate it: exp(exp(w)) at 1e308
        raise NotComputed(
            "a value could not be computed: a number in it lies far beyond the range of floats"
        ) from None
    except TooSlow:
        # too slow to be exact: where even floats overflow, the value is beyond them
        rough = compile_scalar(expr, list(point))(*(float(v) for v in point.values()))
        if math.isinf(rough):
            return rough
        raise NotComputed(
            "a value could not be computed to a float's precision within its time"
        ) from None
    except (TypeError, ValueError, ZeroDivisionError):
        return math.nan
    if real is None:
        return math.nan
    try:
        return float(real)
    except OverflowError:
        return math.copysign(math.inf, float(sp.sign(real)))


def _is_finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def compile_scalar(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> Callable[..., float]:
    """A fast float function of the symbols (math module), returning nan where the
    expression is undefined or complex and inf where it overflows."""
    return _compile_scalar(expr, tuple(symbols))


def printable(expr: Any) -> Any:
    """The derivative of a step (Heaviside, a comparison) is a DiracDelta: 0 away
    from the jump, and 0 is also the subgradient gdcli takes on it."""
    import sympy as sp

    if not expr.has(sp.DiracDelta):
        return expr
    return expr.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


def off_steps(expr: Any) -> Any:
    """The same function, with every product holding a step Heaviside(u) written as 0
    where u < 0, whatever its other factors are there: the slope of sqrt(max(0, w)),
    Heaviside(w)/(2*sqrt(Max(0, w))), is 0 at w = -1 (the loss is flat there), not
    0 * 1/sqrt(0). Evaluated as written, the other factors are not computed there."""
    import sympy as sp

    def switched(e: Any) -> bool:
        return bool(e.is_Mul) and any(isinstance(f, sp.Heaviside) for f in e.args)

    def flat(product: Any) -> Any:
        off = sp.Or(*(f.args[0] < 0 for f in product.args if isinstance(f, sp.Heaviside)))
        return sp.Piecewise((0, off), (product, True))

    return expr.replace(switched, flat) if expr.has(sp.Heaviside) else expr


@functools.lru_cache(maxsize=128)  # a command evaluates the same few expressions often
def _compile_scalar(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> Callable[..., float]:
    import sympy as sp

    raw = sp.lambdify(list(symbols), printable(expr), modules="math", cse=True, dummify=True)
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
    for parameter, h in (("h_max", h_max), ("h_min", h_min)):
        if not (math.isfinite(h) and h > 0):
            raise BadValue(parameter, f"must be a positive number (got {h:g})")
    if h_min > h_max:
        raise BadValue("h_min", f"{h_min:g} is larger than h_max, {h_max:g}")
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
    if len(hs) > MAX_H_VALUES:
        raise BadValue(
            "h_min", f"gives more than {MAX_H_VALUES} values of h: choose it closer to h_max"
        )
    return hs


def quotient(f: Callable[[float], float], w: float, h: float, scheme: str) -> float:
    """The difference quotient of f at w with step h (floating point)."""
    if scheme == "forward":
        return (f(w + h) - f(w)) / h
    if scheme == "backward":
        return (f(w) - f(w - h)) / h
    if scheme == "central":
        return (f(w + h) - f(w - h)) / (2 * h)
    raise BadValue("scheme", f"{scheme!r} is not one of {', '.join(SCHEMES)}")


class QuotientRow(NamedTuple):
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


class SlopeAt(NamedTuple):
    derivative: sympy.Expr
    loss: float | None
    slope: float | None  # None where the derivative does not exist
    differentiable: bool
    left: float | None
    right: float | None
    convention: float | None  # what SymPy's derivative gives at the point itself
    jump: tuple[float, float] | None = None  # (l just left, l just right) where l jumps


def _touches_zero(expr: Any, point: dict[Any, Any]) -> bool:
    """Is expr exactly 0 at the point? (A float filter first, then exact arithmetic.)"""
    import sympy as sp

    rough = compile_scalar(expr, list(point))(*(float(v) for v in point.values()))
    scale = 1.0 + sum(abs(float(v)) for v in point.values())
    if math.isfinite(rough) and abs(rough) > 1e-9 * scale:
        return False
    try:
        with time_limit(EXACT_SECONDS):
            value = exact(expr, point)
            if value.is_zero is not None:  # SymPy can tell (always, for rational points)
                return bool(value.is_zero)
            if not getattr(value, "is_number", False):
                return False
            # e.g. sin(pi/7)**2 + cos(pi/7)**2 - 1: zero to far more digits than a float
            return bool(abs(sp.N(value, 50)) < sp.Float("1e-40"))
    except (ResourceLimit, TypeError, ValueError):
        return False


def kink_candidates(expr: sympy.Expr, point: dict[Any, Any]) -> bool:
    """Does a non-smooth piece of expr switch exactly at the point?"""
    for atom in expr.atoms(*nonsmooth_types()):
        if any(_touches_zero(g, point) for g in switch_arguments(atom)):
            return True
    return False


def slope_at(loss: Loss, name: str, at: Any) -> SlopeAt:
    """Loss and slope at `at` (exact), with both one-sided slopes where they differ."""
    import sympy as sp

    w = require_scalar(loss, name)
    d = partial(loss.expr, w)
    if d.has(sp.nan):
        raise BadInput(f"the derivative of {loss.text} is undefined (SymPy gives nan)")
    point = {w: at}
    value = value_at(loss.expr, point)
    if not math.isfinite(value):
        raise _not_finite(f"l({name})", name, at, value)
    convention = value_at(d, point)
    if math.isinf(convention):  # finite symbolically, but not as a float
        raise _not_finite(f"the slope dl/d{name}", name, at, convention)
    if math.isfinite(convention) and not kink_candidates(loss.expr, point):
        return SlopeAt(d, value, convention, True, convention, convention, convention)
    left = _one_sided(loss.expr, d, w, at, -1)
    right = _one_sided(loss.expr, d, w, at, +1)
    # a jump of l itself (a step, an indicator): no slope on the side that jumps
    beside = [value_at(loss.expr, {w: at + side * sp.Rational(KINK_STEPS[0])}) for side in (-1, 1)]
    jumps = [math.isfinite(b) and abs(b - value) > 1e-9 * max(1.0, abs(value)) for b in beside]
    left, right = (None if jumps[0] else left), (None if jumps[1] else right)
    jump = (beside[0], beside[1]) if any(jumps) else None
    same = (
        left is not None
        and right is not None
        and abs(left - right) <= 1e-12 * max(1.0, abs(left), abs(right))
    )
    shown = convention if math.isfinite(convention) else None
    if same and left is not None:
        # equal one-sided slopes: differentiable (0·∞ in SymPy's formula at the point,
        # sqrt(max(0, w)) at -1, does not make it otherwise)
        slope = shown if shown is not None else left
        return SlopeAt(d, value, slope, True, left, right, shown)
    return SlopeAt(d, value, None, False, left, right, shown, jump)


def _one_sided(expr: Any, d: Any, w: Any, at: Any, side: int) -> float | None:
    """The slope from the left (-1) or the right (+1) of `at`: the limit of the
    difference quotient (l(w + h) - l(w)) / h as h -> 0 on that side, by SymPy within
    its time; else the derivative a hair away, at two distances (None where those
    disagree: an infinite or undefined slope)."""
    import sympy as sp

    h = sp.Symbol("h_", positive=True)
    try:
        with time_limit(LIMIT_SECONDS):
            beside = _settle(expr.xreplace({w: at + side * h}), h)
            quotient = (beside - expr.xreplace({w: at})) / (side * h)
            found = sp.limit(quotient, h, 0, "+")
        if found.is_number and found.is_real and found.is_finite:
            return to_float(found)
        if found.is_number and found.is_infinite:
            return None
    except (TooSlow, NotImplementedError, ValueError, TypeError, AttributeError):
        pass  # SymPy found no limit in time: the slope a hair away

    near, far = (value_at(d, {w: at + side * sp.Rational(step)}) for step in KINK_STEPS)
    if not (math.isfinite(near) and math.isfinite(far)):
        return None
    return near if abs(near - far) <= 1e-6 * max(1.0, abs(near)) else None


def _settle(expr: Any, h: Any) -> Any:
    """expr for small h > 0, where each max, min, abs, sign and step keeps one branch:
    the one that wins at h = 0, or (at a tie) just after it. SymPy's limit cannot
    expand max(0, h - 1) itself."""
    import sympy as sp

    def winner(pieces: tuple[Any, ...], largest: bool) -> Any:
        keys = []
        for piece in pieces:
            at0 = piece.subs(h, 0)
            slope = sp.diff(piece, h).subs(h, 0)
            if not (at0.is_number and slope.is_number):
                return None
            keys.append((at0, slope))
        best = max(keys, key=lambda k: (k[0], k[1])) if largest else min(keys)
        if sum(1 for k in keys if k == best) > 1 and len({id(p) for p in pieces}) > 1:
            return None
        return pieces[keys.index(best)]

    def settle(node: Any) -> Any:
        if isinstance(node, (sp.Max, sp.Min)):
            chosen = winner(node.args, isinstance(node, sp.Max))
            return node if chosen is None else chosen
        (u, *_) = node.args
        at0, slope = u.subs(h, 0), sp.diff(u, h).subs(h, 0)
        if not (at0.is_number and slope.is_number):
            return node
        sign = sp.sign(at0) if at0 != 0 else sp.sign(slope)
        if sign == 0:
            return node
        if isinstance(node, sp.Abs):
            return sign * u
        if isinstance(node, sp.sign):
            return sign
        return sp.S.One if sign > 0 else sp.S.Zero  # Heaviside

    kinds = (sp.Max, sp.Min, sp.Abs, sp.sign, sp.Heaviside)
    return expr.replace(lambda e: isinstance(e, kinds), settle)


def _not_finite(what: str, name: str, at: Any, value: float) -> NumericalError:
    if math.isinf(value):
        return NumericalError(
            f"{what} overflows a float at {name} = {show_value(at)}",
            hint="its value is beyond ±1.8e308; try a point nearer 0",
        )
    return NumericalError(
        f"{what} is not a real number at {name} = {show_value(at)}",
        hint="it is undefined there (a log or root of a negative, a division by zero?)",
    )


class Slopes(Protocol):
    """A slope and its one-sided slopes at a point (`SlopeAt`, the mean over data's)."""

    @property
    def slope(self) -> float | None: ...
    @property
    def differentiable(self) -> bool: ...
    @property
    def left(self) -> float | None: ...
    @property
    def right(self) -> float | None: ...


def scheme_reference(s: Slopes, scheme: str) -> float | None:
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
    l1, l2 = value_at(loss.expr, {w: w1}), value_at(loss.expr, {w: w1 + h})
    for value, where in ((l1, w1), (l2, w1 + h)):
        if not math.isfinite(value):
            raise _not_finite(f"l({name})", name, where, value)
    try:
        with time_limit(EXACT_SECONDS * 2):
            slope = to_float((exact(loss.expr, {w: w1 + h}) - exact(loss.expr, {w: w1})) / h)
    except TooSlow:  # a huge exact number ((1+w)**(1/w) at 1e-8 + 1e-3): numerically instead
        slope = _numeric_secant(loss.expr, w, w1, h)
    if slope is None:
        raise NumericalError(f"the secant slope overflows a float at {name} = {show_value(w1)}")
    return l1, l2, slope


def _numeric_secant(expr: Any, w: Any, w1: Any, h: Any) -> float | None:
    """(l(w1 + h) - l(w1)) / h to DIGITS correct digits by SymPy's numerical evaluation
    at the exact points (its precision grows until the difference has them)."""
    import sympy as sp

    a, b = sp.Dummy("a"), sp.Dummy("b")
    quotient = (expr.xreplace({w: a}) - expr.xreplace({w: b})) / (a - b)
    with time_limit(EXACT_SECONDS * 2):
        number = sp.N(quotient, DIGITS, subs={a: w1 + h, b: w1}, maxn=MAXN)
    return to_float(_real(number))


def switch_arguments(atom: Any) -> list[Any]:
    """The expressions whose sign switches a non-smooth function's branch."""
    import sympy as sp

    if isinstance(atom, sp.Piecewise):
        return [c.lhs - c.rhs for _, c in atom.args if isinstance(c, sp.core.relational.Relational)]
    if isinstance(atom, (sp.Max, sp.Min)):
        args = atom.args
        return [a - b for i, a in enumerate(args) for b in args[i + 1 :]]
    return [atom.args[0]]
