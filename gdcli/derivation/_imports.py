"""Everything this package takes from the rest of gdcli, in one place."""

from __future__ import annotations

from gdcli.budget import time_limit
from gdcli.calculus import nonsmooth_types, partial, switch_arguments
from gdcli.errors import BadInput, BadValue, NameRole, NumericalError, ResourceLimit
from gdcli.parse.expression import FUNCTION_NAMES, RESERVED, parse_loss
from gdcli.parse.printing import gdcli_text
from gdcli.parse.syntax import free_names
from gdcli.parse.syntax import syntax_tree as _syntax_tree

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
    "gdcli_text",
    "nonsmooth_types",
    "parse_loss",
    "partial",
    "switch_arguments",
    "time_limit",
]
