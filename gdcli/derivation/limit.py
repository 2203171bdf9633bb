"""The derivative as the limit of a difference quotient, as algebra.

The course defines dl/dw = lim_{h -> 0} (l(w + h) - l(w))/h. `limit_of_quotient`
writes that quotient for the student's loss, simplifies it (for w**3:
3*w**2 + 3*w*h + h**2), and lets h go to 0 with SymPy, within a time budget.

At a kink the two sides disagree: with a point, both one-sided limits are
reported (abs(w) at 0: -1 from the left, 1 from the right: no limit); where l is
smooth around the point, one limit serves for both sides. For the
limit at a general w, the kinks are taken away first: near a w that is not a kink,
abs(u) is sign(u(w))*u, max(a, b) is the piece that is larger at w, and a jump is
a constant; SymPy then finds the limit of a smooth quotient, and the signs and
indicators are put back (abs(w) gives sign(w), relu(w) gives (w > 0)).

SymPy's `limit` is not always right about symbolic w (for 2**w it returns
oo*sign(...)), so a limit is only reported after it is checked against SymPy's
derivative at a few points; a limit that fails the check, or that SymPy cannot
find in time, is "no limit found".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gdcli.derivation._imports import (
    RESERVED,
    BadInput,
    BadValue,
    NumericalError,
    ResourceLimit,
    _syntax_tree,
    free_names,
    gdcli_text,
    nonsmooth_types,
    switch_arguments,
)
from gdcli.derivation.clock import run_within
from gdcli.derivation.reading import Unwritable, from_sympy, from_syntax
from gdcli.derivation.steps import check_name, parse_loss_cleanly
from gdcli.derivation.terms import Add, Call, Cmp, Div, Neg, Node, Printer, Var, mul, substitute

OK = "ok"
NOT_SIMPLIFIED = "not simplified"
NO_LIMIT = "no limit found"
STATUSES = (OK, NOT_SIMPLIFIED, NO_LIMIT)

STEP_NAMES = ("h", "dh", "h1", "h2", "h3", "dh1", "dh2")
CHECK_POINTS = ("0.37", "1.3", "-0.8", "2.1", "-1.7", "0.05", "3.3", "-2.6")
MIN_BUDGET = 0.01  # seconds: a phase with less time left is not started

T = TypeVar("T")


@dataclass(frozen=True)
class LimitResult:
    """(l(w + h) - l(w))/h and its limit as h -> 0.

    Texts are in gdcli's expression language (they parse back). `difference` is
    the quotient as written, `quotient` the same simplified (or `difference` again
    when SymPy could not simplify it in time), `limit` its limit as h -> 0 in w:
    the derivative (None when not found). With a point `at`: `quotient_at` the
    quotient at w = at (text in h), `left` and `right` the one-sided limits there
    (SymPy numbers, possibly oo; None when not found or where l is undefined on
    that side), `value` the limit when both agree and are finite (`value_float`
    as a float), and `exists` whether the limit exists (None: not known).
    Without a point, `exists` says whether the limit at a general w was found."""

    expression: str
    variable: str
    step: str  # the name of the step: h, or dh, ... when the loss uses h
    step_note: str  # why the step is not called h ("" when it is)
    difference: str | None  # None: longer than gdcli reads back (a note says so)
    quotient: str | None
    limit: str | None
    status: str  # "ok", "not simplified" or "no limit found"
    at: Any | None = None
    quotient_at: str | None = None
    value: Any | None = None
    value_float: float | None = None
    left: Any | None = None
    right: Any | None = None
    exists: bool | None = None
    notes: list[str] = field(default_factory=list)


def limit_of_quotient(
    text: str, wrt: str = "w", at: Any | None = None, seconds: float = 2.0
) -> LimitResult:
    """The difference quotient of the loss `text` in `wrt` and its limit as the step
    goes to 0, within `seconds` of CPU time in all (SymPy is stopped when
    the time is up, and the result says what it could not do: `status`).

    The time limit works in the main thread only (it uses an alarm signal), and
    SymPy stops at the next point where Python can interrupt it: a long operation
    on huge integers may overrun the time a little."""
    import sympy as sp

    if isinstance(seconds, bool) or not (
        isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0
    ):
        raise BadValue("seconds", f"must be a positive number of seconds (got {seconds!r})")
    deadline = time.process_time() + seconds
    check_name(wrt)
    loss = parse_loss_cleanly(text)
    w = sp.Symbol(wrt, real=True)
    taken = free_names(text) | {wrt}
    step = next(n for n in STEP_NAMES if n not in taken and n not in RESERVED)
    h = sp.Symbol(step, real=True)
    step_note = "" if step == "h" else f"the loss uses the name h, so the step is called {step}"
    point = _point(at)
    expr = loss.expr
    notes: list[str] = []

    printer, difference = _difference(text, wrt, step)
    raw = (expr.xreplace({w: w + h}) - expr) / h
    if difference is None:
        difference = _write(raw, printer) or gdcli_text(raw)

    # In this order, each with a share of the time left: the quotient's quick forms
    # (expanded and cancelled, rationalised); with a point, the limits there (the
    # value asked for); the limit at a general w; SymPy's slow simplify of the
    # quotient only when the quick forms still divide by h; a shorter limit.
    cheap, _ = _attempt(lambda: _cheap_quotient(raw, h, printer), _share(deadline, 0.2))
    here: dict[str, Any] = {}
    if point is not None:
        until = time.process_time() + _share(deadline, 0.5)
        here = _at_point(raw, expr, w, h, point, until, printer, notes)
    found, why = _attempt(lambda: _general_limit(raw, expr, w, h, printer), _share(deadline, 0.75))
    if found is None:
        notes.append(_not_found("the limit", why))
    best = cheap
    simplified = cheap is not None and not cheap.divides
    if not simplified:
        full, why = _attempt(lambda: _simplified_quotient(raw, h, printer), _share(deadline, 0.6))
        simplified = full is not None
        best = min((q for q in (cheap, full) if q is not None), key=_Quotient.score, default=None)
        if full is None:
            notes.append(_not_found("a simpler quotient", why))
    if best is not None and not _readable(best.text):  # longer than gdcli reads back
        best = None
    shown: str | None = difference
    if not _readable(difference):
        shown = None
        notes.append(
            "the difference quotient is too long to write as an expression gdcli reads back"
        )
    limit: str | None = None
    if found is not None:
        limit_found, smooth, written = found
        shorter, _ = _attempt(
            lambda: _shorter(limit_found, smooth, expr, w, printer, written), _share(deadline, 1.0)
        )
        limit = shorter if shorter is not None and _readable(shorter) else written
        if not _readable(limit):
            limit = None
            notes.append("the limit found is too long to write as an expression gdcli reads")
    exists = here.get("exists") if point is not None else (found is not None or None)
    status = OK if simplified else NOT_SIMPLIFIED
    if found is None or exists is None:
        status = NO_LIMIT
    return LimitResult(
        expression=loss.text,
        variable=wrt,
        step=step,
        step_note=step_note,
        difference=shown,
        quotient=best.text if best is not None else shown,
        limit=limit,
        status=status,
        at=point,
        exists=exists,
        notes=notes,
        **{k: v for k, v in here.items() if k != "exists"},
    )


def _readable(text: str) -> bool:
    """Does gdcli's parser take `text` (within its bounds on size and nesting)? Every
    text this module gives out must: it is meant to be copied into a command."""
    try:
        _syntax_tree(text)
    except (BadInput, ResourceLimit):
        return False
    return True


@dataclass(frozen=True)
class _Quotient:
    expr: Any
    text: str
    divides: bool  # does h still divide (0/0 at h = 0)?
    ops: int

    def score(self) -> tuple[bool, int]:
        return self.divides, self.ops


# ---------------------------------------------------------------------------
# the pieces


def _point(at: Any) -> Any:
    """`at` as an exact SymPy number (None stays None)."""
    if at is None:
        return None
    from fractions import Fraction

    import sympy as sp

    if isinstance(at, bool):
        raise BadValue("at", f"must be a number (got {at!r})")
    if isinstance(at, (int, Fraction)):
        value = sp.Rational(at)
    elif isinstance(at, float):
        if not math.isfinite(at):
            raise BadValue("at", f"must be a finite number (got {at!r})")
        value = sp.Rational(Fraction(at))
    elif isinstance(at, sp.Basic):
        value = at
    else:
        raise BadValue("at", f"must be a number (got {at!r})")
    if value.free_symbols or value.is_real is False or value.is_finite is False:
        raise BadValue("at", f"must be a finite real number (got {value})")
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise BadValue("at", f"must be a finite real number (got {value})")
    return value


def _difference(text: str, wrt: str, step: str) -> tuple[Printer, str | None]:
    """(l(w + h) - l(w))/h as the student wrote l (None for a loss with arrays)."""
    try:
        node, decimal = from_syntax(text)
    except (BadInput, ResourceLimit):
        return Printer(), None
    printer = Printer(decimal)
    moved = substitute(node, {wrt: Add((Var(wrt), Var(step)))}, splice=True)
    first = moved.terms if isinstance(moved, Add) else (moved,)
    quotient: Node = Div(Add((*first, Neg(node))), Var(step))
    return printer, printer.text(quotient)


def _write(expr: Any, printer: Printer, order_by: Any = None) -> str | None:
    """A SymPy result in gdcli's language; a sum ordered by powers of `order_by`."""
    import sympy as sp

    try:
        if order_by is not None and isinstance(expr, sp.Add):
            terms = sorted(
                expr.as_ordered_terms(),
                key=lambda t: (_degree(t, order_by), t.could_extract_minus_sign()),
            )
            parts: list[Node] = []
            for t in terms:
                minus = t.could_extract_minus_sign()
                part = from_sympy(-t if minus else t)
                parts.append(Neg(part) if minus else part)
            return printer.text(Add(tuple(parts)))
        return printer.text(from_sympy(expr))
    except Unwritable:
        return None


def _degree(term: Any, h: Any) -> float:
    if not term.has(h):
        return 0.0
    if term.is_polynomial(h):
        return float(term.as_poly(h).degree())
    return math.inf


def _cheap_quotient(raw: Any, h: Any, printer: Printer) -> _Quotient:
    """The quotient expanded and cancelled (w**3 gives 3*w**2 + 3*w*h + h**2), or
    rationalised (sqrt(w) gives 1/(sqrt(w) + sqrt(h + w))): quick, and the forms a
    textbook shows. The simpler of the two that gdcli can write."""
    import sympy as sp

    numerator = raw * h
    cancelled = sp.cancel(sp.expand(numerator) / h)
    candidates = [raw, cancelled, sp.factor(cancelled)]
    if any(isinstance(p.exp, sp.Rational) and not p.exp.is_integer for p in raw.atoms(sp.Pow)):
        candidates.append(1 / sp.cancel(sp.radsimp(h / numerator)))
    return _best_quotient(candidates, h, printer)


def _simplified_quotient(raw: Any, h: Any, printer: Printer) -> _Quotient:
    """SymPy's simplify of the quotient (slow: only when the cheap forms fail)."""
    import sympy as sp

    return _best_quotient([sp.simplify(raw)], h, printer)


def _best_quotient(candidates: list[Any], h: Any, printer: Printer) -> _Quotient:
    """The best candidate gdcli can write: one where h no longer divides (so that
    h = 0 can be put in) first, then the shortest."""
    import sympy as sp

    written = []
    for c in candidates:
        text = _write(c, printer, order_by=h)
        if text is not None:
            divides = c.xreplace({h: 0}).has(sp.nan, sp.zoo, sp.oo, -sp.oo)
            written.append(_Quotient(c, text, divides, int(sp.count_ops(c))))
    if not written:
        raise _GiveUp("no simpler form gdcli can write")
    return min(written, key=_Quotient.score)


def _innermost(expr: Any) -> list[Any]:
    kinds = nonsmooth_types()
    return [
        a
        for a in expr.atoms(*kinds)
        if not any(arg.has(*kinds) for arg in a.args if hasattr(arg, "has"))
    ]


@dataclass
class _Smooth:
    """The quotient with its kinks and jumps taken away near h = 0 (`expr`, with
    placeholder symbols), and how to put them back: as SymPy expressions in w
    (`back`, to check the limit) and as gdcli terms (`terms`, to write it: SymPy
    would fold the indicators into conditions gdcli cannot write)."""

    expr: Any
    back: dict[Any, Any]
    terms: dict[str, Node]

    def in_w(self, found: Any) -> Any:
        return found.xreplace(self.back)

    def write(self, found: Any, printer: Printer) -> str | None:
        try:
            return printer.text(substitute(from_sympy(found), self.terms))
        except Unwritable:
            return None


def _outermost(expr: Any) -> list[Any]:
    kinds = nonsmooth_types()
    atoms = expr.atoms(*kinds)
    inside = {
        b for a in atoms for arg in a.args if hasattr(arg, "atoms") for b in arg.atoms(*kinds)
    }
    return [a for a in atoms if a not in inside]


def _general_limit(
    raw: Any, expr: Any, w: Any, h: Any, printer: Printer
) -> tuple[Any, _Smooth, str]:
    """lim_{h -> 0} of the quotient at a general w (away from kinks), checked
    against the derivative: the limit, how to put its kinks back, its text."""
    import sympy as sp

    smooth = _smooth_near(raw, h)
    for attempt in (smooth.expr, _powers_as_exp(smooth.expr)):
        try:
            # one side: near a w that is not a kink the quotient is smooth in h
            found = sp.limit(attempt, h, 0, "+")
        except (ValueError, NotImplementedError):  # no series
            continue
        if not _defined(found):
            continue
        found = _as_powers(found)
        text = smooth.write(found, printer)
        if text is not None and _agrees(smooth.in_w(found), expr, w):
            return found, smooth, text
    raise _GiveUp("SymPy's limit does not agree with the derivative")


def _shorter(found: Any, smooth: _Smooth, expr: Any, w: Any, printer: Printer, text: str) -> str:
    """SymPy's factor or simplify of the limit, when shorter (and still right)."""
    import sympy as sp

    best, best_text = found, text
    for how in (sp.factor, sp.simplify):
        simpler = _as_powers(how(found))
        log_of_power = any(isinstance(x.args[0], sp.Pow) for x in simpler.atoms(sp.log))
        if log_of_power or sp.count_ops(simpler) >= sp.count_ops(best):
            continue  # log(2**(2**w)) is shorter than 2**w*log(2), not simpler
        written = smooth.write(simpler, printer)
        if written is not None and _agrees(smooth.in_w(simpler), expr, w):
            best, best_text = simpler, written
    return best_text


def _as_powers(expr: Any) -> Any:
    """exp(w*log(2)) is 2**w again (the inverse of _powers_as_exp)."""
    import sympy as sp

    def power(x: Any) -> Any:
        logs = [f for f in sp.Mul.make_args(x.args[0]) if isinstance(f, sp.log)]
        if len(logs) != 1:
            return x
        return sp.Pow(logs[0].args[0], x.args[0] / logs[0])

    return expr.replace(lambda x: isinstance(x, sp.exp), power)


def _smooth_near(raw: Any, h: Any) -> _Smooth:
    """Replace each kink or jump by what it is near h = 0 at a w that is not a kink:
    abs(u) is s*u with s = sign(u(w)), max(a, b) is a*I + b*(1 - I) with I the
    indicator of a(w) > b(w), a jump is a constant."""
    smooth = _Smooth(raw, {}, {})
    made: dict[Any, Any] = {}
    for _ in range(64):  # outermost first: what is put back keeps the inner kinks as written
        atoms = _outermost(smooth.expr)
        if not atoms:
            return smooth
        replace = {atom: _local_form(atom, h, smooth, made) for atom in atoms}
        smooth.expr = smooth.expr.xreplace(replace)
    raise _GiveUp("kinks nested too deeply")


def _local_form(atom: Any, h: Any, smooth: _Smooth, made: dict[Any, Any]) -> Any:
    import sympy as sp

    def at_w(x: Any) -> Any:  # at h = 0
        return x.xreplace({h: 0})

    def term(x: Any) -> Node:
        return substitute(from_sympy(x), smooth.terms)

    def placeholder(key: Any, value: Callable[[], Any], written: Callable[[], Node]) -> Any:
        if key not in made:
            d = sp.Dummy(f"_k{len(made)}", real=True)
            made[key] = d
            smooth.back[d] = value().xreplace(smooth.back)
            try:
                smooth.terms[d.name] = written()
            except Unwritable:
                smooth.terms[d.name] = Var(d.name)  # the limit will not be written
        return made[key]

    if isinstance(atom, (sp.Abs, sp.sign)):
        u = at_w(atom.args[0])
        s = placeholder(("sign", u), lambda: sp.sign(u), lambda: Call("sign", (term(u),)))
        return s * atom.args[0] if isinstance(atom, sp.Abs) else s
    if isinstance(atom, sp.Heaviside):
        now = at_w(atom)
        return placeholder(("H", now), lambda: now, lambda: term(now))
    if isinstance(atom, (sp.Max, sp.Min)):
        pieces = [at_w(p) for p in atom.args]
        op = ">" if isinstance(atom, sp.Max) else "<"
        relation = sp.StrictGreaterThan if op == ">" else sp.StrictLessThan
        total = sp.S.Zero
        for i, piece in enumerate(atom.args):
            others = [q for j, q in enumerate(pieces) if j != i]

            def indicator(i: int = i, others: list[Any] = others) -> Any:
                return sp.Mul(
                    *(sp.Piecewise((1, relation(pieces[i], q)), (0, True)) for q in others)
                )

            def written(i: int = i, others: list[Any] = others) -> Node:
                return mul(*(Cmp(op, term(pieces[i]), term(q)) for q in others))

            total += piece * placeholder((type(atom), tuple(pieces), i), indicator, written)
        return total
    # Piecewise: ((e1, c1), (e2, c2), ...): e1*[c1] + e2*[not c1][c2] + ...
    total = sp.S.Zero
    earlier = sp.S.One
    for k, (value, cond) in enumerate(atom.args):
        now = at_w(cond)

        def holds(now: Any = now) -> Any:
            return sp.Piecewise((1, now), (0, True))

        def holds_written(now: Any = now) -> Node:
            return term(sp.Piecewise((1, now), (0, True)))

        held = placeholder(("piece", at_w(atom), k), holds, holds_written)
        total += value * held * earlier
        earlier *= 1 - held
    return total


def _powers_as_exp(expr: Any) -> Any:
    """a**b with b depending on the variables, as exp(b*log(a)): SymPy's limit
    handles that form where it fails on the power itself (2**w)."""
    import sympy as sp

    return expr.replace(
        lambda x: isinstance(x, sp.Pow) and x.exp.free_symbols and not x.exp.is_number,
        lambda x: sp.exp(x.exp * sp.log(x.base)),
    )


def _defined(value: Any) -> bool:
    import sympy as sp

    if value is None or isinstance(value, sp.Limit) or value.has(sp.Limit):
        return False
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo, sp.I, sp.AccumBounds):
        return False
    return True


def _agrees(found: Any, expr: Any, w: Any) -> bool:
    """Does the limit equal SymPy's derivative at the check points (away from kinks)?"""
    import sympy as sp

    derivative = sp.diff(expr, w).replace(sp.DiracDelta, lambda *a: sp.S.Zero)
    others = sorted((expr.free_symbols | found.free_symbols) - {w}, key=lambda s: s.name)
    switches = _switches(expr)
    compared = 0
    for k, x in enumerate(CHECK_POINTS):
        point = {w: sp.Rational(x)}
        for j, s in enumerate(others):
            point[s] = sp.Rational(CHECK_POINTS[(k + j + 1) % len(CHECK_POINTS)])
        if any(_near_zero(g, point) for g in switches):
            continue
        a, b = _real(derivative, point), _real(found, point)
        if a is None or b is None:
            continue
        if abs(a - b) > 1e-9 * max(1.0, abs(a), abs(b)):
            return False
        compared += 1
    return True


def _switches(expr: Any) -> list[Any]:
    return [g for atom in expr.atoms(*nonsmooth_types()) for g in switch_arguments(atom)]


def _near_zero(g: Any, point: dict[Any, Any]) -> bool:
    value = _real(g, point)
    return value is None or abs(value) < 1e-6


def _real(expr: Any, point: dict[Any, Any]) -> float | None:
    """expr at the point as a float; None where it is not a finite real number."""
    value = _complex(expr, point)
    if value is None or abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
        return None
    return value.real


def _complex(expr: Any, point: dict[Any, Any]) -> complex | None:
    """expr at the point (floats of 30 digits: at exact points SymPy may work with
    algebraic numbers such as (-5/2)**(-5/2) for a long time)."""
    import sympy as sp

    floats = {s: sp.N(x, 30) for s, x in point.items()}
    try:
        value = complex(sp.N(sp.sympify(expr).xreplace(floats), 20))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not (math.isfinite(value.real) and math.isfinite(value.imag)):
        return None
    return value


# ---------------------------------------------------------------------------
# at a point


def _at_point(
    raw: Any,
    expr: Any,
    w: Any,
    h: Any,
    point: Any,
    deadline: float,
    printer: Printer,
    notes: list[str],
) -> dict[str, Any]:
    """The quotient at w = point and its one-sided limits there: the fields of
    LimitResult about the point. What could not be found is said in `notes`."""
    loss_here = expr.xreplace({w: point})
    if not loss_here.free_symbols and _real(loss_here, {}) is None:
        raise NumericalError(
            f"l({w}) is not a real number at {w} = {point}",
            hint="it is undefined there (a log or root of a negative, a division by zero?)",
        )
    here = raw.xreplace({w: point})
    simplified, _ = _attempt(lambda: _cheap_quotient(here, h, printer), _share(deadline, 0.2))
    quotient_at = simplified.text if simplified is not None else _write(here, printer, order_by=h)
    sides: list[Any] = []
    undefined: list[bool] = []
    jumped = False
    if _smooth_at(expr, w, point):  # one limit is both one-sided limits
        outcome, why = _attempt(lambda: _one_sided(here, h, 1), _share(deadline, 1.0))
        found = outcome[0] if outcome is not None else None
        if found is None or found is _UNDEFINED:
            notes.append(_not_found("the limit at the point", why))
            found = None
        sides = [found, found]
    for side, share in ((-1, 0.4), (1, 1.0)) if not sides else ():
        name = "left" if side < 0 else "right"

        def one_side(side: int = side) -> tuple[Any, bool]:
            return _one_sided(here, h, side)

        outcome, why = _attempt(one_side, _share(deadline, share))
        found, jumps = outcome if outcome is not None else (None, False)
        if jumps:
            jumped = True
        if found is None:
            notes.append(_not_found(f"the {name} limit", why))
        elif found is _UNDEFINED:
            notes.append(f"l is not a real number just {name} of {w} = {point}")
            found = None
        undefined.append(found is None and why == "ok")
        sides.append(found)
    left, right = sides
    exists: bool | None = None
    value = None
    value_float = None
    if left is not None and right is not None:
        if _same_number(left, right) and left.is_finite:
            exists, value = True, left
            value_float = _real(value, {})
        else:
            exists = False
            if jumped:
                notes.append(f"l jumps at {w} = {point}: no slope there")
            elif _same_number(left, right):
                notes.append("the quotient grows without bound: the tangent is vertical")
            else:
                notes.append(f"the one-sided limits differ ({left} and {right}): no limit")
    elif any(undefined) and (left is not None or right is not None):
        exists = False  # l is defined on one side only
    return {
        "quotient_at": quotient_at,
        "value": value,
        "value_float": value_float,
        "left": left,
        "right": right,
        "exists": exists,
    }


def _smooth_at(expr: Any, w: Any, point: Any) -> bool:
    """Is l smooth around the point: no kink or jump there, real on both sides?"""
    import sympy as sp

    at = {w: point}
    if any(_near_zero(g, at) for g in _switches(expr)):
        return False
    step = sp.Rational(1, 10**6)
    return all(_real(expr, {w: point + side * step}) is not None for side in (-1, 1))


def _same_number(a: Any, b: Any) -> bool:
    """a == b for exact numbers SymPy may write differently (cos(1) and 1 - 2*sin(1/2)**2)."""
    import sympy as sp

    if a == b:
        return True
    if not (a.is_number and b.is_number) or not (a.is_finite and b.is_finite):
        return False
    difference = _complex(a - b, {})
    return difference is not None and abs(difference) < 1e-15 * max(1.0, abs(complex(sp.N(a))))


class _Undefined:
    """Marks a one-sided limit where l is not real (sqrt(w) left of 0)."""


_UNDEFINED = _Undefined()


def _one_sided(here: Any, h: Any, side: int) -> tuple[Any, bool]:
    """lim of the quotient at the point as h -> 0 from one side (side = -1 or 1),
    and whether l jumps there (its difference does not go to 0)."""
    import sympy as sp

    t = sp.Dummy("t", positive=True)
    near = here.xreplace({h: side * t})
    for _ in range(64):
        atoms = _innermost(near)
        if not atoms:
            break
        near = near.xreplace({a: _branch(a, t) for a in atoms})
    else:
        raise _GiveUp("kinks nested too deeply")
    probes = [_complex(near, {t: sp.Rational(1, 10**k)}) for k in (6, 9)]
    if all(p is not None and abs(p.imag) > 1e-9 * max(1.0, abs(p.real)) for p in probes):
        return _UNDEFINED, False  # l is not real on this side (w**(1/3) left of 0)
    found = sp.limit(near, t, 0, "+")
    if found in (sp.oo, -sp.oo):
        gap = sp.limit(near * side * t, t, 0, "+")
        return found, gap != 0
    if found.has(sp.I) or (found.is_extended_real is False and found.is_number):
        return _UNDEFINED, False
    if not _defined(found):
        raise _GiveUp(f"SymPy's one-sided limit is {found}")
    return found, False


def _branch(atom: Any, t: Any) -> Any:
    """A kink or jump as it is just right of t = 0 (t > 0)."""
    import sympy as sp

    if isinstance(atom, sp.Abs):
        return _sign_near(atom.args[0], t) * atom.args[0]
    if isinstance(atom, sp.sign):
        return _sign_near(atom.args[0], t)
    if isinstance(atom, sp.Heaviside):
        s = _sign_near(atom.args[0], t)
        if s == 0:
            return atom.args[1] if len(atom.args) > 1 else sp.Rational(1, 2)
        return sp.S.One if s > 0 else sp.S.Zero
    if isinstance(atom, (sp.Max, sp.Min)):
        larger = 1 if isinstance(atom, sp.Max) else -1
        pieces = atom.args
        for piece in pieces:
            if all(larger * _sign_near(piece - other, t) >= 0 for other in pieces):
                return piece
        raise _GiveUp("no piece wins")
    for value, cond in atom.args:
        if _holds_near(cond, t):
            return value
    raise _GiveUp("no branch holds")


def _holds_near(cond: Any, t: Any) -> bool:
    import sympy as sp

    if cond is sp.true:
        return True
    if cond is sp.false:
        return False
    kinds = {
        sp.StrictGreaterThan: lambda s: s > 0,
        sp.GreaterThan: lambda s: s >= 0,
        sp.StrictLessThan: lambda s: s < 0,
        sp.LessThan: lambda s: s <= 0,
    }
    test = kinds.get(type(cond))
    if test is None:
        raise _GiveUp(f"cannot decide {cond}")
    return bool(test(_sign_near(cond.lhs - cond.rhs, t)))


def _sign_near(u: Any, t: Any) -> int:
    """The sign of u(t) for small t > 0: of u(0), or of u's leading term when u(0) = 0."""
    import sympy as sp

    u = sp.sympify(u)
    if u.is_zero:
        return 0
    start = u.xreplace({t: 0})
    value = _real(start, {}) if start.is_number else None
    if value is not None and abs(value) > 1e-15:  # far from 0 for 20 digits
        return 1 if value > 0 else -1
    if sp.simplify(u) == 0:
        return 0
    if not u.has(t):
        raise _GiveUp(f"cannot tell the sign of {u}")
    leading = u.as_leading_term(t)
    coefficient = _real(leading.xreplace({t: 1}), {})
    if coefficient is None or coefficient == 0:
        raise _GiveUp(f"cannot tell the sign of {u} near 0")
    return 1 if coefficient > 0 else -1


# ---------------------------------------------------------------------------
# time


class _GiveUp(Exception):
    """SymPy's answer cannot be used (or a sign cannot be decided)."""


def _share(deadline: float, fraction: float) -> float:
    """This fraction of the time left."""
    return max(deadline - time.process_time(), 0.0) * fraction


def _attempt(fn: Callable[[], T], budget: float) -> tuple[T | None, str]:
    """fn() within `budget` seconds: (value, "ok"), or (None, "timeout" or "failed").

    Any exception of SymPy's counts as a failure to find the answer: its limit and
    simplify raise many kinds (NotImplementedError, PolynomialError, ...)."""
    if budget < MIN_BUDGET:
        return None, "timeout"
    try:
        return run_within(fn, budget), "ok"
    except ResourceLimit:
        return None, "timeout"
    except Exception:  # noqa: BLE001 - SymPy's failures, see the docstring
        return None, "failed"


def _not_found(what: str, why: str) -> str:
    if why == "timeout":
        return f"SymPy did not find {what} in the time given"
    return f"SymPy could not find {what}"
