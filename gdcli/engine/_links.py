"""Everything the engine takes from the rest of gdcli, in one place."""

from __future__ import annotations

from gdcli.errors import (
    BadInput,
    BadLet,
    GdcliError,
    MissingValue,
    NameRole,
    ParseError,
    ResourceLimit,
    ShapeError,
)
from gdcli.limits import MAX_BITS, MAX_ENTRIES, MAX_NODE_ENTRIES
from gdcli.parse.expression import FUNCTION_NAMES, RESERVED, _sympy_name, shape_needed
from gdcli.parse.syntax import FORBIDDEN_NODES as _FORBIDDEN
from gdcli.parse.syntax import OPERATOR_NAMES as _OPERATOR_NAMES
from gdcli.parse.syntax import RANGE_HINT, call_refusal, decimal_literal, shorten
from gdcli.parse.syntax import quote as _quote
from gdcli.parse.syntax import syntax_tree as _syntax_tree
from gdcli.parse.syntax import user_column as _user_column

__all__ = [
    "RANGE_HINT",
    "call_refusal",
    "decimal_literal",
    "shorten",
    "FORBIDDEN",
    "FUNCTION_NAMES",
    "MAX_BITS",
    "MAX_ENTRIES",
    "MAX_NODE_ENTRIES",
    "OPERATOR_NAMES",
    "RESERVED",
    "BadInput",
    "BadLet",
    "GdcliError",
    "MissingValue",
    "NameRole",
    "ParseError",
    "ResourceLimit",
    "ShapeError",
    "quote",
    "shape_needed",
    "sympy_name",
    "syntax_tree",
    "user_column",
]

FORBIDDEN = _FORBIDDEN  # syntax-node type -> what to call it in a message
OPERATOR_NAMES = _OPERATOR_NAMES  # operator node type -> its symbol
quote = _quote  # user text for a message: quoted, cut when long
sympy_name = _sympy_name  # is this one of SymPy's own names (a list, no import)?
syntax_tree = _syntax_tree  # text -> (checked ast.Expression, normalised source, caret offsets)
user_column = _user_column  # 0-based offset in the normalised text -> 1-based column as typed
