"""A lowered expression: its nodes, and the passes that compute with them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdcli.engine._links import BadInput, MissingValue, ShapeError
from gdcli.engine.node import Node
from gdcli.engine.ops import OPS, Saved, upstream
from gdcli.engine.program import Builder, Program, Val
from gdcli.engine.terms import (
    ONE,
    ZERO,
    Bin,
    Call,
    Cmp,
    Shape,
    Term,
    Un,
    add,
    is_zero,
    materialize,
    reduce_to,
    shape_text,
    show,
)

Value = Any  # a float or a NumPy array of float64


@dataclass(frozen=True)
class Edge:
    """How the adjoint of `node` flows to its argument `arg` (argument `slot`).

    `role` says which argument it is (`left of @`, `right of @`, `argument of
    tanh`, `exponent of **`); `local` is the local derivative d node / d arg where
    the operation works entry by entry (`1 - tanh(z)**2`), else None; `rule` is the
    contribution to the argument's adjoint as a formula in which `g` stands for the
    node's adjoint (`outer(g, x)` for the left of W @ x, `transpose(W) @ g` for its
    right, `sum(g*x)`), None where no formula is written (arrays of three axes)."""

    node: int
    arg: int
    slot: int
    role: str
    local: str | None
    rule: str | None


@dataclass(frozen=True)
class Backward:
    """One forward and backward pass, node by node (ids index the lists).

    `values[i]` is node i's value; `adjoints[i]` is d loss / d node i in the
    node's shape (None for a constant); `contributions[j]` is the part of the
    adjoint of `graph.edges[j].arg` that comes through that edge (the sum over an
    argument's edges is its adjoint). With a batch, the loss is the mean over the
    examples, and the values and adjoints of batched nodes carry the example axis."""

    loss: float
    values: list[Value]
    adjoints: list[Value | None]
    contributions: list[Value]


@dataclass
class _Pass:
    program: Program
    run: Callable[[Sequence[Any]], list[Any]]
    values: list[Val]
    loss: Val | None = None
    grads: list[Val] | None = None
    adjoints: list[Val | None] | None = None
    contributions: list[Val] | None = None


def _unset(args: Sequence[Any]) -> list[Any]:  # pragma: no cover - replaced by _finish
    raise AssertionError("a pass is run before it is built")


class Graph:
    """The nodes of one expression (see `gdcli.engine` for the whole API)."""

    def __init__(
        self,
        nodes: Sequence[Node],
        weights: Mapping[str, Shape],
        inputs: Mapping[str, Shape],
        batched: bool,
        scalar: bool = True,
    ) -> None:
        self.nodes = tuple(nodes)
        self.weights = dict(weights)
        self.inputs = dict(inputs)
        self.batched = batched
        self.scalar = scalar
        self.arguments = (*self.weights, *self.inputs)
        self._weight_node = {n.name: n.id for n in self.nodes if n.op == "weight"}
        self._input_node = {n.name: n.id for n in self.nodes if n.op == "input"}
        weighted: list[bool] = []
        variable: list[bool] = []
        for n in self.nodes:
            weighted.append(n.op == "weight" or any(weighted[a] for a in n.args))
            variable.append(n.op in ("weight", "input") or any(variable[a] for a in n.args))
        self._weighted = weighted
        self._variable = variable
        self._passes: dict[str, _Pass] = {}
        self._texts: dict[str, str] = {}
        self._edges: tuple[Edge, ...] | None = None

    @property
    def loss(self) -> Node:
        return self.nodes[-1]

    @property
    def text(self) -> str:
        return self.loss.text

    def __repr__(self) -> str:
        return f"Graph({self.text!r}, {len(self.nodes)} nodes)"

    # values in

    def _arguments(self, values: Mapping[str, Any], per_example: bool = False) -> list[Any]:
        args: list[Any] = []
        examples: tuple[str, int] | None = None
        for name in self.arguments:
            if name not in values:
                raise MissingValue(name)
            try:
                v = np.asarray(values[name], dtype=np.float64)
            except (TypeError, ValueError):
                raise BadInput(f"{name} must be a number or an array of numbers") from None
            shape = self.weights[name] if name in self.weights else self.inputs[name]
            if self.batched and name in self.inputs:
                if v.shape[1:] != shape or v.ndim != len(shape) + 1 or not v.shape[0]:
                    raise ShapeError(
                        f"{name} has shape {shape_text(v.shape)}, but it should hold one "
                        f"{shape_text(shape)} per example (shape Bx{shape_text(shape)})"
                        if shape
                        else f"{name} has shape {shape_text(v.shape)}, but it should hold "
                        "one number per example (a vector)"
                    )
                if examples is None:
                    examples = (name, v.shape[0])
                elif v.shape[0] != examples[1]:
                    raise ShapeError(
                        f"{examples[0]} has {examples[1]} examples but {name} has {v.shape[0]}"
                    )
            elif v.shape != shape:
                raise ShapeError(
                    f"{name} has shape {shape_text(shape)}, but its value has shape "
                    f"{shape_text(v.shape)}"
                )
            args.append(v)
        if per_example:
            if examples is None:
                raise BadInput("per-example values need a batch of inputs")
            count = examples[1]
            for k, name in enumerate(self.weights):
                args[k] = np.broadcast_to(args[k], (count, *self.weights[name]))
        return args

    # the passes

    def _pass(self, mode: str) -> _Pass:
        """`forward`; `grad` (loss and weights' gradients); `example` (per example);
        `full` (every adjoint and edge contribution)."""
        if mode in self._passes:
            return self._passes[mode]
        per_example = mode == "example"
        params = [(s, per_example) for s in self.weights.values()]
        params += [(s, self.batched) for s in self.inputs.values()]
        b = Builder(params)
        given = {
            name: b.emit("asarray", p, "float64", shape=p.shape, batched=p.batched)
            for name, p in zip(self.arguments, b.params, strict=True)
        }
        values: list[Val] = []
        saved: list[Saved] = []
        for node in self.nodes:
            keep: Saved = {}
            if node.name is not None:
                v = given[node.name]
            elif node.op == "const":
                v = b.lit(node.value)
            else:
                v = OPS[node.op].forward(b, node, [values[a] for a in node.args], keep)
            values.append(v)
            saved.append(keep)
        done = _Pass(b.program, _unset, values)
        if mode == "forward":
            return self._finish(mode, done, b)

        root = values[-1]
        done.loss = root
        seed = b.lit(1.0)
        if root.batched:
            # one seed per example (every batched node's adjoint then carries the
            # example axis, and what flows to an unbatched argument is summed over it)
            seed = b.emit("ones_like", root, shape=(), batched=True)
            if not per_example:  # the loss is the mean over the examples
                done.loss = b.emit("mean", root, shape=(), batched=False)
                size = b.emit("size", root, shape=(), batched=False)
                seed = b.ew("divide", seed, size)
        need = self._variable if mode == "full" else self._weighted
        adjoint: list[Val | None] = [None] * len(self.nodes)
        if need[-1]:
            adjoint[-1] = seed
        flows: dict[tuple[int, int], Val] = {}
        for node in reversed(self.nodes):
            g = adjoint[node.id]
            if g is None:
                continue
            op = OPS.get(node.op)
            args = [values[a] for a in node.args]
            for k, a in enumerate(node.args):
                if op is None or not need[a]:
                    continue
                c = op.backward(b, node, args, values[node.id], saved[node.id], g, k)
                if c is None:
                    continue
                c = b.reduce_to(c, values[a], values[node.id] if op.broadcasts else values[a])
                flows[(node.id, k)] = c
                previous = adjoint[a]
                adjoint[a] = c if previous is None else b.add(previous, c)

        if mode == "full":
            done.adjoints = []
            for node, g in zip(self.nodes, adjoint, strict=True):
                v = values[node.id]
                if not need[node.id]:
                    done.adjoints.append(None)
                elif g is None:
                    done.adjoints.append(b.emit("zeros_like", v, shape=v.shape, batched=v.batched))
                else:
                    done.adjoints.append(b.materialize(g, v))
            done.contributions = []
            for edge in self.edges:
                v = values[edge.arg]
                c = flows.get((edge.node, edge.slot))
                if c is None:
                    c = b.emit("zeros_like", v, shape=v.shape, batched=v.batched)
                done.contributions.append(b.materialize(c, v))
            return self._finish(mode, done, b)

        done.grads = []
        returned: set[int] = set()
        for name in self.weights:
            w = given[name]
            nid = self._weight_node.get(name)
            g = adjoint[nid] if nid is not None else None
            if g is None:
                g = b.emit("zeros_like", w, shape=w.shape, batched=w.batched)
            else:
                g = b.materialize(g, w)
            if g.slot in returned:
                g = b.emit("array", g, shape=g.shape, batched=g.batched)
            g = b.copy_if_shared(g)
            returned.add(g.slot)
            done.grads.append(g)
        return self._finish(mode, done, b)

    def _finish(self, mode: str, done: _Pass, b: Builder) -> _Pass:
        kept = list(done.values) if mode in ("forward", "full") else []
        kept += [v for v in (done.adjoints or []) if v is not None]
        kept += [*(done.contributions or []), *(done.grads or [])]
        kept += [done.loss] if done.loss is not None else []
        b.program.allocate(v.slot for v in kept if v.literal is None)
        done.run = b.program.runner()
        self._passes[mode] = done
        return done

    # numbers out

    def forward(self, values: Mapping[str, Any]) -> list[Value]:
        """Every node's value (ids index the list)."""
        p = self._pass("forward")
        with np.errstate(all="ignore"):
            env = p.run(self._arguments(values))
        return [p.program.value(env, v) for v in p.values]

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        """The expression's value (with a batch: one value per example)."""
        return self.forward(values)[-1]

    def value_and_grad(self, values: Mapping[str, Any]) -> tuple[float, dict[str, Value]]:
        """The loss (with a batch: the mean over the examples) and its gradient,
        each weight's in that weight's shape (a float for a scalar weight)."""
        p = self._pass("grad")
        with np.errstate(all="ignore"):
            env = p.run(self._arguments(values))
        assert p.loss is not None and p.grads is not None
        grads = {
            name: _shaped(p.program.value(env, g), shape)
            for (name, shape), g in zip(self.weights.items(), p.grads, strict=True)
        }
        return float(p.program.value(env, p.loss)), grads

    def per_example(self, values: Mapping[str, Any]) -> tuple[Value, dict[str, Value]]:
        """With a batch: each example's loss (shape B) and each example's gradient
        (shape B x the weight's shape); their means are the loss and the gradient."""
        if not self.batched:
            raise BadInput("per-example values need a batch of inputs")
        args = self._arguments(values, per_example=True)
        count = args[len(self.weights)].shape[0] if self.inputs else 0
        p = self._pass("example")
        with np.errstate(all="ignore"):
            env = p.run(args)
        assert p.loss is not None and p.grads is not None
        losses = np.broadcast_to(
            np.asarray(p.program.value(env, p.loss), dtype=np.float64), (count,)
        )
        grads = {
            name: np.array(
                np.broadcast_to(p.program.value(env, g), (count, *shape)), dtype=np.float64
            )
            for (name, shape), g in zip(self.weights.items(), p.grads, strict=True)
        }
        return np.array(losses), grads

    def backward(self, values: Mapping[str, Any]) -> Backward:
        """The forward and the backward pass, every node and edge (for display)."""
        p = self._pass("full")
        with np.errstate(all="ignore"):
            env = p.run(self._arguments(values))
        assert p.loss is not None and p.adjoints is not None and p.contributions is not None
        return Backward(
            loss=float(p.program.value(env, p.loss)),
            values=[p.program.value(env, v) for v in p.values],
            adjoints=[None if v is None else p.program.value(env, v) for v in p.adjoints],
            contributions=[p.program.value(env, v) for v in p.contributions],
        )

    def source(self) -> str:
        """Python source of one function `value_and_grad(a0, a1, ...)`: its
        arguments are the weights then the inputs, in the order of `arguments`;
        it returns `(loss, (gradient of each weight, ...))` with the numbers of
        `value_and_grad`, bit for bit. Straight-line calls of `numpy.<name>` only
        (it expects the name `numpy` in its namespace); the caller sets NumPy's
        error state (invalid values and overflows give nan and inf)."""
        p = self._pass("grad")
        assert p.loss is not None and p.grads is not None
        grads = ", ".join(p.program.arg_text(g) for g in p.grads)
        returns = f"{p.program.arg_text(p.loss)}, ({grads}{',' if p.grads else ''})"
        return p.program.source("value_and_grad", returns)

    # texts

    @property
    def edges(self) -> tuple[Edge, ...]:
        """Every edge along which an adjoint can flow (to an argument that is not
        a constant), in the order of the nodes, then of their arguments."""
        if self._edges is None:
            out: list[Edge] = []
            for node in self.nodes:
                op = OPS.get(node.op)
                if op is None:
                    continue
                terms = [self.nodes[a].term for a in node.args]
                for k, a in enumerate(node.args):
                    if not self._variable[a]:
                        continue
                    local = op.local(node, terms, node.term, k)
                    try:
                        rule: str | None = show(
                            reduce_to(
                                op.text(node, terms, node.term, upstream(node), k),
                                node.shape if op.broadcasts else self.nodes[a].shape,
                                self.nodes[a].shape,
                            )
                        )
                    except ShapeError:
                        rule = None
                    local_text = None if local is None else show(local)
                    out.append(Edge(node.id, a, k, _role(node, k), local_text, rule))
            self._edges = tuple(out)
        return self._edges

    def gradient_text(self, name: str) -> str:
        """The gradient of the loss with respect to weight `name` as a formula in
        gdcli's language, in the weight's shape, built by the reverse pass over
        texts (e.g. `2*outer(W @ x - y, x)`). With a batch it is one example's
        gradient: its mean over the examples is the gradient of the mean loss."""
        if name not in self.weights:
            raise BadInput(f"{name} is not a weight of {self.text}")
        if name not in self._texts:
            self._texts[name] = self._gradient_text(name)
        return self._texts[name]

    def _gradient_text(self, name: str) -> str:
        shape = self.weights[name]
        nid = self._weight_node.get(name)
        t: Term = ZERO
        if nid is not None:
            depends = [False] * len(self.nodes)
            for node in self.nodes:
                depends[node.id] = node.id == nid or any(depends[a] for a in node.args)
            adjoint: dict[int, Term] = {len(self.nodes) - 1: ONE}
            for node in reversed(self.nodes):
                g = adjoint.get(node.id)
                if g is None:
                    continue
                op = OPS.get(node.op)
                terms = [self.nodes[a].term for a in node.args]
                for k, a in enumerate(node.args):
                    if op is None or not depends[a]:
                        continue
                    c = op.text(node, terms, node.term, g, k)
                    if is_zero(c):
                        continue
                    full = node.shape if op.broadcasts else self.nodes[a].shape
                    c = reduce_to(c, full, self.nodes[a].shape)
                    # the later nodes come first: put their contributions last
                    adjoint[a] = add(c, adjoint[a]) if a in adjoint else c
            t = adjoint.get(nid, ZERO)
        if is_zero(t):
            return "0" if not shape else f"0*{name}"
        return show(materialize(t, shape))


def _role(node: Node, k: int) -> str:
    """Which argument of its node argument k is, in words."""
    t = node.term
    if node.op in ("maximum", "minimum"):
        return f"piece {k + 1} of {node.fn}"
    if isinstance(t, Bin):
        if t.op == "**":
            return "base of **" if k == 0 else "exponent of **"
        return f"{'left' if k == 0 else 'right'} of {t.op}"
    if isinstance(t, Cmp):
        return f"{'left' if k == 0 else 'right'} of {t.op}"
    if isinstance(t, Un):
        return "operand of -"
    if isinstance(t, Call):
        return f"argument of {t.fn}" if len(t.args) == 1 else f"argument {k + 1} of {t.fn}"
    return f"item {k + 1} of the list"


def _shaped(value: Any, shape: Shape) -> Value:
    if not shape:
        return float(value)
    out = np.asarray(value, dtype=np.float64)
    if out.shape != shape:  # pragma: no cover - the pass materializes every gradient
        raise AssertionError(f"gradient of shape {out.shape}, expected {shape}")
    return out
