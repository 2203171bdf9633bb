"""A sweep's loss over NumPy arrays: descend's own `value_and_grad`, each operation the
one Python does for a float, over one array entry per run.

The scalar source is rewritten, node by node, into NumPy code. IEEE arithmetic (+ - *,
and / by a number that is not zero), comparisons, abs, copysign and sqrt give the same
bits over arrays as over floats; every other operation (`**`, the math functions) is
applied entry by entry with Python's own (NumPy's differ in the last bit); `x if c else
y` is `where(c, x, y)` and max/min keep Python's choice between ties and nan. Where
Python would raise for an entry (a division by zero, a math domain error, an overflow)
or give a complex number, and wherever a result is not finite, the entry is evaluated
again by the scalar function itself (`Compiled.evaluate`, which knows what descend
makes of each case). So every entry is descend's number, to the last bit.
"""

from __future__ import annotations

import ast
import copy
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

from gdcli.compile.arrays import ArrayCompiled
from gdcli.compile.runtime import Compiled
from gdcli.compile.verify import MATH_NAMES, UnsafeSource, load, verify

FAILURES = (ArithmeticError, ValueError, TypeError)  # what Python raises on a float
_EXACT = {"sqrt", "copysign"}  # math functions NumPy computes to the same bit
_VALUES = {"pi", "e"}


class Space:
    """The `numpy` of a rewritten source: exact stand-ins where NumPy differs from
    Python, and the entries where Python would have raised (`suspect`)."""

    def __init__(self) -> None:
        import numpy as np

        self.np = np
        self.suspect: Any = None
        self.where = np.where
        self.absolute = np.absolute
        self.copysign = np.copysign
        self.logical_and = np.logical_and
        self.logical_or = np.logical_or
        self.logical_not = np.logical_not
        for name in MATH_NAMES:
            if name not in _EXACT and name not in _VALUES:
                setattr(self, name, self._entrywise(getattr(math, name)))
        self.power = self._entrywise(operator.pow)

    def mark(self, mask: Any) -> None:
        self.suspect = mask if self.suspect is None else self.suspect | mask

    def sqrt(self, x: Any) -> Any:
        negative = self.np.less(x, 0)  # math.sqrt raises there
        if negative.any():
            self.mark(negative)
        return self.np.sqrt(x)

    def divide(self, a: Any, b: Any) -> Any:
        zero = self.np.equal(b, 0)  # Python raises there
        if zero.any():
            self.mark(zero)
        return self.np.true_divide(a, b)

    def first_max(self, *args: Any) -> Any:
        """Python's max: the first argument unless a later one is greater."""
        out = args[0]
        for b in args[1:]:
            out = self.np.where(self.np.greater(b, out), b, out)
        return out

    def first_min(self, *args: Any) -> Any:
        out = args[0]
        for b in args[1:]:
            out = self.np.where(self.np.less(b, out), b, out)
        return out

    def _entrywise(self, f: Callable[..., Any]) -> Callable[..., Any]:
        np = self.np

        def apply(*args: Any) -> Any:
            arrays = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args))
            shape = arrays[0].shape
            columns = [a.ravel().tolist() for a in arrays]
            try:
                values = list(map(f, *columns))
                out = np.array(values, dtype=float) if values else np.empty(0)
            except FAILURES:  # one raised, or a complex (a float array refuses it)
                out, bad = np.empty(len(columns[0])), np.zeros(len(columns[0]), dtype=bool)
                for i, entry in enumerate(zip(*columns, strict=True)):
                    try:
                        out[i] = f(*entry)
                    except FAILURES:
                        out[i], bad[i] = math.nan, True
                self.mark(bad.reshape(shape))
            return out.reshape(shape) if shape else float(out[0])

        return apply


class _Arrays(ast.NodeTransformer):
    """Python over floats -> NumPy over arrays, through `Space`'s names."""

    @staticmethod
    def _call(name: str, args: Sequence[ast.expr]) -> ast.Call:
        function = ast.Attribute(ast.Name("numpy", ast.Load()), name, ast.Load())
        return ast.Call(function, list(args), [])

    def visit_Constant(self, node: ast.Constant) -> ast.expr:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
            return ast.Constant(float(value))  # as Python converts it next to a float
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow):
            return self._call("power", [node.left, node.right])
        divisor = node.right
        if isinstance(node.op, ast.Div) and _has_name(divisor):
            return self._call("divide", [node.left, divisor])
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise UnsafeSource("a call gdcli does not generate")
        name = node.func.id
        names = {"abs": "absolute", "max": "first_max", "min": "first_min"}
        if name in names:
            return self._call(names[name], node.args)
        if name in MATH_NAMES and name not in _VALUES:
            return self._call(name, node.args)
        raise UnsafeSource(f"a call of {name}")

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        return self._call("where", [node.test, node.body, node.orelse])

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        self.generic_visit(node)
        name = "logical_and" if isinstance(node.op, ast.And) else "logical_or"
        out = node.values[0]
        for value in node.values[1:]:
            out = self._call(name, [out, value])
        return out

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return self._call("logical_not", [node.operand])
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        left, pairs = node.left, []
        for op, right in zip(node.ops, node.comparators, strict=True):
            pairs.append(ast.Compare(left, [op], [right]))
            left = right
        out: ast.expr = pairs[0]
        for pair in pairs[1:]:
            out = self._call("logical_and", [out, pair])
        return out


def _has_name(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Name) and n.id not in _VALUES for n in ast.walk(node))


def array_source(function: ast.FunctionDef | None) -> str:
    """`value_and_grad` of a scalar source (its syntax tree, as `Compiled` runs it),
    rewritten over arrays (verified with the NumPy allow-list: the calls are
    `numpy.<name>`)."""
    if function is None:
        raise UnsafeSource("no value_and_grad")
    function = _Arrays().visit(copy.deepcopy(function))
    text = ast.unparse(ast.fix_missing_locations(ast.Module([function], [])))
    verify(text, numpy=True)
    return text


class ArrayEvaluator:
    """The loss and gradient of many runs at once (one array entry per run), each entry
    what `compiled.evaluate` gives for that run's point."""

    def __init__(self, compiled: Compiled) -> None:
        self.compiled = compiled
        self.space = Space()
        namespace = {
            "numpy": self.space,
            "pi": math.pi,
            "e": math.e,
            "nan": math.nan,
            "inf": math.inf,
        }
        self.function = load(array_source(compiled.tree) + "\n", namespace)["value_and_grad"]

    def __call__(self, x: list[Any], care: Any = None) -> tuple[Any, list[Any]]:
        """(loss, gradient) at the points x (one array per entry); `care`, a bool array,
        names the runs whose values must be exact (None: all of them)."""
        import numpy as np

        shape = np.shape(x[0])
        self.space.suspect = None
        with np.errstate(all="ignore"):
            loss, grads = self.function(*x)
        out = [_array(v, shape) for v in (loss, *grads)]
        suspect = self.space.suspect
        if suspect is None and all(math.isfinite(a.sum()) for a in out):
            return out[0], out[1:]
        bad = np.zeros(shape, dtype=bool) if suspect is None else np.broadcast_to(suspect, shape)
        for a in out:
            bad = bad | ~np.isfinite(a)
        if care is not None:
            bad = bad & care
        out = [a.copy() for a in out]  # a result may be an input, or another result
        for i in np.flatnonzero(bad).tolist():
            value, grad = self.compiled.evaluate([float(a[i]) for a in x])
            for a, v in zip(out, (value, *grad), strict=True):
                a[i] = v
        return out[0], out[1:]


def _array(value: Any, shape: tuple[int, ...]) -> Any:
    """A result as a float array of the runs' shape (a constant broadcast); it may be
    an input itself: never written to."""
    import numpy as np

    a = np.asarray(value, dtype=float)
    return a if a.shape == shape else np.array(np.broadcast_to(a, shape))


class RunByRun:
    """The loss and gradient of many runs of a loss over vectors or matrices, each run
    by descend's own array program (`ArrayCompiled.evaluate_params`), one after the
    other: its sums and products round in NumPy's order, which the scalar source
    (SymPy's order of terms, Python's left-to-right sums) does not share, so only
    descend's program gives descend's numbers to the last bit. The runs' entries come
    and go as in `ArrayEvaluator`: one array per flat entry, one value per run."""

    def __init__(self, compiled: ArrayCompiled, names: Sequence[str]) -> None:
        order = list(compiled.variables)
        self.compiled = compiled
        self.slots = [order.index(n) for n in names]  # where each weight goes in a call
        self.shapes = [tuple(compiled.shapes[n]) for n in names]
        self.sizes = [math.prod(s) for s in self.shapes]

    def __call__(self, x: list[Any], care: Any = None) -> tuple[Any, list[Any]]:
        import numpy as np

        count = int(np.shape(x[0])[0])
        entries = np.stack([np.broadcast_to(a, (count,)) for a in x], axis=1)
        loss = np.full(count, math.nan)
        grads = np.full((count, len(x)), math.nan)
        runs = range(count) if care is None else np.flatnonzero(care).tolist()
        for i in runs:
            params: list[Any] = [None] * len(self.slots)
            at = 0
            for slot, shape, size in zip(self.slots, self.shapes, self.sizes, strict=True):
                values = entries[i, at : at + size]
                params[slot] = float(values[0]) if not shape else values.reshape(shape).copy()
                at += size
            value, grad = self.compiled.evaluate_params(params)
            loss[i] = value
            at = 0
            for slot, size in zip(self.slots, self.sizes, strict=True):
                grads[i, at : at + size] = np.ravel(grad[slot])
                at += size
        return loss, [grads[:, k].copy() for k in range(len(x))]
