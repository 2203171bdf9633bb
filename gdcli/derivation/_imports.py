"""Everything this package takes from the rest of gdcli, in one place.

The parser is being moved (to `gdcli.parse.expression`): when it moves, repoint the
imports here and nowhere else.
"""

from __future__ import annotations

from gdcli.calculus import partial, time_limit
from gdcli.errors import BadInput, BadValue, NameRole, NumericalError, ResourceLimit
from gdcli.expression import FUNCTION_NAMES, RESERVED, _syntax_tree, free_names, parse_loss

__all__ = [
    "FUNCTION_NAMES",
    "RESERVED",
    "BadInput",
    "BadValue",
    "NameRole",
    "NumericalError",
    "ResourceLimit",
    "_syntax_tree",
    "free_names",
    "parse_loss",
    "partial",
    "time_limit",
]
