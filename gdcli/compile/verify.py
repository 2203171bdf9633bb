"""Generated source is verified before it runs, from the cache or fresh.

`verify` walks its syntax tree with an allow-list (arithmetic, comparisons,
conditionals, loops of our own shape, calls of a fixed set of math functions, our
own function and variable names), so a tampered cache entry can at most compute
wrong numbers. `load` then builds the functions straight from their code objects:
nothing at a module's top level ever runs.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

MATH_NAMES = (
    "sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh exp expm1 log log1p "
    "log2 log10 sqrt copysign pi e"
).split()
CONSTANT_NAMES = ("nan", "inf")  # values SymPy's printer writes by name; never called
BUILTIN_NAMES = ("abs", "max", "min")
HELPER_NAMES = ("_fsum", "_sqrt")
LOOP_CALLS = ("_push",)  # a loop's argument: where a trace loop hands out its rows
FUNCTIONS = ("value_and_grad", "curvature", "hessian", "sgd", "fused", "trace")
LOOPS = ("sgd", "fused", "trace")  # the functions that may hold the one bounded loop
MAX_SOURCE = 5_000_000  # characters of one generated source
MAX_CONSTANT_BITS = 4096  # an integer constant larger than this is not of our making

_NODES = (
    ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Assign, ast.Return, ast.While,
    ast.If, ast.Expr, ast.Name, ast.Load, ast.Store, ast.Constant, ast.Tuple, ast.BinOp,
    ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Add, ast.Sub, ast.Mult,
    ast.Div, ast.Pow, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or, ast.Eq, ast.NotEq,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE,
)  # fmt: skip
_CALLABLE = set(MATH_NAMES) | set(BUILTIN_NAMES) | set(HELPER_NAMES) | set(LOOP_CALLS)
_NUMPY_NODES = (ast.Attribute, ast.List, ast.keyword)
_NUMPY_MODULES = ("numpy", "functools")


class UnsafeSource(ValueError):
    """Source that is not of the shape gdcli generates."""


def verify(source: str, numpy: bool = False) -> ast.Module:
    """Refuse any source that is not arithmetic over our names (see module docstring).
    With `numpy`, also the NumPy printer's `numpy.f(...)`, lists and keywords. Returns
    the source's syntax tree."""
    allowed = _NODES + _NUMPY_NODES if numpy else _NODES
    if len(source) > MAX_SOURCE:
        raise UnsafeSource("generated source too large")
    try:
        tree = ast.parse(source, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise UnsafeSource(f"not Python: {exc}") from None
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise UnsafeSource(f"{type(node).__name__} is not allowed")
        if isinstance(node, ast.Attribute):  # numpy.f or numpy.f.reduce, public names only
            owner: ast.expr = node
            while isinstance(owner, ast.Attribute):
                if owner.attr.startswith("_"):
                    raise UnsafeSource(f"attribute {owner.attr!r} is not allowed")
                owner = owner.value
            if not (isinstance(owner, ast.Name) and owner.id in _NUMPY_MODULES):
                raise UnsafeSource("attribute access is not allowed")
            continue
        if isinstance(node, ast.FunctionDef):
            if node.name not in FUNCTIONS or node.decorator_list or node.returns:
                raise UnsafeSource(f"function {node.name!r} is not allowed")
        elif isinstance(node, ast.Name) and node.id.startswith("__"):
            raise UnsafeSource(f"name {node.id!r} is not allowed")
        elif isinstance(node, ast.Call):
            func = node.func
            if numpy and isinstance(func, ast.Attribute):
                continue  # numpy.f(...): the attribute itself is checked above
            if not isinstance(func, ast.Name) or func.id not in _CALLABLE or node.keywords:
                raise UnsafeSource("call of something other than a math function")
            if func.id in LOOP_CALLS and len(node.args) != 1:
                raise UnsafeSource(f"{func.id} takes one row")
        elif isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str)):
            raise UnsafeSource("constant of an unexpected type")
        elif isinstance(node, ast.Constant) and isinstance(node.value, int):
            if node.value.bit_length() > MAX_CONSTANT_BITS:
                raise UnsafeSource("an integer constant too large")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            if not any(isinstance(n, ast.Name) for n in ast.walk(node)):
                raise UnsafeSource("a power of constants (gdcli folds those itself)")
    for statement in tree.body:
        if not isinstance(statement, ast.FunctionDef):
            raise UnsafeSource("only function definitions at the top level")
        loops = [n for n in ast.walk(statement) if isinstance(n, ast.While)]
        if loops and (statement.name not in LOOPS or len(loops) > 1 or not _bounded(statement)):
            raise UnsafeSource("a loop that is not the bounded loop gdcli generates")
        pushes = [
            n
            for n in ast.walk(statement)
            if isinstance(n, ast.Name) and n.id in LOOP_CALLS and isinstance(n.ctx, ast.Load)
        ]
        if pushes and statement.name != "trace":
            raise UnsafeSource("only a trace loop hands out rows")
    return tree


_COUNT = ast.dump(ast.parse("k = k + 1").body[0])
_STOP = ast.dump(ast.parse("k >= steps", mode="eval").body)


def _bounded(function: ast.FunctionDef) -> bool:
    """The generated loops' shape: one `while True:` at the function's top level, whose
    body counts `k = k + 1` and returns when `k >= steps`, both at the body's top level,
    and nothing else in the function assigns k or steps. The node allow-list has no
    break, continue or other loop, so the loop ends after at most `steps - k` rounds."""
    loops = [s for s in function.body if isinstance(s, ast.While)]
    if len(loops) != 1:
        return False
    (loop,) = loops
    if not (isinstance(loop.test, ast.Constant) and loop.test.value is True):
        return False
    counts = [s for s in loop.body if isinstance(s, ast.Assign) and ast.dump(s) == _COUNT]
    stops = [
        s
        for s in loop.body
        if isinstance(s, ast.If)
        and ast.dump(s.test) == _STOP
        and len(s.body) == 1
        and isinstance(s.body[0], ast.Return)
    ]
    if len(counts) != 1 or not stops:
        return False
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and node is not counts[0]:
            names = [n for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            if any(n.id in ("k", "steps") for n in names):
                return False
    return True


def helpers() -> dict[str, Any]:
    return {"abs": abs, "max": max, "min": min, "_fsum": math.fsum, "_sqrt": math.sqrt}


def math_namespace() -> dict[str, Any]:
    names = (*MATH_NAMES, *CONSTANT_NAMES)
    namespace: dict[str, Any] = {name: getattr(math, name) for name in names}
    namespace.update(helpers())
    return namespace


_NUMPY = {
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "atan2": "arctan2",
    "asinh": "arcsinh",
    "acosh": "arccosh",
    "atanh": "arctanh",
}


def numpy_namespace() -> dict[str, Any]:
    """The math names over NumPy float64 (which gives ±inf where math raises)."""
    import numpy as np

    names = (*MATH_NAMES, *CONSTANT_NAMES)
    namespace: dict[str, Any] = {name: getattr(np, _NUMPY.get(name, name)) for name in names}
    namespace.update(helpers())
    return namespace


def mpmath_namespace() -> dict[str, Any]:
    """The math names over mpmath's numbers, at mpmath's working precision: exact
    evaluation where floats overflow or cancel (`compile.runtime.exact_values`)."""
    import mpmath

    own = {
        "log2": lambda x: mpmath.log(x, 2),
        "copysign": lambda a, b: abs(a) if b >= 0 else -abs(a),
    }
    namespace: dict[str, Any] = {
        name: own.get(name) or getattr(mpmath, name) for name in (*MATH_NAMES, *CONSTANT_NAMES)
    }
    namespace.update(helpers())
    namespace.update(_fsum=mpmath.fsum, _sqrt=mpmath.sqrt)
    return namespace


def load(
    source: str | ast.Module | Any, namespace: dict[str, Any]
) -> dict[str, Callable[..., Any]]:
    """The functions a VERIFIED source (its text, its syntax tree or its code) defines,
    made straight from their code objects (nothing at the module level runs: `verify`
    allows only function definitions)."""
    import types

    scope: dict[str, Any] = {"__builtins__": {}, **namespace}
    code: Any = source
    if not isinstance(source, types.CodeType):
        code = compile(source, "<gdcli generated>", "exec")
    return {
        const.co_name: types.FunctionType(const, scope)
        for const in code.co_consts
        if isinstance(const, types.CodeType) and const.co_name in FUNCTIONS
    }
