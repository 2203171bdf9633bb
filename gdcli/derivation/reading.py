"""From the parser's syntax tree, or from a SymPy expression, to a term (`terms`).

`from_syntax` keeps the student's own form: their functions, their order, their
numbers as typed. `from_sympy` writes a SymPy result in gdcli's expression
language (so that it parses back), or raises `Unwritable`.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from gdcli.derivation._imports import BadInput, NameRole, ResourceLimit, _syntax_tree
from gdcli.derivation.terms import (
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
    depth,
    mul,
)

# Beyond this nesting the steps are not written out (the printers recurse).
MAX_NESTING = 64

VECTOR_FUNCTIONS = ("sum", "mean", "dot", "transpose", "outer", "softmax", "logsumexp")

SCALAR_ONLY = (
    "the steps are written for a loss of one scalar weight: "
    + ", ".join(VECTOR_FUNCTIONS)
    + ", lists and @ are not covered"
)


class Unwritable(Exception):
    """A SymPy expression with no counterpart in gdcli's expression language."""


def refuse_arrays(text: str) -> None:
    """BadInput for a loss that uses vector functions, lists or @ (checked on the
    syntax tree, before the parser would complain about shapes)."""
    tree, _, _ = _syntax_tree(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in VECTOR_FUNCTIONS:
                raise BadInput(SCALAR_ONLY, hint=f"{node.func.id}() works on vectors and matrices")
        if isinstance(node, ast.List) or (
            isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)
        ):
            raise BadInput(SCALAR_ONLY)


def from_syntax(text: str, constants: Mapping[str, Any] | None = None) -> tuple[Node, bool]:
    """The term of a loss as written, and whether it uses decimal numbers. Names in
    `constants` are replaced by their values. The text must already have passed
    the parser (this reader trusts its checks)."""
    tree, source, _ = _syntax_tree(text)
    reader = _Reader(source, dict(constants or {}))
    node = reader.read(tree.body)
    if depth(node) > MAX_NESTING:
        raise ResourceLimit(
            f"expression nested too deeply to write out step by step (more than {MAX_NESTING} levels)"
        )
    return node, reader.decimal


class _Reader:
    def __init__(self, source: str, constants: dict[str, Any]) -> None:
        self.source = source
        self.constants = constants
        self.decimal = False

    def read(self, node: ast.AST) -> Node:
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp):
            inner = self.read(node.operand)
            return Neg(inner) if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in VECTOR_FUNCTIONS:
                raise BadInput(SCALAR_ONLY, hint=f"{name}() works on vectors and matrices")
            return Call(name, tuple(self.read(a) for a in node.args))
        if isinstance(node, ast.Compare):
            op = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}[type(node.ops[0])]
            return Cmp(op, self.read(node.left), self.read(node.comparators[0]))
        raise BadInput(SCALAR_ONLY)

    def number(self, node: ast.Constant) -> Num:
        written = ast.get_source_segment(self.source, node) or repr(node.value)
        if isinstance(node.value, int):
            return Num(Fraction(node.value), written)
        self.decimal = True
        value = Fraction(Decimal(written.replace("_", "")))
        return Num(value, written)

    def name(self, name: str) -> Node:
        if name == "pi":
            return Const("pi")
        if name == "e":
            return Const("e")
        if name in self.constants:
            value = self.constants[name]
            if hasattr(value, "shape") and getattr(value, "ndim", 0) > 0:
                raise NameRole(name, "array", detail=SCALAR_ONLY)
            try:
                return from_sympy(_sympify_number(value))
            except Unwritable:
                raise BadInput(f"the value of {name} cannot be written out") from None
        return Var(name)

    def binop(self, node: ast.BinOp) -> Node:
        if isinstance(node.op, ast.Pow):
            return Pow(self.read(node.left), self.read(node.right))
        if isinstance(node.op, ast.MatMult):
            raise BadInput(SCALAR_ONLY)
        # a + b - c + ... and a * b / c * ...: long left chains, read without recursion
        additive = isinstance(node.op, (ast.Add, ast.Sub))
        kinds = (ast.Add, ast.Sub) if additive else (ast.Mult, ast.Div)
        chain: list[tuple[ast.operator, ast.AST]] = []
        current: ast.AST = node
        while isinstance(current, ast.BinOp) and isinstance(current.op, kinds):
            chain.append((current.op, current.right))
            current = current.left
        first = self.read(current)
        if additive:
            terms = [first]
            for op, right in reversed(chain):
                term = self.read(right)
                terms.append(Neg(term) if isinstance(op, ast.Sub) else term)
            return Add(tuple(terms))
        acc = first
        factors: list[Node] = []
        for op, right in reversed(chain):
            operand = self.read(right)
            if isinstance(op, ast.Mult):
                factors = factors or [acc]
                factors.append(operand)
            else:
                acc = Mul(tuple(factors)) if factors else acc
                factors = []
                acc = Div(acc, operand)
        return Mul(tuple(factors)) if factors else acc


def _sympify_number(value: Any) -> Any:
    """A constant's value as a SymPy number (it may be a Python int, float or Fraction)."""
    import sympy as sp

    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, (int, Fraction)):
        return sp.Rational(value)
    if isinstance(value, float):
        return sp.Rational(Fraction(value))
    if hasattr(value, "item"):  # a NumPy scalar or 0-d array
        return _sympify_number(value.item())
    raise BadInput(f"{value!r} is not a number")


# ---------------------------------------------------------------------------
# SymPy -> term


def from_sympy(expr: Any) -> Node:
    """A SymPy expression as a term of gdcli's language (raises Unwritable)."""
    import sympy as sp

    if isinstance(expr, sp.Integer):
        return Num(Fraction(int(expr)))
    if isinstance(expr, sp.Rational):
        return Num(Fraction(int(expr.p), int(expr.q)))
    if isinstance(expr, sp.Float):
        if not expr.is_finite:
            raise Unwritable(str(expr))
        return Num(Fraction(Decimal(str(expr))))
    if expr is sp.pi:
        return Const("pi")
    if expr is sp.E:
        return Const("e")
    if isinstance(expr, sp.Symbol):
        return Var(expr.name)
    if isinstance(expr, sp.Add):
        terms: list[Node] = []
        ordered = expr.as_ordered_terms()
        positive = [t for t in ordered if not t.could_extract_minus_sign()]
        if positive and positive[0] is not ordered[0]:  # b - a rather than -a + b
            ordered.remove(positive[0])
            ordered.insert(0, positive[0])
        for t in ordered:
            if t.could_extract_minus_sign():
                terms.append(Neg(from_sympy(-t)))
            else:
                terms.append(from_sympy(t))
        return Add(tuple(terms))
    if isinstance(expr, sp.Mul):
        return _product(expr)
    if isinstance(expr, sp.Pow):
        return _power(expr.base, expr.exp)
    if isinstance(expr, sp.exp):
        return Call("exp", (from_sympy(expr.args[0]),))
    if isinstance(expr, sp.Piecewise):
        return _piecewise(expr)
    if isinstance(expr, (sp.Function, sp.Max, sp.Min)):
        return _function(expr)
    raise Unwritable(type(expr).__name__)


def _product(expr: Any) -> Node:
    import sympy as sp

    coefficient, factors = expr.as_coeff_mul()
    top: list[Node] = []
    bottom: list[Node] = []
    for f in factors:
        if isinstance(f, sp.Pow) and f.exp.is_Rational and f.exp < 0:
            bottom.append(_power(f.base, -f.exp))
        else:
            top.append(from_sympy(f))
    number = from_sympy(coefficient)
    if not isinstance(number, Num):
        raise Unwritable(str(coefficient))
    c = number.value
    negative = c < 0
    c = abs(c)
    if c.numerator != 1 or not top:
        top.insert(0, Num(Fraction(c.numerator)))
    if c.denominator != 1:
        bottom.insert(0, Num(Fraction(c.denominator)))
    numerator = top[0] if len(top) == 1 else Mul(tuple(top))
    result: Node = numerator
    if bottom:
        result = Div(numerator, bottom[0] if len(bottom) == 1 else Mul(tuple(bottom)))
    return Neg(result) if negative else result


def _power(base: Any, exponent: Any) -> Node:
    import sympy as sp

    if exponent == sp.Rational(1, 2):
        return Call("sqrt", (from_sympy(base),))
    if exponent.is_Rational and exponent < 0:
        return Div(Num(Fraction(1)), _power(base, -exponent))
    if base is sp.E:
        return Call("exp", (from_sympy(exponent),))
    if exponent == 1:
        return from_sympy(base)
    return Pow(from_sympy(base), from_sympy(exponent))


_FUNCTIONS = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "asin": "asin",
    "acos": "acos",
    "atan": "atan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "log": "log",
    "Abs": "abs",
    "sign": "sign",
    "Heaviside": "Heaviside",
    "Max": "max",
    "Min": "min",
}

# reciprocal functions SymPy may write: 1/f(x)
_RECIPROCALS = {
    "sec": "cos",
    "csc": "sin",
    "cot": "tan",
    "sech": "cosh",
    "csch": "sinh",
    "coth": "tanh",
}


def _function(expr: Any) -> Node:
    name = type(expr).__name__
    args = tuple(from_sympy(a) for a in expr.args)
    if name in _FUNCTIONS:
        if name == "log" and len(args) != 1:
            raise Unwritable(name)
        return Call(_FUNCTIONS[name], args)
    if name in _RECIPROCALS:
        return Div(Num(Fraction(1)), Call(_RECIPROCALS[name], args))
    raise Unwritable(name)


def _relation(cond: Any, negate: bool = False) -> Node:
    import sympy as sp

    ops = {
        sp.StrictGreaterThan: ">",
        sp.GreaterThan: ">=",
        sp.StrictLessThan: "<",
        sp.LessThan: "<=",
    }
    opposite = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}
    op = ops.get(type(cond))
    if op is None:
        raise Unwritable(str(cond))
    if negate:
        op = opposite[op]
    return Cmp(op, from_sympy(cond.lhs), from_sympy(cond.rhs))


def _piecewise(expr: Any) -> Node:
    """Piecewise((a, c1), (b, c2), (d, True)) = a*(c1) + b*(not c1)*(c2) + d*(not c1)*(not c2)."""
    import sympy as sp

    terms: list[Node] = []
    before: list[Any] = []
    for value, cond in expr.args:
        indicators = [_relation(c, negate=True) for c in before]
        if cond is not sp.true:
            indicators.append(_relation(cond))
        if value != 0:
            terms.append(mul(from_sympy(value), *indicators))
        if cond is sp.true:
            break
        before.append(cond)
    if not terms:
        return Num(Fraction(0))
    return terms[0] if len(terms) == 1 else Add(tuple(terms))
