"""The chain rule made visible: a loss's graph node by node, with named layers.

The course: "many weights and a very complex loss function consisting of many
layers. This is where concepts like chain rule and derivatives with matrices come
into play." Here the graph that `gdcli.engine.lower` builds is shown the way a
textbook draws backprop: every intermediate result gets a name, every node is one
operation on the names of its arguments, and the backward pass says, edge by edge,
the upstream gradient, the local derivative and their product.

Layers: `read_layers(["z=W1@x+b1", "h=tanh(z)"])` reads the definitions NAME=EXPR
(in order: a layer may use the layers before it), `put_in(loss, layers)` writes the
loss with every layer put in (parenthesised, the numbers exactly as typed), which
is then an ordinary expression to lower. Errors are `BadLet` with the layer's name.

`Chain(graph, layers)` names the nodes (a layer's node gets the layer's name, the
loss `l`, the other intermediates `u1, u2, ...`; weights and inputs keep theirs;
constants are written into the formulas and are not nodes of their own) and writes
each node's formula and each edge's local derivative and contribution rule in those
names. `Chain.run(values)` does the forward and the backward pass: every node's
value and gradient, every edge's local value and contribution.
`central_differences(graph, values)` is the gradient check's other side.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdcli.engine._links import (
    FUNCTION_NAMES,
    RESERVED,
    BadLet,
    ParseError,
    ShapeError,
    sympy_name,
    syntax_tree,
)
from gdcli.engine.graph import Graph
from gdcli.engine.node import Node
from gdcli.engine.ops import OPS
from gdcli.engine.terms import Name, Shape, Term, reduce_to, show

Value = Any  # a float or a float64 array

LOSS_NAMES = ("l", "loss", "L")  # the loss's name: the first that is free
AUTO_PREFIX = "u"  # u1, u2, ...: the chain rule's "let u = ..."
PLACEHOLDERS = ("g", "gg", "g_up")  # the upstream gradient in a contribution rule


# ===========================================================================
# layers: NAME=EXPR


@dataclass(frozen=True)
class Layer:
    """A named layer: `text` is EXPR as typed (normalised), `expanded` the same
    with the layers before it put in."""

    name: str
    text: str
    expanded: str


def _functions() -> set[str]:
    from gdcli.engine.lowering import FUNCTIONS

    return {*FUNCTION_NAMES, *FUNCTIONS}


def _name_problem(name: str) -> str | None:
    """Why `name` cannot name a layer, or None."""
    if name in _functions():
        return f"{name} is a function"
    if name in ("pi", "e"):
        return f"{name} is a constant"
    if name.startswith("_"):
        return "a name may not start with _"
    if name in RESERVED or sympy_name(name):
        return f"{name} is reserved: it means something else to SymPy"
    return None


def _names_used(tree: ast.AST) -> list[ast.Name]:
    """The names a tree uses as values (not the functions it calls), in order."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def read_layers(definitions: Sequence[str]) -> list[Layer]:
    """Read `NAME=EXPR` definitions in order: each a new name, its EXPR parsed, and
    every layer it uses defined before it (else `BadLet`: `before`, or `cycle`)."""
    parsed: list[tuple[str, str, list[str]]] = []  # name, source, layers it may use
    seen: set[str] = set()
    for definition in definitions:
        text = definition.strip()
        name, eq, expr = text.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier() or not expr.strip() or expr.lstrip().startswith("="):
            raise BadLet(name if name.isidentifier() else "", "form", text)
        problem = _name_problem(name)
        if problem is not None:
            raise BadLet(name, "name", text, problem)
        if name in seen:
            raise BadLet(name, "twice", text)
        seen.add(name)
        try:
            syntax = checked(expr)
        except ParseError as exc:
            raise BadLet(name, "expression", text, exc.message, exc.hint) from None
        uses = [n.id for n in _names_used(syntax.tree)]
        parsed.append((name, syntax.source, list(dict.fromkeys(uses))))

    names = [name for name, _, _ in parsed]
    uses_of = {name: [u for u in uses if u in seen] for name, _, uses in parsed}
    for k, (name, _, _) in enumerate(parsed):
        for used in uses_of[name]:
            if names.index(used) < k:
                continue
            circle = _circle(used, name, uses_of)
            if circle is not None:
                raise BadLet(name, "cycle", "", " -> ".join([name, *circle]))
            raise BadLet(name, "before", "", used)

    layers: list[Layer] = []
    for name, source, _ in parsed:
        layers.append(Layer(name, source, put_in(source, layers, check_unused=False)))
    return layers


def checked(text: str) -> Any:
    """The syntax of `text` (`gdcli.parse.syntax.Syntax`), through the engine's
    allow-list (operators, functions, names), errors at columns of `text` itself."""
    from gdcli.engine.lowering import Lowering

    syntax = syntax_tree(text)
    Lowering(syntax.source, syntax.carets, {}, {}, False).check(syntax.tree)
    return syntax


def _circle(start: str, goal: str, uses_of: Mapping[str, list[str]]) -> list[str] | None:
    """A path of uses from `start` back to `goal` (both included), or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    visited: set[str] = set()
    while stack:
        name, path = stack.pop()
        if name == goal:
            return path
        if name in visited:
            continue
        visited.add(name)
        for used in reversed(uses_of.get(name, [])):
            stack.append((used, [*path, used]))
    return None


def put_in(text: str, layers: Sequence[Layer], check_unused: bool = True) -> str:
    """`text` with every use of a layer replaced by `(its expanded EXPR)`; the rest
    is kept as typed. With `check_unused`, every layer must be used (by the text,
    or by a layer the text uses): else `BadLet` `unused`."""
    if not layers:
        return text
    syntax = checked(text)
    source = syntax.source
    by_name = {layer.name: layer for layer in layers}
    raw = source.encode("utf-8")
    starts = [0]
    for line in source.encode("utf-8").split(b"\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    pieces: list[bytes] = []
    done = 0
    for node in _names_used(syntax.tree):
        layer = by_name.get(node.id)
        if layer is None or node.end_col_offset is None:
            continue
        begin = starts[node.lineno - 1] + node.col_offset
        end = starts[(node.end_lineno or node.lineno) - 1] + node.end_col_offset
        pieces += [raw[done:begin], b"(", layer.expanded.encode("utf-8"), b")"]
        done = end
    pieces.append(raw[done:])
    out = b"".join(pieces).decode("utf-8")
    if check_unused:
        used = {n.id for n in _names_used(syntax.tree)}
        reach = set(used)
        for layer in reversed(layers):  # a layer's uses are all defined before it
            if layer.name in reach:
                reach |= {n.id for n in _names_used(syntax_tree(layer.text).tree)}
        for layer in layers:
            if layer.name not in reach:
                raise BadLet(layer.name, "unused", f"{layer.name}={layer.text}")
    return out


# ===========================================================================
# the chain: names, formulas, local derivatives


@dataclass(frozen=True)
class Step:
    """A node as backprop shows it. `kind`: weight, input, layer (named by a
    definition), node (named by gdcli) or loss. `formula` is one operation on the
    names of its arguments (a leaf: its name); `text` the whole subexpression in
    the weights and inputs; `args` the ids of the arguments shown (not constants)."""

    id: int
    name: str
    kind: str
    formula: str
    text: str
    shape: Shape
    args: tuple[int, ...]
    aliases: tuple[str, ...] = ()  # other layers that are this very node


@dataclass(frozen=True)
class Link:
    """An edge: the gradient flows from node `target` back to its argument `source`.
    `local` is the local derivative d target / d source written in the nodes' names
    where the operation works entry by entry (for @ the other factor), else None;
    `rule` is the contribution to d l / d source as a formula in the placeholder
    (`outer(g, x)`), None where no formula is written; `matrix`: the node is a
    matrix product, whose rule says more than its local derivative."""

    source: int
    target: int
    slot: int
    role: str
    local: str | None
    rule: str | None
    matrix: bool = False


@dataclass(frozen=True)
class Pass:
    """One forward and backward pass: by node id, each value and gradient (d l / d
    node); by link, the local derivative's value (None where `local` is None) and the
    contribution to the source's gradient (upstream x local)."""

    loss: float
    values: dict[int, Value]
    grads: dict[int, Value]
    locals: list[Value | None]
    contributions: list[Value]


class Chain:
    """The named view of a graph (see the module doc)."""

    def __init__(self, graph: Graph, layers: Sequence[Layer] = ()) -> None:
        self.graph = graph
        nodes = graph.nodes
        shown = [False] * len(nodes)
        for node in nodes:  # a node depends on a weight or an input: not a constant
            shown[node.id] = node.op in ("weight", "input") or any(shown[a] for a in node.args)
        self._shown = shown
        taken = {n.name for n in nodes if n.name is not None} | {L.name for L in layers}
        self.placeholder = next(p for p in PLACEHOLDERS if p not in taken)
        taken.add(self.placeholder)

        names: dict[int, str] = {}
        kinds: dict[int, str] = {}
        aliases: dict[int, list[str]] = {}
        self.constants: list[tuple[str, str]] = []  # layers that are constants: (name, text)
        texts = {node.text: node.id for node in nodes}
        for layer in layers:
            nid = texts.get(_canonical(layer.expanded, graph))
            if nid is None:  # pragma: no cover - put_in checked every layer is used
                continue
            if not shown[nid]:
                self.constants.append((layer.name, nodes[nid].text))
            elif nid in names or nodes[nid].name is not None:
                aliases.setdefault(nid, []).append(layer.name)
            else:
                names[nid], kinds[nid] = layer.name, "layer"
        root = nodes[-1]
        if root.name is None:
            if root.id not in names:
                names[root.id] = next(n for n in (*LOSS_NAMES, "loss_") if n not in taken)
            kinds[root.id] = "loss"
        taken |= set(names.values())
        count = 0
        for node in nodes:
            if node.name is not None:
                names[node.id], kinds[node.id] = node.name, node.op
            elif shown[node.id] and node.id not in names:
                count += 1
                while f"{AUTO_PREFIX}{count}" in taken:
                    count += 1
                names[node.id], kinds[node.id] = f"{AUTO_PREFIX}{count}", "node"
        self._labels: list[Term] = [
            Name(names[n.id], n.shape) if shown[n.id] else n.term for n in nodes
        ]
        self.steps: list[Step] = []
        for node in nodes:
            if not shown[node.id]:
                continue
            formula = names[node.id] if node.name is not None else show(self._relabel(node))
            self.steps.append(
                Step(
                    node.id,
                    names[node.id],
                    kinds[node.id],
                    formula,
                    node.text,
                    node.shape,
                    tuple(dict.fromkeys(a for a in node.args if shown[a])),
                    tuple(aliases.get(node.id, ())),
                )
            )
        self.by_id = {s.id: s for s in self.steps}
        self.links = [self._link(e.node, e.arg, e.slot, e.role) for e in graph.edges]
        self._local_graphs: dict[str, Graph] = {}

    @property
    def loss_step(self) -> Step:
        return self.steps[-1]

    def name(self, nid: int) -> str:
        return self.by_id[nid].name

    def _relabel(self, node: Node) -> Term:
        """The node's own operation, its arguments written by their names."""
        swap = {self.graph.nodes[a].term: self._labels[a] for a in node.args}
        return _replace_children(node.term, swap)

    def _link(self, target: int, source: int, slot: int, role: str) -> Link:
        node = self.graph.nodes[target]
        op = OPS[node.op]
        args = [self._labels[a] for a in node.args]
        y = self._labels[target]
        if node.op == "matmul":  # the other factor: d(W @ x)/dW is x, d(W @ x)/dx is W
            local: str | None = show(args[1 - slot])
        else:
            term = op.local(node, args, y, slot)
            local = None if term is None else show(term)
        g = Name(self.placeholder, node.shape)
        try:
            full = node.shape if op.broadcasts else self.graph.nodes[source].shape
            rule: str | None = show(
                reduce_to(op.text(node, args, y, g, slot), full, self.graph.nodes[source].shape)
            )
        except ShapeError:  # pragma: no cover - arrays of three axes (batches only)
            rule = None
        return Link(source, target, slot, role, local, rule, node.op == "matmul")

    def run(self, values: Mapping[str, Any]) -> Pass:
        """The forward and backward pass at `values` (every weight and input)."""
        back = self.graph.backward(values)
        by_id = {s.id: s for s in self.steps}
        vals = {nid: _plain(back.values[nid]) for nid in by_id}
        grads: dict[int, Value] = {}
        for nid, step in by_id.items():
            adjoint = back.adjoints[nid]
            grads[nid] = _plain(adjoint if adjoint is not None else np.zeros(step.shape))
        named = {s.name: vals[s.id] for s in self.steps}
        shapes = {s.name: s.shape for s in self.steps}
        local_values = [
            None if link.local is None else self._evaluate(link.local, named, shapes)
            for link in self.links
        ]
        return Pass(back.loss, vals, grads, local_values, [_plain(c) for c in back.contributions])

    def _evaluate(self, text: str, named: Mapping[str, Any], shapes: Mapping[str, Shape]) -> Value:
        graph = self._local_graphs.get(text)
        if graph is None:
            from gdcli.engine import lower

            names = {n.id for n in _names_used(syntax_tree(text).tree)}
            used = {n: shapes[n] for n in sorted(names) if n in shapes}
            graph = lower(text, {}, used, scalar=False)
            self._local_graphs[text] = graph
        with np.errstate(all="ignore"):
            return _plain(graph.evaluate({n: named[n] for n in graph.inputs}))

    def same_gradient(self, nid: int) -> int:
        """The node whose gradient `nid`'s equals by construction: up through sums
        (`u + b`, `u - b`) of the same shape that are its only use."""
        while True:
            uses = [link for link in self.links if link.source == nid]
            if len(uses) != 1:
                return nid
            link = uses[0]
            node = self.graph.nodes[link.target]
            same = node.op == "add" or (node.op == "sub" and link.slot == 0)
            if not same or node.shape != self.graph.nodes[nid].shape:
                return nid
            nid = link.target

    def matrix_form(self, weight: int) -> str:
        """A weight's gradient as the sum of what flows into it, each upstream
        gradient written d l / d(node) (for W in W @ x: outer(∂l/∂z, x), δ xᵀ)."""
        parts: list[str] = []
        for link in self.links:
            if link.source != weight or link.rule is None:
                continue
            up = self.name(self.same_gradient(link.target))
            parts.append(_swap_name(link.rule, self.placeholder, f"∂l/∂{up}"))
        return " + ".join(parts) if parts else "0"


def _canonical(text: str, graph: Graph) -> str:
    """A layer's text as its node in `graph` writes it."""
    from gdcli.engine import lower

    return lower(text, graph.weights, graph.inputs, scalar=False).text


def _replace_children(term: Term, swap: Mapping[Term, Term]) -> Term:
    """`term` with every sub-term in `swap` replaced (the term itself is kept)."""

    def visit(t: Any) -> Any:
        if isinstance(t, tuple):
            return tuple(visit(item) for item in t)
        if isinstance(t, Term):
            if t in swap:
                return swap[t]
            return _rebuild(t)
        return t

    def _rebuild(t: Term) -> Term:
        if not dataclasses.is_dataclass(t):
            return t
        changes = {
            f.name: visit(getattr(t, f.name))
            for f in dataclasses.fields(t)
            if isinstance(getattr(t, f.name), (Term, tuple))
        }
        return dataclasses.replace(t, **changes) if changes else t

    return _rebuild(term)


def _swap_name(text: str, old: str, new: str) -> str:
    """`text` with the name `old` written `new` (not inside other names), in
    parentheses where it is a factor of * or / (`new` holds a slash)."""
    import re

    def put(match: re.Match[str]) -> str:
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        return f"({new})" if before in ("*", "/") or after in ("*", "/") else new

    return re.sub(rf"(?<![\w.]){re.escape(old)}(?![\w(])", put, text)


def _plain(value: Any) -> Value:
    """A float for a number, a float64 array otherwise."""
    a = np.asarray(value, dtype=np.float64)
    return float(a) if a.ndim == 0 else np.array(a)


# ===========================================================================
# the gradient check


def central_differences(graph: Graph, values: Mapping[str, Any]) -> dict[str, Value]:
    """Each weight's gradient by central differences, entry by entry:
    (l(w + h) - l(w - h)) / (2h) with h = eps**(1/3) * max(1, |w|) (the step that
    balances the truncation error, about h**2, against round-off, about eps/h),
    rounded so that w + h and w - h are exact steps."""
    step = float(np.finfo(np.float64).eps) ** (1 / 3)
    point = {n: np.array(v, dtype=np.float64) for n, v in values.items()}
    out: dict[str, Value] = {}
    with np.errstate(all="ignore"):
        for name in graph.weights:
            w = point[name]
            flat = w.reshape(-1)  # a view: changing it changes the point
            numeric = np.empty(flat.shape, dtype=np.float64)
            for i in range(flat.size):
                center = float(flat[i])
                h = step * max(1.0, abs(center))
                up, down = center + h, center - h
                flat[i] = up
                high = float(graph.evaluate(point))
                flat[i] = down
                low = float(graph.evaluate(point))
                flat[i] = center
                numeric[i] = (high - low) / (up - down)
            out[name] = float(numeric[0]) if not w.shape else numeric.reshape(w.shape)
    return out


def near_a_kink(graph: Graph, values: Mapping[str, Any], distance: float) -> bool:
    """Is a non-smooth node within `distance` of its switch at these values (an
    argument of relu, abs or sign near 0, two pieces of max or min, or the sides of
    a comparison, nearly equal)? Central differences straddle such a kink."""
    forward = graph.forward(values)
    for node in graph.nodes:
        args = [np.asarray(forward[a], dtype=np.float64) for a in node.args]
        if not args:
            continue
        if node.op in ("relu", "abs", "sign", "heaviside", "heaviside2"):
            gaps = [np.abs(args[0])]
        elif node.op in ("gt", "ge", "lt", "le", "maximum", "minimum"):
            gaps = [np.abs(a - b) for i, a in enumerate(args) for b in args[i + 1 :]]
        elif node.op in ("amax", "amin"):
            top = np.max(args[0]) if node.op == "amax" else np.min(args[0])
            rest = np.abs(args[0] - top)
            gaps = [np.sort(rest.reshape(-1))[1:2]]  # the runner-up's distance to the top
        else:
            continue
        if any(gap.size and bool(np.min(gap) < distance) for gap in gaps):
            return True
    return False


def relative_difference(a: Any, b: Any, floor: float) -> Any:
    """|a - b| / max(|a|, |b|, floor), entry by entry."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)
        return np.abs(a - b) / scale


__all__ = [
    "Chain",
    "Layer",
    "Link",
    "Pass",
    "Step",
    "central_differences",
    "near_a_kink",
    "put_in",
    "read_layers",
    "relative_difference",
]
