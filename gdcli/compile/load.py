"""A compiled loss and its start, from the cache where possible.

A repeated call reads its option values with the quick reader (plain decimals, no
SymPy); when the cache has the entry, SymPy is never imported. Anything unusual
takes the full path, which reads and checks everything, and stores the entry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from gdcli.compile.arrays import ArrayCompiled
from gdcli.compile.cache import Cache, cache_key
from gdcli.compile.runtime import Compiled
from gdcli.errors import GdcliError
from gdcli.params import Params, Shape
from gdcli.parse.options import finite_float, is_assignment, parse_assignments, parse_shapes
from gdcli.parse.quick import quick_entries, quick_shape, quick_value
from gdcli.parse.syntax import normalise

if TYPE_CHECKING:
    from gdcli.data import Data
    from gdcli.problem import Problem


class Quick(NamedTuple):
    """Option texts read without SymPy: a cache key, the start's exact values and the
    inputs' values."""

    key: str
    named: dict[str, Any]
    bare: Any
    inputs: dict[str, Any]


def _quick(
    text: str, start: str | None, sets: Sequence[str], shapes: Sequence[str]
) -> Quick | None:
    """None whenever anything is unusual: the full path then reads the inputs and
    reports any error; this path only ever serves inputs that path accepts."""
    try:
        inputs: dict[str, str] = {}
        input_values: dict[str, Any] = {}
        for spec in sets:
            for name, value_text in parse_assignments(spec).items():
                value = quick_value(value_text)
                if value is None or name in inputs or quick_shape(value) is None:
                    return None
                inputs[name] = value_text.strip()
                input_values[name] = value
        declared = parse_shapes(list(shapes))
        named: dict[str, Any] = {}
        bare: Any = None
        if start is not None and is_assignment(start):
            for name, value_text in parse_assignments(start).items():
                named[name] = quick_value(value_text)
                if named[name] is None or name in inputs:
                    return None
        elif start is not None:
            bare = quick_value(start)
            if bare is None or isinstance(bare, list):
                return None
    except GdcliError:
        return None
    all_shapes = dict(declared)
    for name, value in named.items():
        shape = quick_shape(value)
        if shape is None:
            return None
        if shape and name not in declared:
            all_shapes[name] = shape
    roles = {"weights": sorted(named), "bare": bare is not None}
    key = cache_key(normalise(text) + "\0" + repr(roles), all_shapes, inputs)
    return Quick(key, named, bare, input_values)


def _quick_start(compiled: Compiled | ArrayCompiled, quick: Quick) -> Params | None:
    """The start, per weight, as the full path gives it (None when in doubt)."""
    if set(quick.named) - set(compiled.variables):
        return None
    if quick.named and len(quick.named) != len(compiled.variables):
        return None
    if not quick.named and quick.bare is not None and len(compiled.variables) != 1:
        return None
    start: Params = []
    for name in compiled.variables:
        shape: Shape = compiled.shapes[name]
        value = quick.named.get(name, quick.bare if quick.bare is not None else 1)
        vshape = quick_shape(value)
        if vshape != shape and vshape != ():
            return None
        if not shape:
            start.append(finite_float(value, "start"))
            continue
        import numpy as np

        flat = [finite_float(v, "start") for v in quick_entries(value)]
        size = math.prod(shape)
        start.append(np.array(flat * size if len(flat) == 1 else flat, dtype=float).reshape(shape))
    return start


def _floats(value: Any) -> Any:
    """A quick value (a Fraction or nested lists of them) as a float or a float array."""
    if not isinstance(value, list):
        return finite_float(value, "set")
    import numpy as np

    return np.array([finite_float(v, "set") for v in quick_entries(value)]).reshape(
        quick_shape(value) or ()
    )


Loaded = Compiled | ArrayCompiled


def load_or_build(
    text: str,
    start: str | None,
    sets: Sequence[str],
    shapes: Sequence[str],
    cache: Cache,
    seconds: float,
) -> tuple[Loaded, Params]:
    """The compiled loss and the start. `seconds` of CPU time for the symbolic work.
    A loss over vectors or matrices is compiled by the array engine, a loss of
    numbers by SymPy."""
    quick = _quick(text, start, sets, shapes) if cache.directory is not None else None
    if quick is not None:
        hit = cache.load(quick.key)
        if hit is not None:
            values = _quick_start(hit, quick)
            if values is not None:
                if isinstance(hit, ArrayCompiled):
                    hit.bind({n: _floats(v) for n, v in quick.inputs.items()})
                return hit, values
    # the full path (a miss): the parser, the problem and SymPy, none of them on the warm path
    from gdcli.budget import time_limit
    from gdcli.problem import read_problem

    built: Loaded
    with time_limit(seconds):
        problem = read_problem(text, start, sets=sets, shapes=shapes, point_parameter="start")
        if problem.has_arrays:
            from gdcli.engine import lower

            graph = lower(problem.text, problem.weights, problem.input_shapes)
            built = ArrayCompiled.from_graph(graph, problem.text).bind(problem.input_floats())
        else:
            from gdcli.compile.codegen import build

            built = build(problem.loss)
    if quick is not None:
        cache.store(quick.key, built)
    return built, problem.start()


def build_on_data(problem: Problem, data: Data) -> ArrayCompiled:
    """A loss written per example, compiled by the array engine for a batch of examples
    (the loss is their mean), bound to the data's columns. No cache: the engine
    needs no SymPy, and lowering takes milliseconds."""
    from gdcli.engine import lower

    graph = lower(problem.text, problem.weights, problem.example_shapes, batched=True)
    compiled = ArrayCompiled.from_graph(graph, problem.text)
    columns = {n: data.columns[n] for n in problem.columns}
    return compiled.bind_data(columns, problem.input_floats(), data.size)
