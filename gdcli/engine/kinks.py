"""Is a point on a kink? The forward pass's values say where a non-smooth operation
sits exactly at its switch (an argument at 0, a tie between pieces), so that grad
can say which convention its slope there follows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gdcli.engine.graph import Graph

_AT_ZERO = {"abs", "relu", "sign", "heaviside", "heaviside2"}
_TIES = {"maximum", "minimum"}
_LARGEST = {"amax", "amin"}
_COMPARE = {"gt", "ge", "lt", "le"}


def on_a_kink(graph: Graph, values: Sequence[Any]) -> bool:
    """Does some non-smooth node of the graph switch exactly at these values?"""
    for node in graph.nodes:
        args = [np.asarray(values[a]) for a in node.args]
        if not args:
            continue
        if node.op in _AT_ZERO and bool(np.any(args[0] == 0)):
            return True
        if node.op in _COMPARE and len(args) == 2 and bool(np.any(args[0] == args[1])):
            return True
        if node.op in _TIES and len(args) >= 2:
            for i in range(len(args)):
                for j in range(i + 1, len(args)):
                    if bool(np.any(args[i] == args[j])):
                        return True
        if node.op in _LARGEST:
            top = np.max(args[0]) if node.op == "amax" else np.min(args[0])
            if int(np.count_nonzero(args[0] == top)) > 1:
                return True
    return False
