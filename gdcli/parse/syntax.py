"""Text -> a checked Python syntax tree, the first step of every reader.

User text is parsed with `ast.parse(mode="eval")` and never evaluated. Here it is
measured (length, node count, depth) before anything is built, so every accepted
input stays fast; the builders (`parse.expression` for SymPy, `engine` for arrays,
`parse.quick` for plain numbers) then walk the tree with their own allow-lists.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import TYPE_CHECKING, NamedTuple

from gdcli.errors import ParseError, ResourceLimit
from gdcli.limits import MAX_DECIMAL_EXPONENT, MAX_DEPTH, MAX_LENGTH, MAX_NODES

if TYPE_CHECKING:
    from fractions import Fraction

# Python syntax that is not part of gdcli's expressions but that ast would accept
# silently: comments, line continuations, statement separators.
FORBIDDEN_CHARACTERS = {"#": "a comment", "\\": "a backslash", ";": "a semicolon"}

_IMPLICIT = re.compile(r"(?<![\w.])(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*([A-Za-z(][\w]*)")


# what the allow-list walkers call the syntax they refuse
FORBIDDEN_NODES: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Tuple: "a tuple",
    ast.JoinedStr: "a string",
    ast.FormattedValue: "a string",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.NamedExpr: "assignment",
    ast.Starred: "unpacking",
    ast.Slice: "a slice",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

OPERATOR_NAMES: dict[type, str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Not: "not",
    ast.Invert: "~",
}


class Syntax(NamedTuple):
    """A checked tree, the normalised source it was parsed from (`^` written as
    `**`), and where each `^` stood in the text as typed (for error columns)."""

    tree: ast.Expression
    source: str
    carets: list[int]

    def column(self, node: ast.AST) -> int:
        """1-based column of a node in the text as typed."""
        return user_column(getattr(node, "col_offset", 0), self.carets)

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""


def quote(text: str, limit: int = 40) -> str:
    """User text for an error message: quoted, and cut when long."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def normalise(text: str) -> str:
    """The text as gdcli reads it: stripped, `^` meaning power."""
    return text.strip().replace("^", "**")


def parse_quietly(source: str) -> ast.Expression:
    """ast.parse in eval mode, without Python's SyntaxWarnings reaching stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source, mode="eval")


def user_column(offset: int, carets: list[int]) -> int:
    """1-based column in the text as typed, from a 0-based offset in the normalised
    text (where each `^` became the two characters `**`)."""
    shift = sum(1 for k, c in enumerate(carets) if c + k < offset)
    return max(offset - shift + 1, 1)


RANGE_HINT = "a number typed must be 0 or lie between 5e-324 and 1.8e308 in size, as a float does"
_SMALLEST = 2**-1074  # the smallest positive float (a subnormal)


def shorten(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def decimal_literal(source: str, value: int | float | None = None) -> Fraction:
    """A number literal exactly as typed (`0.1` is 1/10, not a binary fraction; an
    integer such as `0x10` or `1_000` as Python reads it, `value`). ValueError when it
    is not a number or lies beyond the range of floats: one rule for every number
    typed, in an expression or an option."""
    import sys
    from decimal import Decimal, InvalidOperation
    from fractions import Fraction

    if isinstance(value, int):
        if value.bit_length() > 1030:  # far beyond the float range: not worth a Fraction
            raise ValueError(f"out of range: {source}")
        exact = Fraction(value)
    else:
        try:
            dec = Decimal(source.replace("_", ""))
        except InvalidOperation:
            raise ValueError(f"not a decimal: {source}") from None
        if not dec.is_finite():
            raise ValueError(f"not a finite decimal: {source}")
        if dec != 0 and abs(dec.adjusted()) > MAX_DECIMAL_EXPONENT:
            raise ValueError(f"out of range: {source}")
        exact = Fraction(dec)
    if exact and not Fraction(_SMALLEST) <= abs(exact) <= Fraction(sys.float_info.max):
        raise ValueError(f"out of range: {source}")
    return exact


def _kind(op: ast.operator) -> str:
    """+ and - chain together, and so do * and /."""
    if isinstance(op, (ast.Add, ast.Sub)):
        return "+"
    if isinstance(op, (ast.Mult, ast.Div)):
        return "*"
    return type(op).__name__


def _check_size(tree: ast.AST) -> None:
    """Count nodes and measure depth without recursion, before anything is built."""
    nodes = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ResourceLimit(f"expression too large (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise ResourceLimit(f"expression nested too deeply (more than {MAX_DEPTH} levels)")
        for child in ast.iter_child_nodes(node):
            # a+b+c+... is a left-leaning chain: long (MAX_NODES limits it), not deep
            chain = (
                isinstance(node, ast.BinOp)
                and isinstance(child, ast.BinOp)
                and child is node.left
                and _kind(child.op) == _kind(node.op)
            )
            stack.append((child, depth if chain else depth + 1))


def syntax_tree(text: str) -> Syntax:
    """Parse and measure `text`; ParseError (with the column) or ResourceLimit."""
    if len(text) > MAX_LENGTH:
        raise ResourceLimit(f"expression too long ({len(text)} characters, at most {MAX_LENGTH})")
    stripped = text.strip()
    if not stripped:
        raise ParseError("empty expression")
    for k, ch in enumerate(stripped):
        if ch in FORBIDDEN_CHARACTERS:
            raise ParseError(f"{FORBIDDEN_CHARACTERS[ch]} is not allowed", stripped, k + 1)
    carets = [i for i, ch in enumerate(stripped) if ch == "^"]
    source = stripped.replace("^", "**")
    try:
        tree = parse_quietly(source)
    except SyntaxError as exc:
        balanced = all(source.count(a) == source.count(b) for a, b in ("()", "[]"))
        if "too many nested" in (exc.msg or "") and balanced:  # Python's limit on nesting
            raise ResourceLimit(
                f"expression nested too deeply (more than {MAX_DEPTH} levels)"
            ) from None
        offset = exc.offset or 0
        at_end = not offset or offset > len(source) or (exc.msg or "").startswith("unexpected EOF")
        column = len(stripped) if at_end else user_column(offset - 1, carets)
        match = _IMPLICIT.search(stripped)
        hint = f"did you mean {match.group(1)}*{match.group(2)}?" if match else None
        reason = (exc.msg or "invalid syntax").split(" (")[0]
        raise ParseError(
            f"cannot parse {quote(stripped)}: {reason}", stripped, column, hint
        ) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ParseError(f"cannot parse the expression: {exc}") from None
    _check_size(tree)
    return Syntax(tree, source, carets)


CONSTANT_NAMES = ("pi", "e")


def free_names(text: str) -> set[str]:
    """Names a text uses that are neither called functions nor pi/e."""
    tree = syntax_tree(text).tree
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and id(n) not in called and n.id not in CONSTANT_NAMES
    }
