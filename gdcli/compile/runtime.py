"""A loss compiled to plain Python floats: what `descend` runs, with no SymPy."""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any

from gdcli.compile.verify import load, math_namespace, numpy_namespace, verify
from gdcli.limits import MAX_ENTRIES, MAX_LENGTH
from gdcli.params import Params, Shape, flatten, unflatten

PRODUCT_POWER = 4  # integer powers up to this (and down to its negative) run as products


class _Products(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        if not _small_power(node):
            return node
        exponent: Any = node.right
        negative = isinstance(exponent, ast.UnaryOp)
        n = (exponent.operand if negative else exponent).value
        product: ast.expr = node.left
        for _ in range(n - 1):
            product = ast.BinOp(product, ast.Mult(), node.left)
        return ast.BinOp(ast.Constant(1), ast.Div(), product) if negative else product


def _small_power(node: ast.AST) -> bool:
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)):
        return False
    exponent = node.right
    if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, ast.USub):
        exponent = exponent.operand
    value = exponent.value if isinstance(exponent, ast.Constant) else None
    return type(value) is int and 2 <= value <= PRODUCT_POWER


def _hoist(node: ast.expr, temps: list[ast.stmt], names: Iterator[str]) -> ast.expr:
    """The bases of small powers (other than names) computed once, before the statement,
    as temporaries; not inside what Python evaluates only on a condition (a branch, an
    and/or, a chained comparison), where the base might raise."""
    if isinstance(node, (ast.IfExp, ast.BoolOp)) or (
        isinstance(node, ast.Compare) and len(node.ops) > 1
    ):
        return node
    for field, value in ast.iter_fields(node):
        if isinstance(value, ast.expr):
            setattr(node, field, _hoist(value, temps, names))
        elif isinstance(value, list):
            value[:] = [_hoist(v, temps, names) if isinstance(v, ast.expr) else v for v in value]
    if _small_power(node) and not isinstance(node.left, (ast.Name, ast.Constant)):  # type: ignore[attr-defined]
        name = next(names)
        temps.append(ast.Assign([ast.Name(name, ast.Store())], node.left))  # type: ignore[attr-defined]
        node.left = ast.Name(name, ast.Load())  # type: ignore[attr-defined]
    return node


def products(tree: ast.Module) -> ast.Module:
    """Small integer powers as products: `b**2` runs as `b*b`, `b**(-3)` as `1/(b*b*b)`,
    a base other than a name computed once before (`_p0 = x0 - 3`). Multiplication is
    IEEE's, the same bits over floats and over NumPy arrays, where `**` is the C
    library's pow for a float and NumPy's own for an array, which differ in the last
    bit: so descend's numbers and a sweep's are the same (`compile.sweep`)."""
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef):
            continue
        names = (f"_p{k}" for k in itertools.count())
        body: list[ast.stmt] = []
        for statement in function.body:
            if isinstance(statement, (ast.Assign, ast.Return)) and statement.value is not None:
                temps: list[ast.stmt] = []
                statement.value = _hoist(statement.value, temps, names)
                body += temps
            body.append(statement)
        function.body = body
    out: ast.Module = ast.fix_missing_locations(_Products().visit(tree))
    return out


def value_and_grad(tree: ast.Module) -> ast.FunctionDef | None:
    return next(
        (s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "value_and_grad"),
        None,
    )


class Compiled:
    """What an expression compiles to: the loss and its gradient in one function of
    the flat weight entries, l'' for one scalar weight, the Hessian of a few (the
    loops of whole runs are composed from it by `compile.trace`)."""

    kind = "scalar"

    def __init__(
        self,
        text: str,
        variables: tuple[str, ...],
        shapes: dict[str, Shape],
        source: str,
        has_kink: bool,
    ) -> None:
        self.text = text
        self.variables = variables
        self.shapes = shapes
        self.source = source
        self.has_kink = has_kink
        tree = products(verify(self.source))  # what runs: the small powers as products
        self.tree = value_and_grad(tree)  # the loops and the sweep are made from it
        self.code = compile(tree, "<gdcli generated>", "exec")
        self.functions = load(self.code, math_namespace())
        self.size = sum(math.prod(s) for s in self.shapes.values())

    def evaluate_params(self, params: Params) -> tuple[float, Params]:
        """(loss, gradient) at a point given per weight (the descent loop's view)."""
        loss, grad = self.evaluate(flatten(params))
        return loss, unflatten(grad, [self.shapes[n] for n in self.variables])

    def evaluate(self, x: Sequence[float]) -> tuple[float, list[float]]:
        """(loss, gradient) at the flat point x; nan where undefined or complex, and
        a signed inf where a value overflows."""
        try:
            loss, grad = self.functions["value_and_grad"](*x)
        except OverflowError:
            return self._with_numpy(x)
        except (ValueError, ZeroDivisionError, TypeError):
            return math.nan, [math.nan] * self.size
        values = [loss, *grad]
        if any(isinstance(v, complex) for v in values):
            return math.nan, [math.nan] * self.size
        return float(loss), [float(g) for g in grad]

    def _with_numpy(self, x: Sequence[float]) -> tuple[float, list[float]]:
        """math raises on overflow; the same source over NumPy float64 gives ±inf."""
        import numpy as np

        functions = load(self.code, numpy_namespace())
        with np.errstate(all="ignore"):
            try:
                loss, grad = functions["value_and_grad"](*(np.float64(v) for v in x))
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                return math.nan, [math.nan] * self.size
        return float(loss), [float(g) for g in grad]

    def curvature(self, x: float) -> float | None:
        """l''(x) for a loss of one scalar weight (None where undefined)."""
        f = self.functions.get("curvature")
        if f is None:
            return None
        try:
            value = f(x)
        except (ValueError, ZeroDivisionError, TypeError, OverflowError):
            return None
        if isinstance(value, complex) or not math.isfinite(value):
            return None
        return float(value)

    def hessian(self, params: Params) -> list[list[float]] | None:
        """The matrix of second derivatives at a point (None where not generated or
        not defined)."""
        f = self.functions.get("hessian")
        if f is None:
            return None
        x = flatten(params)
        try:
            flat = f(*x)
        except (ValueError, ZeroDivisionError, TypeError, OverflowError):
            return None
        if any(isinstance(v, complex) or not math.isfinite(v) for v in flat):
            return None
        n = len(x)
        return [[float(flat[i * n + j]) for j in range(n)] for i in range(n)]

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "variables": list(self.variables),
            "shapes": {k: list(v) for k, v in self.shapes.items()},
            "source": self.source,
            "has_kink": self.has_kink,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Compiled:
        """An entry read from disk: data to distrust. ValueError unless every field has
        the type and the size gdcli writes (and the source passes `verify`)."""
        text, variables, shapes = data["text"], data["variables"], data["shapes"]
        source, kink = data["source"], data["has_kink"]
        if not (isinstance(text, str) and len(text) <= MAX_LENGTH and isinstance(source, str)):
            raise ValueError("text or source of the wrong type or size")
        if not (isinstance(variables, list) and 0 < len(variables) <= MAX_ENTRIES):
            raise ValueError("variables of the wrong type or size")
        if not all(isinstance(v, str) and v.isidentifier() for v in variables):
            raise ValueError("a variable that is not a name")
        if not (isinstance(shapes, dict) and sorted(shapes) == sorted(variables)):
            raise ValueError("shapes that do not match the variables")
        sizes = []
        for shape in shapes.values():
            if not (isinstance(shape, list) and len(shape) <= 2):
                raise ValueError("a shape of the wrong type")
            if not all(type(n) is int and 1 <= n <= MAX_ENTRIES for n in shape):
                raise ValueError("a shape of the wrong size")
            sizes.append(math.prod(shape))
        if sum(sizes) > MAX_ENTRIES or not isinstance(kink, bool):
            raise ValueError("too many entries")
        return cls(
            text=text,
            variables=tuple(variables),
            shapes={k: tuple(v) for k, v in shapes.items()},
            source=source,
            has_kink=kink,
        )
