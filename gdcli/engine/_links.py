"""Everything the engine takes from the rest of gdcli, in one place.

The parser is about to move (to `gdcli.parse.expression`); when it does, only the
imports below change.
"""

from __future__ import annotations

from gdcli.errors import (
    BadInput,
    GdcliError,
    MissingValue,
    NameRole,
    ParseError,
    ResourceLimit,
    ShapeError,
)
from gdcli.expression import (
    _FORBIDDEN,
    _OPERATOR_NAMES,
    FUNCTION_NAMES,
    RESERVED,
    _sympy_name,
    _syntax_tree,
    _user_column,
)
from gdcli.values import MAX_BITS, MAX_ENTRIES, _quote

__all__ = [
    "FORBIDDEN",
    "FUNCTION_NAMES",
    "MAX_BITS",
    "MAX_ENTRIES",
    "OPERATOR_NAMES",
    "RESERVED",
    "BadInput",
    "GdcliError",
    "MissingValue",
    "NameRole",
    "ParseError",
    "ResourceLimit",
    "ShapeError",
    "quote",
    "sympy_name",
    "syntax_tree",
    "user_column",
]

FORBIDDEN = _FORBIDDEN  # syntax-node type -> what to call it in a message
OPERATOR_NAMES = _OPERATOR_NAMES  # operator node type -> its symbol
quote = _quote  # user text for a message: quoted, cut when long
sympy_name = _sympy_name  # is this one of SymPy's own names (imports SymPy)?
syntax_tree = _syntax_tree  # text -> (checked ast.Expression, normalised source, caret offsets)
user_column = _user_column  # 0-based offset in the normalised text -> 1-based column as typed
