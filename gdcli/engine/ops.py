"""The operations of the engine, each with its backward rule beside its forward rule.

For every operation three things are written next to each other:

* `forward`: the NumPy code of its value (through a `Builder`);
* `backward`: its vector-Jacobian product, the contribution of the node's adjoint
  `g` to the adjoint of argument `k` (before it is summed back over broadcast
  axes, which the graph does for every operation alike);
* `text`: the same rule as a formula in gdcli's language, from which gradient
  formulas and the backprop tables' texts are built.

Element-wise operations only say their local derivative `d` (numbers) and `dtext`
(text): the contribution is `g * d`. The derivatives follow SymPy, kinks
included: Heaviside(0) = 1/2 and sign(0) = 0, so d/du max(0, u) at 0 is 1/2, a tie
in max(a, b) gives each side 1/2 and indicators (comparisons, sign, Heaviside)
have derivative 0. The tests check every `d` and `dtext` against SymPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from gdcli.engine.node import Node
from gdcli.engine.program import ArrayLiteral, Builder, ListArg, Val
from gdcli.engine.terms import (
    ONE,
    ZERO,
    Cmp,
    Name,
    Term,
    add,
    call,
    div,
    materialize,
    matmul,
    mul,
    neg,
    num,
    outer,
    power,
    reciprocal,
    sub,
    transpose,
    unit,
)

Saved = dict[str, Val]


class Op:
    """An operation; `local` is None where no element-wise local derivative exists.
    `broadcasts`: its arguments are broadcast to the node's shape, so a contribution
    is summed back over the broadcast axes."""

    broadcasts = False

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        raise NotImplementedError

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        raise NotImplementedError

    def text(self, node: Node, t: list[Term], y: Term, g: Term, k: int) -> Term:
        raise NotImplementedError

    def local(self, node: Node, t: list[Term], y: Term, k: int) -> Term | None:
        return None


class Elementwise(Op):
    """y = f(x...) entry by entry: the contribution is g * d, d = df/dx_k."""

    broadcasts = True

    def d(self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, k: int) -> Val | None:
        raise NotImplementedError

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        raise NotImplementedError

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        d = self.d(b, node, x, y, saved, k)
        return None if d is None else b.mul(g, d)

    def text(self, node: Node, t: list[Term], y: Term, g: Term, k: int) -> Term:
        return mul(g, self.dtext(node, t, y, k))

    def local(self, node: Node, t: list[Term], y: Term, k: int) -> Term | None:
        return self.dtext(node, t, y, k)


# ===========================================================================
# arithmetic


class Neg(Elementwise):
    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return b.neg(x[0])

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        return b.neg(g)

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        return num(-1)


class Add(Elementwise):
    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return b.add(x[0], x[1])

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        return g

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        return ONE


class Sub(Elementwise):
    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return b.ew("subtract", x[0], x[1])

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        return g if k == 0 else b.neg(g)

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        return ONE if k == 0 else num(-1)


class Mul(Elementwise):
    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return b.ew("multiply", x[0], x[1])

    def d(self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, k: int) -> Val | None:
        return x[1 - k]

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        return t[1 - k]


class Div(Elementwise):
    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return b.ew("divide", x[0], x[1])

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        if k == 0:  # d(u/v)/du = 1/v
            return b.ew("divide", g, x[1])
        return b.neg(b.ew("divide", b.mul(g, y), x[1]))  # d(u/v)/dv = -u/v**2 = -y/v

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        if k == 0:
            return reciprocal(t[1])
        return neg(div(t[0], power(t[1], num(2))))


class Pow(Elementwise):
    """u**v; `node.exponent` is v when v is a number typed in the expression."""

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        if node.exponent == 2:
            return b.ew("square", x[0])
        return b.ew("power", x[0], x[1])

    def d(self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, k: int) -> Val | None:
        u, v = x
        if k == 1:  # d(u**v)/dv = log(u) * u**v
            return b.mul(b.ew("log", u), y)
        n = node.exponent
        if n is not None:  # the power rule with the exponent's exact value
            if n == 0:
                return None
            if n == 1:
                return b.lit(1.0)
            if n == 2:
                return b.mul(b.lit(2.0), u)
            return b.mul(b.lit(float(n)), b.ew("power", u, b.lit(float(n - 1))))
        return b.mul(v, b.ew("power", u, b.ew("subtract", v, b.lit(1.0))))

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        u, v = t
        if k == 1:  # d(e**v)/dv = e**v: log(e) is 1
            return y if isinstance(u, Name) and u.id == "e" else mul(call("log", u), y)
        n = node.exponent
        if n is not None:
            return mul(num(n), power(u, num(n - 1))) if n != 0 else ZERO
        return mul(v, power(u, sub(v, ONE)))


COMPARISONS = {"gt": ("greater", ">"), "ge": ("greater_equal", ">="),
               "lt": ("less", "<"), "le": ("less_equal", "<=")}  # fmt: skip


class Compare(Elementwise):
    """An indicator: 1.0 where the comparison holds, else 0.0 (derivative 0)."""

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return b.where(b.ew(COMPARISONS[node.op][0], x[0], x[1]))

    def d(self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, k: int) -> Val | None:
        return None

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        return ZERO


# ===========================================================================
# functions of one argument, entry by entry


DFun = Callable[[Builder, Val, Val], "Val | None"]
TFun = Callable[[Term, Term], Term]


def _sigmoid(b: Builder, u: Val) -> Val:
    """1/(1 + exp(-u)) as exp(-log(1 + exp(-u))): no overflow at any u."""
    return b.ew("exp", b.neg(b.ew("logaddexp", b.lit(0.0), b.neg(u))))


def _sigmoid_slope(b: Builder, u: Val, y: Val) -> Val:
    """sigmoid(u) * (1 - sigmoid(u)) as sigmoid(u) * sigmoid(-u): no cancellation."""
    return b.mul(y, b.ew("exp", b.neg(b.ew("logaddexp", b.lit(0.0), u))))


def _two(t: Term) -> Term:
    return power(t, num(2))


# name -> (forward, derivative from (u, y), derivative as text from (u, y))
UNARY: dict[str, tuple[Callable[[Builder, Val], Val], DFun, TFun]] = {
    "sin": (
        lambda b, u: b.ew("sin", u),
        lambda b, u, y: b.ew("cos", u),
        lambda u, y: call("cos", u),
    ),
    "cos": (
        lambda b, u: b.ew("cos", u),
        lambda b, u, y: b.neg(b.ew("sin", u)),
        lambda u, y: neg(call("sin", u)),
    ),
    "tan": (
        lambda b, u: b.ew("tan", u),
        lambda b, u, y: b.add(b.lit(1.0), b.ew("square", y)),
        lambda u, y: add(ONE, _two(y)),
    ),
    "asin": (
        lambda b, u: b.ew("arcsin", u),
        lambda b, u, y: b.ew(
            "divide", b.lit(1.0), b.ew("sqrt", b.ew("subtract", b.lit(1.0), b.ew("square", u)))
        ),
        lambda u, y: reciprocal(call("sqrt", sub(ONE, _two(u)))),
    ),
    "acos": (
        lambda b, u: b.ew("arccos", u),
        lambda b, u, y: b.ew(
            "divide", b.lit(-1.0), b.ew("sqrt", b.ew("subtract", b.lit(1.0), b.ew("square", u)))
        ),
        lambda u, y: neg(reciprocal(call("sqrt", sub(ONE, _two(u))))),
    ),
    "atan": (
        lambda b, u: b.ew("arctan", u),
        lambda b, u, y: b.ew("divide", b.lit(1.0), b.add(b.lit(1.0), b.ew("square", u))),
        lambda u, y: reciprocal(add(ONE, _two(u))),
    ),
    "sinh": (
        lambda b, u: b.ew("sinh", u),
        lambda b, u, y: b.ew("cosh", u),
        lambda u, y: call("cosh", u),
    ),
    "cosh": (
        lambda b, u: b.ew("cosh", u),
        lambda b, u, y: b.ew("sinh", u),
        lambda u, y: call("sinh", u),
    ),
    "tanh": (
        lambda b, u: b.ew("tanh", u),
        # 1 - tanh(u)**2 as 1/cosh(u)**2: tanh(20) rounds to 1, and 1 - 1 is 0, not 1.7e-17
        lambda b, u, y: b.ew("divide", b.lit(1.0), b.ew("square", b.ew("cosh", u))),
        lambda u, y: sub(ONE, _two(y)),
    ),
    "exp": (
        lambda b, u: b.ew("exp", u),
        lambda b, u, y: y,
        lambda u, y: y,
    ),
    "log": (
        lambda b, u: b.ew("log", u),
        lambda b, u, y: b.ew("divide", b.lit(1.0), u),
        lambda u, y: reciprocal(u),
    ),
    "sqrt": (
        lambda b, u: b.ew("sqrt", u),
        lambda b, u, y: b.ew("divide", b.lit(0.5), y),
        lambda u, y: reciprocal(mul(num(2), y)),
    ),
    "abs": (
        lambda b, u: b.ew("absolute", u),
        lambda b, u, y: b.ew("sign", u),
        lambda u, y: call("sign", u),
    ),
    "sign": (
        lambda b, u: b.ew("sign", u),
        lambda b, u, y: None,
        lambda u, y: ZERO,
    ),
    "heaviside": (
        lambda b, u: b.ew("heaviside", u, b.lit(0.5)),
        lambda b, u, y: None,
        lambda u, y: ZERO,
    ),
    "sigmoid": (
        _sigmoid,
        _sigmoid_slope,
        lambda u, y: mul(y, sub(ONE, y)),
    ),
    "relu": (
        lambda b, u: b.ew("maximum", u, b.lit(0.0)),
        lambda b, u, y: b.ew("heaviside", u, b.lit(0.5)),
        lambda u, y: call("Heaviside", u),
    ),
    "softplus": (
        lambda b, u: b.ew("logaddexp", b.lit(0.0), u),  # log(1 + exp(u)), no overflow
        lambda b, u, y: _sigmoid(b, u),
        lambda u, y: call("sigmoid", u),
    ),
}


class Unary(Elementwise):
    def __init__(self, name: str) -> None:
        self.f, self.df, self.tf = UNARY[name]

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return self.f(b, x[0])

    def d(self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, k: int) -> Val | None:
        return self.df(b, x[0], y)

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        return self.tf(t[0], y)

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        d = self.d(b, node, x, y, saved, k)
        if d is None:
            return None
        return b.switched(g, d) if self.f is UNARY["relu"][0] else b.mul(g, d)


class LogBase(Elementwise):
    """log(u, base) = log(u)/log(base)."""

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        saved["log_u"] = b.ew("log", x[0])
        saved["log_base"] = b.ew("log", x[1])
        return b.ew("divide", saved["log_u"], saved["log_base"])

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        if k == 0:  # 1/(u*log(base))
            return b.ew("divide", g, b.ew("multiply", x[0], saved["log_base"]))
        # -log(u)/(base*log(base)**2) = -y/(base*log(base))
        return b.neg(b.ew("divide", b.mul(g, y), b.ew("multiply", x[1], saved["log_base"])))

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        u, base = t
        if k == 0:
            return reciprocal(mul(u, call("log", base)))
        return neg(div(call("log", u), mul(base, _two(call("log", base)))))


class Heaviside2(Elementwise):
    """Heaviside(x, h0): h0 where x = 0. d/dx = 0; d/dh0 = 1 where x = 0."""

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return b.ew("heaviside", x[0], x[1])

    def d(self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, k: int) -> Val | None:
        if k == 0:
            return None
        return b.where(b.ew("equal", x[0], b.lit(0.0)))

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        if k == 0:
            return ZERO
        return mul(Cmp("<=", t[0], ZERO, t[0].shape), Cmp(">=", t[0], ZERO, t[0].shape))


class Extreme(Elementwise):
    """max(a, b, ...) or min(...) entry by entry. The slope of the piece that wins:
    d/da = prod over the other pieces b of Heaviside(a - b) (for min, b - a), so a
    tie of two gives each 1/2, as SymPy's derivative of Max does."""

    def __init__(self, largest: bool) -> None:
        self.largest = largest

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        out = x[0]
        for v in x[1:]:
            out = b.ew("maximum" if self.largest else "minimum", out, v)
        return out

    def d(self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, k: int) -> Val | None:
        out: Val = b.lit(1.0)
        for j, other in enumerate(x):
            if j != k:
                gap = b.ew("subtract", *((x[k], other) if self.largest else (other, x[k])))
                out = b.mul(out, b.ew("heaviside", gap, b.lit(0.5)))
        return out

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        d = self.d(b, node, x, y, saved, k)
        return None if d is None else b.switched(g, d)

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        pieces = [
            call("Heaviside", sub(t[k], o) if self.largest else sub(o, t[k]))
            for j, o in enumerate(t)
            if j != k
        ]
        return mul(*pieces)


# ===========================================================================
# reductions over the entries of each example


class Sum(Elementwise):
    broadcasts = False

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return b.total("sum", x[0])

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        return g  # broadcast back (the graph keeps it a scalar until it must not be)

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        return ONE


class Mean(Elementwise):
    broadcasts = False

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return b.total("mean", x[0])

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        return b.ew("divide", g, b.lit(float(math.prod(x[0].shape))))

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        return div(ONE, num(math.prod(t[0].shape)))


class Largest(Elementwise):
    """max(v) (or min(v)): the largest entry. Its gradient goes to the winning entry;
    a tie of k entries gives each (1/2)**(k - 1), as SymPy's Max(v1, v2, ...) does."""

    broadcasts = False

    def __init__(self, largest: bool) -> None:
        self.largest = largest

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return b.total("max" if self.largest else "min", x[0])

    def d(self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, k: int) -> Val | None:
        v = x[0]
        if not v.shape:
            return b.lit(1.0)
        wins = b.where(b.ew("equal", v, y))
        ties = b.total("sum", wins)
        share = b.ew("power", b.lit(0.5), b.ew("subtract", ties, b.lit(1.0)))
        return b.ew("multiply", wins, share)

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        v = t[0]
        if not v.shape:
            return ONE
        wins = Cmp(">=" if self.largest else "<=", v, y, v.shape)
        ties = call("sum", wins, shape=())
        return div(wins, power(num(2), sub(ties, ONE)))


class LogSumExp(Elementwise):
    """log(sum(exp(v))) over a vector, as m + log(sum(exp(v - m))), m = max(v)."""

    broadcasts = False

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        v = x[0]
        top = b.emit("max", v, axis=-1, keepdims=True, shape=(1,), batched=v.batched)
        saved["exp"] = b.ew("exp", b.ew("subtract", v, top))
        saved["sum"] = b.emit("sum", saved["exp"], axis=-1, shape=(), batched=v.batched)
        m = b.emit("squeeze", top, axis=-1, shape=(), batched=v.batched)
        return b.add(b.ew("log", saved["sum"]), m)

    def d(self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, k: int) -> Val | None:
        return b.ew("divide", saved["exp"], saved["sum"])  # softmax(v)

    def dtext(self, node: Node, t: list[Term], y: Term, k: int) -> Term:
        return call("softmax", t[0])


# ===========================================================================
# products of vectors and matrices


def contract(b: Builder, spec: str, x: Val, y: Val, shape: tuple[int, ...], batched: bool) -> Val:
    """A product of two values by index spec per example (`ij,j->i` is a matrix
    times a vector): numpy.matmul or numpy.outer where those compute it (also over
    the example axis), else numpy.einsum with `z` for the example axis (summed when
    the result is not batched: the mean over examples, already weighted)."""
    xb, yb = x.batched, y.batched

    def mm(p: Val, q: Val) -> Val:
        return b.emit("matmul", p, q, shape=shape, batched=batched)

    def tr(p: Val) -> Val:
        return b.emit("transpose", p, shape=p.shape[::-1], batched=False)

    if not (xb or yb or batched):
        if spec == "i,j->ij":
            return b.emit("outer", x, y, shape=shape, batched=False)
        if spec == "ik,jk->ij":
            return mm(x, tr(y))
        if spec == "ji,jk->ik":
            return mm(tr(x), y)
        return mm(x, y)
    stacks = {"ij,j->i", "j,jk->k", "ij,jk->ik", "j,j->", "i,ij->j", "jk,k->j"}
    if batched and xb and not yb and spec in stacks:
        return mm(x, y)
    if batched and yb and not xb:
        if spec in ("ij,jk->ik", "j,jk->k", "i,ij->j"):
            return mm(x, y)
        if spec in ("ij,j->i", "jk,k->j"):
            return mm(y, tr(x))
        if spec == "j,j->":
            return mm(y, x)
    if batched and xb and yb and spec == "ij,jk->ik":
        return mm(x, y)
    if not batched and xb and yb and spec == "i,j->ij":  # outer products summed over examples
        return mm(b.emit("transpose", x, shape=x.shape, batched=False), y)
    ins, out = spec.split("->")
    xs, ys = ins.split(",")
    subscripts = f"{'z' * xb}{xs},{'z' * yb}{ys}->{'z' * batched}{out}"
    return b.emit("einsum", subscripts, x, y, shape=shape, batched=batched)


class MatMul(Op):
    """a @ b (and dot(a, b)): vector @ vector is a number, matrix @ vector a vector.
    Backward: dA = g @ transpose(B), dB = transpose(A) @ g, with the vector cases
    (outer products) written out."""

    FORWARD = {(1, 1): "j,j->", (2, 1): "ij,j->i", (1, 2): "j,jk->k", (2, 2): "ij,jk->ik"}
    LEFT = {(2, 1): ("i,j->ij", "g", "b"), (1, 2): ("jk,k->j", "b", "g"),
            (2, 2): ("ik,jk->ij", "g", "b")}  # fmt: skip
    RIGHT = {(2, 1): ("i,ij->j", "g", "a"), (1, 2): ("i,j->ij", "a", "g"),
             (2, 2): ("ji,jk->ik", "a", "g")}  # fmt: skip

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        spec = self.FORWARD[(x[0].ndim, x[1].ndim)]
        return contract(b, spec, x[0], x[1], node.shape, x[0].batched or x[1].batched)

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        case = (x[0].ndim, x[1].ndim)
        if case == (1, 1):  # a number: g * b, g * a
            return b.mul(g, x[1 - k])
        gm = b.materialize(g, y)
        spec, p, q = (self.LEFT if k == 0 else self.RIGHT)[case]
        operands = {"g": gm, "a": x[0], "b": x[1]}
        return contract(b, spec, operands[p], operands[q], x[k].shape, x[k].batched)

    def text(self, node: Node, t: list[Term], y: Term, g: Term, k: int) -> Term:
        ta, tb = t
        case = (len(ta.shape), len(tb.shape))
        if case == (1, 1):
            return mul(g, t[1 - k])
        gm = materialize(g, node.shape)
        if case == (2, 1):
            return outer(gm, tb) if k == 0 else matmul(transpose(ta), gm)
        if case == (1, 2):
            return matmul(tb, gm) if k == 0 else outer(ta, gm)
        return matmul(gm, transpose(tb)) if k == 0 else matmul(transpose(ta), gm)


class Outer(Op):
    """outer(a, b)[i, j] = a[i] * b[j]; da = g @ b, db = a @ g."""

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return contract(b, "i,j->ij", x[0], x[1], node.shape, x[0].batched or x[1].batched)

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        gm = b.materialize(g, y)
        if k == 0:
            return contract(b, "ij,j->i", gm, x[1], x[0].shape, x[0].batched)
        return contract(b, "i,ij->j", x[0], gm, x[1].shape, x[1].batched)

    def text(self, node: Node, t: list[Term], y: Term, g: Term, k: int) -> Term:
        gm = materialize(g, node.shape)
        return matmul(gm, t[1]) if k == 0 else matmul(t[0], gm)


class Transpose(Op):
    """The axes of each example reversed (a vector or a number is unchanged)."""

    @staticmethod
    def flip(b: Builder, v: Val) -> Val:
        if v.ndim < 2:
            return v
        if not v.batched:
            return b.emit("transpose", v, shape=v.shape[::-1], batched=False)
        axes = (0, *range(v.ndim, 0, -1))
        return b.emit("transpose", v, axes=axes, shape=v.shape[::-1], batched=True)

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return self.flip(b, x[0])

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        if y.ndim < 2:
            return g
        return self.flip(b, b.materialize(g, y))

    def text(self, node: Node, t: list[Term], y: Term, g: Term, k: int) -> Term:
        return transpose(materialize(g, node.shape))


class Softmax(Op):
    """exp(v - m)/sum(exp(v - m)) over a vector, m = max(v).
    Backward: s * (g - sum(g * s))."""

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        v = x[0]
        top = b.emit("max", v, axis=-1, keepdims=True, shape=(1,), batched=v.batched)
        e = b.ew("exp", b.ew("subtract", v, top))
        total = b.emit("sum", e, axis=-1, keepdims=True, shape=(1,), batched=v.batched)
        return b.ew("divide", e, total)

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        gy = b.mul(g, y)
        dot = b.emit("sum", gy, axis=-1, keepdims=True, shape=(1,), batched=gy.batched)
        return b.ew("multiply", y, b.ew("subtract", g, dot))

    def text(self, node: Node, t: list[Term], y: Term, g: Term, k: int) -> Term:
        return mul(y, sub(g, call("sum", mul(g, y), shape=())))


class Stack(Op):
    """A list [a, b, ...] of expressions of one shape; item k's adjoint is row k."""

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        if not any(v.batched for v in x):
            return b.emit("stack", ListArg(tuple(x)), shape=node.shape, batched=False)
        parts = b.emit("broadcast_arrays", *x, shape=x[0].shape, batched=True)
        return b.emit("stack", parts, axis=1, shape=node.shape, batched=True)

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        gm = b.materialize(g, y)
        axis = 1 if gm.batched else 0
        return b.emit("take", gm, k, axis=axis, shape=node.shape[1:], batched=gm.batched)

    def text(self, node: Node, t: list[Term], y: Term, g: Term, k: int) -> Term:
        return matmul(unit(k, node.shape[0]), materialize(g, node.shape))


class ConstArray(Op):
    """A list of numbers: a constant array."""

    def forward(self, b: Builder, node: Node, x: list[Val], saved: Saved) -> Val:
        return b.emit("array", ArrayLiteral(node.value), shape=node.shape, batched=False)

    def backward(
        self, b: Builder, node: Node, x: list[Val], y: Val, saved: Saved, g: Val, k: int
    ) -> Val | None:
        return None

    def text(self, node: Node, t: list[Term], y: Term, g: Term, k: int) -> Term:
        return ZERO


OPS: dict[str, Op] = {
    "neg": Neg(),
    "add": Add(),
    "sub": Sub(),
    "mul": Mul(),
    "div": Div(),
    "pow": Pow(),
    **{op: Compare() for op in COMPARISONS},
    **{name: Unary(name) for name in UNARY},
    "logb": LogBase(),
    "heaviside2": Heaviside2(),
    "maximum": Extreme(True),
    "minimum": Extreme(False),
    "sum": Sum(),
    "mean": Mean(),
    "amax": Largest(True),
    "amin": Largest(False),
    "logsumexp": LogSumExp(),
    "matmul": MatMul(),
    "outer": Outer(),
    "transpose": Transpose(),
    "softmax": Softmax(),
    "list": Stack(),
    "array": ConstArray(),
}


def upstream(node: Node) -> Name:
    """The placeholder `g` for a node's adjoint in the rules' texts."""
    return Name("g", node.shape)


__all__ = ["OPS", "Op", "contract", "upstream"]
