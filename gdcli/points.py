"""From option texts (`--at`, `--start`, `--set`, `--shape`) to a parsed loss and a
point: every weight's exact value, in its shape."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from gdcli.errors import BadInput, GdcliError
from gdcli.values import Shape, finite_float, parse_assignments, parse_shape

if TYPE_CHECKING:
    from gdcli.compiled import Compiled
    from gdcli.expression import Loss

DEFAULT_LOSS = "(w - 3)**2"
DEFAULT_POINT = "1"


class Problem(NamedTuple):
    loss: Loss
    point: dict[str, Any]  # weight name -> exact SymPy number or object array
    constants: dict[str, Any]

    def substitution(self) -> dict[Any, Any]:
        """entry symbol -> exact value, for every weight."""
        out: dict[Any, Any] = {}
        for name in self.loss.variables:
            value = self.point[name]
            values = list(value.flat) if self.loss.shapes[name] else [value]
            out.update(zip(self.loss.entries[name], values, strict=True))
        return out

    def only(self, name: str) -> Problem:
        """The loss as a function of `name` alone, every other weight fixed at its value
        (how a partial derivative treats them)."""
        from gdcli.expression import Loss

        loss = self.loss
        fixed = {s: v for s, v in self.substitution().items() if s not in loss.entries[name]}
        one = Loss(
            loss.text,
            loss.expr.xreplace(fixed),
            (name,),
            {name: loss.shapes[name]},
            {name: loss.entries[name]},
        )
        return Problem(one, {name: self.point[name]}, self.constants)

    def floats(self) -> list[float]:
        """The point as a flat vector of floats (the order of `Loss.symbols()`)."""
        return [float(v) for v in self.substitution().values()]


def plain_value(value: Any) -> Any:
    """An exact value (a SymPy number or an object array of them) as float(s)."""
    if getattr(value, "ndim", 0):
        import numpy as np

        return np.array(value, dtype=float).tolist()
    return float(value)


def _named_values(texts: Sequence[str], option: str, constants: Mapping[str, Any]) -> dict:
    from gdcli.expression import parse_value

    values: dict[str, Any] = {}
    for text in texts:
        for name, value_text in parse_assignments(text).items():
            if name in values:
                raise BadInput(f"{name} is given twice in {option}")
            values[name] = parse_value(value_text, constants)
    return values


def declared_shapes(specs: Sequence[str]) -> dict[str, Shape]:
    """`--shape W=2x3 --shape v=3` -> {"W": (2, 3), "v": (3,)}."""
    return {
        name: parse_shape(shape_text)
        for spec in specs
        for name, shape_text in parse_assignments(spec).items()
    }


def _is_assignment(text: str) -> bool:
    name, eq, _ = text.partition("=")
    return bool(eq) and name.strip().isidentifier()


def read_problem(
    text: str,
    at: str | None,
    *,
    option: str = "--at",
    sets: Sequence[str] = (),
    shapes: Sequence[str] = (),
    single: str | None = None,
) -> Problem:
    """Parse the loss and its point. A bare value (`--at 1.5`) belongs to `single`
    (the variable a command works on) or, if None, to every weight."""
    from gdcli.expression import broadcast_to, free_names, parse_loss, parse_value, shape_of

    constants = _named_values(sets, "--set", {})
    declared = declared_shapes(shapes)

    named: dict[str, Any] = {}
    bare: Any = None
    at_text = DEFAULT_POINT if at is None else at
    if _is_assignment(at_text):
        named = _named_values([at_text], option, constants)
    else:
        bare = parse_value(at_text, constants)

    for name in named:
        if name in constants:
            raise BadInput(f"{name} is given both by --set and {option}")
    for name in declared:
        if name in constants:
            raise BadInput(f"{name} is a constant (--set); --shape is for weights")
    all_shapes = dict(declared)
    for name, value in named.items():
        if name not in declared and shape_of(value):
            all_shapes[name] = shape_of(value)
    if shape_of(bare):  # `--at [1,2]`: the shape of the one weight it is for
        names = sorted(free_names(text) - set(constants)) if single is None else [single]
        if len(names) != 1:
            raise BadInput(
                f"give each weight its own value: {option} " + ",".join(f"{n}=..." for n in names)
            )
        all_shapes.setdefault(names[0], shape_of(bare))

    loss = parse_loss(text, all_shapes, constants)
    if not loss.variables:
        raise BadInput(
            f"{loss.text} has no weight to differentiate (no variable)",
            hint="a weight is a name without a value (names given with --set are constants)",
        )
    for name in list(named) + list(declared):
        if name not in loss.variables:
            known = ", ".join(loss.variables) or "none"
            raise BadInput(f"{name} is not a variable of {loss.text} (variables: {known})")

    point: dict[str, Any] = {}
    for name in loss.variables:
        shape = loss.shapes[name]
        if name in named:
            value = named[name]
        elif bare is not None and (single is None or single == name):
            value = bare
        else:
            value = parse_value(DEFAULT_POINT)
        point[name] = broadcast_to(value, shape, name)
    return Problem(loss, point, constants)


# ---------------------------------------------------------------------------
# descend's quick path: a repeated call reads its compiled loss from the cache
# and never imports SymPy


def _quick_shape(value: Any) -> Shape | None:
    """Shape of a nested list of numbers (None if ragged)."""
    if not isinstance(value, list):
        return ()
    inner = {_quick_shape(v) for v in value}
    if len(inner) != 1 or None in inner:
        return None
    (shape,) = inner
    return None if shape is None else (len(value), *shape)


def _quick_flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [x for v in value for x in _quick_flat(v)]
    return [value]


class QuickInputs(NamedTuple):
    """Option texts read without SymPy: a cache key and the start's exact values."""

    key: str
    named: dict[str, Any]
    bare: Any


def quick_inputs(
    text: str, start: str | None, sets: Sequence[str], shapes: Sequence[str]
) -> QuickInputs | None:
    """None whenever anything is unusual: the full (SymPy) path then reads the inputs
    and reports any error; this path only ever serves inputs that path accepts."""
    from gdcli.compiled import cache_key
    from gdcli.values import normalise, quick_value

    try:
        constants = {}
        for spec in sets:
            for name, value_text in parse_assignments(spec).items():
                if quick_value(value_text) is None:
                    return None
                constants[name] = value_text.strip()
        declared = declared_shapes(shapes)
        named: dict[str, Any] = {}
        bare: Any = None
        start_text = DEFAULT_POINT if start is None else start
        if _is_assignment(start_text):
            for name, value_text in parse_assignments(start_text).items():
                named[name] = quick_value(value_text)
                if named[name] is None:
                    return None
        else:
            bare = quick_value(start_text)
            if bare is None or isinstance(bare, list):
                return None
    except GdcliError:
        return None
    all_shapes = dict(declared)
    for name, value in named.items():
        shape = _quick_shape(value)
        if shape is None or name in constants:
            return None
        if shape and name not in declared:
            all_shapes[name] = shape
    key = cache_key(normalise(text), all_shapes, constants)
    return QuickInputs(key, named, bare)


def quick_start(compiled: Compiled, quick: QuickInputs) -> list[Any] | None:
    """The start, per weight (a float, or a float array), as read_problem gives it."""
    if set(quick.named) - set(compiled.variables):
        return None
    start: list[Any] = []
    for name in compiled.variables:
        shape = compiled.shapes[name]
        value = quick.named.get(name, quick.bare if quick.bare is not None else 1)
        vshape = _quick_shape(value)
        if vshape != shape and vshape != ():
            return None
        if not shape:
            start.append(finite_float(value, f"the start of {name}"))
            continue
        import numpy as np

        flat = [finite_float(v, f"the start of {name}") for v in _quick_flat(value)]
        size = math.prod(shape)
        start.append(np.array(flat * size if len(flat) == 1 else flat, dtype=float).reshape(shape))
    return start


def read_compiled(
    text: str,
    start: str | None,
    sets: Sequence[str],
    shapes: Sequence[str],
    use_cache: bool,
) -> tuple[Compiled, list[Any]]:
    """The compiled loss and the start, from the cache where possible."""
    from gdcli import compiled as cache

    quick = quick_inputs(text, start, sets, shapes) if use_cache else None
    if quick is not None:
        hit = cache.load(quick.key)
        if hit is not None:
            values = quick_start(hit, quick)
            if values is not None:
                return hit, values
    from gdcli.calculus import symbolic_budget

    with symbolic_budget():
        problem = read_problem(text, start, option="--start", sets=sets, shapes=shapes)
        built = cache.build(problem.loss)
    if quick is not None:
        cache.store(quick.key, built)
    return built, start_values(problem)


def start_values(problem: Problem) -> list[Any]:
    """A point as descent parameters: a float per scalar weight, a float array per array."""
    out: list[Any] = []
    for name in problem.loss.variables:
        value = problem.point[name]
        if problem.loss.shapes[name]:
            import numpy as np

            flat = [finite_float(v, f"the start of {name}") for v in value.flat]
            out.append(np.array(flat, dtype=float).reshape(value.shape))
        else:
            out.append(finite_float(value, f"the start of {name}"))
    return out
