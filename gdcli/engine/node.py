"""One node of a lowered graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from gdcli.engine.terms import Shape, Term


@dataclass(frozen=True, eq=False)
class Node:
    """A node of the graph, in topological order (arguments first, the loss last).

    `op` is `weight`, `input` or `const` for a leaf, else the operation (`add`,
    `matmul`, `tanh`, ...); `args` are the ids of its arguments; `shape` its shape
    per example; `batched` whether its value carries the leading example axis;
    `text` the subexpression in gdcli's language (it parses back)."""

    id: int
    op: str
    args: tuple[int, ...]
    shape: Shape
    text: str
    batched: bool = False
    name: str | None = None  # the weight's or input's name
    value: Any = None  # a constant: a float, or nested tuples of floats
    term: Term = field(default_factory=Term, repr=False)  # the text as a tree
    exact: Fraction | None = field(default=None, repr=False)  # a typed constant's exact value
    exponent: Fraction | None = field(default=None, repr=False)  # pow: a typed exponent's
    fn: str = field(default="", repr=False)  # the function's name as typed (ln, Heaviside)
