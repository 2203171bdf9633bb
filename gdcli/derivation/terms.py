"""Expressions as the student wrote them: a small tree, light simplification, and
printers for gdcli's expression language and for LaTeX.

The tree keeps what SymPy would canonicalise away (the order of terms, a division,
`sigmoid`, `relu`), so that each step shows the student's own functions. The
constructors `add`, `mul`, ... simplify lightly (drop `*1`, `+0`, `**1`, fold
numbers); the plain classes build a node exactly as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class Num:
    value: Fraction
    text: str | None = field(default=None, compare=False)  # as the student typed it


@dataclass(frozen=True, slots=True)
class Const:
    name: str  # "pi" or "e"


@dataclass(frozen=True, slots=True)
class Var:
    name: str


@dataclass(frozen=True, slots=True)
class Add:
    terms: tuple[Node, ...]  # a difference a - b is Add((a, Neg(b)))


@dataclass(frozen=True, slots=True)
class Neg:
    arg: Node


@dataclass(frozen=True, slots=True)
class Mul:
    factors: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Div:
    num: Node
    den: Node


@dataclass(frozen=True, slots=True)
class Pow:
    base: Node
    exp: Node


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Cmp:
    op: str  # ">", ">=", "<", "<="
    left: Node
    right: Node


Node = Num | Const | Var | Add | Neg | Mul | Div | Pow | Call | Cmp

ZERO = Num(Fraction(0))
ONE = Num(Fraction(1))
MAX_FOLD_BITS = 4096  # numbers folded together stay below this size
MAX_FOLD_EXPONENT = 4096


def num(value: int | Fraction) -> Num:
    return Num(Fraction(value))


def is_num(node: Node, value: int | Fraction | None = None) -> bool:
    return isinstance(node, Num) and (value is None or node.value == value)


def _small(value: Fraction) -> bool:
    return value.numerator.bit_length() + value.denominator.bit_length() <= MAX_FOLD_BITS


def names(node: Node) -> set[str]:
    """The variable names a node uses."""
    out: set[str] = set()
    stack: list[Node] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Var):
            out.add(n.name)
        else:
            stack.extend(children(n))
    return out


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Add):
        return node.terms
    if isinstance(node, Mul):
        return node.factors
    if isinstance(node, Neg):
        return (node.arg,)
    if isinstance(node, Div):
        return (node.num, node.den)
    if isinstance(node, Pow):
        return (node.base, node.exp)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Cmp):
        return (node.left, node.right)
    return ()


def depth(node: Node) -> int:
    best = 0
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in children(n))
    return best


def size(node: Node) -> int:
    count = 0
    stack: list[Node] = [node]
    while stack:
        count += 1
        stack.extend(children(stack.pop()))
    return count


def substitute(node: Node, values: dict[str, Node], splice: bool = False) -> Node:
    """Replace variables by expressions (the expressions are not searched again).
    With `splice`, a sum put in as a term of a sum joins it: w - 3 with w + h for w
    is w + h - 3, not (w + h) - 3."""
    if isinstance(node, Var):
        return values.get(node.name, node)
    if isinstance(node, (Num, Const)):
        return node
    if isinstance(node, Add):
        terms: list[Node] = []
        for t in node.terms:
            new = substitute(t, values, splice)
            if splice and isinstance(t, Var) and isinstance(new, Add):
                terms.extend(new.terms)
            else:
                terms.append(new)
        return Add(tuple(terms))
    if isinstance(node, Mul):
        return Mul(tuple(substitute(f, values, splice) for f in node.factors))
    if isinstance(node, Neg):
        return Neg(substitute(node.arg, values, splice))
    if isinstance(node, Div):
        return Div(substitute(node.num, values, splice), substitute(node.den, values, splice))
    if isinstance(node, Pow):
        return Pow(substitute(node.base, values, splice), substitute(node.exp, values, splice))
    if isinstance(node, Call):
        return Call(node.name, tuple(substitute(a, values, splice) for a in node.args))
    left, right = substitute(node.left, values, splice), substitute(node.right, values, splice)
    return Cmp(node.op, left, right)


# ---------------------------------------------------------------------------
# light simplification: what a student does without thinking


def neg(x: Node) -> Node:
    if isinstance(x, Num):
        return Num(-x.value)
    if isinstance(x, Neg):
        return x.arg
    return Neg(x)


def add(*terms: Node) -> Node:
    """A sum: nested sums flattened, zeros dropped, numbers folded into one."""
    flat: list[Node] = []
    for t in terms:
        flat.extend(t.terms if isinstance(t, Add) else (t,))
    flat = [t for t in flat if not is_num(t, 0)]
    numbers = [t for t in flat if isinstance(t, Num)]
    if len(numbers) > 1:
        total = sum((t.value for t in numbers), Fraction(0))
        first = flat.index(numbers[0])
        flat = [t for t in flat if not isinstance(t, Num)]
        if total != 0:
            flat.insert(min(first, len(flat)), Num(total))
    if not flat:
        return ZERO
    if len(flat) == 1:
        return flat[0]
    return Add(tuple(flat))


def mul(*factors: Node) -> Node:
    """A product: nested products flattened, numbers folded in front, signs pulled
    out, ones dropped, and divisions gathered into one (x * (1/y) is x/y)."""
    coefficient = Fraction(1)
    negative = False
    out: list[Node] = []
    stack = list(reversed(factors))
    while stack:
        f = stack.pop()
        if isinstance(f, Mul):
            stack.extend(reversed(f.factors))
        elif isinstance(f, Neg):
            negative = not negative
            stack.append(f.arg)
        elif isinstance(f, Num) and _small(coefficient * f.value):
            if f.value == 0:
                return ZERO
            coefficient *= f.value
        else:
            out.append(f)
    if coefficient < 0:
        negative, coefficient = not negative, -coefficient
    divisions = [f for f in out if isinstance(f, Div)]
    if divisions:
        numerators = [f for f in out if not isinstance(f, Div)] + [d.num for d in divisions]
        result = div(mul(Num(coefficient), *numerators), mul(*(d.den for d in divisions)))
        return neg(result) if negative else result
    if coefficient != 1 or not out:
        out.insert(0, Num(coefficient))
    result = out[0] if len(out) == 1 else Mul(tuple(out))
    return neg(result) if negative else result


def div(a: Node, b: Node) -> Node:
    if is_num(b, 1):
        return a
    if is_num(a, 0) and not is_num(b, 0):
        return ZERO
    if isinstance(a, Num) and isinstance(b, Num) and b.value != 0:
        return Num(a.value / b.value)
    if a == b:
        return ONE
    if isinstance(a, Neg):
        return neg(div(a.arg, b))
    if isinstance(b, Neg):
        return neg(div(a, b.arg))
    if isinstance(a, Num) and a.value < 0:
        return neg(div(Num(-a.value), b))
    if isinstance(b, Num) and b.value < 0:
        return neg(div(a, Num(-b.value)))
    if isinstance(a, Div):
        return div(a.num, mul(a.den, b))
    if isinstance(b, Div):
        return div(mul(a, b.den), b.num)
    return Div(a, b)


def power(base: Node, exponent: Node) -> Node:
    if is_num(exponent, 1):
        return base
    if is_num(exponent, 0) or is_num(base, 1):
        return ONE
    if isinstance(base, Num) and isinstance(exponent, Num):
        folded = fold_power(base.value, exponent.value)
        if folded is not None:
            return Num(folded)
    return Pow(base, exponent)


def fold_power(base: Fraction, exponent: Fraction) -> Fraction | None:
    """base**exponent as an exact number, when it is one and not huge."""
    if exponent.denominator != 1 or abs(exponent) > MAX_FOLD_EXPONENT:
        return None
    if base == 0 and exponent < 0:
        return None
    bits = base.numerator.bit_length() + base.denominator.bit_length()
    if bits * abs(exponent) > MAX_FOLD_BITS:
        return None
    return base ** int(exponent)


def number_value(node: Node) -> Fraction | None:
    """The exact value of a term made only of numbers (1/3, -2, 2**-1), else None."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Neg):
        inner = number_value(node.arg)
        return None if inner is None else -inner
    if isinstance(node, (Add, Mul)):
        parts = [number_value(x) for x in children(node)]
        if any(x is None for x in parts):
            return None
        total = Fraction(0 if isinstance(node, Add) else 1)
        for x in parts:
            assert x is not None
            total = total + x if isinstance(node, Add) else total * x
            if not _small(total):
                return None
        return total
    if isinstance(node, (Div, Pow)):
        a, b = number_value(children(node)[0]), number_value(children(node)[1])
        if a is None or b is None:
            return None
        if isinstance(node, Div):
            return a / b if b != 0 else None
        return fold_power(a, b)
    return None


def call(name: str, *args: Node) -> Node:
    if name in ("log", "ln") and len(args) == 1:
        if args[0] == Const("e"):
            return ONE
        if is_num(args[0], 1):
            return ZERO
    if name == "exp" and is_num(args[0], 0):
        return ONE
    if name == "sqrt" and (is_num(args[0], 0) or is_num(args[0], 1)):
        return args[0]
    return Call(name, args)


# ---------------------------------------------------------------------------
# printing

ADD, NEG, MUL, POW, ATOM = 1, 2, 3, 4, 9
DECIMAL_DIGITS = 12  # a fraction is written as a decimal when it has at most this many


def decimal_text(value: Fraction) -> str | None:
    """`0.25` for 1/4: a fraction whose decimal expansion ends soon, else None."""
    q = value.denominator
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    if q != 1 or max(twos, fives) > DECIMAL_DIGITS:
        return None
    with localcontext() as ctx:
        ctx.prec = len(str(value.numerator)) + DECIMAL_DIGITS + 2
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text


@dataclass
class Printer:
    """Writes a node in gdcli's expression language (`text`) or in LaTeX (`latex`).
    With `decimal`, folded numbers are written as decimals (0.2, not 1/5) when the
    student typed decimals."""

    decimal: bool = False

    # ---- numbers

    def number(self, n: Num) -> str:
        if n.text is not None:
            return n.text
        v = n.value
        if v.denominator == 1:
            return str(v.numerator)
        if self.decimal:
            d = decimal_text(v)
            if d is not None:
                return d
        return f"{v.numerator}/{v.denominator}"

    def precedence(self, node: Node) -> int:
        if isinstance(node, Add):
            return ADD
        if isinstance(node, Neg):
            return NEG
        if isinstance(node, (Mul, Div)):
            return MUL
        if isinstance(node, Pow):
            return POW
        if isinstance(node, Num):
            written = self.number(node)
            if written.startswith("-"):
                return NEG
            if "/" in written:
                return MUL
        return ATOM

    # ---- gdcli's expression language

    def text(self, node: Node) -> str:
        if isinstance(node, Num):
            return self.number(node)
        if isinstance(node, (Const, Var)):
            return node.name
        if isinstance(node, Add):
            return self._sum(node)
        if isinstance(node, Neg):
            return "-" + self._wrap(node.arg, self.precedence(node.arg) <= NEG)
        if isinstance(node, Mul):
            parts = []
            for k, f in enumerate(node.factors):
                p = self.precedence(f)
                fraction = isinstance(f, Num) and p == MUL
                wrap = p < NEG if k == 0 else p <= MUL
                parts.append(self._wrap(f, wrap or fraction))
            return "*".join(parts)
        if isinstance(node, Div):
            top = self._wrap(node.num, self.precedence(node.num) < NEG)
            bottom = self._wrap(node.den, self.precedence(node.den) <= MUL)
            return f"{top}/{bottom}"
        if isinstance(node, Pow):
            base = self._wrap(node.base, self.precedence(node.base) <= POW)
            exponent = self._wrap(node.exp, self.precedence(node.exp) < ATOM)
            return f"{base}**{exponent}"
        if isinstance(node, Call):
            return f"{node.name}({', '.join(self.text(a) for a in node.args)})"
        return f"({self.text(node.left)} {node.op} {self.text(node.right)})"

    def _wrap(self, node: Node, wrap: bool) -> str:
        inner = self.text(node)
        return f"({inner})" if wrap else inner

    def _sum(self, node: Add) -> str:
        out = ""
        for k, t in enumerate(node.terms):
            sign, body = self._signed(t)
            if k == 0:
                out = ("-" if sign < 0 else "") + body
            else:
                out += (" - " if sign < 0 else " + ") + body
        return out

    def _signed(self, t: Node) -> tuple[int, str]:
        """A term of a sum as a sign and the text after it."""
        if isinstance(t, Neg):
            return -1, self._wrap(t.arg, self.precedence(t.arg) <= NEG)
        if isinstance(t, Num) and t.value < 0 and t.text is None:
            return -1, self.number(Num(-t.value))
        if isinstance(t, Mul) and isinstance(t.factors[0], Num) and t.factors[0].value < 0:
            first = Num(-t.factors[0].value)
            rest = t.factors[1:]
            rebuilt = Mul((first, *rest)) if first.value != 1 else mul(*rest)
            return -1, self.text(rebuilt)
        return 1, self._wrap(t, self.precedence(t) <= ADD)

    # ---- LaTeX

    def latex(self, node: Node) -> str:
        if isinstance(node, Num):
            return self._latex_number(node)
        if isinstance(node, Const):
            return r"\pi" if node.name == "pi" else "e"
        if isinstance(node, Var):
            return latex_name(node.name)
        if isinstance(node, Add):
            out = ""
            for k, t in enumerate(node.terms):
                sign, body = self._latex_signed(t)
                if k == 0:
                    out = ("-" if sign < 0 else "") + body
                else:
                    out += (" - " if sign < 0 else " + ") + body
            return out
        if isinstance(node, Neg):
            return "-" + self._latex_wrap(node.arg, self.precedence(node.arg) <= NEG)
        if isinstance(node, Mul):
            out = ""
            for k, f in enumerate(node.factors):
                p = self.precedence(f)
                body = self._latex_wrap(f, p < NEG if k == 0 else p < MUL)
                if k == 0:
                    out = body
                elif body[:1].isdigit() or body.startswith("-"):
                    out += r" \cdot " + body
                else:
                    out += " " + body
            return out
        if isinstance(node, Div):
            return rf"\frac{{{self.latex(node.num)}}}{{{self.latex(node.den)}}}"
        if isinstance(node, Pow):
            return self._latex_power(node)
        if isinstance(node, Call):
            return self._latex_call(node)
        op = {">": ">", ">=": r"\geq", "<": "<", "<=": r"\leq"}[node.op]
        return rf"\mathbb{{1}}[{self.latex(node.left)} {op} {self.latex(node.right)}]"

    def _latex_number(self, n: Num) -> str:
        v = n.value
        if n.text is not None or v.denominator == 1:
            return self.number(n)
        if self.decimal and decimal_text(v) is not None:
            return self.number(n)
        sign = "-" if v < 0 else ""
        return rf"{sign}\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"

    def _latex_wrap(self, node: Node, wrap: bool) -> str:
        inner = self.latex(node)
        return rf"\left({inner}\right)" if wrap else inner

    def _latex_signed(self, t: Node) -> tuple[int, str]:
        if isinstance(t, Neg):
            return -1, self._latex_wrap(t.arg, self.precedence(t.arg) <= NEG)
        if isinstance(t, Num) and t.value < 0 and t.text is None:
            return -1, self._latex_number(Num(-t.value))
        if isinstance(t, Mul) and isinstance(t.factors[0], Num) and t.factors[0].value < 0:
            first = Num(-t.factors[0].value)
            rest = t.factors[1:]
            rebuilt = Mul((first, *rest)) if first.value != 1 else mul(*rest)
            return -1, self.latex(rebuilt)
        return 1, self._latex_wrap(t, self.precedence(t) <= ADD)

    def _latex_power(self, node: Pow) -> str:
        exponent = self.latex(node.exp)
        base = node.base
        if (
            isinstance(base, Call)
            and base.name in _LATEX_POWERED
            and isinstance(node.exp, Num)
            and node.exp.value.denominator == 1
            and node.exp.value > 0
        ):  # sin(w)**2 is \sin^{2}(w), as textbooks write it
            arg = self.latex(base.args[0])
            return rf"{_LATEX_POWERED[base.name]}^{{{exponent}}}\left({arg}\right)"
        if isinstance(base, Const) and base.name == "e":
            return f"e^{{{exponent}}}"
        wrap = self.precedence(base) <= POW or isinstance(base, (Call, Cmp))
        if isinstance(base, Call) and base.name in ("sqrt", "abs"):
            wrap = False
        return f"{self._latex_wrap(base, wrap)}^{{{exponent}}}"

    def _latex_call(self, node: Call) -> str:
        args = [self.latex(a) for a in node.args]
        name = node.name
        if name == "sqrt":
            return rf"\sqrt{{{args[0]}}}"
        if name == "abs":
            return rf"\left|{args[0]}\right|"
        if name == "exp" and self.precedence(node.args[0]) == ATOM:
            return f"e^{{{args[0]}}}"
        if name == "log" and len(args) == 2:
            return rf"\log_{{{args[1]}}}\left({args[0]}\right)"
        head = _LATEX_FUNCTIONS.get(name, rf"\operatorname{{{name}}}")
        return rf"{head}\left({', '.join(args)}\right)"


_LATEX_POWERED = {
    "sin": r"\sin",
    "cos": r"\cos",
    "tan": r"\tan",
    "sinh": r"\sinh",
    "cosh": r"\cosh",
    "tanh": r"\tanh",
    "sigmoid": r"\sigma",
}

_LATEX_FUNCTIONS = {
    **_LATEX_POWERED,
    "asin": r"\arcsin",
    "acos": r"\arccos",
    "atan": r"\arctan",
    "exp": r"\exp",
    "log": r"\log",
    "ln": r"\ln",
    "relu": r"\operatorname{ReLU}",
    "softplus": r"\operatorname{softplus}",
    "sign": r"\operatorname{sign}",
    "Heaviside": "H",
    "heaviside": "H",
    "max": r"\max",
    "min": r"\min",
}


def latex_name(name: str) -> str:
    """`w`, `x_{1}` for x1 or x_1, `\\mathrm{lr}` for a longer name."""
    if len(name) == 1:
        return name
    match = re.fullmatch(r"([A-Za-z])_?(\d+)", name)
    if match:
        return f"{match.group(1)}_{{{match.group(2)}}}"
    match = re.fullmatch(r"([A-Za-z])_([A-Za-z0-9]+)", name)
    if match:
        return rf"{match.group(1)}_{{\mathrm{{{match.group(2)}}}}}"
    return r"\mathrm{" + name.replace("_", r"\_") + "}"
