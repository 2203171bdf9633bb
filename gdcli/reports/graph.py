"""A computation graph as data, for the renderers to draw (a tree on a terminal,
Graphviz DOT text): each node's name, formula, value and gradient as text, and
the edges with what they carry. Nothing here draws."""

from __future__ import annotations

from typing import NamedTuple


class GraphNode(NamedTuple):
    """One node: `name` (unique), `formula` (one operation on its arguments' names;
    a leaf's is its name), `kind` (weight, input, layer, node or loss), `shape`,
    `value` and `grad` (d l / d node) as short text, `args` (the names of its
    arguments, in order)."""

    name: str
    formula: str
    kind: str
    shape: str
    value: str
    grad: str
    args: tuple[str, ...]


class GraphEdge(NamedTuple):
    """The gradient flows back from `target` to its argument `source`; `label` is
    the local derivative d target / d source (or the rule that sends it)."""

    source: str
    target: str
    label: str


class GraphPicture(NamedTuple):
    """The nodes in forward order (the loss, `root`, last) and the edges."""

    title: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    root: str
