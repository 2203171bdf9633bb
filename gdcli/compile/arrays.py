"""A loss over vectors and matrices, compiled by the array engine: straight-line
NumPy source (verified like every generated source) that the descent loop calls
with the weights as arrays, the inputs fixed beside them.

On training data the source is the engine's batched one: every input carries a
leading axis of examples and the loss is the mean over them. `bind_data` fixes the
data's columns (and broadcasts the fixed inputs along that axis, as views);
`evaluate_rows` computes over the examples one batch holds, `evaluate_params` over
all of them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gdcli.compile.verify import load, verify
from gdcli.limits import MAX_ENTRIES, MAX_LENGTH
from gdcli.params import Params, Shape

if TYPE_CHECKING:
    from gdcli.engine import Graph

HESSIAN_ENTRIES = 200  # weights' entries up to which the Hessian is estimated

# operations whose derivative jumps where their argument crosses a tie or zero
KINK_OPS = frozenset(
    ("maximum", "minimum", "amax", "amin", "abs", "relu", "sign", "heaviside", "heaviside2")
) | {"gt", "ge", "lt", "le"}


class ArrayCompiled:
    """The loss and its gradient as NumPy code: `evaluate_params` takes one value per
    weight (a float or an array) and gives the loss and one gradient per weight."""

    kind = "arrays"

    def __init__(
        self,
        text: str,
        variables: tuple[str, ...],
        shapes: dict[str, Shape],
        inputs: dict[str, Shape],
        source: str,
        has_kink: bool,
    ) -> None:
        import numpy as np

        self.text = text
        self.variables = variables
        self.shapes = shapes
        self.inputs = inputs
        self.source = source
        self.has_kink = has_kink
        verify(source, numpy=True)
        self.function = load(source + "\n", {"numpy": np, "abs": abs})["value_and_grad"]
        self.values: tuple[Any, ...] = ()
        self.size = sum(math.prod(s) for s in shapes.values())
        self.examples: int | None = None  # bound to training data: how many examples
        self._feed: tuple[tuple[bool, Any], ...] = ()  # (a data column?, its values)

    @classmethod
    def from_graph(cls, graph: Graph, text: str) -> ArrayCompiled:
        weights = dict(graph.weights)
        return cls(
            text=text,
            variables=tuple(weights),
            shapes={n: tuple(s) for n, s in weights.items()},
            inputs={n: tuple(s) for n, s in graph.inputs.items()},
            source=graph.source(),
            has_kink=any(node.op in KINK_OPS for node in graph.nodes),
        )

    def bind(self, inputs: Mapping[str, Any]) -> ArrayCompiled:
        """Fix the inputs' values (float64), in the order of the generated arguments."""
        import numpy as np

        self.values = tuple(np.asarray(inputs[n], dtype=float) for n in self.inputs)
        return self

    def bind_data(
        self, columns: Mapping[str, Any], fixed: Mapping[str, Any], examples: int
    ) -> ArrayCompiled:
        """Fix the inputs of a batched source: `columns` hold one value per example
        (a leading axis of `examples`), `fixed` one value for every example."""
        import numpy as np

        feed = []
        for n in self.inputs:
            if n in columns:
                feed.append((True, np.asarray(columns[n], dtype=float)))
            else:
                feed.append((False, np.asarray(fixed[n], dtype=float)))
        self._feed = tuple(feed)
        self.examples = examples
        self.values = tuple(
            v if column else np.broadcast_to(v, (examples, *v.shape)) for column, v in feed
        )
        return self

    def evaluate_rows(self, params: Params, index: Any = None) -> tuple[float, Params]:
        """The loss (the mean over the examples `index` picks: a slice or an array of
        positions; None: every example) and its gradient."""
        if index is None:
            return self.evaluate_params(params)
        import numpy as np

        count = (
            len(range(*index.indices(self.examples or 0)))
            if isinstance(index, slice)
            else len(index)
        )
        values = [v[index] if column else np.broadcast_to(v, (count, *v.shape))
                  for column, v in self._feed]  # fmt: skip
        with np.errstate(all="ignore"):
            loss, grads = self.function(*params, *values)
        out = [
            g if self.shapes[n] else float(g) for n, g in zip(self.variables, grads, strict=True)
        ]
        return float(loss), out

    def evaluate_params(self, params: Params) -> tuple[float, Params]:
        import numpy as np

        with np.errstate(all="ignore"):
            return self.evaluate_quietly(params)

    def evaluate_quietly(self, params: Params) -> tuple[float, Params]:
        """`evaluate_params` for a caller that already silences NumPy's warnings (inf
        and nan flow through; the descent checks for them): a whole run in one loop."""
        loss, grads = self.function(*params, *self.values)
        out = [
            g if self.shapes[n] else float(g) for n, g in zip(self.variables, grads, strict=True)
        ]
        return float(loss), out

    def hessian(self, params: Params) -> list[list[float]] | None:
        """Second derivatives by central differences of the exact gradient (h scaled to
        each entry), symmetrised; None above HESSIAN_ENTRIES entries."""
        import numpy as np

        from gdcli.params import flatten, unflatten

        x = np.array(flatten(params))
        if x.size > HESSIAN_ENTRIES:
            return None
        shapes = [self.shapes[n] for n in self.variables]
        columns = []
        for j in range(x.size):
            h = 1e-5 * max(1.0, abs(x[j]))
            up, down = x.copy(), x.copy()
            up[j] += h
            down[j] -= h
            g_up = np.array(flatten(self.evaluate_params(unflatten(list(up), shapes))[1]))
            g_down = np.array(flatten(self.evaluate_params(unflatten(list(down), shapes))[1]))
            columns.append((g_up - g_down) / (2 * h))
        matrix = np.array(columns).T
        if not np.all(np.isfinite(matrix)):
            return None
        symmetric: list[list[float]] = ((matrix + matrix.T) / 2).tolist()
        return symmetric

    def curvature(self, x: float) -> float | None:
        return None  # the stability note is for one scalar weight, from the symbolic path

    def fused_sgd(self, *args: Any) -> None:
        return None  # the step loop runs the update rule (NumPy does the work per step)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "variables": list(self.variables),
            "shapes": {k: list(v) for k, v in self.shapes.items()},
            "inputs": {k: list(v) for k, v in self.inputs.items()},
            "source": self.source,
            "has_kink": self.has_kink,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArrayCompiled:
        """An entry read from disk: data to distrust (types and sizes checked)."""
        text, variables, source = data["text"], data["variables"], data["source"]
        shapes, inputs, kink = data["shapes"], data["inputs"], data["has_kink"]
        if not (isinstance(text, str) and len(text) <= MAX_LENGTH and isinstance(source, str)):
            raise ValueError("text or source of the wrong type or size")
        if not (isinstance(variables, list) and all(isinstance(v, str) for v in variables)):
            raise ValueError("variables of the wrong type")
        if not (isinstance(shapes, dict) and sorted(shapes) == sorted(variables)):
            raise ValueError("shapes that do not match the variables")
        if not isinstance(inputs, dict) or not isinstance(kink, bool):
            raise ValueError("inputs of the wrong type")
        total = 0
        for shape in [*shapes.values(), *inputs.values()]:
            if not (isinstance(shape, list) and len(shape) <= 2):
                raise ValueError("a shape of the wrong type")
            if not all(type(n) is int and 1 <= n <= MAX_ENTRIES for n in shape):
                raise ValueError("a shape of the wrong size")
            total += math.prod(shape)
        if total > 4 * MAX_ENTRIES:
            raise ValueError("too many entries")
        return cls(
            text,
            tuple(variables),
            {k: tuple(v) for k, v in shapes.items()},
            {str(k): tuple(v) for k, v in inputs.items()},
            source,
            kink,
        )
