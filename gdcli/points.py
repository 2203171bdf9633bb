"""From option texts (`--at`, `--start`, `--set`, `--shape`) to a parsed loss and a
point: every weight's exact value, in its shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gdcli.errors import BadInput
from gdcli.expression import (
    Loss,
    Shape,
    broadcast_to,
    free_names,
    parse_assignments,
    parse_loss,
    parse_shape,
    parse_value,
    shape_of,
)

DEFAULT_LOSS = "(w - 3)**2"
DEFAULT_POINT = "1"


@dataclass(frozen=True)
class Problem:
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

    def floats(self) -> list[float]:
        """The point as a flat vector of floats (the order of `Loss.symbols()`)."""
        return [float(v) for v in self.substitution().values()]


def _named_values(texts: Sequence[str], option: str, constants: Mapping[str, Any]) -> dict:
    values: dict[str, Any] = {}
    for text in texts:
        for name, value_text in parse_assignments(text).items():
            if name in values:
                raise BadInput(f"{name} is given twice in {option}")
            values[name] = parse_value(value_text, constants)
    return values


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
    constants = _named_values(sets, "--set", {})
    declared: dict[str, Shape] = {}
    for spec in shapes:
        for name, shape_text in parse_assignments(spec).items():
            declared[name] = parse_shape(shape_text)

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
