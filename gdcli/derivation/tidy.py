"""The last step of a derivation: write the assembled derivative more simply, the
way a student would by hand. Numbers are multiplied out, equal factors become a
power (w*w is w**2), a factor above and below a fraction bar cancels, like terms
are collected (2*w + 3*w is 5*w). Nothing is expanded, and the student's functions
stay (sigmoid stays sigmoid)."""

from __future__ import annotations

from fractions import Fraction

from gdcli.derivation.terms import (
    MAX_FOLD_EXPONENT,
    ONE,
    ZERO,
    Add,
    Call,
    Cmp,
    Const,
    Div,
    Mul,
    Neg,
    Node,
    Num,
    Pow,
    Var,
    call,
    decimal_text,
    fold_power,
    power,
)

Factors = dict[Node, int]  # base -> integer exponent, in the order first met


def tidy(node: Node, decimal: bool = False) -> Node:
    return _Tidy(decimal).tidy(node)


class _Tidy:
    def __init__(self, decimal: bool) -> None:
        self.decimal = decimal

    def tidy(self, node: Node) -> Node:
        if isinstance(node, (Num, Const, Var)):
            return node
        if isinstance(node, Add):
            return self.sum(node)
        if isinstance(node, (Mul, Div, Neg)) or _integer_power(node):
            return self.rebuild(*self.decompose(node))
        if isinstance(node, Pow):
            return power(self.tidy(node.base), self.tidy(node.exp))
        if isinstance(node, Call):
            return call(node.name, *(self.tidy(a) for a in node.args))
        return Cmp(node.op, self.tidy(node.left), self.tidy(node.right))

    # ---- products

    def decompose(self, node: Node, clean: bool = False) -> tuple[Fraction, Factors]:
        """node = coefficient * product of base**exponent. With `clean`, the node is
        already tidy (its parts are not tidied again: that would take time
        exponential in the depth)."""
        coefficient = Fraction(1)
        factors: Factors = {}
        stack: list[tuple[Node, int, bool]] = [(node, 1, clean)]
        while stack:
            n, k, clean = stack.pop()
            if isinstance(n, Neg):
                if k % 2:
                    coefficient = -coefficient
                stack.append((n.arg, k, clean))
            elif isinstance(n, Mul):
                stack.extend((f, k, clean) for f in reversed(n.factors))
            elif isinstance(n, Div):
                stack.append((n.den, -k, clean))
                stack.append((n.num, k, clean))
            elif isinstance(n, Num):
                folded = fold_power(n.value, Fraction(k))
                if n.value == 0 and k > 0:
                    coefficient = Fraction(0)
                elif folded is None:
                    factors[n] = factors.get(n, 0) + k
                else:
                    coefficient *= folded
            elif _integer_power(n) and isinstance(n, Pow) and isinstance(n.exp, Num):
                e = int(n.exp.value) * k
                if abs(e) <= MAX_FOLD_EXPONENT:
                    stack.append((n.base, e, clean))
                else:
                    base = n.base if clean else self.tidy(n.base)
                    factors[base] = factors.get(base, 0) + k * int(n.exp.value)
            elif isinstance(n, Pow) and isinstance(n.exp, Num) and _negative_power(n):
                # w**(-2/3) is 1/w**(2/3)
                stack.append((Pow(n.base, Num(-n.exp.value)), -k, clean))
            elif clean:
                factors[n] = factors.get(n, 0) + k
            else:
                t = self.tidy(n)
                if isinstance(t, (Mul, Div, Neg, Num)) or _integer_power(t) or _negative_power(t):
                    stack.append((t, k, True))
                else:
                    factors[t] = factors.get(t, 0) + k
        return coefficient, factors

    def rebuild(self, coefficient: Fraction, factors: Factors) -> Node:
        if coefficient == 0:
            return ZERO
        top: list[Node] = []
        bottom: list[Node] = []
        for base, e in factors.items():
            if e > 0:
                top.append(power(base, Num(Fraction(e))))
            elif e < 0:
                bottom.append(power(base, Num(Fraction(-e))))
        # constants, then monomials first, as textbooks write them: 2*w*exp(-w**2),
        # pi*cos(w), not 2*exp(-w**2)*w
        top.sort(key=_rank)
        negative = coefficient < 0
        c = abs(coefficient)
        if self.decimal and c.denominator != 1 and decimal_text(c) is not None:
            top.insert(0, Num(c))
        else:
            if c.numerator != 1 or not top:
                top.insert(0, Num(Fraction(c.numerator)))
            if c.denominator != 1:
                bottom.insert(0, Num(Fraction(c.denominator)))
        if len(top) == 1 and isinstance(top[0], Num) and not bottom:
            return Num(coefficient)
        if not factors and bottom and not self.decimal:
            return Num(coefficient)
        result: Node = _product(top)
        if bottom:
            result = Div(result, _product(bottom))
        return Neg(result) if negative else result

    # ---- sums

    def sum(self, node: Add) -> Node:
        terms: list[Node] = []
        for t in node.terms:
            tt = self.tidy(t)
            if isinstance(tt, Add):
                terms.extend(tt.terms)
            elif isinstance(tt, Neg) and isinstance(tt.arg, Add):  # -(a - b) is -a + b
                terms.extend(
                    self.rebuild(*self.decompose(Neg(x), clean=True)) for x in tt.arg.terms
                )
            else:
                terms.append(tt)
        # like terms collected in the order first met; the number keeps its place too
        # (1 - tanh(w)**2 stays as it is)
        collected: dict[frozenset[tuple[Node, int]] | None, tuple[Node, Fraction]] = {}
        for t in terms:
            coefficient, factors = self.decompose(t, clean=True)
            factors = {b: e for b, e in factors.items() if e}
            key = frozenset(factors.items()) if factors else None
            shape = ONE if key is None else self.rebuild(Fraction(1), factors)
            shape, total = collected.get(key, (shape, Fraction(0)))
            collected[key] = (shape, total + coefficient)
        out: list[Node] = []
        for key, (shape, total) in collected.items():
            if total == 0:
                continue
            if key is None:
                out.append(Num(total))
            elif total == 1:
                out.append(shape)
            else:
                out.append(self.rebuild(*self.decompose(Mul((Num(total), shape)), clean=True)))
        if not out:
            return ZERO
        flat: list[Node] = []
        for t in out:
            flat.extend(t.terms if isinstance(t, Add) else (t,))
        return flat[0] if len(flat) == 1 else Add(tuple(flat))


def _integer_power(node: Node) -> bool:
    return isinstance(node, Pow) and isinstance(node.exp, Num) and node.exp.value.denominator == 1


def _negative_power(node: Node) -> bool:
    return isinstance(node, Pow) and isinstance(node.exp, Num) and node.exp.value < 0


def _rank(node: Node) -> int:
    """Constants (pi, e) first, then powers of a name, then the rest."""
    if isinstance(node, Const):
        return 0
    if isinstance(node, Var) or (
        isinstance(node, Pow) and isinstance(node.base, Var) and isinstance(node.exp, Num)
    ):
        return 1
    return 2


def _product(factors: list[Node]) -> Node:
    if not factors:
        return ONE
    return factors[0] if len(factors) == 1 else Mul(tuple(factors))
