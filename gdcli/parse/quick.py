"""The quick reader: values made only of decimal numbers, + - * / and lists of
them, read exactly as Fractions without SymPy or NumPy. A repeated call whose
compiled loss is cached uses it, so that it never imports SymPy.

It answers None for anything else (including errors): the full parser then reads
the text, or reports what is wrong with it. So this path only ever serves inputs
that the full path accepts, with the same values.
"""

from __future__ import annotations

import ast
import operator
from typing import TYPE_CHECKING, Any

from gdcli.limits import MAX_DEPTH, MAX_DIMENSIONS, MAX_LENGTH
from gdcli.parse.syntax import FORBIDDEN_CHARACTERS, decimal_literal, normalise, parse_quietly

if TYPE_CHECKING:
    from fractions import Fraction

_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def quick_value(text: str) -> Fraction | list[Any] | None:
    """A number (Fraction) or nested lists of numbers; None when the text is anything
    else or anything is wrong with it."""
    if len(text) > MAX_LENGTH or any(ch in FORBIDDEN_CHARACTERS for ch in text):
        return None
    source = normalise(text)
    try:
        tree = parse_quietly(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None

    def walk(node: ast.AST, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError("too deep")
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            number: int | float = node.value  # type: ignore[assignment]  # int or float, as tested
            text = ast.get_source_segment(source, node) or repr(number)
            return decimal_literal(text, number)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = walk(node.operand, depth + 1)
            if isinstance(value, list):
                raise ValueError("a list")
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            a, b = walk(node.left, depth + 1), walk(node.right, depth + 1)
            if isinstance(a, list) or isinstance(b, list):
                raise ValueError("a list")
            return _OPS[type(node.op)](a, b)
        if isinstance(node, ast.List) and node.elts:
            if depth >= MAX_DIMENSIONS:  # lists are only ever inside lists here
                raise ValueError("too many dimensions")
            return [walk(e, depth + 1) for e in node.elts]
        raise ValueError("not a plain number")

    try:
        value: Fraction | list[Any] = walk(tree.body, 0)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return value


def quick_shape(value: Any) -> tuple[int, ...] | None:
    """Shape of a nested list of numbers (None if ragged)."""
    if not isinstance(value, list):
        return ()
    inner = {quick_shape(v) for v in value}
    if len(inner) != 1 or None in inner:
        return None
    (shape,) = inner
    return None if shape is None else (len(value), *shape)


def quick_entries(value: Any) -> list[Any]:
    """The numbers of a nested list, row-major."""
    if isinstance(value, list):
        return [x for v in value for x in quick_entries(v)]
    return [value]
