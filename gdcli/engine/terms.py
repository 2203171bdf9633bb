"""Expressions in gdcli's own language, as small trees that print back as text.

Two families share one printer:

* faithful forms (`Bin`, `Un`, `Call`, `Cmp`, `Lst`, `Name`, `Num`) mirror what the
  user typed: a node's text in the graph is its faithful form, and it parses back
  to the same syntax tree (only redundant parentheses differ);
* simplified forms (`Sum`, `Prod`) are what the derivative rules build through
  the constructors `add`, `mul`, `div`, `power`, `matmul`, `outer`, `transpose`:
  exact rational coefficients are folded (no `1*`, no `**1`, `2*x*(1/2)` is `x`),
  like terms are collected and zeros dropped.

Every term carries its shape (per example). An adjoint term may be smaller than
the node it belongs to: it then stands for its broadcast (a scalar `1` for the
adjoint of the argument of `sum`); `materialize` writes it out in full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from gdcli.engine._links import ShapeError

Shape = tuple[int, ...]

ATOM, POWER, UNARY, PRODUCT, SUM, COMPARE = 5, 4, 3, 2, 1, 0


class Term:
    """Base of all terms."""

    shape: Shape

    @property
    def level(self) -> int:
        """Binding strength when printed (higher binds tighter)."""
        return ATOM


@dataclass(frozen=True)
class Num(Term):
    value: Fraction
    typed: str | None = field(default=None, compare=False)  # the literal as the user typed it
    shape: Shape = ()

    @property
    def level(self) -> int:
        if self.typed is not None:
            return ATOM
        text = fraction_text(self.value)
        if "/" in text:
            return PRODUCT
        return UNARY if text.startswith("-") else ATOM


@dataclass(frozen=True)
class Name(Term):
    id: str
    shape: Shape = ()


@dataclass(frozen=True)
class Lst(Term):
    items: tuple[Term, ...]
    shape: Shape = ()


@dataclass(frozen=True)
class Call(Term):
    fn: str
    args: tuple[Term, ...]
    shape: Shape = ()


@dataclass(frozen=True)
class Un(Term):
    """Unary minus, as typed."""

    a: Term
    shape: Shape = ()

    @property
    def level(self) -> int:
        return UNARY


@dataclass(frozen=True)
class Bin(Term):
    """A binary operation: + - * / ** @."""

    op: str
    a: Term
    b: Term
    shape: Shape = ()

    @property
    def level(self) -> int:
        return {"+": SUM, "-": SUM, "**": POWER}.get(self.op, PRODUCT)


@dataclass(frozen=True)
class Cmp(Term):
    op: str
    a: Term
    b: Term
    shape: Shape = ()

    @property
    def level(self) -> int:
        return COMPARE


@dataclass(frozen=True)
class Sum(Term):
    terms: tuple[Term, ...]
    shape: Shape = ()

    @property
    def level(self) -> int:
        return SUM


@dataclass(frozen=True)
class Prod(Term):
    """coeff * num[0] * num[1] ... / (den[0] * den[1] ...), element-wise."""

    coeff: Fraction
    num: tuple[Term, ...]
    den: tuple[Term, ...]
    shape: Shape = ()

    @property
    def level(self) -> int:
        return PRODUCT


ZERO = Num(Fraction(0))
ONE = Num(Fraction(1))


# ===========================================================================
# shapes


def shape_text(shape: Shape) -> str:
    """`2x3`, `3`, or `a number` (as the parser writes shapes in messages)."""
    return "x".join(str(n) for n in shape) if shape else "a number"


def broadcast(*shapes: Shape) -> Shape:
    """NumPy's broadcasting of shapes; ShapeError naming all of them."""
    ndim = max((len(s) for s in shapes), default=0)
    out: list[int] = []
    for axis in range(ndim):
        sizes = {s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0} - {1}
        if len(sizes) > 1:
            listed = ", ".join(shape_text(s) for s in shapes)
            raise ShapeError(f"shapes do not broadcast together: {listed}")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def matmul_shape(a: Shape, b: Shape, what: str = "@") -> Shape:
    """The shape of a @ b, with the parser's messages (both shapes named)."""
    if not a or not b:
        raise ShapeError(
            f"{what} multiplies vectors and matrices, got {shape_text(a)} @ {shape_text(b)}"
        )
    if len(a) > 2 or len(b) > 2:
        raise ShapeError(
            f"{what} supports vectors and matrices only, got {shape_text(a)} @ {shape_text(b)}"
        )
    if a[-1] != b[0]:
        raise ShapeError(
            f"{what} needs matching inner sizes: {shape_text(a)} @ {shape_text(b)} "
            f"({a[-1]} != {b[0]})"
        )
    return a[:-1] + b[1:]


# ===========================================================================
# constructors that simplify


def num(value: int | Fraction) -> Num:
    return Num(Fraction(value))


def is_zero(t: Term) -> bool:
    return isinstance(t, Num) and t.value == 0


def is_one(t: Term) -> bool:
    return isinstance(t, Num) and t.value == 1


def split(t: Term) -> tuple[Fraction, Term]:
    """A term as (rational coefficient, the rest)."""
    if isinstance(t, Num):
        return t.value, ONE
    if isinstance(t, Prod):
        if not t.den and len(t.num) == 1:
            return t.coeff, t.num[0]
        return t.coeff, Prod(Fraction(1), t.num, t.den, t.shape)
    return Fraction(1), t


def mul(*terms: Term) -> Term:
    """The element-wise product, with coefficients folded."""
    coeff = Fraction(1)
    top: list[Term] = []
    bottom: list[Term] = []
    for t in terms:
        if isinstance(t, Num):
            coeff *= t.value
        elif isinstance(t, Prod):
            coeff *= t.coeff
            top += t.num
            bottom += t.den
        else:
            top.append(t)
    if coeff == 0:
        return ZERO
    for t in list(bottom):  # u*v/u is v (where u is not zero: the formula's limit)
        if t in top:
            top.remove(t)
            bottom.remove(t)
    if not top and not bottom:
        return Num(coeff)
    for k, t in enumerate(top):  # s*(a/s + b) is a + s*b: distributed where it cancels
        if isinstance(t, Sum):
            others = top[:k] + top[k + 1 :]
            dens = [u.den for u in t.terms if isinstance(u, Prod)]
            if any(o in den for o in others for den in dens):
                rest = [
                    Num(coeff),
                    *others,
                    *(Prod(Fraction(1), (), (d,), d.shape) for d in bottom),
                ]
                return add(*(mul(*rest, u) for u in t.terms))
    shape = broadcast(*(t.shape for t in top + bottom))
    if coeff == 1 and len(top) == 1 and not bottom:
        return top[0]
    return Prod(coeff, tuple(top), tuple(bottom), shape)


def neg(t: Term) -> Term:
    return mul(Num(Fraction(-1)), t)


def reciprocal(t: Term) -> Term:
    if isinstance(t, Num):
        if t.value == 0:  # 1/0 stays written (its value is inf, as the engine's)
            return Prod(Fraction(1), (), (t,), ())
        return Num(1 / t.value)
    if isinstance(t, Prod):  # its coefficient is not 0 (mul folds those to 0)
        return Prod(1 / t.coeff, t.den, t.num, t.shape) if t.num else mul(Num(1 / t.coeff), *t.den)
    return Prod(Fraction(1), (), (t,), t.shape)


def div(a: Term, b: Term) -> Term:
    return mul(a, reciprocal(b))


def add(*terms: Term) -> Term:
    """The sum: nested sums flattened, like terms collected, zeros dropped."""
    flat: list[Term] = []
    for t in terms:
        flat += t.terms if isinstance(t, Sum) else [t]
    order: list[Term | None] = []  # None marks where the constant goes
    coeffs: dict[Term, Fraction] = {}
    constant = Fraction(0)
    for t in flat:
        if isinstance(t, Num):
            if None not in order:
                order.append(None)
            constant += t.value
            continue
        c, rest = split(t)
        if rest not in coeffs:
            order.append(rest)
            coeffs[rest] = Fraction(0)
        coeffs[rest] += c
    out: list[Term] = []
    for key in order:
        if key is None:
            if constant:
                out.append(Num(constant))
        elif coeffs[key]:
            out.append(mul(Num(coeffs[key]), key))
    if not out:
        return ZERO
    if len(out) == 1:
        return out[0]
    return Sum(tuple(out), broadcast(*(t.shape for t in out)))


def sub(a: Term, b: Term) -> Term:
    return add(a, neg(b))


def power(base: Term, exponent: Term) -> Term:
    if is_one(exponent):
        return base
    if is_zero(exponent):
        return ONE
    if (
        isinstance(base, Num)
        and isinstance(exponent, Num)
        and exponent.value.denominator == 1
        and abs(exponent.value) <= 64
        and base.value != 0
    ):
        return Num(base.value ** int(exponent.value))
    return Bin("**", base, exponent, broadcast(base.shape, exponent.shape))


def matmul(a: Term, b: Term) -> Term:
    """a @ b, with rational coefficients taken out (`2*(u @ v)` rather than `(2*u) @ v`)."""
    ca, a = split(a)
    cb, b = split(b)
    shape = matmul_shape(a.shape, b.shape)
    return mul(Num(ca * cb), Bin("@", a, b, shape))


def outer(a: Term, b: Term) -> Term:
    ca, a = split(a)
    cb, b = split(b)
    return mul(Num(ca * cb), Call("outer", (a, b), a.shape + b.shape))


def transpose(a: Term) -> Term:
    if len(a.shape) < 2:
        return a
    c, a = split(a)
    if isinstance(a, Call) and a.fn == "transpose":
        return mul(Num(c), a.args[0])
    return mul(Num(c), Call("transpose", (a,), a.shape[::-1]))


def call(fn: str, *args: Term, shape: Shape | None = None) -> Term:
    if fn == "sum" and len(args) == 1:  # sum(c*u) is c*sum(u)
        c, rest = split(args[0])
        if c != 1:
            return mul(Num(c), call("sum", rest, shape=()))
    if shape is None:
        shape = broadcast(*(a.shape for a in args))
    return Call(fn, args, shape)


def ones(shape: Shape) -> Term:
    """An array of ones: `[1, 1, 1]`, or `outer([1, 1], [1, 1, 1])` for a matrix."""
    if not shape:
        return ONE
    if len(shape) == 1:
        return Lst((ONE,) * shape[0], shape)
    if len(shape) == 2:
        return Call("outer", (ones(shape[:1]), ones(shape[1:])), shape)
    raise ShapeError(f"a formula for arrays of shape {shape_text(shape)} is not written")


def unit(k: int, n: int) -> Term:
    """The k-th unit vector of length n: `[0, 1, 0]`."""
    return Lst(tuple(ONE if i == k else ZERO for i in range(n)), (n,))


def materialize(t: Term, shape: Shape) -> Term:
    """A term that stands for its broadcast to `shape`, written out in that shape."""
    if t.shape == shape:
        return t
    if len(shape) == 2 and t.shape == shape[1:]:
        return outer(ones(shape[:1]), t)
    return mul(t, ones(shape))


def reduce_to(t: Term, full: Shape, target: Shape) -> Term:
    """The contribution `t` (standing for its broadcast to `full`, a node's shape)
    summed back to an argument's shape `target`: the adjoint of broadcasting. Along
    an axis where `t` is constant the sum is a count (`sum(ones)` folded); axes the
    target lacks are summed away even where they have one entry."""
    ndim = len(full)
    first = ndim - len(t.shape)  # where t's own axes start among full's
    lead = ndim - len(target)  # the target lacks full's axes before this one
    to = (1,) * lead + target
    count = 1
    real: list[int] = []  # t's own axes to sum over
    for axis in range(ndim):
        summed = to[axis] == 1 and full[axis] != 1
        size = t.shape[axis - first] if axis >= first else 1
        if summed and size == 1:
            count *= full[axis]
        if axis >= first and ((summed and size != 1) or axis < lead):
            real.append(axis - first)
    if count != 1:
        t = mul(num(count), t)
    if not real:
        return t
    if len(t.shape) > 2:
        raise ShapeError(f"a formula for arrays of shape {shape_text(t.shape)} is not written")
    if len(real) == len(t.shape):
        return call("sum", t, shape=())
    if real == [0]:  # column sums of a matrix
        return matmul(ones(t.shape[:1]), t)
    rows = matmul(t, ones(t.shape[1:]))  # row sums, kept as a column
    return rows if t.shape[0] == 1 else outer(rows, Lst((ONE,), (1,)))


# ===========================================================================
# printing


def fraction_text(value: Fraction) -> str:
    """An exact number as gdcli reads it: `3`, `0.25`, `2/3`."""
    if value.denominator == 1:
        return str(value.numerator)
    q = value.denominator
    while q % 2 == 0:
        q //= 2
    while q % 5 == 0:
        q //= 5
    if q == 1:
        digits = max(_multiplicity(value.denominator, 2), _multiplicity(value.denominator, 5))
        text = f"{value.numerator / value.denominator:.{digits}f}"
        if Fraction(text) == value and len(text) <= 12:
            return text
    return f"{value.numerator}/{value.denominator}"


def _multiplicity(n: int, p: int) -> int:
    k = 0
    while n % p == 0:
        n //= p
        k += 1
    return k


def show(t: Term) -> str:
    """The term as text in gdcli's language (parses back with gdcli's parser)."""
    if isinstance(t, Num):
        return t.typed if t.typed is not None else fraction_text(t.value)
    if isinstance(t, Name):
        return t.id
    if isinstance(t, Lst):
        return "[" + ", ".join(show(i) for i in t.items) + "]"
    if isinstance(t, Call):
        return f"{t.fn}({', '.join(show(a) for a in t.args)})"
    if isinstance(t, Un):
        inner = show(t.a)
        return "-" + (f"({inner})" if t.a.level <= UNARY else inner)
    if isinstance(t, Cmp):
        return f"{_wrap(t.a, SUM)} {t.op} {_wrap(t.b, SUM)}"
    if isinstance(t, Bin):
        return _show_bin(t)
    if isinstance(t, Sum):
        return _show_sum(t)
    if isinstance(t, Prod):
        return _show_prod(t)
    raise TypeError(f"not a term: {t!r}")


def _wrap(t: Term, at_least: int) -> str:
    """t's text, in parentheses unless it binds at least as tightly as `at_least`."""
    text = show(t)
    return text if t.level >= at_least else f"({text})"


def _family(t: Term) -> str:
    if isinstance(t, Bin):
        return "@" if t.op == "@" else ("*" if t.op in "*/" else t.op)
    return "*"


def _show_bin(t: Bin) -> str:
    if t.op == "**":
        base = show(t.a)
        base = base if t.a.level > POWER else f"({base})"
        exponent = show(t.b)
        exponent = exponent if t.b.level >= POWER else f"({exponent})"
        return f"{base}**{exponent}"
    level = t.level
    left = show(t.a)
    # parentheses for a weaker left operand, and between @ and * / (for the reader)
    if t.a.level < level or (level == t.a.level == PRODUCT and _family(t.a) != _family(t)):
        left = f"({left})"
    right = show(t.b)
    if t.b.level <= level or isinstance(t.b, Un):
        right = f"({right})"
    if t.op in ("*", "/"):
        return f"{left}{t.op}{right}"
    return f"{left} {t.op} {right}"


def _negative(t: Term) -> bool:
    return (isinstance(t, Num) and t.value < 0) or (isinstance(t, Prod) and t.coeff < 0)


def _show_sum(t: Sum) -> str:
    first, *rest = t.terms
    out = _wrap(first, SUM)
    for term in rest:
        if _negative(term):
            out += " - " + _wrap(neg(term), PRODUCT)
        else:
            out += " + " + _wrap(term, PRODUCT)
    return out


def _factor(t: Term) -> str:
    return _wrap(t, UNARY) if not isinstance(t, Un) else f"({show(t)})"


def _show_prod(t: Prod) -> str:
    sign = "-" if t.coeff < 0 else ""
    c = abs(t.coeff)
    top = [_factor(f) for f in t.num]
    bottom = [_factor(f) for f in t.den]
    if c.denominator != 1:
        text = fraction_text(c)
        if "/" in text or t.den:
            if c.numerator != 1 or not top:
                top.insert(0, str(c.numerator))
            bottom.insert(0, str(c.denominator))
        else:
            top.insert(0, text)
    elif c != 1 or not top:
        top.insert(0, str(c.numerator))
    out = sign + "*".join(top)
    if bottom:
        out += "/" + (bottom[0] if len(bottom) == 1 else "(" + "*".join(bottom) + ")")
    return out


def entries(shape: Shape) -> int:
    return math.prod(shape)
