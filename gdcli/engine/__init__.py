"""The array engine: gdcli expressions lowered to NumPy operations, and their
gradients by reverse mode (one vector-Jacobian rule per operation).

Where the parser expands `sum((W @ x - y)**2)` entry by entry into SymPy, the
engine keeps W a matrix: the expression becomes a graph of array operations
(`W @ x`, `- y`, `**2`, `sum`), the forward pass computes each node with NumPy,
and the backward pass sends the adjoint d loss / d node from the loss back to
every weight, like micrograd but on arrays.

The API

`lower(text_or_tree, weights, inputs=None, batched=False, scalar=True) -> Graph`
    `text_or_tree` is an expression, or the triple `(tree, source, carets)` of
    `gdcli.parse.syntax.syntax_tree`. `weights` and `inputs` map names to shapes
    (`()` a number, `(n,)` a vector, `(r, c)` a matrix); inputs are never
    differentiated. With `batched`, every input's value carries a leading axis
    of B examples, the expression is written for one example and the loss is the
    mean over the examples. `pi` and `e` are constants; any other name raises
    `MissingValue`. With `scalar` (the default) the expression must be a single
    number (`ShapeError` otherwise); `scalar=False` allows any shape (a formula
    to evaluate, such as a gradient's text).

`Graph`
    `nodes`: `Node` records in topological order, the loss last; each has `id`,
    `op`, `args` (ids), `shape` (per example), `batched`, `text` (gdcli's own
    language; it parses back), and `name` / `value` for leaves.
    `edges`: `Edge(node, arg, slot, role, local, rule)`, how each adjoint flows
    to each argument that is not a constant: which argument it is (`left of @`),
    the local derivative as text where the operation works entry by entry
    (`1 - tanh(z)**2`), and the contribution as a formula in the node's adjoint `g`
    (`outer(g, x)` to the left of W @ x, `transpose(W) @ g` to its right).
    `arguments`: the weights, then the inputs, in the order given.

    `value_and_grad(values) -> (loss: float, grads: dict[str, float | ndarray])`
        `values` maps every weight and input to a number or an array (NumPy
        float64 throughout); each gradient has its weight's shape.
    `per_example(values) -> (losses, grads)` (batched only): each example's
        loss (shape B) and gradient (shape B x the weight's); their means are
        the loss and the gradient.
    `forward(values) -> list` every node's value; `evaluate(values)` the last.
    `backward(values) -> Backward(loss, values, adjoints, contributions)`:
        every node's value and adjoint, and each edge's contribution to its
        argument's adjoint (in the order of `edges`).
    `gradient_text(name) -> str`: the gradient of a weight as a formula in
        gdcli's language and in the weight's shape (`2*outer(W @ x - y, x)`);
        lowered with the same roles and evaluated, it gives the gradient (with a
        batch: one example's, whose mean is the gradient).
    `source() -> str`: Python source of `def value_and_grad(a0, a1, ...)`, the
        weights then the inputs (in the order of `arguments`), returning
        `(loss, (gradient, ...))`: straight-line `numpy.<name>(...)` calls that
        `gdcli.compile.verify.verify(source, numpy=True)` accepts; load it with
        `gdcli.compile.verify.load(source + "\\n", {"numpy": numpy})`. Its numbers are
        those of `value_and_grad`, bit for bit.

Conventions: float64; d/du max(0, u) at 0 is 1/2 (Heaviside(0) = 1/2), d/du abs(u)
at 0 is 0 (sign(0) = 0), a tie in max(a, b) gives each side 1/2, indicators have
derivative 0; sigmoid, softplus, softmax and logsumexp never overflow. Invalid
values and overflows give nan and inf, without warnings. Errors are gdcli's own
(`ParseError` with the column, `ShapeError` naming both shapes, `MissingValue`).
Besides the parser's functions the engine knows `outer(a, b)`, `softmax(v)` and
`logsumexp(v)` (over the entries of a vector).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any

from gdcli.engine.graph import Backward, Edge, Graph
from gdcli.engine.node import Node

Shape = tuple[int, ...]

__all__ = ["Backward", "Edge", "Graph", "Node", "evaluate", "lower"]


def lower(
    text_or_tree: str | tuple[ast.Expression, str, list[int]],
    weights: Mapping[str, Sequence[int]],
    inputs: Mapping[str, Sequence[int]] | None = None,
    batched: bool = False,
    scalar: bool = True,
) -> Graph:
    """Lower an expression to a graph of array operations (see the module doc)."""
    from gdcli.engine._links import syntax_tree
    from gdcli.engine.lowering import check_roles, lower_tree

    shapes = {name: _shape(s) for name, s in weights.items()}
    fixed = {name: _shape(s) for name, s in (inputs or {}).items()}
    check_roles(shapes, fixed)
    if isinstance(text_or_tree, str):
        tree, source, carets = syntax_tree(text_or_tree)
    else:
        tree, source, carets = text_or_tree
    nodes = lower_tree(tree, source, carets, shapes, fixed, batched, scalar)
    return Graph(nodes, shapes, fixed, batched, scalar)


def evaluate(
    text: str,
    values: Mapping[str, Any],
    weights: Mapping[str, Sequence[int]],
    inputs: Mapping[str, Sequence[int]] | None = None,
    batched: bool = False,
) -> Any:
    """The value of an expression of any shape (with a batch: one per example)."""
    return lower(text, weights, inputs, batched, scalar=False).evaluate(values)


def _shape(shape: Sequence[int]) -> Shape:
    try:
        return tuple(shape)
    except TypeError:
        return shape  # type: ignore[return-value]  # refused with its name by check_roles
