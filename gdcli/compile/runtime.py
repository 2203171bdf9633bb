"""A loss compiled to plain Python floats: what `descend` runs, with no SymPy."""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any

from gdcli.compile.verify import load, math_namespace, mpmath_namespace, verify
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
            values = [float(v) for v in (loss, *grad)]  # a complex value raises TypeError
        except (ArithmeticError, ValueError, TypeError):
            values = [math.nan]
        if not all(map(math.isfinite, values)):
            # a float failed on the way (exp(800) inside softplus(800), 1 - sigmoid(40)
            # rounding to 0): the same source, exactly
            values = self.exact("value_and_grad", x, 1 + self.size)
        return values[0], values[1:]

    def exact(self, function: str, x: Sequence[float], size: int) -> list[float]:
        """A generated function's values at x, computed with mpmath at a precision that
        grows until two precisions agree, then rounded to floats: ±inf where a value
        lies beyond the floats, nan where it is not a real number. For where floats
        fail on the way to a value they can hold."""
        return exact_values(self.code, function, x, size)

    def curvature(self, x: float) -> float | None:
        """l''(x) for a loss of one scalar weight (None where undefined)."""
        f = self.functions.get("curvature")
        if f is None:
            return None
        try:
            value = float(f(x))
        except (ArithmeticError, ValueError, TypeError):
            value = math.nan
        if not math.isfinite(value):
            (value,) = self.exact("curvature", [x], 1)
        return value if math.isfinite(value) else None

    def hessian(self, params: Params) -> list[list[float]] | None:
        """The matrix of second derivatives at a point (None where not generated or
        not defined)."""
        f = self.functions.get("hessian")
        if f is None:
            return None
        x = flatten(params)
        try:
            flat = [float(v) for v in f(*x)]
        except (ArithmeticError, ValueError, TypeError):
            flat = [math.nan]
        n = len(x)
        if not all(map(math.isfinite, flat)):
            flat = self.exact("hessian", x, n * n)
        if not all(map(math.isfinite, flat)):
            return None
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


EXACT_DIGITS = (30, 60, 120, 240, 480, 960, 1920, 3840)  # mpmath's precisions, in turn
AGREE = 1e-25  # two precisions agree: the relative difference of every value below this


def exact_values(code: Any, function: str, x: Sequence[float], size: int) -> list[float]:
    """`function` of the generated `code` at the floats x, with mpmath at growing
    precision (see `Compiled.exact`); `size` values."""
    import mpmath

    functions = load(code, mpmath_namespace())
    f = functions.get(function)
    before: list[Any] | None = None
    for digits in EXACT_DIGITS:
        with mpmath.workdps(digits):
            try:
                out = f(*(mpmath.mpf(v) for v in x)) if f is not None else None
                values = list(_flat(out))
                values = [mpmath.mpf(v) if isinstance(v, (int, float)) else v for v in values]
                values = [v for v in values if isinstance(v, mpmath.mpf)]  # not complex
            except (ArithmeticError, ValueError, TypeError):
                values = []
            if len(values) == size and all(mpmath.isfinite(v) for v in values):
                if before is not None and all(
                    abs(a - b) <= AGREE * abs(a) for a, b in zip(values, before, strict=True)
                ):
                    return [float(v) for v in values]
                before = values
            else:
                before = None
    return [math.nan] * size


def _flat(out: Any) -> Iterator[Any]:
    """The numbers of a generated function's result: (loss, (partials,)), (entries,), x."""
    if isinstance(out, tuple):
        for item in out:
            yield from _flat(item)
    else:
        yield out
