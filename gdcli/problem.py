"""The problem: which names of a loss are weights and which are inputs, their
shapes, and the point.

The course: "Input is fixed, and the weights are what change the model's
goodness." A name is a **weight** when the point gives it a value, when it is the
variable asked for (`wrt`), or when it has a declared shape; without a point, the
weight is `w` if the loss has it, else the loss's only name. A name given a fixed
value, or a column of training data, is an **input** and never moves. Any other
name has no value: that is an error naming it (`MissingValue`).

Values are exact: a plain decimal is a Fraction (read without SymPy), anything
else (`pi/4`) a SymPy number; arrays are NumPy object arrays of those.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from gdcli.errors import BadInput, BadValue, MissingValue, NameRole, ParseError, ShapeMismatch
from gdcli.params import Shape, entries, nested
from gdcli.parse.expression import FUNCTION_NAMES, RESERVED
from gdcli.parse.options import (
    finite_float,
    is_assignment,
    parse_assignments,
    parse_shapes,
)
from gdcli.parse.quick import quick_entries, quick_shape, quick_value
from gdcli.parse.syntax import free_names, normalise

if TYPE_CHECKING:
    from gdcli.parse.expression import Loss

DEFAULT_POINT = "1"
DEFAULT_WEIGHT = "w"


def read_value(text: str, inputs: Mapping[str, Any] | None = None) -> Any:
    """One exact value: a Fraction, a SymPy number, or an object array of them."""
    quick = quick_value(text)
    if quick is not None:
        shape = quick_shape(quick)
        if shape == ():
            return quick
        if shape is not None:
            import numpy as np

            out = np.empty(shape, dtype=object)
            for k, v in enumerate(quick_entries(quick)):
                out.flat[k] = v
            return out
    from gdcli.parse.expression import parse_value

    return parse_value(text, {n: to_sympy(v) for n, v in (inputs or {}).items()})


def shape_of(value: Any) -> Shape:
    return tuple(value.shape) if hasattr(value, "shape") else ()


def to_sympy(value: Any) -> Any:
    """An exact value with SymPy numbers (what the symbolic path works with)."""
    if hasattr(value, "shape"):
        import numpy as np

        out = np.empty(value.shape, dtype=object)
        for k, v in enumerate(value.flat):
            out.flat[k] = to_sympy(v)
        return out
    if isinstance(value, Fraction):
        import sympy as sp

        return sp.Rational(value.numerator, value.denominator)
    return value


def to_float(value: Any, parameter: str) -> Any:
    """An exact value as a float, or a float64 array."""
    if hasattr(value, "shape"):
        import numpy as np

        flat = [finite_float(v, parameter) for v in value.flat]
        return np.array(flat, dtype=float).reshape(value.shape)
    return finite_float(value, parameter)


def plain(value: Any) -> Any:
    """An exact value for JSON: a float, or nested lists of floats."""
    if hasattr(value, "shape"):
        return nested([float(v) for v in value.flat], tuple(value.shape))
    return float(value)


def _fill(value: Any, shape: Shape, name: str) -> Any:
    """A weight's value in its shape: a number fills the shape; an array must match."""
    if shape_of(value) == shape:
        return value
    if shape and not hasattr(value, "shape"):
        import numpy as np

        return np.full(shape, value, dtype=object)
    raise ShapeMismatch(name, shape_of(value), shape)


class Problem:
    """A loss with its weights (shapes and values at the point) and its inputs. (A
    plain class: a dataclass costs start-up time on every call.)"""

    def __init__(
        self,
        text: str,
        weights: dict[str, Shape],
        point: dict[str, Any],
        inputs: dict[str, Any],
        chosen: str | None = None,
        _loss: Loss | None = None,
        columns: dict[str, Shape] | None = None,
    ) -> None:
        self.text = text  # the loss, normalised (`^` written as `**`)
        self.weights = weights  # sorted by name; () for a scalar weight
        self.point = point  # weight -> exact value in its shape
        self.inputs = inputs  # input -> exact value
        self.chosen = chosen  # the weight picked by default, when none was named
        self._loss = _loss
        self.columns: dict[str, Shape] = columns or {}  # data columns: per-example shape

    def __repr__(self) -> str:
        return f"Problem({self.text!r}, weights={self.weights!r}, inputs={list(self.inputs)!r})"

    @property
    def names(self) -> list[str]:
        return list(self.weights)

    @property
    def has_arrays(self) -> bool:
        """Is any weight or input a vector or matrix, or are there training data?
        (Then the array engine works.)"""
        return (
            any(self.weights.values())
            or any(shape_of(v) for v in self.inputs.values())
            or bool(self.columns)
        )

    @property
    def example_shapes(self) -> dict[str, Shape]:
        """Every input's shape for one example: the fixed inputs and the data's columns."""
        return {**self.input_shapes, **dict(sorted(self.columns.items()))}

    @property
    def input_shapes(self) -> dict[str, Shape]:
        return {n: shape_of(v) for n, v in sorted(self.inputs.items())}

    @property
    def loss(self) -> Loss:
        """The loss as one SymPy expression of the weights' entries (inputs put in)."""
        if self._loss is None:
            from gdcli.parse.expression import parse_loss

            constants = {n: to_sympy(v) for n, v in self.inputs.items()}
            self._loss = parse_loss(self.text, self.weights, constants)
        return self._loss

    def at(self, name: str) -> Any:
        """A weight's value with SymPy numbers (what the symbolic path works with)."""
        return to_sympy(self.point[name])

    def variable(self, wrt: str | None) -> str:
        """The one weight a command works on: `wrt`, else `w`, else the only weight."""
        if wrt is not None:
            return wrt
        if DEFAULT_WEIGHT in self.weights:
            return DEFAULT_WEIGHT
        if len(self.weights) == 1:
            return next(iter(self.weights))
        raise NameRole(", ".join(self.weights), "several", self.text)

    def substitution(self) -> dict[Any, Any]:
        """entry symbol -> exact SymPy value, for every weight."""
        loss = self.loss
        out: dict[Any, Any] = {}
        for name in loss.variables:
            values = entries(to_sympy(self.point[name]))
            out.update(zip(loss.entries[name], values, strict=True))
        return out

    def only(self, name: str) -> Problem:
        """The loss as a function of `name` alone, every other weight fixed at its value
        (how a partial derivative treats them)."""
        from gdcli.parse.expression import Loss

        loss = self.loss
        fixed = {s: v for s, v in self.substitution().items() if s not in loss.entries[name]}
        one = Loss(
            loss.text,
            loss.expr.xreplace(fixed),
            (name,),
            {name: loss.shapes[name]},
            {name: loss.entries[name]},
        )
        shape = self.weights[name]
        return Problem(
            self.text, {name: shape}, {name: self.point[name]}, self.inputs, None, one, self.columns
        )

    def start(self) -> list[Any]:
        """The point as descent parameters: a float per scalar weight, a float array
        per array weight."""
        return [to_float(self.point[n], "start") for n in self.weights]

    def floats(self) -> list[float]:
        """The point as one flat list of floats (weight by weight, row-major)."""
        return [finite_float(v, "start") for n in self.weights for v in entries(self.point[n])]

    def input_floats(self) -> dict[str, Any]:
        return {n: to_float(v, "set") for n, v in sorted(self.inputs.items())}


def _named_values(text: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {name: read_value(value, inputs) for name, value in parse_assignments(text).items()}


def read_inputs(sets: Sequence[str]) -> dict[str, Any]:
    """Fixed values, `NAME=VALUE` (repeatable, or several joined by commas)."""
    inputs: dict[str, Any] = {}
    for text in sets:
        for name, value in parse_assignments(text).items():
            if name in inputs:
                raise NameRole(name, "twice")
            inputs[name] = read_value(value)
    return inputs


def read_problem(
    text: str,
    point: str | None = None,
    *,
    sets: Sequence[str] = (),
    shapes: Sequence[str] = (),
    wrt: str | None = None,
    point_parameter: str = "at",
    inputs: Mapping[str, Any] | None = None,
    every_name_a_weight: bool = False,
    columns: Mapping[str, Shape] | None = None,
) -> Problem:
    """Decide every name's role and read the point. `point` is the text of the
    point option (`1.5`, `x=1,y=-2`, `W=0`); `inputs` are values given already,
    besides those read from `sets`; `columns` are the names of training data's
    columns (inputs with one value per example) and their shapes for one example.
    With `every_name_a_weight` (a function compared everywhere, as `check` does) no
    name lacks a value."""
    source = normalise(text)
    names = free_names(source)
    _check_names(names, source)
    if wrt is not None and not wrt:
        raise BadValue("wrt", "must name a weight (got an empty name)")
    data = {n: tuple(s) for n, s in (columns or {}).items()}
    given = dict(inputs or {})
    for name, value in read_inputs(sets).items():
        if name in given:
            raise NameRole(name, "twice")
        if name in data:
            raise NameRole(name, "column_set", source)
        given[name] = value
    declared = parse_shapes(list(shapes))
    for name in declared:
        if name in given:
            raise NameRole(name, "shape_of_input")

    named: dict[str, Any] = {}
    bare: Any = None
    if point is not None and is_assignment(point):
        named = _named_values(point, given)
    elif point is not None:
        bare = read_value(point, given)

    for name in [*named, *declared, *([wrt] if wrt else [])]:
        if name in data:
            raise NameRole(name, "column", source)
        if name in given:
            raise NameRole(name, "both", source)
        if name not in names:
            raise NameRole(
                name, "unused", source, ", ".join(sorted(names - set(given) - set(data)))
            )

    free = sorted(names - set(given) - set(data))
    default = None
    if not named:
        default = wrt or (
            DEFAULT_WEIGHT if DEFAULT_WEIGHT in free else (free[0] if len(free) == 1 else None)
        )
    weights = sorted({*named, *declared, *([wrt] if wrt else []), *([default] if default else [])})
    if every_name_a_weight:
        weights = sorted({*weights, *free})
    missing = [n for n in free if n not in weights]
    if missing:
        raise MissingValue(missing[0], point_parameter)
    if not weights:
        from gdcli.parse.expression import parse_loss

        parse_loss(source)  # an error of the text itself (too large, undefined) comes first
        raise BadInput(
            f"{source} has no weight to differentiate (no variable)",
            hint="a weight is a name without a fixed value",
        )
    if bare is not None and default is None:
        raise ParseError("a bare value needs one weight to belong to", hint="name it: w=1.5")

    values: dict[str, Any] = {}
    for name in weights:
        if name in named:
            value = named[name]
        elif bare is not None and name == default:
            value = bare
        else:
            value = Fraction(1)
        values[name] = _fill(value, declared.get(name, shape_of(value)), name)
    return Problem(
        source,
        {n: shape_of(values[n]) for n in weights},
        values,
        {n: v for n, v in given.items() if n in names},
        default if default not in (None, DEFAULT_WEIGHT, wrt) else None,
        columns={n: s for n, s in data.items() if n in names},
    )


def _check_names(names: set[str], source: str) -> None:
    """Names that cannot be weights or inputs (without SymPy: the parser refuses the rest)."""
    for name in sorted(names):
        if name in FUNCTION_NAMES:
            raise ParseError(f"{name} is a function: call it as {name}(...)", source)
        if name.startswith("_"):
            raise ParseError(f"name {name!r} is not allowed (names may not start with _)", source)
        if name in RESERVED:
            raise ParseError(
                f"name {name!r} is reserved: it means something else to SymPy",
                source,
                hint="choose another name (a derivative's text must read back in SymPy)",
            )
