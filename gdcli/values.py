"""Small readers shared by the full parser and the quick path of a repeated call
(which must not import SymPy or NumPy): option values, shapes, entry names."""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from typing import Any

from gdcli.errors import ParseError, ResourceLimit

MAX_LENGTH = 2000  # characters of one expression or value
MAX_NODES = 600  # syntax-tree nodes
MAX_DEPTH = 60  # nesting of the syntax tree
MAX_BITS = 1400  # size of any exact number (numerator or denominator), about 420 digits
MAX_ENTRIES = 10_000  # entries of one array
MAX_PRODUCT_TERMS = 20_000  # multiplications in one symbolic matrix product
MAX_SYMBOLIC_EXPONENT = 10_000  # |p|, |q| of a constant exponent on an expression of weights

Shape = tuple[int, ...]

# Python syntax that is not part of gdcli's expressions but that ast would accept
# silently: comments, line continuations, statements separators.
FORBIDDEN_CHARACTERS = {"#": "a comment", "\\": "a backslash", ";": "a semicolon"}


def parse_quietly(source: str) -> ast.Expression:
    """ast.parse in eval mode, without Python's SyntaxWarnings reaching stderr."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source, mode="eval")


def show_value(value: Any) -> str:
    """An exact value for a message: as SymPy writes it (-2/3, pi/4), or in short
    scientific form when that would be long (10**300 has 301 digits)."""
    text = str(value)
    if len(text) <= 24:
        return text
    try:
        return f"{float(value):.6g}"
    except (TypeError, ValueError, OverflowError):
        return text[:21] + "..."


def finite_float(value: Any, what: str) -> float:
    """An exact value as a float; a value beyond the float range is bad input."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    except (TypeError, ValueError):
        raise ParseError(f"{what} must be a number") from None
    if not math.isfinite(number):
        raise ParseError(f"{what} is beyond the range of a float (about ±1.8e308)")
    return number


def entry_labels(name: str, shape: Shape) -> list[str]:
    if not shape:
        return [name]
    import itertools

    return [
        f"{name}[{','.join(str(i + 1) for i in idx)}]"
        for idx in itertools.product(*(range(n) for n in shape))
    ]


def normalise(text: str) -> str:
    """The text as gdcli reads it: stripped, `^` meaning power."""
    return text.strip().replace("^", "**")


def _quote(text: str, limit: int = 40) -> str:
    """User text for an error message: quoted, and cut when long."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def quick_value(text: str) -> Any:
    """A value made only of decimal numbers, + - * / (and lists of them), read
    exactly as a Fraction without SymPy; None for anything else (including errors:
    the full parser then reads it, or reports them)."""
    from decimal import Decimal, InvalidOperation
    from fractions import Fraction

    if len(text) > MAX_LENGTH:
        return None
    if any(ch in FORBIDDEN_CHARACTERS for ch in text):
        return None
    try:
        tree = parse_quietly(text.strip().replace("^", "**"))
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None

    def walk(node: ast.AST, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if isinstance(node.value, int):
                return Fraction(node.value)
            source = ast.get_source_segment(text.strip(), node) or repr(node.value)
            dec = Decimal(source.replace("_", ""))
            if dec != 0 and abs(dec.adjusted()) > 330:
                raise ValueError
            return Fraction(dec)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = walk(node.operand, depth + 1)
            if isinstance(value, list):
                raise ValueError
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and isinstance(
            node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)
        ):
            a, b = walk(node.left, depth + 1), walk(node.right, depth + 1)
            if isinstance(a, list) or isinstance(b, list):
                raise ValueError
            ops = {
                ast.Add: a.__add__,
                ast.Sub: a.__sub__,
                ast.Mult: a.__mul__,
                ast.Div: a.__truediv__,
            }
            return ops[type(node.op)](b)
        if isinstance(node, ast.List) and node.elts:
            return [walk(e, depth + 1) for e in node.elts]
        raise ValueError

    try:
        return walk(tree.body, 0)
    except (ValueError, ZeroDivisionError, InvalidOperation, OverflowError):
        return None


def parse_assignments(text: str) -> dict[str, str]:
    """Split `x=1,y=-2` or `W=[[1,2],[3,4]]` into names and value texts
    (commas inside brackets or parentheses do not split)."""
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    out: dict[str, str] = {}
    for part in parts:
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier() or not value.strip():
            raise ParseError(
                f"cannot read {_quote(part.strip())}: expected NAME=VALUE", hint="e.g. x=1,y=-2"
            )
        if name in out:
            raise ParseError(f"{name} is given twice")
        out[name] = value.strip()
    return out


def parse_shape(text: str) -> Shape:
    """`2x3` -> (2, 3); `3` -> (3,)."""
    pieces = text.lower().replace("*", "x").split("x")
    try:
        shape = tuple(int(p) for p in pieces)
    except ValueError:
        raise ParseError(f"cannot read shape {_quote(text)}", hint="e.g. 2x3 or 3") from None
    if not shape or any(n < 1 for n in shape) or len(shape) > 2:
        raise ParseError(f"bad shape {_quote(text)}: one or two positive sizes, like 3 or 2x3")
    if math.prod(shape) > MAX_ENTRIES:
        raise ResourceLimit(f"shape {text} too large (at most {MAX_ENTRIES} entries)")
    return shape


def as_nested(values: Sequence[Any], shape: Shape) -> Any:
    """Flat row-major values -> a number (shape ()) or nested lists of that shape."""
    if not shape:
        return values[0]
    if len(shape) == 1:
        return list(values)
    step = math.prod(shape[1:])
    return [as_nested(values[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]
