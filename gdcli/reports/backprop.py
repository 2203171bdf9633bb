"""backprop: the forward and the backward pass through the loss's graph, node by
node, in the course's words: "many weights and a very complex loss function
consisting of many layers. This is where concepts like chain rule and derivatives
with matrices come into play."

Forward: every node is one operation on the nodes before it (its value). Backward,
from the loss down: the gradient d l / d node is the sum, over the nodes it feeds,
of upstream x local, where upstream is d l / d (the node it feeds) and local the
derivative of that node with respect to this one: the chain rule. For a weight of
a layer W @ x that product is outer(δ, x) = δ xᵀ, the gradient in matrix form.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gdcli.errors import GradientMismatch, NumericalError
from gdcli.limits import CHECK_FLOOR, CHECK_KINK_DISTANCE, CHECK_TOLERANCE
from gdcli.params import entry_labels, shape_text
from gdcli.problem import Problem
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.graph import GraphEdge, GraphNode, GraphPicture
from gdcli.reports.words import roles_note

if TYPE_CHECKING:
    from gdcli.engine.chain import Chain, Layer, Pass

SHOWN_ENTRIES = 24  # entries of an array written out in plain text (more are elided)
SHORT_ENTRIES = 12  # ... and in a terminal table or a picture
SHORT_DIGITS = 4  # significant digits of an array's entries on a terminal


# ===========================================================================
# values as text


def _number(x: float, digits: int | None) -> str:
    if digits is None:
        return repr(float(x)) if math.isfinite(x) else ("nan" if math.isnan(x) else repr(x))
    return f"{x:.{digits}g}"


def _kept(n: int, limit: int | None, head: int = 4) -> list[int | None]:
    """Which of n indices to write: all (at most `limit`), or the first `head` and
    the last two with None (`…`) for the run left out between them."""
    if limit is None or n <= limit:
        return list(range(n))
    return [*range(head), None, n - 2, n - 1]


def value_text(value: Any, digits: int | None = None, limit: int | None = SHOWN_ENTRIES) -> str:
    """A number, or an array as nested lists (`[[1.0, 2.0], [3.0, 4.0]]`); an array
    of more than `limit` entries (None: no limit) shows its first and last rows and
    columns with `…` between them. `digits` None: every float in its shortest
    round-trip form."""

    def row(values: Any, keep: list[int | None]) -> str:
        return "[" + ", ".join("…" if k is None else _number(values[k], digits) for k in keep) + "]"

    if isinstance(value, float):
        return _number(value, digits)
    if limit is not None and value.size <= limit:
        limit = None
    if value.ndim == 1:
        return row(value, _kept(value.shape[0], limit))
    rows = _kept(value.shape[0], None if limit is None else 4, 2)
    cols = _kept(value.shape[1], None if limit is None else 5, 3)
    return "[" + ", ".join("…" if i is None else row(value[i], cols) for i in rows) + "]"


class Shown:
    """A table cell: a value, optionally after a formula (`1 - h**2 = [0.91, 0.91]`).
    Plain text and csv write every digit (`str`); a terminal table, fewer (`short`)."""

    def __init__(
        self, value: Any, formula: str | None = None, limit: int | None = SHOWN_ENTRIES
    ) -> None:
        self.value = value
        self.formula = formula
        self.limit = limit  # None: every entry in plain text and csv

    def _text(self, values: str) -> str:
        return values if self.formula is None else f"{self.formula} = {values}"

    def __str__(self) -> str:
        return self._text(value_text(self.value, None, self.limit))

    def short(self, digits: int) -> str:
        if isinstance(self.value, float):
            return self._text(_number(self.value, digits))
        return self._text(value_text(self.value, min(digits, SHORT_DIGITS), SHORT_ENTRIES))


def _json(value: Any) -> Any:
    return value if isinstance(value, float) else value.tolist()


def _finite(value: Any) -> bool:
    import numpy as np

    return bool(np.all(np.isfinite(value)))


# ===========================================================================
# the report


def backprop(problem: Problem, layers: Sequence[Layer], given: str, check: bool = False) -> Report:
    """`problem` is the loss with its layers put in; `given` the loss as typed."""
    import numpy as np

    from gdcli.engine import lower
    from gdcli.engine.chain import Chain
    from gdcli.engine.kinks import on_a_kink

    graph = lower(problem.text, problem.weights, problem.input_shapes)
    chain = Chain(graph, layers)
    values: dict[str, Any] = dict(zip(problem.weights, problem.start(), strict=True))
    values.update(problem.input_floats())
    run = chain.run(values)
    steps = chain.steps
    names = {s.id: s.name for s in steps}
    weights = [s for s in steps if s.kind == "weight"]
    by_name = {s.name: s for s in weights}
    gradient = {n: run.grads[by_name[n].id] for n in problem.names}
    loss = run.loss
    exact = _exact(problem) if not problem.has_arrays else None
    shown_loss = exact[0] if exact is not None and math.isfinite(exact[0]) else loss

    data: dict[str, Any] = {"expression": given}
    if layers:
        data["layers"] = [{"name": L.name, "expr": L.text} for L in layers]
        data["expanded"] = problem.text
    data["variables"] = problem.names
    data["inputs"] = list(problem.input_shapes)
    data["at"] = {n: _json(v) for n, v in values.items() if n in problem.weights}
    data["loss"] = loss
    data["nodes"] = [
        {
            "name": s.name,
            "kind": s.kind,
            "expr": s.formula,
            "text": s.text,
            "shape": list(s.shape),
            "value": _json(run.values[s.id]),
            "grad": _json(run.grads[s.id]),
        }
        for s in steps
    ]
    data["edges"] = [
        {
            "from": names[link.source],
            "to": names[link.target],
            "role": link.role,
            "local": link.local,
            "local_value": None if lv is None else _json(lv),
            "rule": link.rule,
            "contribution": _json(c),
        }
        for link, lv, c in zip(chain.links, run.locals, run.contributions, strict=True)
    ]
    data["upstream"] = chain.placeholder
    data["gradient"] = {n: _json(v) for n, v in gradient.items()}

    tables = [_forward_table(chain, run), _backward_table(chain, run)]
    notes: list[str] = []
    roles = roles_note(problem.names, list(problem.inputs), problem.chosen)
    if roles:
        notes.append(roles)
    g = chain.placeholder
    notes.append(
        f"the loss {chain.loss_step.name} = {shown_loss:.10g} at this point. The chain rule, node "
        "by node from the loss down: ∂l/∂node is the sum, over the nodes it feeds, of "
        "upstream × local: ∂l/∂(the node it feeds) times the local derivative of that node "
        f"with respect to this one. In a rule, {g} stands for the upstream gradient."
    )
    layered = [f"∂l/∂{s.name} = {chain.matrix_form(s.id)}" for s in weights if len(s.shape) == 2]
    if layered:
        notes.append(
            "; ".join(layered) + ": the gradient in matrix form, δ xᵀ (the error at the "
            "layer's output times the layer's input)."
        )
    for s in steps:
        if s.aliases:
            notes.append(f"{', '.join(s.aliases)}: the same node as {s.name}.")
    for name, text in chain.constants:
        notes.append(f"{name} = {text} is a constant: it is written into the formulas.")
    if on_a_kink(graph, graph.forward(values)):
        notes.append(
            "this point is on a kink: a local derivative there takes Heaviside(0) = 1/2 "
            "and sign(0) = 0 (the subgradient descend and grad use)."
        )

    quiet: list[Any] = [float(v) for n in problem.names for v in np.ravel(gradient[n])]
    failure: list[Exception] = []
    if exact is not None:
        off = _off(problem.names, gradient, loss, exact)
        exact_loss, exact_grads = exact
        if all(math.isfinite(v) for v in exact_grads.values()):
            quiet = [exact_grads[n] for n in problem.names]  # right to every digit
        if off:
            data["exact"] = {"loss": exact_loss, "gradient": exact_grads}
            notes.append(
                "in floats this pass loses digits: "
                + "; ".join(
                    f"{what} comes out {got!r}, exactly it is {want!r}" for what, got, want in off
                )
                + " (a difference of nearly equal numbers, such as 1 - u when u rounds to 1, "
                "keeps few correct digits, and a float overflows beyond 1.8e308; torch's "
                "autograd computes the same way)."
            )
    finite_exactly = exact is not None and all(math.isfinite(v) for v in exact[1].values())
    bad = [s.name for s in weights if not _finite(run.grads[s.id])]
    if exact is not None and finite_exactly and math.isfinite(exact[0]):
        bad, loss = [], exact[0]  # defined, only not in these floats: the note says so
    if not math.isfinite(loss) or bad:
        where = f"∂l/∂{bad[0]}" if bad else "the loss"
        failure.append(
            NumericalError(
                f"{where} is not a real number at this point",
                hint="the tables show where the values stop being finite",
            )
        )
    if check and not failure:
        check_data, table, note, verdict = _gradient_check(chain, values, gradient, loss)
        data["check"] = check_data
        tables.append(table)  # before the weights' gradients: csv writes the last table
        notes.append(note)
        quiet = [check_data["max_rel_diff"]]
        if verdict is not None:
            failure.append(verdict)

    tables.append(_matrix_table(chain, run))

    def finish() -> None:
        if failure:
            raise failure[0]

    return Report(
        data,
        tables,
        constant(quiet),
        notes=constant(notes),
        finish=finish,
        graph=_picture(chain, run, given),
    )


def _exact(problem: Problem) -> tuple[float, dict[str, float]] | None:
    """The loss and each weight's partial at the point, exactly (then rounded); None
    where they cannot be computed in time."""
    from gdcli import calculus
    from gdcli.errors import NotComputed, TooSlow

    try:
        loss = problem.loss
        partials = calculus.partials(loss)
        point = problem.substitution()
        value = calculus.value_at(loss.expr, point)
        grads = {
            n: calculus.value_at(calculus.off_steps(partials[n][0]), point) for n in problem.names
        }
    except (NotComputed, TooSlow):
        return None
    return value, grads


def _off(
    names: Sequence[str],
    gradient: dict[str, Any],
    loss: float,
    exact: tuple[float, dict[str, float]],
) -> list[tuple[str, float, float]]:
    """What the float pass got wrong beyond its round-off: (what, float, exact)."""

    def wrong(got: float, want: float) -> bool:
        if not math.isfinite(want):
            return False  # undefined exactly too: the error says so
        return not (math.isfinite(got) and abs(got - want) <= 1e-12 * abs(want) + 1e-300)

    out = [("the loss", float(loss), exact[0])] if wrong(float(loss), exact[0]) else []
    for n in names:
        got, want = float(gradient[n]), exact[1][n]
        if wrong(got, want):
            out.append((f"∂l/∂{n}", got, want))
    return out


# ===========================================================================
# tables


def _shape(shape: Sequence[int]) -> str:
    return shape_text(tuple(shape)) if shape else "number"


def _forward_table(chain: Chain, run: Pass) -> Table:
    rows = [
        [
            s.name,
            s.formula if s.formula != s.name else s.kind,
            _shape(s.shape),
            Shown(run.values[s.id]),
        ]
        for s in chain.steps
    ]
    return Table(
        ["node", "formula", "shape", "value"],
        rows,
        title="the forward pass: each node one operation on the nodes before it",
        records=False,
        text_columns=frozenset({"node", "formula", "shape", "value"}),
    )


def _backward_table(chain: Chain, run: Pass) -> Table:
    """From the loss down, as backprop runs: each node's gradient (the upstream
    gradient of its arguments), then for each argument the local derivative and the
    product upstream × local, which flows into the argument's gradient. A node that
    feeds several others sums what flows into it from each."""
    by_target: dict[int, list[int]] = {}
    by_source: dict[int, list[int]] = {}
    for k, link in enumerate(chain.links):
        by_target.setdefault(link.target, []).append(k)
        by_source.setdefault(link.source, []).append(k)
    rows: list[list[Any]] = []
    for s in reversed(chain.steps):
        uses = by_source.get(s.id, [])
        grad = Shown(run.grads[s.id])
        if s.id == chain.loss_step.id:
            grad = Shown(run.grads[s.id], "start")
        elif len(uses) > 1:
            feeds = ", ".join(chain.name(chain.links[k].target) for k in uses)
            grad = Shown(run.grads[s.id], f"sum via {feeds}")
        links = by_target.get(s.id, [])
        if not links:
            rows.append(
                [s.name, grad, f"({s.kind})" if s.kind in ("weight", "input") else "", "", ""]
            )
        for n, k in enumerate(links):
            link = chain.links[k]
            local: Any = (
                Shown(run.locals[k], link.local) if link.local is not None else "(see the rule)"
            )
            product = Shown(run.contributions[k], link.rule)
            first = n == 0
            rows.append(
                [
                    s.name if first else "",
                    grad if first else "",
                    chain.name(link.source),
                    local,
                    product,
                ]
            )
    columns = ["node", "∂l/∂node (g)", "argument", "local ∂node/∂argument", "upstream × local"]
    return Table(
        columns,
        rows,
        title="the backward pass, from the loss down: the chain rule, node by node",
        records=False,
        text_columns=frozenset(columns),
    )


def _matrix_table(chain: Chain, run: Pass) -> Table:
    """The weights' gradients, the records csv writes (every entry, never elided)."""
    rows = [
        [s.name, chain.matrix_form(s.id), _shape(s.shape), Shown(run.grads[s.id], limit=None)]
        for s in chain.steps
        if s.kind == "weight"
    ]
    return Table(
        ["weight", "gradient", "shape", "value"],
        rows,
        title="each weight's gradient, in matrix form",
        text_columns=frozenset({"weight", "gradient", "shape", "value"}),
    )


# ===========================================================================
# the gradient check


def _gradient_check(
    chain: Chain, values: dict[str, Any], gradient: dict[str, Any], loss: float
) -> tuple[dict[str, Any], Table, str, GradientMismatch | None]:
    import numpy as np

    from gdcli.engine.chain import central_differences, near_a_kink, relative_difference

    numeric = central_differences(chain.graph, values)
    floor = CHECK_FLOOR * max(1.0, abs(loss))  # below floor * tolerance: round-off
    rows: list[list[Any]] = []
    per: dict[str, Any] = {}
    worst = (0.0, "")
    for name, ours in gradient.items():
        theirs = numeric[name]
        rel = np.atleast_1d(relative_difference(ours, theirs, floor)).reshape(-1)
        absolute = np.atleast_1d(np.abs(np.asarray(ours) - np.asarray(theirs))).reshape(-1)
        k = int(np.nanargmax(rel)) if np.isfinite(rel).any() else 0
        label = entry_labels(name, tuple(np.shape(ours)))[k]
        top = float(rel[k]) if np.isfinite(rel[k]) else math.inf
        per[name] = {
            "numeric": _json(theirs),
            "max_abs_diff": float(np.max(absolute)),
            "max_rel_diff": top,
            "at": label,
        }
        if top > worst[0] or not worst[1]:
            worst = (top, label)
        rows.append([name, Shown(ours), Shown(theirs), float(np.max(absolute)), top, label])
    agree = worst[0] <= CHECK_TOLERANCE
    data = {
        "method": "central differences (l(w+h) - l(w-h))/(2h), h = eps**(1/3)*max(1, |w|)",
        "tolerance": CHECK_TOLERANCE,
        "floor": floor,
        "max_rel_diff": worst[0],
        "at": worst[1],
        "agree": agree,
        "weights": per,
    }
    table = Table(
        ["weight", "backprop", "central difference", "max abs diff", "max rel diff", "at"],
        rows,
        title="gradient check: backprop against central differences, entry by entry",
        records=False,
        text_columns=frozenset({"weight", "backprop", "central difference", "at"}),
    )
    verdict = "agree" if agree else "DISAGREE"
    note = (
        f"gradient check: backprop and central differences {verdict}: the largest relative "
        f"difference is {worst[0]:.3g} (at {worst[1]}; tolerance {CHECK_TOLERANCE:g}). "
        "h = eps^(1/3)·max(1, |w|) ≈ 6e-6 balances the quotient's truncation error (about h²) "
        "against round-off (about eps·|l|/h); relative difference = |a - b| / max(|a|, |b|, "
        f"{CHECK_FLOOR:g}·max(1, |l|)), so differences below "
        f"{CHECK_FLOOR * CHECK_TOLERANCE:g}·max(1, |l|) count as round-off."
    )
    mismatch = None
    if not agree:
        near = near_a_kink(chain.graph, values, CHECK_KINK_DISTANCE)
        why = "a kink within h of the point (relu, max, abs) makes them differ" if near else None
        mismatch = GradientMismatch(worst[0], worst[1], CHECK_TOLERANCE, hint=why)
    return data, table, note, mismatch


# ===========================================================================
# the picture


def _picture(chain: Chain, run: Pass, given: str) -> GraphPicture:
    def short(value: Any) -> str:
        return (
            value_text(value, SHORT_DIGITS + 2, SHORT_ENTRIES)
            if not isinstance(value, float)
            else f"{value:.6g}"
        )

    nodes = [
        GraphNode(
            s.name,
            s.formula,
            s.kind,
            _shape(s.shape),
            short(run.values[s.id]),
            short(run.grads[s.id]),
            tuple(chain.name(a) for a in s.args),
        )
        for s in chain.steps
    ]
    edges = [
        GraphEdge(
            chain.name(link.source),
            chain.name(link.target),
            link.local if link.local is not None and not link.matrix else (link.rule or ""),
        )
        for link in chain.links
    ]
    return GraphPicture(f"l = {given}", nodes, edges, chain.loss_step.name)


# ===========================================================================
# the problem, with its layers


def layered_problem(
    text: str,
    point: str | None,
    sets: Sequence[str],
    shapes: Sequence[str],
    definitions: Sequence[str],
) -> tuple[Problem, list[Layer]]:
    """The loss with its layers (`NAME=EXPR`, in order) put in, and the roles of
    its names. A layer's name is neither a weight nor an input: it is refused
    where a value is given for it."""
    from gdcli.engine.chain import put_in, read_layers
    from gdcli.errors import BadLet
    from gdcli.parse.options import is_assignment, parse_assignments
    from gdcli.parse.syntax import normalise
    from gdcli.problem import read_problem

    layers = read_layers(definitions)
    named = {layer.name for layer in layers}
    given: list[str] = []
    for option in [*sets, *shapes, *([point] if point and is_assignment(point) else [])]:
        given += list(parse_assignments(option))
    for name in given:
        if name in named:
            raise BadLet(name, "role", next(f"{L.name}={L.text}" for L in layers if L.name == name))
    source = put_in(normalise(text), layers)
    return read_problem(source, point, sets=sets, shapes=shapes), layers
